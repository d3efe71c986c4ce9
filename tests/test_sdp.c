/* tests/test_sdp.c: SDP fields a media proxy needs (RFC 4566, 3605, 5761, 4568, 8839). */
#include <criterion/criterion.h>

#include "corpus_util.h"
#include "msg.h"
#include "sdp.h"

static bool eq(struct sip_str s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

static const char offer[] =
    "v=0\r\n"
    "o=- 20518 0 IN IP4 192.168.1.20\r\n"
    "s=-\r\n"
    "c=IN IP4 192.168.1.20\r\n"
    "t=0 0\r\n"
    "a=sendonly\r\n"
    "m=audio 49170 RTP/SAVP 0 8 101\r\n"
    "a=rtcp:49171 IN IP4 192.168.1.21\r\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
    "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32\r\n"
    "a=crypto:2 AEAD_AES_128_GCM inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
    "a=candidate:1 1 UDP 2130706431 192.168.1.20 49170 typ host\r\n"
    "a=candidate:2 1 UDP 1694498815 198.51.100.7 40000 typ srflx\r\n"
    "a=inactive\r\n"
    "m=video 51372/2 RTP/AVP 99\r\n"
    "c=IN IP6 2001:db8::2\r\n"
    "a=rtcp-mux\r\n";

Test(sdp, offer_fields)
{
    struct sdp s;
    cr_assert_eq(sdp_parse(sip_str_make(offer, sizeof(offer) - 1), &s), 0);
    cr_expect(eq(s.origin.addr, "192.168.1.20") && eq(s.sess_id, "20518"));
    cr_expect(eq(s.conn.addr, "192.168.1.20"));
    cr_expect_eq(s.dir, SDP_DIR_SENDONLY);
    cr_assert_eq(s.media_count, 2);
    const struct sdp_media *a = &s.media[0], *v = &s.media[1];
    cr_expect(eq(a->type, "audio") && a->port == 49170 && eq(a->proto, "RTP/SAVP"));
    cr_expect(eq(a->fmts, "0 8 101") && eq(a->port_text, "49170"));
    cr_expect(a->has_rtcp && a->rtcp_port == 49171 && eq(a->rtcp_conn.addr, "192.168.1.21"));
    cr_expect_eq(a->crypto_count, 2);
    cr_expect(eq(a->crypto[0].suite, "AES_CM_128_HMAC_SHA1_80") && a->crypto[0].tag == 1);
    cr_expect(eq(a->crypto[1].suite, "AEAD_AES_128_GCM"));
    cr_expect_eq(a->cand_count, 2);
    cr_expect_eq(a->dir, SDP_DIR_INACTIVE);
    cr_expect(eq(sdp_media_conn(&s, 0)->addr, "192.168.1.20"));
    cr_expect(v->port == 51372 && v->port_count == 2 && v->rtcp_mux);
    cr_expect(eq(sdp_media_conn(&s, 1)->addr, "2001:db8::2"));
    cr_expect(eq(sdp_media_conn(&s, 1)->addrtype, "IP6"));
    cr_expect(v->section.p + v->section.len == offer + sizeof(offer) - 1);
}

Test(sdp, corpus_bodies)
{
    static struct sip_msg m;
    size_t len = 0;
    char *buf = corpus_read("sip/valid/rfc5118-mult-ip-in-sdp.sip", &len);
    cr_assert_gt(sip_msg_parse(&m, buf, len, SIP_PARSE_DGRAM, NULL), 0);
    struct sdp s;
    cr_assert_eq(sdp_parse(m.body, &s), 0);
    cr_expect_eq(s.media_count, 2);
    cr_expect(eq(sdp_media_conn(&s, 0)->addr, "192.0.2.1"));
    cr_expect(eq(sdp_media_conn(&s, 1)->addr, "2001:db8::1"));
    free(buf);
}

Test(sdp, malformed)
{
    const char *bad[] = {"",
                         "o=x\r\n",
                         "v=1\r\n",
                         "v=0\r\nm=audio x RTP/AVP 0\r\n",
                         "v=0\r\nm=audio 70000 RTP/AVP 0\r\n",
                         "v=0\r\nc=IN IP4\r\n",
                         "v=0\r\nbogus\r\n",
                         "v=0\r\nm=audio 1/0 RTP/AVP 0\r\n",
                         "v=0\r\nm=audio 1 RTP/AVP 0\r\na=crypto:x\r\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sdp s;
        cr_expect_neq(sdp_parse(sip_str_make(bad[i], strlen(bad[i])), &s), 0, "%s", bad[i]);
    }
}

#include "sdp_rewrite.h"

/* RFC 4566 §5.7/§5.14 and RFC 3605: after the rewrite every address the receiver sees is
 * sipring's, every stream points at its relay port, RTCP follows, and refused streams stay 0. */
Test(sdp_rewrite, every_address_and_port_is_the_relay)
{
    static const char offer[] = "v=0\r\n"
                                "o=alice 2890844526 2890844526 IN IP4 192.168.1.10\r\n"
                                "s=-\r\n"
                                "c=IN IP4 192.168.1.10\r\n"
                                "t=0 0\r\n"
                                "m=audio 49170 RTP/AVP 0 8 101\r\n"
                                "a=rtcp:49171 IN IP4 192.168.1.10\r\n"
                                "a=candidate:1 1 UDP 2130706431 192.168.1.10 49170 typ host\r\n"
                                "a=ice-ufrag:abcd\r\n"
                                "a=sendrecv\r\n"
                                "m=video 0 RTP/AVP 96\r\n"
                                "m=video 51372 RTP/AVP 97\r\n"
                                "c=IN IP4 192.168.1.11\r\n"
                                "a=rtcp-mux\r\n"
                                "a=rtcp:51372\r\n";
    struct sdp s, r;
    cr_assert_eq(sdp_parse((struct sip_str){offer, sizeof(offer) - 1}, &s), 0);
    struct sdp_rewrite rw = {
        .addr = "203.0.113.1", .strip_ice = true, .port = {30000, 30002, 30004}};
    char out[1024];
    long n = sdp_rewrite(&s, (struct sip_str){offer, sizeof(offer) - 1}, &rw, out, sizeof(out));
    cr_assert_gt(n, 0);
    out[n] = '\0';
    cr_assert_eq(sdp_parse((struct sip_str){out, (size_t)n}, &r), 0, "%s", out);
    cr_assert_null(strstr(out, "192.168."), "no private address is left:\n%s", out);
    cr_assert_null(strstr(out, "candidate"), "ICE candidates are removed:\n%s", out);
    cr_assert_null(strstr(out, "ice-ufrag"));
    cr_assert_not_null(strstr(out, "o=alice 2890844526 2890844526 IN IP4 203.0.113.1\r\n"));
    cr_assert_eq(r.media_count, 3);
    cr_assert_eq(r.media[0].port, 30000);
    cr_assert_eq(r.media[0].rtcp_port, 30001);
    cr_assert_eq(r.media[1].port, 0, "a refused stream stays refused (RFC 3264 §6)");
    cr_assert_eq(r.media[2].port, 30004);
    cr_assert_eq(r.media[2].rtcp_port, 30004, "rtcp-mux: RTCP on the RTP port");
    cr_assert(sip_str_eq(sdp_media_conn(&r, 2)->addr, SIP_STR_LIT("203.0.113.1")));
    cr_assert_not_null(strstr(out, "a=sendrecv\r\n"), "other lines are kept");
}

Test(sdp_rewrite, ipv6_and_overflow)
{
    static const char offer[] = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\n"
                                "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    struct sdp s;
    cr_assert_eq(sdp_parse((struct sip_str){offer, sizeof(offer) - 1}, &s), 0);
    struct sdp_rewrite rw = {.addr = "2001:db8::1", .port = {40000}};
    char out[256];
    long n = sdp_rewrite(&s, (struct sip_str){offer, sizeof(offer) - 1}, &rw, out, sizeof(out));
    cr_assert_gt(n, 0);
    out[n] = '\0';
    cr_assert_not_null(strstr(out, "c=IN IP6 2001:db8::1\r\n"), "%s", out);
    cr_assert_not_null(strstr(out, "m=audio 40000 RTP/AVP 0\r\n"), "%s", out);
    cr_assert_eq(sdp_rewrite(&s, (struct sip_str){offer, sizeof(offer) - 1}, &rw, out, 40), -1,
                 "too small a buffer is refused, not truncated");
}

Test(sdp_rewrite, srtp_translation_changes_profile_and_crypto_lines)
{
    static const char offer[] =
        "v=0\r\no=- 1 1 IN IP4 203.0.113.9\r\ns=-\r\nc=IN IP4 203.0.113.9\r\nt=0 0\r\n"
        "m=audio 4000 RTP/SAVP 0\r\n"
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n"
        "a=sendrecv\r\n"
        "m=video 4002 RTP/AVPF 96\r\n"
        "a=rtcp-fb:96 nack\r\n";
    struct sdp s, r;
    cr_assert_eq(sdp_parse(SIP_STR_LIT(offer), &s), 0);
    /* towards the inside: plain, the peer's key removed */
    struct sdp_rewrite rw = {.addr = "10.0.0.1", .port = {30000, 30002}};
    rw.profile[0] = SDP_PROFILE_PLAIN;
    rw.strip_crypto[0] = true;
    char out[1024];
    long n = sdp_rewrite(&s, SIP_STR_LIT(offer), &rw, out, sizeof(out) - 1);
    cr_assert_gt(n, 0);
    out[n] = '\0';
    cr_assert_eq(sdp_parse(sip_str_make(out, (size_t)n), &r), 0, "%s", out);
    cr_assert_not_null(strstr(out, "m=audio 30000 RTP/AVP 0\r\n"), "%s", out);
    cr_assert_null(strstr(out, "a=crypto"), "%s", out);
    cr_assert_not_null(strstr(out, "m=video 30002 RTP/AVPF 96\r\n"), "untouched media: %s", out);
    /* towards the outside: secure, sipring's own key added at the end of its media section */
    struct sdp_rewrite sec = {.addr = "198.51.100.1", .port = {30004, 30006}};
    sec.profile[1] = SDP_PROFILE_SECURE;
    sec.crypto[1] = SIP_STR_LIT(
        "a=crypto:3 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==\r\n");
    n = sdp_rewrite(&s, SIP_STR_LIT(offer), &sec, out, sizeof(out) - 1);
    cr_assert_gt(n, 0);
    out[n] = '\0';
    cr_assert_eq(sdp_parse(sip_str_make(out, (size_t)n), &r), 0, "%s", out);
    cr_assert_not_null(strstr(out, "m=video 30006 RTP/SAVPF 96\r\na=rtcp-fb:96 nack\r\n"
                                   "a=crypto:3 AEAD_AES_128_GCM"),
                       "%s", out);
    cr_assert_eq(r.media[1].crypto_count, 1);
    cr_assert_eq(r.media[0].crypto_count, 1, "the other stream keeps its line");
    cr_assert(sip_str_eq(r.media[1].proto, SIP_STR_LIT("RTP/SAVPF")));
    /* the added line must fit too */
    cr_assert_eq(sdp_rewrite(&s, SIP_STR_LIT(offer), &sec, out, (size_t)n - 1), -1);
}

/* sdp_media_codec: the first format's name and clock, for a call's record */
Test(sdp, first_format_names_the_codec)
{
    static const char body[] = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\n"
                               "t=0 0\r\nm=audio 4000 RTP/AVP 96 0 101\r\n"
                               "a=rtpmap:0 PCMU/8000\r\na=rtpmap:96 opus/48000/2\r\n"
                               "m=audio 4002 RTP/AVP 8 0\r\n"
                               "m=audio 4004 RTP/AVP 97\r\n"
                               "m=image 4006 udptl t38\r\n";
    struct sdp s;
    cr_assert_eq(sdp_parse(sip_str_make(body, sizeof(body) - 1), &s), 0);
    char name[24];
    uint32_t clock;
    sdp_media_codec(&s.media[0], name, sizeof(name), &clock);
    cr_expect_str_eq(name, "opus/48000/2");
    cr_expect_eq(clock, 48000u, "the clock from its a=rtpmap");
    sdp_media_codec(&s.media[1], name, sizeof(name), &clock);
    cr_expect_str_eq(name, "PCMA/8000", "a static payload type without a=rtpmap");
    cr_expect_eq(clock, 8000u);
    sdp_media_codec(&s.media[2], name, sizeof(name), &clock);
    cr_expect_str_eq(name, "", "a dynamic type nobody mapped");
    cr_expect_eq(clock, 0u);
    sdp_media_codec(&s.media[3], name, sizeof(name), &clock);
    cr_expect_str_eq(name, "", "not RTP formats");
    char small[5];
    sdp_media_codec(&s.media[0], small, sizeof(small), &clock);
    cr_expect_str_eq(small, "opus", "cut to its room");
}

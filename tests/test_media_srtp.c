/* tests/test_media_srtp.c: the SDES offer/answer of src/media_srtp.c (no I/O) carried through
 * to packets. The inside offers plain RTP; sipring offers its own keys to the outside (the text
 * it writes is parsed back as SDP); the outside answers one of them with its key; then a packet
 * from the inside, protected by sipring, decrypts under the key sipring offered, and a packet
 * the outside protects under its own key decrypts in sipring and is refused when replayed. The
 * other direction too: an outside SRTP offer is answered with a key of sipring's, the inside
 * sees plain RTP/AVP. And --srtp-outside required refuses a plain offer from the outside. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../rtp/srtp_ctx.h"
#include "../src/media_srtp.h"
#include "../tls/tls.h"
#include "sdp.h"
#include "sdp_rewrite.h"

static const struct media_srtp_cfg required = {
    MEDIA_SRTP_REQUIRED, {SDES_AES_CM_128_HMAC_SHA1_80, SDES_AEAD_AES_128_GCM}, 2};

static void init(void)
{
    cr_assert_eq(tls_lib_init(), 0);
    cr_assert_eq(rtp_srtp_lib_init(), 0);
}

/* parsed: SDP text parsed into s (the text must outlive s) */
static void parsed(const char *text, struct sdp *s)
{
    cr_assert_eq(sdp_parse(sip_str_make(text, strlen(text)), s), 0, "%s", text);
}

/* through: m= line 0 of `text` from leg `in` through media_srtp_on_sdp and the rewrite, into
 * out (what the other side receives) */
static void through(struct media_srtp **st, const struct media_srtp_cfg *cfg, const char *text,
                    unsigned in, bool in_outside, bool is_request, char *out, size_t cap)
{
    struct sdp s;
    parsed(text, &s);
    struct sdp_rewrite rw;
    memset(&rw, 0, sizeof(rw));
    rw.addr = "192.0.2.1";
    rw.port[0] = 30000;
    struct media_srtp_sdp m = {&s.media[0], in, in_outside, !in_outside, is_request, false};
    static char crypto[SDES_SUITE_COUNT * SDES_LINE_MAX];
    cr_assert_eq(media_srtp_on_sdp(st, cfg, &m, 0, &rw, crypto, sizeof(crypto)), 0);
    long n = sdp_rewrite(&s, sip_str_make(text, strlen(text)), &rw, out, cap);
    cr_assert_gt(n, 0);
    out[n] = '\0';
}

static size_t rtp_packet(uint8_t *p, uint16_t seq)
{
    static const uint8_t hdr[12] = {0x80, 0, 0, 0, 0, 0, 0, 160, 0x11, 0x22, 0x33, 0x44};
    memcpy(p, hdr, 12);
    p[2] = (uint8_t)(seq >> 8);
    p[3] = (uint8_t)seq;
    for (int i = 0; i < 160; i++) {
        p[12 + i] = (uint8_t)(i * 7 + seq);
    }
    return 172;
}

static const char inside_offer[] = "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\n"
                                   "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

Test(media_srtp, inside_plain_offer_becomes_srtp_outside_and_packets_cross, .init = init)
{
    struct media_srtp *st = NULL;
    char offer_out[2048], answer_in[2048];
    through(&st, &required, inside_offer, 0, false, true, offer_out, sizeof(offer_out));
    cr_expect(strstr(offer_out, "m=audio 30000 RTP/SAVP 0\r\n") != NULL, "%s", offer_out);
    cr_expect(strstr(offer_out, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:") != NULL);
    cr_expect(strstr(offer_out, "a=crypto:2 AEAD_AES_128_GCM inline:") != NULL);
    /* the outside takes tag 2 (GCM) and brings its own key */
    struct sdp offered;
    parsed(offer_out, &offered);
    struct sdes_key ours, theirs = {SDES_AEAD_AES_128_GCM, 2, 28, {0}};
    cr_assert_eq(sdes_key_find(&offered.media[0], 2, SDES_AEAD_AES_128_GCM, &ours), 0);
    for (int i = 0; i < 28; i++) {
        theirs.key[i] = (uint8_t)(0xa0 + i);
    }
    char line[SDES_LINE_MAX];
    long ll = sdes_key_write(&theirs, line, sizeof(line)); /* not NUL-terminated */
    cr_assert_gt(ll, 0);
    char answer[1024];
    snprintf(answer, sizeof(answer),
             "v=0\r\no=- 2 2 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n"
             "m=audio 6000 RTP/SAVP 0\r\n%.*s",
             (int)ll, line);
    through(&st, &required, answer, 1, true, false, answer_in, sizeof(answer_in));
    cr_expect(strstr(answer_in, "m=audio 30000 RTP/AVP 0\r\n") != NULL, "inside: %s", answer_in);
    cr_expect(strstr(answer_in, "a=crypto") == NULL, "no key reaches the inside");
    cr_expect_eq(media_srtp_outside_leg(st), 1);
    cr_expect_eq(media_srtp_suite(st), SDES_AEAD_AES_128_GCM);

    /* inside -> outside: sipring protects; the outside decrypts with the key sipring offered */
    uint8_t pkt[512], plain[512];
    size_t len = rtp_packet(pkt, 1), plen = len;
    memcpy(plain, pkt, len);
    cr_assert_eq(media_srtp_to_outside(st, pkt, &len, sizeof(pkt), false), 0);
    cr_expect_neq(memcmp(pkt + 12, plain + 12, 160), 0, "the payload is encrypted");
    struct rtp_srtp *far_rx = rtp_srtp_new(RTP_SRTP_AEAD_AES_128_GCM, ours.key, ours.len, false);
    cr_assert(far_rx != NULL);
    cr_assert_eq(rtp_srtp_unprotect(far_rx, pkt, &len, false), 0);
    cr_expect(len == plen && memcmp(pkt, plain, plen) == 0,
              "the outside reads what the inside sent");

    /* outside -> inside: the outside protects with its key; sipring decrypts, once */
    struct rtp_srtp *far_tx = rtp_srtp_new(RTP_SRTP_AEAD_AES_128_GCM, theirs.key, 28, true);
    len = rtp_packet(pkt, 7);
    memcpy(plain, pkt, len);
    plen = len;
    cr_assert_eq(rtp_srtp_protect(far_tx, pkt, &len, sizeof(pkt), false), 0);
    uint8_t again[512];
    size_t alen = len;
    memcpy(again, pkt, len);
    cr_assert_eq(media_srtp_from_outside(st, pkt, &len, false), 0);
    cr_expect(len == plen && memcmp(pkt, plain, plen) == 0);
    cr_expect_neq(media_srtp_from_outside(st, again, &alen, false), 0, "a replay is refused");
    /* a packet under a key nobody agreed fails the check */
    struct rtp_srtp *stranger = rtp_srtp_new(RTP_SRTP_AEAD_AES_128_GCM, ours.key, 28, true);
    len = rtp_packet(pkt, 9);
    cr_assert_eq(rtp_srtp_protect(stranger, pkt, &len, sizeof(pkt), false), 0);
    cr_expect_neq(media_srtp_from_outside(st, pkt, &len, false), 0);
    rtp_srtp_free(far_rx);
    rtp_srtp_free(far_tx);
    rtp_srtp_free(stranger);
    media_srtp_free(st);
}

Test(media_srtp, an_outside_srtp_offer_is_answered_with_a_key_of_ours, .init = init)
{
    struct media_srtp *st = NULL;
    struct sdes_key theirs = {SDES_AES_CM_128_HMAC_SHA1_80, 5, 30, {0}};
    for (int i = 0; i < 30; i++) {
        theirs.key[i] = (uint8_t)(0x10 + i);
    }
    char line[SDES_LINE_MAX], offer[1024], offer_in[2048], answer_out[2048];
    long ll = sdes_key_write(&theirs, line, sizeof(line)); /* not NUL-terminated */
    cr_assert_gt(ll, 0);
    snprintf(offer, sizeof(offer),
             "v=0\r\no=- 3 3 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n"
             "m=audio 6000 RTP/SAVP 0 8\r\n%.*s",
             (int)ll, line);
    through(&st, &required, offer, 1, true, true, offer_in, sizeof(offer_in));
    cr_expect(strstr(offer_in, "RTP/AVP 0 8\r\n") != NULL && strstr(offer_in, "a=crypto") == NULL,
              "the inside gets plain RTP: %s", offer_in);
    static const char inside_answer[] = "v=0\r\no=- 4 4 IN IP4 10.0.0.5\r\ns=-\r\n"
                                        "c=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    through(&st, &required, inside_answer, 0, false, false, answer_out, sizeof(answer_out));
    cr_expect(strstr(answer_out, "RTP/SAVP 0\r\n") != NULL, "%s", answer_out);
    struct sdp ans;
    parsed(answer_out, &ans);
    struct sdes_key ours;
    cr_assert_eq(sdes_key_find(&ans.media[0], 5, SDES_AES_CM_128_HMAC_SHA1_80, &ours), 0,
                 "the answer takes the offer's tag and suite (RFC 4568 §5.1.2)");
    cr_expect_neq(memcmp(ours.key, theirs.key, 30), 0, "a key of its own, not the offer's");
    cr_expect_eq(media_srtp_outside_leg(st), 1);
    media_srtp_free(st);
}

Test(media_srtp, required_refuses_a_plain_offer_from_the_outside, .init = init)
{
    struct sdp plain, secure;
    parsed(inside_offer, &plain);
    cr_expect(media_srtp_refuses(&required, &plain, true, false, true, false));
    cr_expect(!media_srtp_refuses(&required, &plain, false, true, true, false),
              "the inside may offer plain RTP");
    cr_expect(!media_srtp_refuses(&required, &plain, true, false, false, false),
              "an answer is not refused here");
    struct media_srtp_cfg optional = required;
    optional.mode = MEDIA_SRTP_OPTIONAL;
    cr_expect(!media_srtp_refuses(&optional, &plain, true, false, true, false));
    static const char sec[] =
        "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\n"
        "t=0 0\r\nm=audio 4000 RTP/SAVP 0\r\n"
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
        "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n";
    parsed(sec, &secure);
    cr_expect(!media_srtp_refuses(&required, &secure, true, false, true, false));
}

/* tests/test_srtp.c: SDES a=crypto keys (RFC 4568, RFC 7714 §12) and the SRTP contexts of a relay
 * leg: every suite round-trips RTP and RTCP, the wire is not the plaintext, tampering, replays
 * and a wrong key are refused, and the limits on lines sipring will not honour hold. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "sdes.h"
#include "srtp_ctx.h"

static struct sdp_crypto crypto_line(const char *suite, const char *key_params, const char *sess)
{
    struct sdp_crypto c = {.tag = 7};
    c.suite = sip_str_make(suite, strlen(suite));
    c.key_params = sip_str_make(key_params, strlen(key_params));
    c.session_params = sip_str_make(sess, strlen(sess));
    return c;
}

Test(sdes, reads_the_rfc_4568_example_key)
{
    /* RFC 4568 §9.1's example; its key is 30 bytes: 16 key + 14 salt */
    struct sdp_crypto c = crypto_line("AES_CM_128_HMAC_SHA1_80",
                                      "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20", "");
    struct sdes_key k;
    cr_assert_eq(sdes_key_read(&c, &k), 0);
    cr_assert_eq(k.suite, SDES_AES_CM_128_HMAC_SHA1_80);
    cr_assert_eq(k.tag, 7);
    cr_assert_eq(k.len, 30);
    cr_assert_eq(k.key[0], 0x3d);
    cr_assert_eq(k.key[1], 0x2d);
    cr_assert_eq(k.key[29], 0x51);
}

Test(sdes, refuses_what_it_cannot_honour)
{
    static const char key30[] = "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
    struct sdes_key k;
    struct sdp_crypto bad[] = {
        crypto_line("F8_128_HMAC_SHA1_80", key30, ""),                     /* unknown suite */
        crypto_line("AES_CM_128_HMAC_SHA1_80", key30, "UNENCRYPTED_SRTP"), /* session param */
        crypto_line("AES_CM_128_HMAC_SHA1_80",
                    "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4", ""), /* MKI */
        crypto_line("AES_CM_128_HMAC_SHA1_80",
                    "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR;"
                    "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
                    ""),                            /* two keys */
        crypto_line("AEAD_AES_256_GCM", key30, ""), /* 30 bytes where 44 are due */
        crypto_line("AES_CM_128_HMAC_SHA1_80", "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB!",
                    ""), /* not base64 */
        crypto_line("AES_CM_128_HMAC_SHA1_80", "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", ""),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(sdes_key_read(&bad[i], &k), -1, "line %zu", i);
        cr_assert_eq(k.len, 0, "nothing of a refused key is kept (line %zu)", i);
    }
}

Test(sdes, writes_what_it_reads_for_every_suite)
{
    for (unsigned s = 1; s <= SDES_SUITE_COUNT; s++) {
        struct sdes_key k = {.suite = (enum sdes_suite)s, .tag = 12};
        k.len = (uint8_t)sdes_key_len(k.suite);
        for (unsigned i = 0; i < k.len; i++) {
            k.key[i] = (uint8_t)(i * 37 + s);
        }
        char line[SDES_LINE_MAX];
        long n = sdes_key_write(&k, line, sizeof(line));
        cr_assert_gt(n, 0);
        cr_assert(memcmp(line + n - 2, "\r\n", 2) == 0);
        /* parse it back through the SDP parser, as a peer would */
        char body[512];
        int bl =
            snprintf(body, sizeof(body),
                     "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
                     "m=audio 4000 RTP/SAVP 0\r\n%.*s",
                     (int)n, line);
        struct sdp sdp;
        cr_assert_eq(sdp_parse(sip_str_make(body, (size_t)bl), &sdp), 0, "%s", body);
        struct sdes_key back;
        cr_assert_eq(sdes_key_find(&sdp.media[0], 12, k.suite, &back), 0, "%s", line);
        cr_assert_eq(back.len, k.len);
        cr_assert(memcmp(back.key, k.key, k.len) == 0);
        cr_assert_eq(sdes_key_find(&sdp.media[0], 13, k.suite, &back), -1, "another tag");
        cr_assert_eq(sdes_key_write(&k, line, (size_t)n - 1), -1, "one byte short");
    }
}

Test(sdes, choose_takes_the_first_allowed_line)
{
    static const char body[] =
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
        "m=audio 4000 RTP/SAVP 0\r\n"
        "a=crypto:1 F8_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n"
        "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n"
        "a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n";
    struct sdp sdp;
    cr_assert_eq(sdp_parse(SIP_STR_LIT(body), &sdp), 0);
    struct sdes_key k;
    cr_assert_eq(sdes_key_choose(&sdp.media[0], ~0u, &k), 0);
    cr_assert_eq(k.tag, 2);
    cr_assert_eq(sdes_key_choose(&sdp.media[0], 1u << SDES_AES_CM_128_HMAC_SHA1_80, &k), 0);
    cr_assert_eq(k.tag, 3);
    cr_assert_eq(sdes_key_choose(&sdp.media[0], 1u << SDES_AEAD_AES_128_GCM, &k), -1);
}

static size_t rtp_packet(uint8_t *p, uint16_t seq)
{
    memset(p, 0, 200);
    p[0] = 0x80;
    p[1] = 0;
    p[2] = (uint8_t)(seq >> 8);
    p[3] = (uint8_t)seq;
    p[11] = 0x42; /* SSRC */
    for (unsigned i = 12; i < 172; i++) {
        p[i] = (uint8_t)('A' + i % 26); /* a recognisable payload */
    }
    return 172;
}

static size_t rtcp_packet(uint8_t *p)
{
    static const uint8_t sr[28] = {0x80, 200, 0, 6, 0, 0, 0, 0x42, 1, 2,  3, 4, 5, 6,
                                   7,    8,   0, 0, 0, 1, 0, 0,    0, 10, 0, 0, 6, 64};
    memcpy(p, sr, sizeof(sr));
    return sizeof(sr);
}

Test(srtp, every_suite_round_trips_rtp_and_rtcp_and_refuses_forgeries)
{
    cr_assert_eq(rtp_srtp_lib_init(), 0);
    for (unsigned s = 1; s <= SDES_SUITE_COUNT; s++) {
        uint8_t key[SDES_KEY_MAX];
        size_t klen = sdes_key_len((enum sdes_suite)s);
        for (size_t i = 0; i < klen; i++) {
            key[i] = (uint8_t)(i * 11 + s);
        }
        struct rtp_srtp *tx = rtp_srtp_new((enum rtp_srtp_suite)s, key, klen, true);
        struct rtp_srtp *rx = rtp_srtp_new((enum rtp_srtp_suite)s, key, klen, false);
        key[0] ^= 1;
        struct rtp_srtp *other = rtp_srtp_new((enum rtp_srtp_suite)s, key, klen, false);
        cr_assert(tx && rx && other, "suite %u", s);
        cr_assert_null(rtp_srtp_new((enum rtp_srtp_suite)s, key, klen - 1, true));

        uint8_t plain[512], pkt[512];
        for (uint16_t seq = 100; seq < 110; seq++) {
            size_t n = rtp_packet(plain, seq), len = n;
            memcpy(pkt, plain, n);
            cr_assert_eq(rtp_srtp_protect(tx, pkt, &len, sizeof(pkt), false), 0);
            cr_assert_gt(len, n, "a tag was added");
            cr_assert(memcmp(pkt, plain, 12) == 0, "the RTP header stays clear");
            cr_assert(memcmp(pkt + 12, plain + 12, n - 12) != 0, "the payload is not clear");
            uint8_t copy[512];
            size_t clen = len;
            memcpy(copy, pkt, len);
            cr_assert_eq(rtp_srtp_unprotect(other, copy, &clen, false), -1, "wrong key");
            clen = len;
            memcpy(copy, pkt, len);
            copy[20] ^= 0x01;
            cr_assert_eq(rtp_srtp_unprotect(rx, copy, &clen, false), -1, "tampered payload");
            memcpy(copy, pkt, len);
            cr_assert_eq(rtp_srtp_unprotect(rx, pkt, &len, false), 0, "suite %u seq %u", s, seq);
            cr_assert_eq(len, n);
            cr_assert(memcmp(pkt, plain, n) == 0, "byte for byte what was sent");
        }
        /* replay: the last packet again */
        size_t n = rtp_packet(plain, 109), len = n;
        memcpy(pkt, plain, n);
        cr_assert_eq(rtp_srtp_protect(tx, pkt, &len, sizeof(pkt), false), -1,
                     "protecting an index twice would reuse keystream");
        n = rtp_packet(plain, 110);
        len = n;
        memcpy(pkt, plain, n);
        cr_assert_eq(rtp_srtp_protect(tx, pkt, &len, sizeof(pkt), false), 0);
        uint8_t again[512];
        size_t alen = len;
        memcpy(again, pkt, len);
        cr_assert_eq(rtp_srtp_unprotect(rx, pkt, &len, false), 0);
        cr_assert_eq(rtp_srtp_unprotect(rx, again, &alen, false), -1, "replayed SRTP refused");

        n = rtcp_packet(plain);
        len = n;
        memcpy(pkt, plain, n);
        cr_assert_eq(rtp_srtp_protect(tx, pkt, &len, sizeof(pkt), true), 0);
        cr_assert_gt(len, n + 4, "SRTCP index and tag");
        cr_assert_eq(rtp_srtp_unprotect(rx, pkt, &len, true), 0, "suite %u RTCP", s);
        cr_assert_eq(len, n);
        cr_assert(memcmp(pkt, plain, n) == 0);
        len = n;
        cr_assert_eq(rtp_srtp_protect(tx, pkt, &len, n + 10, true), -1, "no room for the trailer");
        rtp_srtp_free(tx);
        rtp_srtp_free(rx);
        rtp_srtp_free(other);
    }
}

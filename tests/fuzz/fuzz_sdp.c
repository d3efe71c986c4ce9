/* tests/fuzz/fuzz_sdp.c: the SDP decoder, the SDES key reader (RFC 4568) and the relay's SDP
 * rewrite, SRTP translation included, on arbitrary bodies. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sdes.h"
#include "sdp.h"
#include "sdp_rewrite.h"

/* Every a=crypto line sipring accepts is written back to the same key. */
static void check_keys(const struct sdp_media *m)
{
    for (unsigned c = 0; c < m->crypto_count; c++) {
        struct sdes_key k, back;
        if (sdes_key_read(&m->crypto[c], &k) != 0) {
            continue;
        }
        char line[SDES_LINE_MAX];
        long n = sdes_key_write(&k, line, sizeof(line));
        if (n <= 11 || n > (long)sizeof(line)) {
            abort();
        }
        /* "a=crypto:" + tag SP suite SP key-params, without the CRLF */
        char body[256];
        static const char head[] =
            "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/SAVP 0\r\n";
        memcpy(body, head, sizeof(head) - 1);
        memcpy(body + sizeof(head) - 1, line, (size_t)n);
        struct sdp again;
        if (sdp_parse(sip_str_make(body, sizeof(head) - 1 + (size_t)n), &again) != 0 ||
            sdes_key_find(&again.media[0], k.tag, k.suite, &back) != 0 || back.len != k.len ||
            memcmp(back.key, k.key, k.len) != 0) {
            abort();
        }
    }
    struct sdes_key chosen;
    if (sdes_key_choose(m, ~0u, &chosen) == 0 && chosen.len != sdes_key_len(chosen.suite)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sdp s;
    struct sip_str body = sip_str_make((const char *)data, size);
    if (sdp_parse(body, &s) != 0) {
        return 0;
    }
    for (unsigned i = 0; i < s.media_count; i++) {
        const struct sdp_conn *c = sdp_media_conn(&s, i);
        /* Every slice handed out must lie inside the input. */
        if (c != NULL && (c->addr.p < (const char *)data ||
                          c->addr.p + c->addr.len > (const char *)data + size)) {
            abort();
        }
    }
    /* The rewrite never writes past its buffer, and what it writes parses again with the same
     * streams (RFC 4566 §5.14: the m= lines are the streams, in order). */
    static char out[8192];
    struct sdp_rewrite rw = {.addr = "203.0.113.1",
                             .strip_ice = size % 2 == 0,
                             .port = {30000, 30002, 30004, 30006, 30008, 30010, 30012, 30014}};
    for (unsigned i = 0; i < s.media_count; i++) {
        check_keys(&s.media[i]);
        /* SRTP translation chosen from the input's bytes, as varied as the input is */
        uint8_t pick = data[i % size];
        rw.profile[i] = (enum sdp_profile_change)(pick % 3);
        rw.strip_crypto[i] = pick & 4;
        if (pick & 8) {
            rw.crypto[i] = SIP_STR_LIT("a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
                                       "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n");
        }
    }
    long n = sdp_rewrite(&s, body, &rw, out, sizeof(out));
    if (n > (long)sizeof(out)) {
        abort();
    }
    struct sdp r;
    if (n > 0 &&
        (sdp_parse(sip_str_make(out, (size_t)n), &r) != 0 || r.media_count != s.media_count)) {
        abort(); /* what we rewrite must parse, with every m= line still there */
    }
    return 0;
}

/* tests/fuzz/fuzz_sdp.c: the SDP decoder and the relay's SDP rewrite on arbitrary bodies. */
#include <stdint.h>
#include <stdlib.h>

#include "sdp.h"
#include "sdp_rewrite.h"

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
    struct sdp_rewrite rw = {.addr = "203.0.113.1", .strip_ice = size % 2 == 0,
                             .port = {30000, 30002, 30004, 30006, 30008, 30010, 30012, 30014}};
    long n = sdp_rewrite(&s, body, &rw, out, sizeof(out));
    if (n > (long)sizeof(out)) {
        abort();
    }
    struct sdp r;
    if (n > 0 && sdp_parse(sip_str_make(out, (size_t)n), &r) == 0 && r.media_count != s.media_count) {
        abort();
    }
    return 0;
}

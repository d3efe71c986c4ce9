/* tests/fuzz/fuzz_sdp.c: the SDP decoder on arbitrary bodies. */
#include <stdint.h>
#include <stdlib.h>

#include "sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sdp s;
    if (sdp_parse(sip_str_make((const char *)data, size), &s) == 0) {
        for (unsigned i = 0; i < s.media_count; i++) {
            const struct sdp_conn *c = sdp_media_conn(&s, i);
            /* Every slice handed out must lie inside the input. */
            if (c != NULL && (c->addr.p < (const char *)data ||
                              c->addr.p + c->addr.len > (const char *)data + size)) {
                abort();
            }
        }
    }
    return 0;
}

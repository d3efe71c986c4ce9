/* tests/fuzz/fuzz_frame.c: stream framing on arbitrary bytes: every frame lies inside the input,
 * consumes something or asks for more, and cutting the input at a frame boundary gives the
 * same frame. */
#include <stdint.h>
#include <stdlib.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t off = 0;
    while (off < size) {
        struct sip_frame f = sip_frame_next(p + off, size - off, 4096);
        if (f.skip + f.len > size - off) {
            abort();
        }
        if (f.kind == SIP_FRAME_MESSAGE) {
            struct sip_frame g = sip_frame_next(p + off, f.skip + f.len, 4096);
            if (g.kind != SIP_FRAME_MESSAGE || g.len != f.len || g.skip != f.skip) {
                abort();
            }
        }
        if (f.kind == SIP_FRAME_BAD || f.kind == SIP_FRAME_AGAIN) {
            break;
        }
        if (f.skip + f.len == 0) {
            abort(); /* no progress */
        }
        off += f.skip + f.len;
    }
    return 0;
}

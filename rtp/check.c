/* rtp/check.c: see check.h. */
#include "check.h"

static enum rtp_kind check_rtp(const uint8_t *p, size_t len)
{
    size_t need = 12 + 4 * (size_t)(p[0] & 0x0f); /* fixed header + CSRC list */
    if (len < need) {
        return RTP_KIND_BAD;
    }
    if (p[0] & 0x10) { /* header extension: 4-byte header, then `length` words */
        if (len < need + 4) {
            return RTP_KIND_BAD;
        }
        need += 4 + 4 * (size_t)((p[need + 2] << 8) | p[need + 3]);
        if (len < need) {
            return RTP_KIND_BAD;
        }
    }
    if (p[0] & 0x20) { /* padding: the last byte counts it, and it cannot eat the header */
        size_t pad = p[len - 1];
        if (pad == 0 || len - need < pad) {
            return RTP_KIND_BAD;
        }
    }
    return RTP_KIND_RTP;
}

enum rtp_kind rtp_check(const uint8_t *p, size_t len)
{
    if (len < 4 || (p[0] >> 6) != 2) {
        return RTP_KIND_BAD;
    }
    if (p[1] >= 192 && p[1] <= 223) {
        /* RTCP (compound): the first packet's length, in 32-bit words minus one, must fit. */
        size_t first = 4 * ((size_t)((p[2] << 8) | p[3]) + 1);
        return (len >= 8 && first <= len && len % 4 == 0) ? RTP_KIND_RTCP : RTP_KIND_BAD;
    }
    return check_rtp(p, len);
}

/* tests/fuzz/fuzz_rtcp.c: the relay's RTCP reading (rtp/rtcp.c) on arbitrary packets: each
 * input is a run of records (a side byte, a length byte, that many bytes), read as RTCP from
 * that side of one stream at advancing times. Oracles: a packet rtcp_read accepts has its
 * fields inside the packet (a block only when the packet can hold one); the quality of each
 * direction stays in range (loss 0-100 %, R 0-100, MOS 1-4.5, finite jitter) whatever the
 * reports say. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rtcp.h"

static void check_quality(const struct rtcp_side *rx, const struct rtcp_side *tx, uint64_t n,
                          uint32_t clock)
{
    struct rtcp_quality q;
    rtcp_quality(rx, tx, n, clock, &q);
    if (!q.known) {
        return;
    }
    if (!(q.loss_pct >= 0 && q.loss_pct <= 100) || !isfinite(q.jitter_ms) || q.jitter_ms < 0 ||
        !(q.r_factor >= 0 && q.r_factor <= 100) || !(q.mos >= 1 && q.mos <= 4.5)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rtcp_side side[2];
    memset(side, 0, sizeof(side));
    uint64_t now = 1000, delivered = 0;
    while (size >= 2) {
        unsigned s = data[0] & 1, step = data[0] >> 1; /* ms until the next packet */
        size_t len = data[1] < size - 2 ? data[1] : size - 2;
        data += 2;
        size -= 2;
        uint8_t *pkt = malloc(len ? len : 1); /* exactly len: ASan sees any read past it */
        if (pkt == NULL) {
            abort();
        }
        memcpy(pkt, data, len);
        struct rtcp_info in;
        if (rtcp_read(pkt, len, &in) == 0) {
            if (len < 8 || (in.has_sr && len < 28) || (in.has_block && len < 32)) {
                abort(); /* a field read from outside the packet */
            }
            rtcp_observe(&side[s], &side[s ^ 1], &in, now);
        }
        free(pkt);
        now += step;
        delivered += len;
        data += len;
        size -= len;
    }
    check_quality(&side[0], &side[1], delivered, 8000);
    check_quality(&side[1], &side[0], 0, 48000);
    return 0;
}

/* tests/fuzz/fuzz_rtp.c: the relay's packet handling on arbitrary packets from arbitrary
 * sources: rtp_check, the latching of rtp_stream_on_packet, and SRTP (rtp/srtp_ctx.c).
 *
 * The input is a run of records: a selector byte, a length byte, then that many packet bytes.
 * The selector picks the leg and port (RTP or RTCP) the packet arrives on, its source (the
 * address side 0 announced, side 0's RTCP port, side 1's NAT address, a stranger) and whether
 * side 0 announces again first (which unlatches it). Side 0 announced 10.0.0.1:4000, side 1 is
 * behind NAT with signaling from 192.0.2.9. Oracles:
 * - RTP Bleed: a packet is relayed only if rtp_check accepts it and its source's IP is the one
 *   its leg may latch to (the announced IP for side 0, the signaling IP for side 1); the
 *   stranger's packets are never relayed.
 * - SRTP: every relayed packet protected by one context and unprotected by its twin (same key)
 *   comes back byte for byte when both accept it; the raw packet given to a receiving context
 *   as if it were SRTP is either refused or comes out no longer than it went in. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "srtp_ctx.h"
#include "stream.h"

static const uint8_t KEY[44] = "0123456789abcdef0123456789abcdef0123456789ab";
static const size_t KEY_LEN[5] = {0, 30, 30, 28, 44};

static struct rtp_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
    struct rtp_addr x = {.family = 4, .port = port};
    x.ip[0] = a;
    x.ip[1] = b;
    x.ip[2] = c;
    x.ip[3] = d;
    return x;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (rtp_srtp_lib_init() != 0) {
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    enum rtp_srtp_suite suite = (enum rtp_srtp_suite)(data[0] % 4 + 1);
    data++;
    size--;
    struct rtp_srtp *tx = rtp_srtp_new(suite, KEY, KEY_LEN[suite], true);
    struct rtp_srtp *rx = rtp_srtp_new(suite, KEY, KEY_LEN[suite], false);
    struct rtp_srtp *raw = rtp_srtp_new(suite, KEY, KEY_LEN[suite], false);
    if (tx == NULL || rx == NULL || raw == NULL) {
        abort();
    }
    struct rtp_stream s;
    memset(&s, 0, sizeof(s));
    const struct rtp_addr a0 = v4(10, 0, 0, 1, 4000), nat1 = v4(192, 0, 2, 9, 0);
    const struct rtp_addr sources[4] = {a0, v4(10, 0, 0, 1, 4001), v4(192, 0, 2, 9, 5000),
                                        v4(203, 0, 113, 5, 4000)};
    const struct rtp_addr a1 = v4(172, 16, 0, 2, 6000);
    s.leg[0].local_port = 30000;
    s.leg[1].local_port = 30002;
    rtp_leg_announce(&s.leg[0], &a0, 0, false, false, &a0);
    rtp_leg_announce(&s.leg[1], &a1, 0, false, true, &nat1);
    uint64_t now = 1000;
    while (size >= 2) {
        uint8_t sel = data[0];
        size_t len = data[1];
        data += 2;
        size -= 2;
        len = len < size ? len : size;
        unsigned in = sel & 1;
        enum rtp_comp comp = (sel >> 1) & 1 ? RTP_COMP_RTCP : RTP_COMP_RTP;
        const struct rtp_addr *from = &sources[(sel >> 2) & 3];
        if (sel & 0x10) {
            rtp_leg_announce(&s.leg[0], &a0, (sel & 0x20) ? 4005 : 0, (sel & 0x40) != 0, false,
                             &a0);
        }
        uint8_t pkt[256 + RTP_SRTP_HEADROOM];
        memcpy(pkt, data, len);
        struct rtp_addr to;
        enum rtp_comp out;
        enum rtp_verdict v = rtp_stream_on_packet(&s, in, comp, from, pkt, len, now++, &to, &out);
        enum rtp_kind kind = rtp_check(pkt, len);
        if (v == RTP_RELAY) {
            const struct rtp_addr *may = in == 0 ? &a0 : &nat1;
            if (kind == RTP_KIND_BAD || !rtp_addr_same_ip(from, may) || from == &sources[3]) {
                abort(); /* RTP Bleed: relayed from a source it may not latch to */
            }
            uint8_t copy[sizeof(pkt)];
            size_t n = len;
            memcpy(copy, pkt, len);
            bool rtcp = kind == RTP_KIND_RTCP;
            if (rtp_srtp_protect(tx, copy, &n, sizeof(copy), rtcp) == 0 &&
                rtp_srtp_unprotect(rx, copy, &n, rtcp) == 0 &&
                (n != len || memcmp(copy, pkt, len) != 0)) {
                abort(); /* SRTP round trip changed the packet */
            }
        }
        size_t n = len;
        if (rtp_srtp_unprotect(raw, pkt, &n, kind == RTP_KIND_RTCP) == 0 && n > len) {
            abort();
        }
        data += len;
        size -= len;
    }
    rtp_srtp_free(tx);
    rtp_srtp_free(rx);
    rtp_srtp_free(raw);
    return 0;
}

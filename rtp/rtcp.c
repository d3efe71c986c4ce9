/* rtp/rtcp.c: RTCP sender and receiver reports (RFC 3550 §6.4) and the quality they imply. */
#include "rtcp.h"

#include <string.h>

#define RTCP_SR 200
#define RTCP_RR 201
#define RTCP_BLOCK_LEN 24

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void read_block(const uint8_t *p, struct rtcp_block *b)
{
    b->ssrc = be32(p);
    b->fraction_lost = p[4];
    /* cumulative lost: 24-bit two's complement (RFC 3550 §6.4.1, errata 3378) */
    int32_t lost = (int32_t)((uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7]);
    b->cum_lost = lost & 0x800000 ? lost - 0x1000000 : lost;
    b->ext_seq = be32(p + 8);
    b->jitter = be32(p + 12);
    b->lsr = be32(p + 16);
    b->dlsr = be32(p + 20);
}

int rtcp_read(const uint8_t *p, size_t len, struct rtcp_info *out)
{
    memset(out, 0, sizeof(*out));
    bool any = false;
    size_t at = 0;
    if (len < 4) {
        return -1;
    }
    while (at < len) {
        if (len - at < 4 || (p[at] >> 6) != 2) {
            return -1;
        }
        unsigned count = p[at] & 0x1f, pt = p[at + 1];
        size_t plen = ((size_t)p[at + 2] << 8 | p[at + 3]) * 4 + 4;
        if (pt < 192 || pt > 223 || plen > len - at) {
            return -1;
        }
        const uint8_t *q = p + at;
        size_t fixed = pt == RTCP_SR ? 28 : pt == RTCP_RR ? 8 : 0;
        if (fixed > 0) {
            if (plen < fixed + (size_t)count * RTCP_BLOCK_LEN) {
                return -1; /* the blocks it counts do not fit in its length */
            }
            if (!any) {
                out->sender_ssrc = be32(q + 4);
                if (pt == RTCP_SR) {
                    out->has_sr = true;
                    /* NTP: seconds at q+8, fraction at q+12; the middle 32 bits (§6.4.1 LSR) */
                    out->sr_ntp_mid = be32(q + 10);
                    out->sr_packets = be32(q + 20);
                    out->sr_octets = be32(q + 24);
                }
                if (count > 0) {
                    out->has_block = true;
                    read_block(q + fixed, &out->block);
                }
            }
            any = true;
        }
        at += plen;
    }
    return any ? 0 : -1;
}

void rtcp_observe(struct rtcp_side *self, const struct rtcp_side *other, const struct rtcp_info *in,
                  uint64_t now_ms)
{
    self->reports++;
    if (in->has_sr) {
        self->sr_seen = true;
        self->sr_ntp_mid = in->sr_ntp_mid;
        self->sr_seen_ms = now_ms;
    }
    if (!in->has_block) {
        return;
    }
    const struct rtcp_block *b = &in->block;
    self->has_block = true;
    self->cum_lost = b->cum_lost;
    self->fraction_lost = b->fraction_lost;
    if (b->jitter > self->jitter_max) {
        self->jitter_max = b->jitter;
    }
    self->jitter_sum += b->jitter;
    self->jitter_n++;
    /* §6.4.1: a block quotes the last SR it got (LSR, 0 if none) and how long ago (DLSR);
     * only an SR sipring relayed (the other side's, with those NTP bits) gives a round trip */
    if (b->lsr != 0 && other->sr_seen && b->lsr == other->sr_ntp_mid) {
        uint64_t held = ((uint64_t)b->dlsr * 1000) >> 16;
        uint64_t since = now_ms - other->sr_seen_ms;
        uint32_t rtt = since > held ? (uint32_t)(since - held) : 0;
        self->rtt_last_ms = rtt;
        self->rtt_sum_ms += rtt;
        self->rtt_n++;
    }
}

double rtcp_r_factor(double delay_ms, double jitter_ms, double loss_pct)
{
    double eff = delay_ms + 2 * jitter_ms + 10;
    double r = eff < 160 ? 93.2 - eff / 40 : 93.2 - (eff - 120) / 10;
    r -= 2.5 * loss_pct;
    return r < 0 ? 0 : r > 100 ? 100 : r;
}

double rtcp_mos(double r)
{
    /* ITU-T G.107 Annex B: MOS from the transmission rating */
    if (r <= 0) {
        return 1;
    }
    if (r >= 100) {
        return 4.5;
    }
    double mos = 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);
    return mos < 1 ? 1 : mos > 4.5 ? 4.5 : mos;
}

void rtcp_quality(const struct rtcp_side *rx, const struct rtcp_side *tx, uint64_t delivered,
                  uint32_t clock_hz, struct rtcp_quality *out)
{
    memset(out, 0, sizeof(*out));
    if (!rx->has_block) {
        return;
    }
    out->known = true;
    uint64_t lost = rx->cum_lost > 0 ? (uint64_t)rx->cum_lost : 0;
    out->loss_pct = lost + delivered > 0 ? 100.0 * (double)lost / (double)(lost + delivered) : 0;
    double clock = clock_hz ? clock_hz : 8000;
    out->jitter_ms = rx->jitter_n ? (double)rx->jitter_sum / rx->jitter_n * 1000 / clock : 0;
    uint64_t rtt = 0;
    if (rx->rtt_n > 0) {
        rtt += rx->rtt_sum_ms / rx->rtt_n;
        out->rtt_known = true;
    }
    if (tx->rtt_n > 0) {
        rtt += tx->rtt_sum_ms / tx->rtt_n;
        out->rtt_known = true;
    }
    out->rtt_ms = rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt;
    out->r_factor = rtcp_r_factor(out->rtt_ms / 2.0, out->jitter_ms, out->loss_pct);
    out->mos = rtcp_mos(out->r_factor);
}

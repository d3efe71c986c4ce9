/* tests/test_rtcp.c: RTCP report reading and the quality figures of rtp/rtcp.c. */
#include <criterion/criterion.h>
#include <string.h>

#include "rtcp.h"

static size_t put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return 4;
}

/* block: one report block at p (24 bytes) */
static size_t block(uint8_t *p, uint32_t ssrc, uint8_t frac, int32_t lost, uint32_t jitter,
                    uint32_t lsr, uint32_t dlsr)
{
    size_t n = put32(p, ssrc);
    uint32_t l = (uint32_t)lost & 0xffffff;
    p[n++] = frac;
    p[n++] = (uint8_t)(l >> 16);
    p[n++] = (uint8_t)(l >> 8);
    p[n++] = (uint8_t)l;
    n += put32(p + n, 1000);
    n += put32(p + n, jitter);
    n += put32(p + n, lsr);
    n += put32(p + n, dlsr);
    return n;
}

/* sr: an SR from ssrc with NTP seconds/fraction and one block, then an SDES (compound) */
static size_t sr(uint8_t *p, uint32_t ssrc, uint32_t ntp_s, uint32_t ntp_f, bool with_block,
                 int32_t lost, uint32_t jitter, uint32_t lsr, uint32_t dlsr)
{
    size_t words = with_block ? 12 : 6;
    p[0] = (uint8_t)(0x80 | (with_block ? 1 : 0));
    p[1] = 200;
    p[2] = 0;
    p[3] = (uint8_t)words;
    size_t n = 4;
    n += put32(p + n, ssrc);
    n += put32(p + n, ntp_s);
    n += put32(p + n, ntp_f);
    n += put32(p + n, 160 * 50);
    n += put32(p + n, 50);
    n += put32(p + n, 8000);
    if (with_block) {
        n += block(p + n, 99, 12, lost, jitter, lsr, dlsr);
    }
    /* SDES with one chunk: SSRC, CNAME "a", end, padded to a word */
    uint8_t sdes[] = {0x81, 202, 0, 2, 0, 0, 0, 1, 1, 1, 'a', 0};
    memcpy(p + n, sdes, sizeof(sdes));
    return n + sizeof(sdes);
}

static size_t rr(uint8_t *p, uint32_t ssrc, int32_t lost, uint32_t jitter, uint32_t lsr,
                 uint32_t dlsr)
{
    p[0] = 0x81;
    p[1] = 201;
    p[2] = 0;
    p[3] = 7;
    size_t n = 4 + put32(p + 4, ssrc);
    return n + block(p + n, 77, 25, lost, jitter, lsr, dlsr);
}

Test(rtcp, sender_report_with_a_block_and_sdes)
{
    uint8_t p[128];
    size_t n = sr(p, 0x11223344, 0xAABBCCDD, 0xEEFF0011, true, 7, 160, 0x01020304, 65536);
    struct rtcp_info in;
    cr_assert_eq(rtcp_read(p, n, &in), 0);
    cr_assert(in.has_sr);
    cr_assert_eq(in.sender_ssrc, 0x11223344u);
    cr_assert_eq(in.sr_ntp_mid, 0xCCDDEEFFu, "LSR takes the middle 32 bits of the NTP time");
    cr_assert_eq(in.sr_packets, 50u);
    cr_assert_eq(in.sr_octets, 8000u);
    cr_assert(in.has_block);
    cr_assert_eq(in.block.ssrc, 99u);
    cr_assert_eq(in.block.fraction_lost, 12);
    cr_assert_eq(in.block.cum_lost, 7);
    cr_assert_eq(in.block.jitter, 160u);
    cr_assert_eq(in.block.lsr, 0x01020304u);
    cr_assert_eq(in.block.dlsr, 65536u);
}

Test(rtcp, receiver_report_with_negative_cumulative_loss)
{
    uint8_t p[64];
    size_t n = rr(p, 5, -3, 40, 0, 0);
    struct rtcp_info in;
    cr_assert_eq(rtcp_read(p, n, &in), 0);
    cr_assert(!in.has_sr);
    cr_assert(in.has_block);
    cr_assert_eq(in.block.cum_lost, -3, "24-bit two's complement (duplicates)");
    cr_assert_eq(in.block.fraction_lost, 25);
}

Test(rtcp, malformed_or_reportless_packets_are_refused)
{
    uint8_t p[128];
    struct rtcp_info in;
    size_t n = rr(p, 5, 1, 1, 0, 0);
    uint8_t bad[128];
    memcpy(bad, p, n);
    bad[0] = 0x41; /* version 1 */
    cr_assert_eq(rtcp_read(bad, n, &in), -1);
    memcpy(bad, p, n);
    bad[3] = 9; /* longer than the packet */
    cr_assert_eq(rtcp_read(bad, n, &in), -1);
    memcpy(bad, p, n);
    bad[0] = 0x82; /* two blocks counted, room for one */
    cr_assert_eq(rtcp_read(bad, n, &in), -1);
    cr_assert_eq(rtcp_read(p, n - 1, &in), -1, "a truncated packet");
    cr_assert_eq(rtcp_read(p, 3, &in), -1);
    uint8_t sdes[] = {0x81, 202, 0, 2, 0, 0, 0, 1, 1, 1, 'a', 0};
    cr_assert_eq(rtcp_read(sdes, sizeof(sdes), &in), -1, "no SR or RR in it");
    uint8_t rtp[12] = {0x80, 0, 0, 1};
    cr_assert_eq(rtcp_read(rtp, sizeof(rtp), &in), -1, "RTP, not RTCP");
}

Test(rtcp, round_trip_from_a_relayed_sr_and_the_block_that_quotes_it)
{
    struct rtcp_side a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    uint8_t p[128];
    struct rtcp_info in;
    /* B's SR relayed at 1000 ms; A quotes it 150 ms later, having held it 50 ms */
    cr_assert_eq(rtcp_read(p, sr(p, 2, 0x00001234, 0x56780000, false, 0, 0, 0, 0), &in), 0);
    rtcp_observe(&b, &a, &in, 1000);
    cr_assert(b.sr_seen);
    cr_assert_eq(rtcp_read(p, rr(p, 1, 0, 0, 0x12345678, 50 * 65536 / 1000), &in), 0);
    rtcp_observe(&a, &b, &in, 1150);
    cr_assert_eq(a.rtt_n, 1u);
    cr_assert(a.rtt_last_ms >= 99 && a.rtt_last_ms <= 101, "%u", a.rtt_last_ms);
    /* a block quoting an SR sipring never relayed gives no round trip */
    cr_assert_eq(rtcp_read(p, rr(p, 1, 0, 0, 0x0badf00d, 0), &in), 0);
    rtcp_observe(&a, &b, &in, 1200);
    cr_assert_eq(a.rtt_n, 1u);
    cr_assert_eq(a.reports, 2u);
}

Test(rtcp, quality_from_loss_jitter_and_round_trip)
{
    struct rtcp_side rx, tx;
    memset(&rx, 0, sizeof(rx));
    memset(&tx, 0, sizeof(tx));
    struct rtcp_quality q;
    rtcp_quality(&rx, &tx, 100, 8000, &q);
    cr_assert(!q.known, "no report: nothing known");
    rx.has_block = true;
    rx.cum_lost = 5;
    rx.jitter_sum = 80 + 240;
    rx.jitter_n = 2; /* a mean of 160 units: 20 ms at 8 kHz */
    rx.rtt_sum_ms = 60;
    rx.rtt_n = 2; /* 30 ms to the receiver */
    tx.rtt_sum_ms = 50;
    tx.rtt_n = 1; /* 50 ms to the sender */
    rtcp_quality(&rx, &tx, 95, 8000, &q);
    cr_assert(q.known && q.rtt_known);
    cr_assert_float_eq(q.loss_pct, 5.0, 1e-9);
    cr_assert_float_eq(q.jitter_ms, 20.0, 1e-9);
    cr_assert_eq(q.rtt_ms, 80u);
    /* latency 40 + 2 x 20 + 10 = 90 ms: R = 93.2 - 90/40 - 2.5 x 5 = 78.45 */
    cr_assert_float_eq(q.r_factor, 78.45, 1e-9);
    cr_assert(q.mos > 3.8 && q.mos < 4.0, "%f", q.mos);
    rtcp_quality(&rx, &tx, 95, 16000, &q);
    cr_assert_float_eq(q.jitter_ms, 10.0, 1e-9, "the stream's clock");
}

Test(rtcp, e_model_bounds)
{
    /* a perfect line: R 92.95, MOS about 4.4 (narrow-band's best) */
    cr_assert_float_eq(rtcp_r_factor(0, 0, 0), 92.95, 1e-9);
    cr_assert(rtcp_mos(92.95) > 4.39 && rtcp_mos(92.95) < 4.42, "%f", rtcp_mos(92.95));
    /* above 160 ms of effective latency the slope is steeper */
    cr_assert_float_eq(rtcp_r_factor(300, 0, 0), 93.2 - (310.0 - 120) / 10, 1e-9);
    cr_assert_float_eq(rtcp_r_factor(0, 0, 60), 0.0, 1e-9, "clamped at 0");
    cr_assert_float_eq(rtcp_mos(0), 1.0, 1e-9);
    cr_assert_float_eq(rtcp_mos(100), 4.5, 1e-9);
    cr_assert(rtcp_mos(50) < rtcp_mos(70) && rtcp_mos(70) < rtcp_mos(90), "MOS rises with R");
}

/* rtp/rtcp.h: what a relay learns from the RTCP it carries (RFC 3550 §6.4): sender and
 * receiver reports read from a compound packet, per side the figures its reports give (loss,
 * jitter, the round trip between sipring and it), and a call quality estimate from them.
 *
 * Round-trip time through a relay: sipring sees both sides' RTCP. When it relays side B's SR,
 * it notes the SR's middle 32 NTP bits and its own time; when side A's report block quotes that
 * SR (LSR) with its delay since (DLSR), the time between A and sipring is now - noted - DLSR
 * (§6.4.1's computation, made at the relay for the segment behind it). The two segments add up
 * to the path between the phones.
 *
 * Quality: the simplified E-model (ITU-T G.107) as rtpengine and the VoIP monitoring tools
 * report it: effective latency = one-way delay + 2 x jitter + 10 ms; R = 93.2 - latency/40
 * below 160 ms, 93.2 - (latency - 120)/10 above; R -= 2.5 x loss in percent; MOS from R by
 * G.107 Annex B. A narrow-band estimate: it does not know the codec's own impairment.
 *
 * Plain data, no I/O, no clock (times are passed in ms). */
#ifndef SIPRING_RTP_RTCP_H
#define SIPRING_RTP_RTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One report block (RFC 3550 §6.4.1): what the reporter receives from source ssrc. */
struct rtcp_block {
    uint32_t ssrc;
    uint8_t fraction_lost; /* since the last report, in 1/256 */
    int32_t cum_lost;      /* 24-bit signed: duplicates can make it negative */
    uint32_t ext_seq;
    uint32_t jitter; /* in the stream's RTP timestamp units */
    uint32_t lsr;    /* middle 32 bits of the NTP time of the last SR from ssrc; 0: none */
    uint32_t dlsr;   /* delay since that SR, in 1/65536 s */
};

/* What one compound packet says: its SR's sender information (if any) and the first report
 * block of its SR or RR (a phone reports on one stream per m= line; sipring relays one). */
struct rtcp_info {
    bool has_sr;
    uint32_t sender_ssrc;
    uint32_t sr_ntp_mid; /* SR: middle 32 bits of its NTP timestamp */
    uint32_t sr_packets, sr_octets;
    bool has_block;
    struct rtcp_block block;
};

/* rtcp_read: reads the compound packet p[0..len) (after SRTCP unprotect, when secured): every
 * packet's version, type and length are checked; SR (200) and RR (201) are read, SDES, BYE,
 * APP and feedback are skipped. 0 when it held an SR or RR, -1 when it is not well-formed
 * RTCP or holds neither. */
int rtcp_read(const uint8_t *p, size_t len, struct rtcp_info *out);

/* What one side's RTCP has said during a call. All zero: nothing yet. */
struct rtcp_side {
    uint64_t reports;      /* SRs and RRs read from this side */
    bool sr_seen;          /* this side has sent an SR ... */
    uint32_t sr_ntp_mid;   /* ... with these NTP bits */
    uint64_t sr_seen_ms;   /* ... relayed at this time */
    bool has_block;        /* this side has reported on what it receives: */
    int32_t cum_lost;      /*   the latest cumulative loss */
    uint8_t fraction_lost; /*   the latest fraction lost */
    uint32_t jitter_max;   /*   the highest jitter reported (RTP timestamp units) */
    uint64_t jitter_sum;   /*   their sum, over jitter_n reports */
    uint32_t jitter_n;
    uint32_t rtt_last_ms; /* the latest round trip between sipring and this side */
    uint64_t rtt_sum_ms;  /* their sum, over rtt_n measurements */
    uint32_t rtt_n;
};

/* rtcp_observe: side `self` sent in (read by rtcp_read) at now_ms; `other` is the call's other
 * side on this stream, whose SR a report block may quote. */
void rtcp_observe(struct rtcp_side *self, const struct rtcp_side *other, const struct rtcp_info *in,
                  uint64_t now_ms);

/* The quality of one direction of a stream, as its receiver reported it. */
struct rtcp_quality {
    bool known;       /* the receiver sent at least one report block */
    double loss_pct;  /* packets lost on the way, of those sent, in percent */
    double jitter_ms; /* mean interarrival jitter the receiver reported */
    bool rtt_known;   /* at least one segment's round trip was measured */
    uint32_t rtt_ms;  /* phone to phone: the two segments' mean round trips added */
    double r_factor;  /* 0..93.2 */
    double mos;       /* 1..4.5 */
};

/* rtcp_quality: the direction whose receiver is rx (and sender tx), where sipring delivered
 * `delivered` packets to rx, on a stream clocked at clock_hz (0: 8000, the narrow-band codecs'
 * clock). */
void rtcp_quality(const struct rtcp_side *rx, const struct rtcp_side *tx, uint64_t delivered,
                  uint32_t clock_hz, struct rtcp_quality *out);

/* rtcp_mos: R-factor and MOS for a one-way delay, a jitter (both ms) and a loss (percent). */
double rtcp_r_factor(double delay_ms, double jitter_ms, double loss_pct);
double rtcp_mos(double r);

#endif

/* rtp/stream.h: one relayed media stream: two legs (side 0 and side 1), each with the port
 * pair sipring receives that side's packets on, the address the side announced in SDP and the
 * address its packets are latched to.
 *
 * Latching without RTP Bleed: a leg's source is learned only from a packet that is valid RTP
 * (or RTCP) and comes from the IP the side's SDP announced, or, when the side is behind NAT,
 * from the IP its signaling came from. Once latched, packets from any other source are dropped
 * and counted; only new SDP for the side (a re-INVITE moving the stream) unlatches it. The
 * RTCP port (without rtcp-mux) latches only from the latched RTP source's IP, on the RTP source
 * port + 1 or the port the side's a=rtcp announced (RFC 3605): an RTP-less leg, or one whose
 * phone sends no RTCP, never lets a stranger's RTCP through.
 * Plain data: an all-zero stream is valid (nothing announced, nothing relayed). */
#ifndef SIPRING_RTP_STREAM_H
#define SIPRING_RTP_STREAM_H

#include <stddef.h>

#include "addr.h"

enum rtp_comp { RTP_COMP_RTP = 0, RTP_COMP_RTCP = 1 };

struct rtp_leg {
    struct rtp_addr announced[2]; /* RTP and RTCP destination from this side's SDP */
    struct rtp_addr signal;       /* source of this side's signaling (its NAT's public IP) */
    struct rtp_addr latched[2];   /* learned sources, per component */
    uint16_t local_port;          /* sipring's RTP port for this side; RTCP is local_port + 1 */
    bool behind_nat;              /* announced address unreachable: wait for latching */
    bool rtcp_mux;                /* RFC 5761: RTCP on the RTP port */
    bool rtcp_announced;          /* RFC 3605: the SDP named its RTCP port (a=rtcp) */
    uint64_t last_rx_ms;
    uint64_t rx_packets, rx_bytes;
    uint64_t dropped_stranger, dropped_bad, dropped_no_dest;
};

struct rtp_stream {
    struct rtp_leg leg[2];
};

enum rtp_verdict {
    RTP_RELAY = 0,
    RTP_DROP_BAD,      /* not RTP/RTCP */
    RTP_DROP_STRANGER, /* not the latched source, or not allowed to latch */
    RTP_DROP_NO_DEST,  /* the other side has not announced a reachable address nor latched */
};

/* rtp_leg_announce: new SDP for this side: RTP address, RTCP address (port 0: RTP port + 1),
 * rtcp-mux, whether the side is behind NAT, and where its signaling came from. A changed
 * address unlatches the leg. */
void rtp_leg_announce(struct rtp_leg *l, const struct rtp_addr *rtp, uint16_t rtcp_port,
                      bool rtcp_mux, bool behind_nat, const struct rtp_addr *signal);

/* rtp_stream_on_packet: pkt[0..len) from `from` arrived at leg `in`'s port of component
 * `port_comp`. On RTP_RELAY, *to is the destination and *out_comp the component of the other
 * leg's port pair to send from. Counters and last_rx_ms are updated either way. */
enum rtp_verdict rtp_stream_on_packet(struct rtp_stream *s, unsigned in, enum rtp_comp port_comp,
                                      const struct rtp_addr *from, const uint8_t *pkt, size_t len,
                                      uint64_t now_ms, struct rtp_addr *to,
                                      enum rtp_comp *out_comp);

#endif

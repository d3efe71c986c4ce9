/* rtp/stream.c: see stream.h. */
#include "stream.h"

#include "check.h"

void rtp_leg_announce(struct rtp_leg *l, const struct rtp_addr *rtp, uint16_t rtcp_port,
                      bool rtcp_mux, bool behind_nat, const struct rtp_addr *signal)
{
    struct rtp_addr rtcp = *rtp;
    rtcp.port = rtcp_port ? rtcp_port : (uint16_t)(rtp->port + 1);
    if (rtcp_mux) {
        rtcp.port = rtp->port;
    }
    bool moved = !rtp_addr_eq(&l->announced[0], rtp) || !rtp_addr_eq(&l->announced[1], &rtcp) ||
                 l->behind_nat != behind_nat ||
                 (behind_nat && signal != NULL && !rtp_addr_same_ip(&l->signal, signal));
    l->announced[0] = *rtp;
    l->announced[1] = rtcp;
    l->rtcp_mux = rtcp_mux;
    l->rtcp_announced = rtcp_port != 0;
    l->behind_nat = behind_nat;
    if (signal != NULL) {
        l->signal = *signal;
    }
    if (moved) {
        /* A re-INVITE may move a stream: learn the new source under the same rules. */
        l->latched[0] = (struct rtp_addr){0};
        l->latched[1] = (struct rtp_addr){0};
    }
}

/* may_latch: the rule against RTP Bleed: only the announced IP, or the signaling IP of a side
 * behind NAT, may become a leg's source. */
static bool may_latch(const struct rtp_leg *l, enum rtp_comp port_comp, const struct rtp_addr *from)
{
    if (port_comp == RTP_COMP_RTCP) {
        const struct rtp_addr *rtp = &l->latched[RTP_COMP_RTP];
        return rtp_addr_is_set(rtp) && rtp_addr_same_ip(rtp, from) &&
               (from->port == (uint16_t)(rtp->port + 1) ||
                (l->rtcp_announced && from->port == l->announced[1].port));
    }
    if (l->behind_nat) {
        return rtp_addr_is_set(&l->signal) && rtp_addr_same_ip(&l->signal, from);
    }
    return rtp_addr_is_set(&l->announced[0]) && rtp_addr_same_ip(&l->announced[0], from);
}

enum rtp_verdict rtp_stream_on_packet(struct rtp_stream *s, unsigned in, enum rtp_comp port_comp,
                                      const struct rtp_addr *from, const uint8_t *pkt, size_t len,
                                      uint64_t now_ms, struct rtp_addr *to, enum rtp_comp *out_comp)
{
    struct rtp_leg *l = &s->leg[in & 1], *o = &s->leg[(in & 1) ^ 1];
    enum rtp_kind kind = rtp_check(pkt, len);
    if (kind == RTP_KIND_BAD || (kind == RTP_KIND_RTP && port_comp == RTP_COMP_RTCP)) {
        l->dropped_bad++;
        return RTP_DROP_BAD;
    }
    enum rtp_comp comp = kind == RTP_KIND_RTCP ? RTP_COMP_RTCP : RTP_COMP_RTP;
    /* Latch per port: with rtcp-mux both kinds share the RTP port's source. */
    struct rtp_addr *src = &l->latched[port_comp];
    if (rtp_addr_is_set(src)) {
        if (!rtp_addr_eq(src, from)) {
            l->dropped_stranger++;
            return RTP_DROP_STRANGER;
        }
    } else if (may_latch(l, port_comp, from)) {
        *src = *from;
    } else {
        l->dropped_stranger++;
        return RTP_DROP_STRANGER;
    }
    l->last_rx_ms = now_ms;
    l->rx_packets++;
    l->rx_bytes += len;
    enum rtp_comp dest_comp = o->rtcp_mux ? RTP_COMP_RTP : comp;
    if (rtp_addr_is_set(&o->latched[dest_comp])) {
        *to = o->latched[dest_comp];
    } else if (!o->behind_nat && rtp_addr_is_set(&o->announced[comp]) &&
               o->announced[comp].port != 0) {
        *to = o->announced[comp];
    } else {
        o->dropped_no_dest++;
        return RTP_DROP_NO_DEST;
    }
    *out_comp = dest_comp;
    return RTP_RELAY;
}

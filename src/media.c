/* src/media.c: see media.h. */
#include "media.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../rtp/ports.h"
#include "../rtp/stream.h"
#include "log.h"
#include "net.h"
#include "ring.h"
#include "media_fastpath.h"
#include "media_session.h"
#include "media_srtp.h"
#include "worker.h"

#define MEDIA_BUF_COUNT 1024
#define MEDIA_BUF_SIZE 2048 /* RTP over UDP on ordinary paths: one MTU */

struct msock {
    int fd;
    uint16_t gen;
    bool open;
    int32_t sess;
    uint8_t stream, leg, comp;
};

struct media {
    struct worker *w;
    struct rtp_ports ports;
    uint16_t port_base;
    struct msock *socks; /* indexed by port - port_base */
    size_t nsocks;
    struct msess_table t; /* the calls, their streams and the caps (media_session.c) */
    char addr_inside[48], addr_outside[48];
    uint64_t next_sweep;
    const struct media_cfg *cfg; /* borrowed from the worker's snapshot; SIGHUP swaps it */
    struct bufring rx;           /* relayed packets, group MEDIA_BUF_GROUP */
    struct msghdr recv_mh;
    struct sip_media iface;
    struct media_stats stats;
    struct log_limit full_log; /* the relay is full: one line per interval */
    struct fastpath *fp;       /* the kernel's fast path, or NULL (borrowed) */
    char crypto_text[SDP_MAX_MEDIA][SDES_SUITE_COUNT * SDES_LINE_MAX]; /* until the rewrite */
};

void media_end_turn(struct media *m)
{
    bufring_flush(&m->rx);
}

static uint64_t sock_ud(uint16_t port, uint16_t gen)
{
    return ring_ud(RING_OP_RTP, (uint64_t)gen << 16 | port);
}

static void arm(struct media *m, uint16_t port)
{
    struct msock *k = &m->socks[port - m->port_base];
    struct io_uring_sqe *sqe = worker_sqe(m->w);
    io_uring_prep_recvmsg_multishot(sqe, k->fd, &m->recv_mh, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = MEDIA_BUF_GROUP;
    io_uring_sqe_set_data64(sqe, sock_ud(port, k->gen));
}

/* open_sock: a relay socket on port, bound to the address sipring advertises for that side so
 * that what it sends leaves from the address the peer's SDP names (a strict peer, such as
 * another sipring, drops media from any other). An address that is not local (the public one
 * of a 1:1 NAT) falls back to the wildcard. */
static int open_sock(uint16_t port, const char *addr)
{
    int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t len;
    void *ip;
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        ip = &a->sin6_addr;
        len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        ip = &a->sin_addr;
        len = sizeof(*a);
    }
    bool is_literal = inet_pton(family, addr, ip) == 1;
    int rc = is_literal ? bind(fd, (struct sockaddr *)&ss, len) : -1;
    if (rc != 0 && (!is_literal || errno == EADDRNOTAVAIL)) {
        memset(ip, 0, family == AF_INET6 ? 16 : 4);
        rc = bind(fd, (struct sockaddr *)&ss, len);
    }
    if (rc != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void close_sock(struct media *m, uint16_t port)
{
    struct msock *k = &m->socks[port - m->port_base];
    if (!k->open) {
        return;
    }
    /* The multishot receive holds the socket: cancel it (by user_data, so the fd may be closed
     * at once); the generation makes any late completion of it stale. */
    struct io_uring_sqe *sqe = worker_sqe(m->w);
    io_uring_prep_cancel64(sqe, sock_ud(port, k->gen), 0);
    io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_RTP, 0));
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    close(k->fd);
    k->open = false;
    k->gen++;
}

/* open_pair: a port pair for (session, stream, leg) on the side whose address is addr;
 * returns its RTP port or 0. */
static uint16_t open_pair(struct media *m, int32_t si, unsigned stream, unsigned leg,
                          const char *addr)
{
    for (size_t tries = rtp_ports_available(&m->ports); tries > 0; tries--) {
        uint16_t port;
        if (rtp_ports_get(&m->ports, &port) != 0) {
            break;
        }
        int a = open_sock(port, addr), b = a >= 0 ? open_sock((uint16_t)(port + 1), addr) : -1;
        if (a < 0 || b < 0) {
            /* in use by someone else (or not yet released): try the next pair */
            if (a >= 0) {
                close(a);
            }
            rtp_ports_put(&m->ports, port);
            continue;
        }
        for (unsigned c = 0; c < 2; c++) {
            struct msock *k = &m->socks[port + c - m->port_base];
            k->fd = c ? b : a;
            k->open = true;
            k->sess = si;
            k->stream = (uint8_t)stream;
            k->leg = (uint8_t)leg;
            k->comp = (uint8_t)c;
            arm(m, (uint16_t)(port + c));
        }
        return port;
    }
    m->stats.port_exhausted++;
    return 0;
}

static void stream_done(void *ctx, struct mstream *ms)
{
    (void)ctx;
    media_srtp_free(ms->srtp);
    ms->srtp = NULL;
}

static void port_done(void *ctx, uint16_t port)
{
    struct media *m = ctx;
    close_sock(m, port);
    close_sock(m, (uint16_t)(port + 1));
    rtp_ports_put(&m->ports, port);
}

/* ---- the kernel's fast path (media_fastpath.h) ---- */

/* source_ip: the IPv4 address a packet from socket fd to dst leaves from: the socket's own
 * when it is bound to one, else the one routing picks (asked by connecting a probe socket) */
static uint32_t source_ip(int fd, const struct rtp_addr *dst)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    if (getsockname(fd, (struct sockaddr *)&a, &len) == 0 && a.sin_family == AF_INET &&
        a.sin_addr.s_addr != 0) {
        return a.sin_addr.s_addr;
    }
    int probe = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (probe < 0) {
        return 0;
    }
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(dst->port)};
    memcpy(&to.sin_addr, dst->ip, 4);
    uint32_t ip = 0;
    len = sizeof(a);
    if (connect(probe, (struct sockaddr *)&to, sizeof(to)) == 0 &&
        getsockname(probe, (struct sockaddr *)&a, &len) == 0) {
        ip = a.sin_addr.s_addr;
    }
    close(probe);
    return ip;
}

/* fast_fold: what the fast path relayed for stream ms of s since the last look, counted as if
 * the io_uring relay had (the legs' counters and last packet time, the relay's statistics):
 * the timeouts, /calls, the records and the metrics see one relay. */
static void fast_fold(struct media *m, struct msess *s, unsigned i, struct mstream *ms,
                      uint64_t now_ms)
{
    for (unsigned l = 0; l < 2; l++) {
        struct fastpath_stream e;
        if (ms->fast_e[l].src_ip == 0 || fastpath_get(m->fp, s->port[i][l], &e) != 0) {
            continue;
        }
        uint64_t dp = e.packets - ms->fast_seen[l][0], db = e.bytes - ms->fast_seen[l][1];
        ms->fast_seen[l][0] = e.packets;
        ms->fast_seen[l][1] = e.bytes;
        if (dp == 0) {
            continue;
        }
        struct rtp_leg *leg = &ms->st.leg[l];
        leg->rx_packets += dp;
        leg->rx_bytes += db;
        leg->last_rx_ms = now_ms;
        int dir = s->leg_inside[l] ? 0 : 1;
        m->stats.relayed += dp;
        m->stats.fast_packets += dp;
        m->stats.packets_dir[dir] += dp;
        m->stats.bytes_dir[dir] += db;
    }
}

/* fast_off: stream i of s leaves the fast path (new SDP may move it; the call ends) */
static void fast_off(struct media *m, struct msess *s, unsigned i)
{
    struct mstream *ms = &m->t.streams[s->st[i]];
    if (!ms->fast) {
        return;
    }
    fast_fold(m, s, i, ms, worker_now_ms());
    for (unsigned l = 0; l < 2; l++) {
        if (ms->fast_e[l].src_ip != 0) {
            fastpath_del(m->fp, s->port[i][l]);
        }
    }
    memset(ms->fast_e, 0, sizeof(ms->fast_e));
    memset(ms->fast_seen, 0, sizeof(ms->fast_seen));
    ms->fast = false;
}

/* fast_reset: new SDP for stream i: what it had in the kernel goes, and a leg that found no
 * route may try again */
static void fast_reset(struct media *m, struct msess *s, unsigned i)
{
    fast_off(m, s, i);
    struct mstream *ms = &m->t.streams[s->st[i]];
    ms->fast_no[0] = ms->fast_no[1] = false;
}

/* fast_want: leg l's entry as the io_uring relay would relay its RTP now: from its latched
 * source to the other leg's latched address, or to the address the other side announced when
 * it is not behind NAT (rtp_stream_on_packet's rule); false when there is none yet. */
static bool fast_want(const struct msess *s, unsigned i, const struct mstream *ms, unsigned l,
                      struct fastpath_stream *e)
{
    const struct rtp_leg *from = &ms->st.leg[l], *o = &ms->st.leg[l ^ 1];
    const struct rtp_addr *src = &from->latched[RTP_COMP_RTP], *dst = &o->latched[RTP_COMP_RTP];
    if (!rtp_addr_is_set(dst) && !o->behind_nat && rtp_addr_is_set(&o->announced[RTP_COMP_RTP]) &&
        o->announced[RTP_COMP_RTP].port != 0) {
        dst = &o->announced[RTP_COMP_RTP];
    }
    uint16_t out = s->port[i][l ^ 1];
    if (!rtp_addr_is_set(src) || !rtp_addr_is_set(dst) || src->family != 4 || dst->family != 4 ||
        s->port[i][l] == 0 || out == 0) {
        return false;
    }
    memset(e, 0, sizeof(*e));
    memcpy(&e->src_ip, src->ip, 4);
    e->src_port = htons(src->port);
    memcpy(&e->dst_ip, dst->ip, 4);
    e->dst_port = htons(dst->port);
    e->out_port = htons(out);
    return true;
}

/* fast_on: the RTP of a plain IPv4 stream's latched legs is the kernel's: each leg's entry
 * takes packets from its latched source to where the io_uring relay would send them, from
 * sipring's port facing that side. Checked after each packet relayed here: a leg goes to the
 * kernel once it has latched, and its entry follows the other leg when that one latches (a
 * NAT's port replacing the announced one). SRTP legs stay here (the keys are sipring's), as
 * does RTCP (the program leaves it). */
static void fast_on(struct media *m, struct msess *s, unsigned i, struct mstream *ms)
{
    if (ms->srtp != NULL) {
        return;
    }
    for (unsigned l = 0; l < 2; l++) {
        struct fastpath_stream e;
        if (ms->fast_no[l] || !fast_want(s, i, ms, l, &e)) {
            continue;
        }
        struct fastpath_stream *had = &ms->fast_e[l];
        if (had->src_ip == e.src_ip && had->src_port == e.src_port && had->dst_ip == e.dst_ip &&
            had->dst_port == e.dst_port) {
            continue; /* as put */
        }
        struct rtp_addr dst = {.family = 4, .port = ntohs(e.dst_port)};
        memcpy(dst.ip, &e.dst_ip, 4);
        uint16_t out = ntohs(e.out_port);
        e.out_ip = source_ip(m->socks[out - m->port_base].fd, &dst);
        bool local;
        if (e.out_ip == 0 || fastpath_route(m->fp, e.out_ip, e.dst_ip, &e.ifindex, &local) != 0) {
            ms->fast_no[l] = true; /* not each packet's syscalls again */
            continue;
        }
        e.flags = local ? FASTPATH_LOCAL : 0;
        if (had->src_ip != 0) {
            fast_fold(m, s, i, ms, worker_now_ms()); /* the old entry's count, before it goes */
        }
        if (fastpath_put(m->fp, s->port[i][l], &e) != 0) {
            continue; /* the map is full: this leg stays here */
        }
        *had = e;
        ms->fast_seen[l][0] = ms->fast_seen[l][1] = 0;
        ms->fast = true;
        m->stats.fast_streams++;
    }
}

static void close_session(struct media *m, struct msess *s, const char *why)
{
    for (unsigned i = 0; m->fp != NULL && i < s->nstreams && i < MEDIA_STREAMS; i++) {
        if (s->st[i] >= 0) {
            fast_off(m, s, i);
        }
    }
    char call_id[MSESS_CALLID_MAX + 1];
    snprintf(call_id, sizeof(call_id), "%.*s", (int)s->call_id_len, s->call_id);
    struct msess_totals tot = msess_close(&m->t, s, stream_done, port_done, m);
    if (log_enabled(LOG_LVL_DEBUG) || tot.strangers > 0) {
        log_msg(tot.strangers > 0 ? LOG_LVL_INFO : LOG_LVL_DEBUG,
                "media: Call-ID %s closed (%s): %llu packets relayed, %llu from strangers dropped",
                call_id, why, (unsigned long long)tot.relayed, (unsigned long long)tot.strangers);
    }
}

static void addr_of_peer(const struct sip_peer *p, struct rtp_addr *a)
{
    memset(a, 0, sizeof(*a));
    a->family = p->family;
    memcpy(a->ip, p->ip, 16);
    a->port = p->port;
}

/* sdp_addr: the media's connection address as an rtp_addr; unset for 0.0.0.0 (RFC 3264 §8.4
 * hold) or anything that is not an IP literal. */
static void sdp_addr(const struct sdp *sdp, unsigned i, struct rtp_addr *a)
{
    memset(a, 0, sizeof(*a));
    const struct sdp_conn *c = sdp_media_conn(sdp, i);
    struct sip_peer p;
    static const uint8_t zero[16];
    if (c == NULL || !c->is_set || sip_peer_from_text(c->addr, sdp->media[i].port, &p) != 0 ||
        memcmp(p.ip, zero, p.family == 6 ? 16 : 4) == 0) {
        return;
    }
    addr_of_peer(&p, a);
}

static int on_sdp(void *self, const struct sip_media_msg *mm, struct sdp_rewrite *rw)
{
    struct media *m = self;
    struct msess *s = msess_find(&m->t, mm->call_id);
    if (media_srtp_refuses(&m->cfg->srtp, mm->sdp, !mm->sender_inside, !mm->receiver_inside,
                           mm->is_request, mm->is_ack_or_prack)) {
        log_peer(LOG_LVL_INFO, "plain RTP refused", mm->sender,
                 "media: Call-ID %.*s offers plain RTP from the outside; --srtp-outside "
                 "required: refused with 488",
                 (int)mm->call_id.len, mm->call_id.p);
        m->stats.srtp_refused++;
        if (s != NULL && s->nstreams == 0) {
            close_session(m, s, "refused");
        }
        return SIP_MEDIA_REFUSED;
    }
    bool fresh;
    switch (
        msess_admit(&m->t, mm, m->cfg->max_source_calls, m->cfg->max_callee_calls, &s, &fresh)) {
    case MSESS_OK:
        break;
    case MSESS_NO_CALL:
        return SIP_MEDIA_NO_CALL;
    case MSESS_SOURCE_CAPPED: {
        m->stats.source_capped++;
        char ip[64];
        sip_peer_ip_text(mm->sender, ip, sizeof(ip));
        log_peer(LOG_LVL_WARN, "source calls capped", mm->sender,
                 "media: %s has %u unanswered calls (--max-source-calls): 503 to its next "
                 "(%llu refused so far on this worker)",
                 ip, m->cfg->max_source_calls, (unsigned long long)m->stats.source_capped);
        return SIP_MEDIA_FULL;
    }
    case MSESS_CALLEE_CAPPED:
        m->stats.callee_capped++;
        log_peer(LOG_LVL_WARN, "callee calls capped", mm->sender,
                 "media: %.*s has %u unanswered calls from the outside (--max-callee-calls): "
                 "503 to the next (%llu refused so far on this worker)",
                 (int)mm->callee.len, mm->callee.p, m->cfg->max_callee_calls,
                 (unsigned long long)m->stats.callee_capped);
        return SIP_MEDIA_FULL;
    case MSESS_FULL:
        log_limited(&m->full_log, LOG_LVL_WARN,
                    "media: no room for the call %.*s (relay "
                    "sessions full)",
                    (int)mm->call_id.len, mm->call_id.p);
        return SIP_MEDIA_FULL;
    }
    if (fresh) {
        m->stats.sessions_opened++;
    }
    unsigned in = msess_leg(&m->t, s, mm, fresh), out = in ^ 1;
    const char *to_addr = mm->receiver_inside ? m->addr_inside : m->addr_outside;
    rw->addr = to_addr;
    s->leg_inside[in] = mm->sender_inside;
    s->leg_inside[out] = mm->receiver_inside;
    rw->strip_ice = mm->sender_inside && !mm->receiver_inside;
    struct rtp_addr signal;
    addr_of_peer(mm->sender, &signal);
    int32_t si = (int32_t)(s - m->t.sess);
    for (unsigned i = 0; i < mm->sdp->media_count && i < SDP_MAX_MEDIA; i++) {
        const struct sdp_media *md = &mm->sdp->media[i];
        if (md->port == 0 || i >= MEDIA_STREAMS) {
            rw->port[i] = 0;
            continue;
        }
        /* Only the pair this SDP names is opened: the receiver's side's. The sender's comes
         * with the SDP from the other side (the answer), so a call nobody answers holds one
         * pair per stream, not two. */
        if (s->port[i][out] == 0) {
            s->port[i][out] = open_pair(m, si, i, out, to_addr);
        }
        if (s->port[i][out] == 0 || msess_stream(&m->t, s, i) < 0) {
            log_limited(&m->full_log, LOG_LVL_WARN,
                        "media: no free relay ports (--rtp-ports) "
                        "for Call-ID %.*s",
                        (int)mm->call_id.len, mm->call_id.p);
            close_session(m, s, "no ports");
            return SIP_MEDIA_FULL;
        }
        struct rtp_addr a;
        sdp_addr(mm->sdp, i, &a);
        /* Behind NAT: the SDP names a private address other than the one the signaling came
         * from. A public one is a media server apart from the signaling (a provider's media
         * gateway, an SBC): its SDP is the truth, and only it may latch. */
        bool nat = rtp_addr_is_set(&a) && !rtp_addr_same_ip(&a, &signal) && rtp_addr_is_private(&a);
        struct rtp_leg *leg = &m->t.streams[s->st[i]].st.leg[in];
        if (m->fp != NULL) {
            fast_reset(m, s, i); /* new SDP may unlatch it: the io_uring relay latches again */
        }
        rtp_leg_announce(leg, &a, md->has_rtcp ? md->rtcp_port : 0, md->rtcp_mux, nat, &signal);
        struct mstream *mst = &m->t.streams[s->st[i]];
        sdp_media_codec(md, mst->codec, sizeof(mst->codec), &mst->clock_hz);
        rw->port[i] = s->port[i][out];
        struct media_srtp **sr = &m->t.streams[s->st[i]].srtp;
        bool had = media_srtp_outside_leg(*sr) >= 0;
        struct media_srtp_sdp sd = {
            md, in, !mm->sender_inside, !mm->receiver_inside, mm->is_request, mm->is_ack_or_prack};
        media_srtp_on_sdp(sr, &m->cfg->srtp, &sd, i, rw, m->crypto_text[i],
                          sizeof(m->crypto_text[i]));
        if (!had && media_srtp_outside_leg(*sr) >= 0) {
            m->stats.srtp_streams++;
            log_debug("media: Call-ID %.*s stream %u: SRTP %s on the outside leg",
                      (int)mm->call_id.len, mm->call_id.p, i,
                      sdes_suite_name(media_srtp_suite(*sr)));
        }
        if (i + 1 > s->nstreams) {
            s->nstreams = (uint8_t)(i + 1);
        }
    }
    s->touched_ms = mm->now_ms;
    return 0;
}

static void on_end(void *self, struct sip_str call_id)
{
    struct media *m = self;
    struct msess *s = msess_find(&m->t, call_id);
    if (s != NULL) {
        close_session(m, s, "call ended");
    }
}

/* on_totals: the streams of call_id's session for its record or /calls. Leg 0 is the caller's
 * side (msess_leg), so direction 0 (caller to callee) is what leg 0 sent, as leg 1 reports
 * its reception. */
static void on_totals(void *self, struct sip_str call_id, struct sip_call_record *out)
{
    struct media *m = self;
    out->nstreams = 0;
    struct msess *s = msess_find(&m->t, call_id);
    if (s == NULL) {
        return;
    }
    for (unsigned i = 0; i < s->nstreams && i < SIP_CALL_STREAMS; i++) {
        struct sip_call_stream *cs = &out->stream[i];
        memset(cs, 0, sizeof(*cs));
        out->nstreams = (uint8_t)(i + 1);
        if (s->st[i] < 0) {
            continue;
        }
        struct mstream *ms = &m->t.streams[s->st[i]];
        if (ms->fast) {
            fast_fold(m, s, i, ms, worker_now_ms());
        }
        snprintf(cs->codec, sizeof(cs->codec), "%s", ms->codec);
        cs->srtp = media_srtp_outside_leg(ms->srtp) >= 0;
        for (unsigned d = 0; d < 2; d++) {
            const struct rtp_leg *from = &ms->st.leg[d];
            cs->dir[d].packets = from->rx_packets;
            cs->dir[d].bytes = from->rx_bytes;
            struct rtcp_quality q;
            rtcp_quality(&ms->rtcp[d ^ 1], &ms->rtcp[d], from->rx_packets, ms->clock_hz, &q);
            cs->dir[d].quality_known = q.known;
            cs->dir[d].loss_pct = q.loss_pct;
            cs->dir[d].jitter_ms = q.jitter_ms;
            cs->dir[d].r_factor = q.r_factor;
            cs->dir[d].mos = q.mos;
            if (q.rtt_known) {
                cs->rtt_known = true;
                cs->rtt_ms = q.rtt_ms;
            }
        }
    }
}

static const struct sip_media_ops media_ops = {on_sdp, on_end, on_totals};

static bool side_is_inside(const struct media *m, const struct sip_peer *from)
{
    return sip_cidr_any(m->cfg->inside, m->cfg->inside_count, from);
}

void media_set_cfg(struct media *m, const struct media_cfg *cfg)
{
    m->cfg = cfg;
}

void media_on_recv(struct media *m, uint64_t payload, const struct io_uring_cqe *cqe)
{
    uint16_t port = (uint16_t)payload, gen = (uint16_t)(payload >> 16);
    bool has_buf = cqe->flags & IORING_CQE_F_BUFFER;
    unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
    if (port < m->port_base || (size_t)(port - m->port_base) >= m->nsocks) {
        if (has_buf) {
            bufring_put(&m->rx, bid);
        }
        return; /* a cancel's own completion, or nothing of ours */
    }
    struct msock *k = &m->socks[port - m->port_base];
    bool live = k->open && k->gen == gen;
    if (live && !(cqe->flags & IORING_CQE_F_MORE)) {
        arm(m, port); /* out of buffers (-ENOBUFS) or the kernel ended it: receive again */
    }
    if (!has_buf) {
        return;
    }
    char *buf = bufring_buf(&m->rx, bid);
    struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(buf, cqe->res, &m->recv_mh);
    if (live && cqe->res > 0 && o != NULL && !(o->flags & MSG_TRUNC)) {
        struct msess *s = &m->t.sess[k->sess];
        struct rtp_stream *st = &m->t.streams[s->st[k->stream]].st;
        struct sip_peer from;
        net_peer_of(io_uring_recvmsg_name(o), &from);
        struct rtp_addr src, to;
        addr_of_peer(&from, &src);
        enum rtp_comp out_comp;
        uint8_t *pkt = io_uring_recvmsg_payload(o, &m->recv_mh);
        size_t len = io_uring_recvmsg_payload_length(o, cqe->res, &m->recv_mh);
        size_t room = (size_t)(buf + MEDIA_BUF_SIZE - (char *)pkt);
        struct media_srtp *sr = m->t.streams[s->st[k->stream]].srtp;
        int srtp_leg = media_srtp_outside_leg(sr);
        /* RFC 5761 §4: on a muxed port the second byte tells RTCP (192-223) from RTP */
        bool is_rtcp = k->comp == RTP_COMP_RTCP || (len >= 2 && pkt[1] >= 192 && pkt[1] <= 223);
        enum rtp_verdict v = RTP_DROP_BAD;
        if (side_is_inside(m, &from) != s->leg_inside[k->leg]) {
            /* an inside source on the outside leg's port (or the reverse) is nobody this leg
             * talks to (issue 13, class 6) */
            v = RTP_DROP_STRANGER;
        } else if (srtp_leg == k->leg && media_srtp_from_outside(sr, pkt, &len, is_rtcp) != 0) {
            m->stats.srtp_failed++; /* forged, replayed, or before any key: never relayed */
        } else {
            v = rtp_stream_on_packet(st, k->leg, (enum rtp_comp)k->comp, &src, pkt, len,
                                     worker_now_ms(), &to, &out_comp);
        }
        struct rtcp_info ri;
        if (v == RTP_RELAY && is_rtcp && rtcp_read(pkt, len, &ri) == 0) {
            /* plain here: what came from an SRTP leg was unprotected above */
            struct mstream *ms = &m->t.streams[s->st[k->stream]];
            rtcp_observe(&ms->rtcp[k->leg], &ms->rtcp[k->leg ^ 1], &ri, worker_now_ms());
        }
        if (v == RTP_RELAY && srtp_leg == (k->leg ^ 1) &&
            media_srtp_to_outside(sr, pkt, &len, room, is_rtcp) != 0) {
            m->stats.srtp_failed++;
        } else if (v == RTP_RELAY && s->port[k->stream][k->leg ^ 1] == 0) {
            m->stats.dropped_no_dest++; /* the other side has not answered: no pair there yet */
        } else if (v == RTP_RELAY) {
            if (m->fp != NULL && !is_rtcp) {
                fast_on(m, s, k->stream, &m->t.streams[s->st[k->stream]]);
            }
            uint16_t out_port = (uint16_t)(s->port[k->stream][k->leg ^ 1] + out_comp);
            struct sip_peer dst = {.family = to.family, .port = to.port};
            memcpy(dst.ip, to.ip, 16);
            worker_send_raw(m->w, m->socks[out_port - m->port_base].fd, &dst, pkt, len);
            m->stats.relayed++;
            int dir = s->leg_inside[k->leg] ? 0 : 1;
            m->stats.packets_dir[dir]++;
            m->stats.bytes_dir[dir] += len;
        } else if (v == RTP_DROP_STRANGER) {
            m->stats.dropped_stranger++;
        } else if (v == RTP_DROP_BAD) {
            m->stats.dropped_bad++;
        } else {
            m->stats.dropped_no_dest++;
        }
    }
    bufring_put(&m->rx, bid);
}

void media_on_timer(struct media *m, uint64_t now_ms)
{
    if (now_ms < m->next_sweep) {
        return;
    }
    m->next_sweep = now_ms + 1000;
    for (uint32_t i = 0; i < m->t.sess_used && m->t.open > 0; i++) {
        struct msess *s = &m->t.sess[i];
        if (!s->used) {
            continue;
        }
        for (unsigned j = 0; m->fp != NULL && j < s->nstreams && j < MEDIA_STREAMS; j++) {
            if (s->st[j] >= 0 && m->t.streams[s->st[j]].fast) {
                fast_fold(m, s, j, &m->t.streams[s->st[j]], now_ms);
            }
        }
        uint64_t last = msess_last_activity(&m->t, s);
        if (now_ms - last > (uint64_t)m->cfg->timeout_s * 1000) {
            m->stats.sessions_timed_out++;
            log_info("media: Call-ID %.*s silent for %llu s: relay closed", (int)s->call_id_len,
                     s->call_id, (unsigned long long)(now_ms - last) / 1000);
            worker_media_timed_out(m->w, sip_str_make(s->call_id, s->call_id_len));
            close_session(m, s, "media timeout");
        }
    }
}

struct media *media_new(struct worker *w, const struct media_cfg *cfg, unsigned share,
                        unsigned shares, const char *inside_addr, struct fastpath *fp)
{
    struct media *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    m->w = w;
    m->fp = fp;
    if (rtp_ports_init(&m->ports, cfg->rtp_port_min, cfg->rtp_port_max, share, shares) != 0) {
        log_error("media: --rtp-ports %u-%u leaves no port pair for worker %u", cfg->rtp_port_min,
                  cfg->rtp_port_max, share);
        media_free(m);
        return NULL;
    }
    m->port_base = cfg->rtp_port_min;
    m->nsocks = (size_t)cfg->rtp_port_max - cfg->rtp_port_min + 1;
    m->socks = calloc(m->nsocks, sizeof(*m->socks));
    /* every call needs two pairs (one per side) per stream */
    uint32_t cap = (uint32_t)rtp_ports_available(&m->ports) / 2 + 1;
    if (m->socks == NULL || msess_table_init(&m->t, cap) != 0 ||
        bufring_setup(&m->rx, worker_ring(w), MEDIA_BUF_GROUP, MEDIA_BUF_COUNT, MEDIA_BUF_SIZE) !=
            0) {
        log_error("media: out of memory for the relay of worker %u", share);
        media_free(m);
        return NULL;
    }
    snprintf(m->addr_inside, sizeof(m->addr_inside), "%s", inside_addr);
    snprintf(m->addr_outside, sizeof(m->addr_outside), "%s",
             cfg->public_address[0] ? cfg->public_address : inside_addr);
    m->cfg = cfg;
    m->recv_mh.msg_namelen = sizeof(struct sockaddr_storage);
    m->iface = (struct sip_media){&media_ops, m};
    return m;
}

void media_free(struct media *m)
{
    if (m == NULL) {
        return;
    }
    for (uint32_t i = 0; m->t.sess != NULL && i < m->t.sess_used; i++) {
        if (m->t.sess[i].used) {
            for (unsigned j = 0; j < MEDIA_STREAMS; j++) {
                /* a call still running at exit: its SRTP contexts go with it (LSan) */
                if (m->t.sess[i].st[j] >= 0 && m->t.streams != NULL) {
                    media_srtp_free(m->t.streams[m->t.sess[i].st[j]].srtp);
                    m->t.streams[m->t.sess[i].st[j]].srtp = NULL;
                }
                for (unsigned l = 0; l < 2; l++) {
                    uint16_t p = m->t.sess[i].port[j][l];
                    if (p != 0) {
                        close(m->socks[p - m->port_base].fd);
                        close(m->socks[p + 1 - m->port_base].fd);
                    }
                }
            }
        }
    }
    bufring_free(&m->rx);
    rtp_ports_free(&m->ports);
    free(m->socks);
    msess_table_free(&m->t);
    free(m);
}

struct sip_media *media_iface(struct media *m)
{
    return &m->iface;
}

size_t media_open_sessions(const struct media *m)
{
    return m->t.open;
}

const struct media_stats *media_get_stats(const struct media *m)
{
    return &m->stats;
}

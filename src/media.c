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
#include "../sip/addr_count.h"
#include "../rtp/stream.h"
#include "log.h"
#include "net.h"
#include "ring.h"
#include "media_srtp.h"
#include "worker.h"

#define MEDIA_STREAMS 4 /* m= lines relayed per call; more are refused (port 0) */
#define MEDIA_BUF_COUNT 1024
#define MEDIA_BUF_SIZE 2048 /* RTP over UDP on ordinary paths: one MTU */
#define SESS_BUCKETS 4096
#define CALLID_MAX 96
#define SRC_SLOTS 2048 /* outside sources (and callees) with unanswered calls, per worker */
#define SRC_PROBE 8
#define TAG_MAX 48

struct msock {
    int fd;
    uint16_t gen;
    bool open;
    int32_t sess;
    uint8_t stream, leg, comp;
};

struct msess {
    bool used;
    uint8_t call_id_len, caller_tag_len, nstreams;
    uint32_t hash;
    int32_t hnext;
    int32_t next_free;
    char call_id[CALLID_MAX];
    char caller_tag[TAG_MAX];
    uint16_t port[MEDIA_STREAMS][2]; /* RTP port per stream and leg; 0: none */
    int32_t st[MEDIA_STREAMS];       /* index into the stream pool; -1: none */
    uint64_t touched_ms;
    int16_t src;         /* 1 + its outside creator's slot in media.src while unanswered; 0 */
    int16_t callee;      /* 1 + its callee's slot in media.callee while unanswered; 0 */
    bool leg_inside[2];  /* the side each leg is on: its port takes packets from that side only */
    uint8_t creator_leg; /* the leg whose SDP created it */
};

/* Unanswered calls from capped (outside) sources to one callee: fifty addresses each under
 * their own cap still cannot ring one phone a thousand times at once. */
struct mcallee {
    uint64_t key; /* hash of the Request-URI's user@host; 0: free */
    uint32_t n;
};

/* A session holds only what every call needs; its streams come from a pool of their own, so
 * an audio-only call costs one stream, not MEDIA_STREAMS. */
struct mstream {
    struct rtp_stream st;
    struct media_srtp *srtp; /* NULL unless SRTP was negotiated for the stream */
    int32_t next_free;
};

struct media {
    struct worker *w;
    struct rtp_ports ports;
    uint16_t port_base;
    struct msock *socks; /* indexed by port - port_base */
    size_t nsocks;
    struct msess *sess;
    uint32_t cap, open;
    int32_t free_head;
    struct mstream *streams;
    int32_t stream_free;
    uint32_t sess_used, streams_used; /* bump allocation: untouched memory stays unmapped */
    int32_t bucket[SESS_BUCKETS];
    char addr_inside[48], addr_outside[48];
    uint64_t next_sweep;
    const struct media_cfg *cfg; /* borrowed from the worker's snapshot; SIGHUP swaps it */
    struct bufring rx;           /* relayed packets, group MEDIA_BUF_GROUP */
    struct msghdr recv_mh;
    struct sip_media iface;
    struct media_stats stats;
    struct mcallee callee[SRC_SLOTS];
    struct log_limit full_log;            /* the relay is full: one line per interval */
    struct sip_addr_count src[SRC_SLOTS]; /* unanswered calls per outside source: a caller that
                                           * never gets an answer holds relay ports */
    char crypto_text[SDP_MAX_MEDIA][SDES_SUITE_COUNT * SDES_LINE_MAX]; /* until the rewrite */
};

static uint32_t hash_str(struct sip_str s)
{
    return sip_fnv1a(s.p, s.len, SIP_FNV_INIT);
}

static struct msess *find(struct media *m, struct sip_str call_id, uint32_t h)
{
    for (int32_t i = m->bucket[h % SESS_BUCKETS]; i >= 0; i = m->sess[i].hnext) {
        struct msess *s = &m->sess[i];
        if (s->hash == h && s->call_id_len == call_id.len &&
            (call_id.len == 0 || memcmp(s->call_id, call_id.p, call_id.len) == 0)) {
            return s;
        }
    }
    return NULL;
}

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

/* src_release: the session is answered or gone: it no longer counts against its creator nor
 * its callee */
static void src_release(struct media *m, struct msess *s)
{
    sip_addr_count_put(m->src, s->src);
    if (s->callee > 0 && m->callee[s->callee - 1].n > 0) {
        m->callee[s->callee - 1].n--;
    }
    s->src = 0;
    s->callee = 0;
}

/* callee_take: counts a new unanswered call from a capped source to callee; false at its cap.
 * A callee that finds no slot among its probes goes uncounted. */
static bool callee_take(struct media *m, struct sip_str callee, int16_t *slot)
{
    *slot = 0;
    if (m->cfg->max_callee_calls == 0 || callee.len == 0) {
        return true;
    }
    uint64_t key = 14695981039346656037ull;
    for (size_t i = 0; i < callee.len; i++) {
        key = (key ^ (uint8_t)sip_lower(callee.p[i])) * 1099511628211ull;
    }
    key |= 1; /* never 0, the free mark */
    struct mcallee *free_slot = NULL;
    for (unsigned k = 0; k < SRC_PROBE; k++) {
        struct mcallee *e = &m->callee[(key + k) % SRC_SLOTS];
        if (e->key == key) {
            if (e->n >= m->cfg->max_callee_calls) {
                return false;
            }
            e->n++;
            *slot = (int16_t)(e - m->callee + 1);
            return true;
        }
        if (e->n == 0 && free_slot == NULL) {
            free_slot = e;
        }
    }
    if (free_slot != NULL) {
        free_slot->key = key;
        free_slot->n = 1;
        *slot = (int16_t)(free_slot - m->callee + 1);
    }
    return true;
}

/* src_take: counts a new unanswered call of the outside source peer; false at its cap. */
static bool src_take(struct media *m, const struct sip_peer *peer, int16_t *slot)
{
    *slot = 0;
    if (m->cfg->max_source_calls == 0) {
        return true;
    }
    int r = sip_addr_count_take(m->src, SRC_SLOTS, peer, SIP_FNV_INIT, m->cfg->max_source_calls);
    *slot = r > 0 ? (int16_t)r : 0;
    return r >= 0;
}

static void close_session(struct media *m, struct msess *s, const char *why)
{
    src_release(m, s);
    int32_t si = (int32_t)(s - m->sess);
    uint64_t relayed = 0, strangers = 0;
    for (unsigned i = 0; i < MEDIA_STREAMS; i++) {
        if (s->st[i] >= 0) {
            struct mstream *ms = &m->streams[s->st[i]];
            for (unsigned l = 0; l < 2; l++) {
                relayed += ms->st.leg[l].rx_packets;
                strangers += ms->st.leg[l].dropped_stranger;
            }
            media_srtp_free(ms->srtp);
            ms->srtp = NULL;
            ms->next_free = m->stream_free;
            m->stream_free = s->st[i];
        }
        for (unsigned l = 0; l < 2; l++) {
            if (s->port[i][l] != 0) {
                close_sock(m, s->port[i][l]);
                close_sock(m, (uint16_t)(s->port[i][l] + 1));
                rtp_ports_put(&m->ports, s->port[i][l]);
            }
        }
    }
    if (log_enabled(LOG_LVL_DEBUG) || strangers > 0) {
        log_msg(
            strangers > 0 ? LOG_LVL_INFO : LOG_LVL_DEBUG,
            "media: Call-ID %.*s closed (%s): %llu packets relayed, %llu from strangers dropped",
            (int)s->call_id_len, s->call_id, why, (unsigned long long)relayed,
            (unsigned long long)strangers);
    }
    int32_t *pp = &m->bucket[s->hash % SESS_BUCKETS];
    while (*pp != si) {
        pp = &m->sess[*pp].hnext;
    }
    *pp = s->hnext;
    memset(s, 0, sizeof(*s));
    s->next_free = m->free_head;
    m->free_head = si;
    m->open--;
}

static struct msess *create(struct media *m, const struct sip_media_msg *mm, uint32_t h)
{
    if (mm->call_id.len > CALLID_MAX || mm->from_tag.len > TAG_MAX) {
        return NULL;
    }
    int32_t si;
    if (m->free_head >= 0) {
        si = m->free_head;
        m->free_head = m->sess[si].next_free;
    } else if (m->sess_used < m->cap) {
        si = (int32_t)m->sess_used++;
    } else {
        return NULL;
    }
    struct msess *s = &m->sess[si];
    memset(s, 0, sizeof(*s));
    s->used = true;
    s->hash = h;
    if (mm->call_id.len > 0) { /* an unset slice is NULL, which memcpy must not get */
        memcpy(s->call_id, mm->call_id.p, mm->call_id.len);
    }
    s->call_id_len = (uint8_t)mm->call_id.len;
    /* The side that sent the first SDP in a request is the caller; for an answer-first
     * (response) session the request's sender, named by the From tag, is the caller too. */
    if (mm->from_tag.len > 0) {
        memcpy(s->caller_tag, mm->from_tag.p, mm->from_tag.len);
    }
    s->caller_tag_len = (uint8_t)mm->from_tag.len;
    for (unsigned i = 0; i < MEDIA_STREAMS; i++) {
        s->st[i] = -1;
    }
    s->hnext = m->bucket[h % SESS_BUCKETS];
    m->bucket[h % SESS_BUCKETS] = si;
    m->open++;
    m->stats.sessions_opened++;
    return s;
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
    uint32_t h = hash_str(mm->call_id);
    struct msess *s = find(m, mm->call_id, h);
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
    if (s == NULL && !mm->may_create) {
        return SIP_MEDIA_NO_CALL;
    }
    int16_t slot = 0;
    bool fresh = s == NULL;
    if (s == NULL && mm->sender_capped && !src_take(m, mm->sender, &slot)) {
        m->stats.source_capped++;
        char ip[64];
        sip_peer_ip_text(mm->sender, ip, sizeof(ip));
        log_peer(LOG_LVL_WARN, "source calls capped", mm->sender,
                 "media: %s has %u unanswered calls (--max-source-calls): 503 to its next "
                 "(%llu refused so far on this worker)",
                 ip, m->cfg->max_source_calls, (unsigned long long)m->stats.source_capped);
        return SIP_MEDIA_FULL;
    }
    int16_t cslot = 0;
    if (s == NULL && mm->sender_capped && !callee_take(m, mm->callee, &cslot)) {
        sip_addr_count_put(m->src, slot);
        m->stats.callee_capped++;
        log_peer(LOG_LVL_WARN, "callee calls capped", mm->sender,
                 "media: %.*s has %u unanswered calls from the outside (--max-callee-calls): "
                 "503 to the next (%llu refused so far on this worker)",
                 (int)mm->callee.len, mm->callee.p, m->cfg->max_callee_calls,
                 (unsigned long long)m->stats.callee_capped);
        return SIP_MEDIA_FULL;
    }
    if (s == NULL && (s = create(m, mm, h)) == NULL) {
        sip_addr_count_put(m->src, slot);
        if (cslot > 0) {
            m->callee[cslot - 1].n--;
        }
        log_limited(&m->full_log, LOG_LVL_WARN,
                    "media: no room for the call %.*s (relay "
                    "sessions full)",
                    (int)mm->call_id.len, mm->call_id.p);
        return SIP_MEDIA_FULL;
    }
    if (slot > 0) {
        s->src = slot;
    }
    if (cslot > 0) {
        s->callee = cslot;
    }
    bool tag_is_caller =
        mm->from_tag.len == s->caller_tag_len &&
        (s->caller_tag_len == 0 || memcmp(mm->from_tag.p, s->caller_tag, s->caller_tag_len) == 0);
    unsigned in = (mm->is_request ? tag_is_caller : !tag_is_caller) ? 0 : 1, out = in ^ 1;
    if (fresh) {
        s->creator_leg = (uint8_t)in;
    } else if (in != s->creator_leg) {
        src_release(m, s); /* the other side answered: no longer a call that holds ports idly */
    }
    const char *to_addr = mm->receiver_inside ? m->addr_inside : m->addr_outside;
    rw->addr = to_addr;
    s->leg_inside[in] = mm->sender_inside;
    s->leg_inside[out] = mm->receiver_inside;
    rw->strip_ice = mm->sender_inside && !mm->receiver_inside;
    struct rtp_addr signal;
    addr_of_peer(mm->sender, &signal);
    int32_t si = (int32_t)(s - m->sess);
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
        if (s->st[i] < 0) {
            if (m->stream_free >= 0) {
                s->st[i] = m->stream_free;
                m->stream_free = m->streams[s->st[i]].next_free;
            } else if (m->streams_used < m->cap) {
                s->st[i] = (int32_t)m->streams_used++;
            }
            if (s->st[i] >= 0) {
                memset(&m->streams[s->st[i]].st, 0, sizeof(struct rtp_stream));
                m->streams[s->st[i]].srtp = NULL;
            }
        }
        if (s->port[i][out] == 0 || s->st[i] < 0) {
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
        struct rtp_leg *leg = &m->streams[s->st[i]].st.leg[in];
        rtp_leg_announce(leg, &a, md->has_rtcp ? md->rtcp_port : 0, md->rtcp_mux, nat, &signal);
        rw->port[i] = s->port[i][out];
        struct media_srtp **sr = &m->streams[s->st[i]].srtp;
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
    struct msess *s = find(m, call_id, hash_str(call_id));
    if (s != NULL) {
        close_session(m, s, "call ended");
    }
}

static const struct sip_media_ops media_ops = {on_sdp, on_end};

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
        struct msess *s = &m->sess[k->sess];
        struct rtp_stream *st = &m->streams[s->st[k->stream]].st;
        struct sip_peer from;
        net_peer_of(io_uring_recvmsg_name(o), &from);
        struct rtp_addr src, to;
        addr_of_peer(&from, &src);
        enum rtp_comp out_comp;
        uint8_t *pkt = io_uring_recvmsg_payload(o, &m->recv_mh);
        size_t len = io_uring_recvmsg_payload_length(o, cqe->res, &m->recv_mh);
        size_t room = (size_t)(buf + MEDIA_BUF_SIZE - (char *)pkt);
        struct media_srtp *sr = m->streams[s->st[k->stream]].srtp;
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
        if (v == RTP_RELAY && srtp_leg == (k->leg ^ 1) &&
            media_srtp_to_outside(sr, pkt, &len, room, is_rtcp) != 0) {
            m->stats.srtp_failed++;
        } else if (v == RTP_RELAY && s->port[k->stream][k->leg ^ 1] == 0) {
            m->stats.dropped_no_dest++; /* the other side has not answered: no pair there yet */
        } else if (v == RTP_RELAY) {
            uint16_t out_port = (uint16_t)(s->port[k->stream][k->leg ^ 1] + out_comp);
            struct sip_peer dst = {.family = to.family, .port = to.port};
            memcpy(dst.ip, to.ip, 16);
            worker_send_raw(m->w, m->socks[out_port - m->port_base].fd, &dst, pkt, len);
            m->stats.relayed++;
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
    for (uint32_t i = 0; i < m->sess_used && m->open > 0; i++) {
        struct msess *s = &m->sess[i];
        if (!s->used) {
            continue;
        }
        uint64_t last = s->touched_ms;
        for (unsigned j = 0; j < s->nstreams; j++) {
            for (unsigned l = 0; l < 2 && s->st[j] >= 0; l++) {
                uint64_t rx = m->streams[s->st[j]].st.leg[l].last_rx_ms;
                last = rx > last ? rx : last;
            }
        }
        if (now_ms - last > (uint64_t)m->cfg->timeout_s * 1000) {
            m->stats.sessions_timed_out++;
            log_info("media: Call-ID %.*s silent for %llu s: relay closed", (int)s->call_id_len,
                     s->call_id, (unsigned long long)(now_ms - last) / 1000);
            close_session(m, s, "media timeout");
        }
    }
}

struct media *media_new(struct worker *w, const struct media_cfg *cfg, unsigned share,
                        unsigned shares, const char *inside_addr)
{
    struct media *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    m->w = w;
    m->free_head = -1;
    for (size_t i = 0; i < SESS_BUCKETS; i++) {
        m->bucket[i] = -1;
    }
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
    m->cap = (uint32_t)rtp_ports_available(&m->ports) / 2 + 1;
    m->sess = calloc(m->cap, sizeof(*m->sess));
    m->streams = calloc(m->cap, sizeof(*m->streams));
    if (m->socks == NULL || m->sess == NULL || m->streams == NULL ||
        bufring_setup(&m->rx, worker_ring(w), MEDIA_BUF_GROUP, MEDIA_BUF_COUNT, MEDIA_BUF_SIZE) !=
            0) {
        log_error("media: out of memory for the relay of worker %u", share);
        media_free(m);
        return NULL;
    }
    m->stream_free = -1;
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
    for (uint32_t i = 0; m->sess != NULL && i < m->sess_used; i++) {
        if (m->sess[i].used) {
            for (unsigned j = 0; j < MEDIA_STREAMS; j++) {
                /* a call still running at exit: its SRTP contexts go with it (LSan) */
                if (m->sess[i].st[j] >= 0 && m->streams != NULL) {
                    media_srtp_free(m->streams[m->sess[i].st[j]].srtp);
                    m->streams[m->sess[i].st[j]].srtp = NULL;
                }
                for (unsigned l = 0; l < 2; l++) {
                    uint16_t p = m->sess[i].port[j][l];
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
    free(m->sess);
    free(m->streams);
    free(m);
}

struct sip_media *media_iface(struct media *m)
{
    return &m->iface;
}

size_t media_open_sessions(const struct media *m)
{
    return m->open;
}

const struct media_stats *media_get_stats(const struct media *m)
{
    return &m->stats;
}

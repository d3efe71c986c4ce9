/* src/conn.c: TCP and TLS connections on a worker's ring; see conn.h. */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../sip/frame.h"
#include "../tls/conn.h"
#include "log.h"
#include "net.h"
#include "ring.h"
#include "worker.h"

#define RBUF_INIT 4096
#define NBUF 16896     /* one TLS record and its header */
#define SETUP_MS 10000 /* connect plus TLS handshake */
#define SWEEP_MS 1000
/* Slowloris (issue 13, class 5): a message must be complete within MSG_DEADLINE_MS of its first
 * byte (at the largest --max-msg-size, a floor of some 6.5 KB/s), and a connection from a peer
 * must bring its first message within the same time; else it is closed. */
#define MSG_DEADLINE_MS 10000
#define LISTEN_BACKLOG 1024
#define FAIL_LOG_MS 10000
/* A send takes every queued chunk (up to this many) at once: one send in flight per connection
 * and a completion per send would otherwise cap a busy trunk connection at a few thousand
 * messages a second. */
#define SEND_IOV 32

enum state { ST_FREE = 0, ST_CONNECTING, ST_OPEN, ST_CLOSING };
enum io { IO_RECV = 1, IO_SEND, IO_CONNECT, IO_NOP };

struct chunk {
    struct chunk *next;
    size_t len, off;
    char data[];
};

struct conn {
    uint32_t id;
    uint8_t state;
    uint8_t inflight; /* recv, send, connect submitted and not completed */
    bool sending, outgoing, delivered_any, overflow;
    bool carried_register; /* a REGISTER came in on it: bindings may name it as their flow */
    int fd;
    uint32_t ip_bucket;
    int32_t next_free;
    bool in_dir;
    struct sip_peer peer; /* transport and conn set */
    struct sockaddr_storage sa;
    struct tls_conn *tls;
    char *rbuf; /* plaintext not yet framed */
    size_t rlen, rcap;
    char *nbuf; /* TLS: ciphertext read */
    struct chunk *qhead, *qtail;
    size_t qbytes;
    struct msghdr smh; /* the send in flight: up to SEND_IOV queued chunks at once */
    struct iovec siov[SEND_IOV];
    uint64_t last_ms, setup_deadline;
    uint64_t msg_started_ms; /* first byte of the message not yet complete in rbuf; 0: none */
    uint64_t opened_ms;
    struct conns *cs;
};

struct conns {
    struct worker *w;
    unsigned wid;
    const struct conns_cfg *cfg; /* borrowed from the worker's snapshot; SIGHUP swaps it */
    struct conn_shared *lim;
    struct conn *slot;
    uint32_t cap, used, open;
    int32_t free_head;
    int lfd[CONFIG_MAX_LISTEN];
    uint8_t lproto[CONFIG_MAX_LISTEN];
    size_t nl;
    uint64_t next_sweep;
    uint64_t refused_logged;
    struct sip_peer last_fail; /* repeated failures to one peer: one line per FAIL_LOG_MS */
    uint64_t last_fail_ms, fail_suppressed;
    struct conn_stats st;
};

static uint32_t peer_hash(const struct sip_peer *p)
{
    uint32_t h = sip_fnv1a(p->ip, p->family == 6 ? 16 : 4, SIP_FNV_INIT);
    h = sip_fnv1a(&p->port, sizeof(p->port), h);
    return sip_fnv1a(&p->transport, 1, h);
}

static uint32_t slot_of(uint32_t id)
{
    return id & 0xffff;
}

int conns_owner(uint32_t id)
{
    return id == 0 ? -1 : (int)(id >> 24) - 1;
}

static struct conn *by_id(struct conns *cs, uint32_t id)
{
    if (conns_owner(id) != (int)cs->wid || slot_of(id) >= cs->used) {
        return NULL;
    }
    struct conn *c = &cs->slot[slot_of(id)];
    return c->id == id && (c->state == ST_OPEN || c->state == ST_CONNECTING) ? c : NULL;
}

int conn_shared_init(struct conn_shared *s, unsigned workers, uint32_t max_connections)
{
    pthread_mutex_init(&s->lock, NULL);
    for (int i = 0; i < CONN_DIR_BUCKETS; i++) {
        s->bucket[i] = -1;
    }
    s->per_worker = max_connections;
    s->ent = calloc((size_t)workers * max_connections, sizeof(*s->ent));
    return s->ent != NULL ? 0 : -1;
}

void conn_shared_free(struct conn_shared *s)
{
    free(s->ent);
    pthread_mutex_destroy(&s->lock);
}

/* dir_lookup: the connection to p, any worker's; 0 for none. */
static uint32_t dir_lookup(struct conn_shared *s, const struct sip_peer *p)
{
    uint32_t id = 0;
    pthread_mutex_lock(&s->lock);
    for (int32_t i = s->bucket[peer_hash(p) % CONN_DIR_BUCKETS]; i >= 0; i = s->ent[i].next) {
        if (s->ent[i].key.transport == p->transport && sip_peer_eq(&s->ent[i].key, p)) {
            id = s->ent[i].id;
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return id;
}

static int32_t dir_index(const struct conns *cs, const struct conn *c)
{
    return (int32_t)(cs->wid * cs->lim->per_worker + (uint32_t)(c - cs->slot));
}

static void dir_add(struct conns *cs, struct conn *c)
{
    struct conn_shared *s = cs->lim;
    int32_t me = dir_index(cs, c);
    s->ent[me].key = c->peer;
    s->ent[me].id = c->id;
    pthread_mutex_lock(&s->lock);
    int32_t *b = &s->bucket[peer_hash(&c->peer) % CONN_DIR_BUCKETS];
    s->ent[me].next = *b;
    *b = me;
    pthread_mutex_unlock(&s->lock);
    c->in_dir = true;
}

static void dir_remove(struct conns *cs, struct conn *c)
{
    if (!c->in_dir) {
        return;
    }
    struct conn_shared *s = cs->lim;
    int32_t me = dir_index(cs, c);
    pthread_mutex_lock(&s->lock);
    int32_t *pp = &s->bucket[peer_hash(&c->peer) % CONN_DIR_BUCKETS];
    while (*pp >= 0 && *pp != me) {
        pp = &s->ent[*pp].next;
    }
    if (*pp == me) {
        *pp = s->ent[me].next;
    }
    pthread_mutex_unlock(&s->lock);
    c->in_dir = false;
}

static void peer_text(const struct conn *c, char *out, size_t cap)
{
    char ip[64];
    sip_peer_host_text(&c->peer, ip, sizeof(ip));
    snprintf(out, cap, "%s %s:%u", sip_transport_name(c->peer.transport), ip, c->peer.port);
}

/* limits_take: counts a connection from/to p; false (nothing counted) when over a limit. */
static bool limits_take(struct conns *cs, const struct sip_peer *p, uint32_t *bucket)
{
    if (atomic_fetch_add(&cs->lim->total, 1) >= cs->cfg->max_connections) {
        atomic_fetch_sub(&cs->lim->total, 1);
        return false;
    }
    *bucket = sip_fnv1a(p->ip, p->family == 6 ? 16 : 4, SIP_FNV_INIT) % CONN_IP_BUCKETS;
    if (atomic_fetch_add(&cs->lim->per_ip[*bucket], 1) >= cs->cfg->max_connections_per_ip) {
        atomic_fetch_sub(&cs->lim->per_ip[*bucket], 1);
        atomic_fetch_sub(&cs->lim->total, 1);
        return false;
    }
    return true;
}

static void emit_cipher(void *ctx, const void *p, size_t n);
static void deliver_plain(void *ctx, const void *p, size_t n);

/* conn_alloc: a slot for a counted connection on fd; NULL when the table is full. */
static struct conn *conn_alloc(struct conns *cs, int fd, const struct sip_peer *peer)
{
    int32_t i = cs->free_head;
    if (i >= 0) {
        cs->free_head = cs->slot[i].next_free;
    } else if (cs->used < cs->cap) {
        i = (int32_t)cs->used++;
    } else {
        return NULL;
    }
    struct conn *c = &cs->slot[i];
    uint32_t gen = ((c->id >> 16) + 1) & 0xff;
    memset(c, 0, sizeof(*c));
    c->id = (cs->wid + 1) << 24 | gen << 16 | (uint32_t)i;
    c->fd = fd;
    c->cs = cs;
    c->peer = *peer;
    c->peer.conn = c->id;
    c->last_ms = worker_now_ms();
    c->opened_ms = c->last_ms;
    dir_add(cs, c);
    cs->open++;
    return c;
}

static void release(struct conns *cs, struct conn *c)
{
    dir_remove(cs, c);
    close(c->fd);
    tls_conn_free(c->tls);
    free(c->rbuf);
    free(c->nbuf);
    for (struct chunk *k = c->qhead, *n; k != NULL; k = n) {
        n = k->next;
        free(k);
    }
    atomic_fetch_sub(&cs->lim->per_ip[c->ip_bucket], 1);
    atomic_fetch_sub(&cs->lim->total, 1);
    uint32_t id = c->id;
    memset(c, 0, sizeof(*c));
    c->id = id; /* keeps the generation */
    c->state = ST_FREE;
    c->next_free = cs->free_head;
    cs->free_head = (int32_t)(c - cs->slot);
    cs->open--;
}

/* conn_close: stops using c; its memory goes once every operation on it has completed. */
static void conn_close(struct conn *c)
{
    if (c->state == ST_CLOSING || c->state == ST_FREE) {
        return;
    }
    dir_remove(c->cs, c);
    c->state = ST_CLOSING;
    if (c->carried_register) {
        /* RFC 5626 §5.3: the bindings whose flow this was fail now, so that nobody opens a
         * new connection that a NAT in front of the UA would never let through. Only
         * connections that carried a REGISTER can be a binding's flow: the store is not
         * scanned for every closed connection. */
        worker_flow_closed(c->cs->w, &c->peer);
    }
    shutdown(c->fd, SHUT_RDWR);
    struct io_uring_sqe *sqe = worker_sqe(c->cs->w);
    io_uring_prep_cancel_fd(sqe, c->fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_STREAM, (uint64_t)IO_NOP << 32));
}

/* conn_fail: c could not be set up or broke: one log line; branches waiting on an outgoing
 * connection that never carried a response fail with 503 at once (conn.h). */
static void conn_fail(struct conn *c, const char *what, const char *why)
{
    if (c->state == ST_CLOSING) {
        return;
    }
    struct conns *cs = c->cs;
    uint64_t now = worker_now_ms();
    bool same = cs->last_fail.transport == c->peer.transport &&
                sip_peer_eq(&cs->last_fail, &c->peer) && now - cs->last_fail_ms < FAIL_LOG_MS;
    if (same) {
        cs->fail_suppressed++; /* a dead next hop fails every request: not a line each */
    } else {
        char peer[96], more[64] = "";
        peer_text(c, peer, sizeof(peer));
        if (cs->fail_suppressed > 0) {
            snprintf(more, sizeof(more), " (%llu similar lines before suppressed)",
                     (unsigned long long)cs->fail_suppressed);
        }
        /* ours to reach: a warning; a client's failure (scanners, wrong CA) is its problem */
        log_msg(c->outgoing ? LOG_LVL_WARN : LOG_LVL_INFO, "%s %s %s failed: %s%s", what,
                c->outgoing ? "to" : "from", peer, why, more);
        cs->last_fail = c->peer;
        cs->last_fail_ms = now;
        cs->fail_suppressed = 0;
    }
    cs->st.failed++;
    struct sip_peer p = c->peer;
    bool report = c->outgoing && !c->delivered_any;
    conn_close(c);
    if (report) {
        p.conn = 0;
        worker_report_unreachable(c->cs->w, &p);
    }
}

static void maybe_release(struct conns *cs, struct conn *c)
{
    if (c->state == ST_CLOSING && c->inflight == 0) {
        release(cs, c);
    }
}

static void kick_send(struct conn *c)
{
    if (c->sending || c->state != ST_OPEN || c->qhead == NULL) {
        return;
    }
    size_t n = 0;
    for (struct chunk *k = c->qhead; k != NULL && n < SEND_IOV; k = k->next) {
        c->siov[n++] = (struct iovec){k->data + k->off, k->len - k->off};
    }
    c->smh = (struct msghdr){.msg_iov = c->siov, .msg_iovlen = n};
    struct io_uring_sqe *sqe = worker_sqe(c->cs->w);
    io_uring_prep_sendmsg(sqe, c->fd, &c->smh, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_STREAM, (uint64_t)IO_SEND << 32 | c->id));
    c->sending = true;
    c->inflight++;
}

/* enqueue: bytes for the wire (ciphertext for TLS), copied. */
static void enqueue(struct conn *c, const void *p, size_t n)
{
    if (c->state == ST_CLOSING || n == 0) {
        return;
    }
    if (c->qbytes + n > c->cs->cfg->max_send_queue) {
        char peer[96];
        peer_text(c, peer, sizeof(peer));
        log_peer(LOG_LVL_WARN, "slow reader", &c->peer,
                 "%s reads too slowly: %zu bytes queued, closing the connection", peer, c->qbytes);
        c->cs->st.slow_closed++;
        conn_close(c);
        return;
    }
    struct chunk *k = malloc(sizeof(*k) + n);
    if (k == NULL) {
        conn_close(c);
        return;
    }
    k->next = NULL;
    k->len = n;
    k->off = 0;
    memcpy(k->data, p, n);
    if (c->qtail != NULL) {
        c->qtail->next = k;
    } else {
        c->qhead = k;
    }
    c->qtail = k;
    c->qbytes += n;
}

static void emit_cipher(void *ctx, const void *p, size_t n)
{
    enqueue(ctx, p, n);
}

static void send_plain(struct conn *c, const struct iovec *iov, size_t n)
{
    if (c->tls == NULL) {
        size_t len = 0;
        for (size_t i = 0; i < n; i++) {
            len += iov[i].iov_len;
        }
        if (n == 1) {
            enqueue(c, iov[0].iov_base, len);
        } else {
            /* one chunk for the message: one send, and no torn message on a full queue */
            char *flat = malloc(len ? len : 1);
            if (flat == NULL) {
                return;
            }
            size_t off = 0;
            for (size_t i = 0; i < n; i++) {
                memcpy(flat + off, iov[i].iov_base, iov[i].iov_len);
                off += iov[i].iov_len;
            }
            enqueue(c, flat, len);
            free(flat);
        }
    } else {
        for (size_t i = 0; i < n && c->state != ST_CLOSING; i++) {
            if (tls_conn_write(c->tls, iov[i].iov_base, iov[i].iov_len) != 0) {
                conn_fail(c, "TLS", tls_conn_error(c->tls));
            }
        }
        if (c->state != ST_CLOSING && tls_conn_pending(c->tls) > c->cs->cfg->max_send_queue) {
            conn_fail(c, "TLS", "handshake pending with a full queue");
        }
    }
    kick_send(c);
}

static void arm_recv(struct conn *c)
{
    void *buf;
    size_t cap;
    if (c->tls != NULL) {
        buf = c->nbuf;
        cap = NBUF;
    } else {
        if (c->rcap - c->rlen < 1024) {
            size_t max = (size_t)c->cs->cfg->max_msg_bytes + 4096;
            size_t ncap = c->rcap * 2 > max ? max : c->rcap * 2;
            char *nb = ncap > c->rcap ? realloc(c->rbuf, ncap) : NULL;
            if (nb == NULL) {
                /* a message longer than any we take: RFC 3261 §18.3 leaves only closing */
                c->cs->st.bad_framing++;
                conn_close(c);
                return;
            }
            c->rbuf = nb;
            c->rcap = ncap;
        }
        buf = c->rbuf + c->rlen;
        cap = c->rcap - c->rlen;
    }
    struct io_uring_sqe *sqe = worker_sqe(c->cs->w);
    io_uring_prep_recv(sqe, c->fd, buf, cap, 0);
    io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_STREAM, (uint64_t)IO_RECV << 32 | c->id));
    c->inflight++;
}

/* deliver_plain: TLS plaintext, appended to the read buffer. */
static void deliver_plain(void *ctx, const void *p, size_t n)
{
    struct conn *c = ctx;
    if (c->rlen + n > c->rcap) {
        size_t max = (size_t)c->cs->cfg->max_msg_bytes + 4096 + NBUF;
        size_t ncap = c->rcap;
        while (ncap < c->rlen + n) {
            ncap *= 2;
        }
        char *nb = ncap <= max ? realloc(c->rbuf, ncap) : NULL;
        if (nb == NULL) {
            c->overflow = true;
            return;
        }
        c->rbuf = nb;
        c->rcap = ncap;
    }
    memcpy(c->rbuf + c->rlen, p, n);
    c->rlen += n;
}

/* frame: hands every whole message in the read buffer to the worker; answers pings. */
static void frame(struct conn *c)
{
    size_t off = 0;
    while (c->state == ST_OPEN && off < c->rlen) {
        struct sip_frame f =
            sip_frame_next(c->rbuf + off, c->rlen - off, c->cs->cfg->max_msg_bytes);
        off += f.skip;
        if (f.kind == SIP_FRAME_AGAIN) {
            break;
        }
        if (f.kind == SIP_FRAME_PING) {
            struct iovec pong = {"\r\n", 2}; /* RFC 5626 §3.5.1 */
            send_plain(c, &pong, 1);
            continue;
        }
        if (f.kind == SIP_FRAME_BAD) {
            char peer[96];
            peer_text(c, peer, sizeof(peer));
            log_debug("%s: unframeable message (no valid Content-Length, or too long): closing",
                      peer);
            c->cs->st.bad_framing++;
            conn_close(c);
            return;
        }
        c->delivered_any = true;
        if (f.len > 9 && memcmp(c->rbuf + off, "REGISTER ", 9) == 0) {
            c->carried_register = true;
        }
        worker_on_message(c->cs->w, &c->peer, c->rbuf + off, f.len);
        off += f.len;
    }
    if (off > 0 && c->state == ST_OPEN) {
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
    }
    if (c->rlen == 0) {
        c->msg_started_ms = 0;
    } else if (off > 0 || c->msg_started_ms == 0) {
        c->msg_started_ms = worker_now_ms(); /* a new message has begun */
    }
}

static void on_recv(struct conn *c, int res)
{
    if (c->state == ST_CLOSING) {
        return;
    }
    if (res <= 0) {
        if (c->tls != NULL && !tls_conn_ready(c->tls)) {
            c->cs->st.tls_failed++;
            conn_fail(c, "TLS handshake",
                      res == 0 ? "connection closed during the handshake" : strerror(-res));
        } else {
            conn_close(c);
        }
        return;
    }
    c->last_ms = worker_now_ms();
    if (c->tls != NULL) {
        bool was_ready = tls_conn_ready(c->tls);
        if (tls_conn_input(c->tls, c->nbuf, (size_t)res) != 0) {
            if (tls_conn_closed(c->tls)) {
                frame(c); /* what came before the close_notify */
                conn_close(c);
                return;
            }
            if (!was_ready) {
                c->cs->st.tls_failed++;
            }
            conn_fail(c, was_ready ? "TLS" : "TLS handshake", tls_conn_error(c->tls));
            return;
        }
        if (!was_ready && tls_conn_ready(c->tls) && log_enabled(LOG_LVL_DEBUG)) {
            char peer[96], how[128];
            peer_text(c, peer, sizeof(peer));
            tls_conn_describe(c->tls, how, sizeof(how));
            log_debug("%s: %s", peer, how);
        }
        if (c->overflow) {
            c->cs->st.bad_framing++;
            conn_close(c);
            return;
        }
    } else {
        c->rlen += (size_t)res;
    }
    frame(c);
    kick_send(c); /* pongs, TLS handshake records */
    if (c->state == ST_OPEN) {
        arm_recv(c);
    }
}

static void on_send(struct conn *c, int res)
{
    c->sending = false;
    if (c->state == ST_CLOSING) {
        return;
    }
    if (res <= 0) {
        conn_close(c);
        return;
    }
    size_t done = (size_t)res;
    c->qbytes -= done;
    while (done > 0 && c->qhead != NULL) {
        struct chunk *k = c->qhead;
        size_t left = k->len - k->off;
        if (done < left) {
            k->off += done;
            break;
        }
        done -= left;
        c->qhead = k->next;
        if (c->qhead == NULL) {
            c->qtail = NULL;
        }
        free(k);
    }
    kick_send(c);
}

static void on_connect(struct conn *c, int res)
{
    if (c->state == ST_CLOSING) {
        return;
    }
    if (res < 0) {
        conn_fail(c, "connection", strerror(-res));
        return;
    }
    c->state = ST_OPEN;
    c->last_ms = worker_now_ms();
    arm_recv(c);
    kick_send(c);
}

void conns_on_cqe(struct conns *cs, uint64_t payload, const struct io_uring_cqe *cqe)
{
    enum io kind = (enum io)(payload >> 32);
    if (kind == IO_NOP) {
        return;
    }
    uint32_t id = (uint32_t)payload;
    struct conn *c = &cs->slot[slot_of(id)];
    if (slot_of(id) >= cs->used || c->id != id || c->inflight == 0) {
        log_warn("worker %u: a completion for an unknown connection", cs->wid);
        return;
    }
    c->inflight--;
    if (kind == IO_RECV) {
        on_recv(c, cqe->res);
    } else if (kind == IO_SEND) {
        on_send(c, cqe->res);
    } else if (kind == IO_CONNECT) {
        on_connect(c, cqe->res);
    }
    maybe_release(cs, c);
}

static void setup_stream(struct conns *cs, struct conn *c, const char *tls_name)
{
    c->rcap = RBUF_INIT;
    c->rbuf = malloc(c->rcap);
    if (c->peer.transport == SIP_TP_TLS) {
        c->nbuf = malloc(NBUF);
        c->tls =
            tls_conn_new(cs->cfg->tls, tls_name, (struct tls_io){emit_cipher, deliver_plain, c});
    }
    c->setup_deadline = worker_now_ms() + SETUP_MS;
}

/* stream_sockopts: no Nagle delay for SIP messages; and data left unacknowledged for
 * STREAM_USER_TIMEOUT_MS fails the connection (TCP_USER_TIMEOUT, RFC 5482): a UA that vanished
 * behind its NAT is noticed at the next keepalive, within seconds rather than the ~15 minutes
 * of TCP's own retransmissions, and its flow fails (RFC 5626 §5.3). */
#define STREAM_USER_TIMEOUT_MS 20000
static void stream_sockopts(int fd)
{
    int one = 1;
    unsigned int user_timeout = STREAM_USER_TIMEOUT_MS;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout));
}

void conns_on_accept(struct conns *cs, unsigned li, const struct io_uring_cqe *cqe)
{
    if (!(cqe->flags & IORING_CQE_F_MORE) && li < cs->nl) {
        struct io_uring_sqe *sqe = worker_sqe(cs->w);
        io_uring_prep_multishot_accept(sqe, cs->lfd[li], NULL, NULL, SOCK_CLOEXEC);
        io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_ACCEPT, li));
    }
    if (cqe->res < 0) {
        return; /* logged by the ring's error table when unexpected (ring.h) */
    }
    int fd = cqe->res;
    struct sockaddr_storage sa;
    socklen_t sl = sizeof(sa);
    struct sip_peer p;
    uint32_t bucket = 0;
    if (getpeername(fd, (struct sockaddr *)&sa, &sl) != 0) {
        close(fd);
        return;
    }
    net_peer_of(&sa, &p);
    p.transport = cs->lproto[li];
    if (!worker_acl(cs->w, &p)) {
        close(fd); /* denied: not even a TLS handshake */
        return;
    }
    if (!limits_take(cs, &p, &bucket)) {
        close(fd);
        cs->st.refused++;
        /* logged on the first and then every 1000th: a flood must not flood the log */
        if (cs->refused_logged++ % 1000 == 0) {
            char ip[64];
            sip_peer_ip_text(&p, ip, sizeof(ip));
            log_warn("connection from %s refused: over --max-connections or "
                     "--max-connections-per-ip (%llu refused so far on worker %u)",
                     ip, (unsigned long long)cs->st.refused, cs->wid);
        }
        return;
    }
    struct conn *c = conn_alloc(cs, fd, &p);
    if (c == NULL) {
        atomic_fetch_sub(&cs->lim->per_ip[bucket], 1);
        atomic_fetch_sub(&cs->lim->total, 1);
        close(fd);
        cs->st.refused++;
        return;
    }
    c->ip_bucket = bucket;
    stream_sockopts(fd);
    c->state = ST_OPEN;
    setup_stream(cs, c, NULL);
    cs->st.accepted++;
    arm_recv(c);
}

static struct conn *conn_open(struct conns *cs, const struct sip_peer *to, const char *name)
{
    uint32_t bucket = 0;
    if (to->transport == SIP_TP_TLS && cs->cfg->tls == NULL) {
        return NULL;
    }
    if (!limits_take(cs, to, &bucket)) {
        cs->st.refused++;
        return NULL;
    }
    int fd = socket(to->family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct conn *c = fd >= 0 ? conn_alloc(cs, fd, to) : NULL;
    if (c == NULL) {
        if (fd >= 0) {
            close(fd);
        }
        atomic_fetch_sub(&cs->lim->per_ip[bucket], 1);
        atomic_fetch_sub(&cs->lim->total, 1);
        return NULL;
    }
    c->ip_bucket = bucket;
    c->outgoing = true;
    c->state = ST_CONNECTING;
    stream_sockopts(fd);
    char ip[64];
    sip_peer_ip_text(to, ip, sizeof(ip));
    setup_stream(cs, c, name != NULL ? name : ip);
    socklen_t len = net_sockaddr_of(to, &c->sa);
    struct io_uring_sqe *sqe = worker_sqe(cs->w);
    io_uring_prep_connect(sqe, fd, (struct sockaddr *)&c->sa, len);
    io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_STREAM, (uint64_t)IO_CONNECT << 32 | c->id));
    c->inflight++;
    cs->st.opened++;
    return c;
}

void conns_send(struct conns *cs, const struct sip_peer *to, const char *name,
                const struct iovec *iov, size_t n)
{
    struct conn *c = NULL;
    uint32_t id = to->conn;
    if (id == 0 || (conns_owner(id) == (int)cs->wid && by_id(cs, id) == NULL)) {
        id = dir_lookup(cs->lim, to); /* none named, or it closed: any to that address */
    }
    if (id != 0) {
        int owner = conns_owner(id);
        if (owner != (int)cs->wid && owner >= 0) {
            struct sip_peer via = *to;
            via.conn = id;
            worker_post_send(cs->w, (unsigned)owner, &via, name, iov, n);
            return;
        }
        c = by_id(cs, id);
    }
    if (c == NULL) {
        c = conn_open(cs, to, name);
        if (c == NULL) {
            char ip[64];
            sip_peer_host_text(to, ip, sizeof(ip));
            log_peer(LOG_LVL_WARN, "cannot connect", to,
                     "cannot open a %s connection to %s:%u (connection limits, or no TLS "
                     "configured)",
                     sip_transport_name(to->transport), ip, to->port);
            struct sip_peer p = *to;
            p.conn = 0;
            worker_report_unreachable(cs->w, &p);
            return;
        }
    }
    send_plain(c, iov, n);
}

void conns_on_timer(struct conns *cs, uint64_t now)
{
    if (now < cs->next_sweep) {
        return;
    }
    cs->next_sweep = now + SWEEP_MS;
    uint64_t idle = (uint64_t)cs->cfg->tcp_idle_timeout_s * 1000;
    for (uint32_t i = 0; i < cs->used; i++) {
        struct conn *c = &cs->slot[i];
        bool setting_up = c->state == ST_CONNECTING ||
                          (c->state == ST_OPEN && c->tls != NULL && !tls_conn_ready(c->tls));
        if (setting_up && now >= c->setup_deadline) {
            conn_fail(c, c->state == ST_CONNECTING ? "connection" : "TLS handshake", "timed out");
        } else if (c->state == ST_OPEN && now - c->last_ms > idle && c->qhead == NULL) {
            cs->st.idle_closed++;
            conn_close(c);
        } else if (c->state == ST_OPEN && !setting_up &&
                   ((c->msg_started_ms != 0 && now - c->msg_started_ms > MSG_DEADLINE_MS) ||
                    (!c->outgoing && !c->delivered_any &&
                     now - c->opened_ms > MSG_DEADLINE_MS + (c->tls ? SETUP_MS : 0)))) {
            cs->st.slow_closed++;
            char peer[96];
            peer_text(c, peer, sizeof(peer));
            log_peer(LOG_LVL_INFO, "slow message", &c->peer,
                     "%s: no complete message within %d s: closing the connection", peer,
                     MSG_DEADLINE_MS / 1000);
            conn_close(c);
        }
    }
}

static int listen_on(const struct listen_addr *l)
{
    int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_error("listen %s: socket: %s", l->text, strerror(errno));
        return -1;
    }
    net_share_port(fd, l->addr.ss_family);
    if (bind(fd, (const struct sockaddr *)&l->addr, l->addr_len) != 0 ||
        listen(fd, LISTEN_BACKLOG) != 0) {
        log_error("listen %s: %s", l->text, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

struct conns *conns_new(struct worker *w, unsigned wid, const struct listen_addr *listen,
                        size_t listen_count, uint32_t table_cap, const struct conns_cfg *cfg,
                        struct conn_shared *shared)
{
    struct conns *cs = calloc(1, sizeof(*cs));
    if (cs == NULL) {
        log_error("worker %u: out of memory for connections", wid);
        return NULL;
    }
    cs->w = w;
    cs->wid = wid;
    cs->cfg = cfg;
    cs->lim = shared;
    cs->cap = table_cap;
    cs->free_head = -1;
    /* untouched slots stay unmapped: the pool is handed out in order */
    cs->slot = calloc(cs->cap, sizeof(*cs->slot));
    if (cs->slot == NULL) {
        free(cs);
        log_error("worker %u: out of memory for connections", wid);
        return NULL;
    }
    for (size_t i = 0; i < listen_count; i++) {
        const struct listen_addr *l = &listen[i];
        if (l->proto == LISTEN_UDP) {
            continue;
        }
        int fd = listen_on(l);
        if (fd < 0) {
            conns_free(cs);
            return NULL;
        }
        cs->lfd[cs->nl] = fd;
        cs->lproto[cs->nl++] = (uint8_t)l->proto;
        if (wid == 0) {
            log_info("listening on %s", l->text);
        }
    }
    return cs;
}

void conns_set_cfg(struct conns *cs, const struct conns_cfg *cfg)
{
    cs->cfg = cfg;
}

void conns_start(struct conns *cs)
{
    for (size_t i = 0; i < cs->nl; i++) {
        struct io_uring_sqe *sqe = worker_sqe(cs->w);
        io_uring_prep_multishot_accept(sqe, cs->lfd[i], NULL, NULL, SOCK_CLOEXEC);
        io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_ACCEPT, (unsigned)i));
    }
}

void conns_free(struct conns *cs)
{
    if (cs == NULL) {
        return;
    }
    for (uint32_t i = 0; i < cs->used; i++) {
        if (cs->slot[i].state != ST_FREE) {
            release(cs, &cs->slot[i]); /* the ring is gone: nothing is in flight */
        }
    }
    for (size_t i = 0; i < cs->nl; i++) {
        close(cs->lfd[i]);
    }
    free(cs->slot);
    free(cs);
}

size_t conns_open(const struct conns *cs)
{
    return cs->open;
}

const struct conn_stats *conns_stats(const struct conns *cs)
{
    return &cs->st;
}

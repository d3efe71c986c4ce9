/* src/worker.c: the per-thread event loop; see worker.h. */
#include "worker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../sip/callid.h"
#include "../sip/hep.h"
#include "../tls/tls.h"
#include "../tls/conn.h"
#include "conn.h"
#include "log.h"
#include "media.h"
#include "auth.h"
#include "guard.h"
#include "handover.h"
#include "http.h"
#include "net.h"
#include "notify.h"
#include "resolver.h"
#include "ring.h"
#include "snapshot.h"
#include "state.h"
#include "status.h"
#include "call_record.h"
#include "textbuf.h"

#define RING_ENTRIES 256
#define BUF_GROUP 1
#define BUF_COUNT 256
#define BUF_SIZE (65536 + 512) /* a whole UDP datagram plus the recvmsg header and name */
#define SEND_SLOTS 1024
#define SEND_BUF 4096
/* Under load a wait collects completions for up to BATCH_WAIT_US once the first has arrived,
 * so that one wake-up serves many datagrams; an idle worker still wakes on the first. SIP
 * tolerates the added half millisecond per hop; the wake-ups saved are most of a call's CPU. */
#define BATCH_WAIT_NR 32
#define BATCH_WAIT_US 500
/* IORING_FEAT_MIN_TIMEOUT (Linux 6.12): io_uring_getevents_arg.pad is min_wait_usec. */
#define FEAT_MIN_TIMEOUT (1U << 15)

enum ctrl { CTRL_DRAIN = 1, CTRL_STOP };

struct send_slot {
    struct msghdr mh;
    struct iovec iov;
    struct sockaddr_storage to;
    char buf[SEND_BUF];
    char *big; /* a datagram larger than buf (malloc'd, freed on completion), or NULL */
    int next_free;
    int fd;       /* the socket it went out on */
    bool retried; /* sent again after a send that only reported an earlier ICMP error */
};

bool worker_acl(const struct worker *w, const struct sip_peer *from)
{
    return guard_acl(w->guard, from);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct io_uring_sqe *get_sqe(struct worker *w)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
    if (sqe == NULL) {
        io_uring_submit(&w->ring);
        sqe = io_uring_get_sqe(&w->ring);
    }
    return sqe;
}

void worker_flow_closed(struct worker *w, const struct sip_peer *flow)
{
    if (w->proxy != NULL) {
        sip_proxy_on_flow_closed(w->proxy, flow);
    }
}

uint64_t worker_now_ms(void)
{
    return now_ms();
}

struct io_uring *worker_ring(struct worker *w)
{
    return &w->ring;
}

struct io_uring_sqe *worker_sqe(struct worker *w)
{
    return get_sqe(w);
}

static void arm_recv(struct worker *w, uint32_t i)
{
    struct io_uring_sqe *sqe = get_sqe(w);
    io_uring_prep_recvmsg_multishot(sqe, w->fds[i], &w->recv_mh, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUF_GROUP;
    io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_RECV, i));
}

static void arm_signal(struct worker *w)
{
    struct io_uring_sqe *sqe = get_sqe(w);
    io_uring_prep_read(sqe, w->sigfd, &w->siginfo, sizeof(w->siginfo), 0);
    io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_SIGNAL, 0));
}

/* queue_send: copies iov into a send slot and queues a sendmsg from fd; everything queued in
 * one loop turn goes out with one submit. */
static void queue_send(struct worker *w, int fd, const struct sip_peer *to, const struct iovec *iov,
                       size_t n)
{
    if (w->free_slot < 0 || fd < 0) {
        w->dropped++;
        return;
    }
    struct send_slot *slot = &w->slots[w->free_slot];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        len += iov[i].iov_len;
    }
    /* RFC 3261 §18.1.1 asks for TCP above 1300 bytes where the next hop takes it; where it
     * does not (a UA registered over UDP, a UDP-only trunk), the datagram goes out anyway and
     * IP fragments it: never dropped for its size. The rare large one gets its own buffer. */
    char *dst = slot->buf;
    if (len > sizeof(slot->buf)) {
        if (len > 65507 || (dst = slot->big = malloc(len)) == NULL) {
            w->dropped++;
            log_limited(&w->big_log, LOG_LVL_WARN,
                        "a %zu-byte datagram cannot be sent over UDP: "
                        "dropped",
                        len);
            return;
        }
        w->big_sent++;
        log_limited(&w->big_log, LOG_LVL_INFO,
                    "sending a %zu-byte datagram over UDP: the IP "
                    "layer fragments it (RFC 3261 §18.1.1 prefers TCP where the peer takes it)",
                    len);
    }
    len = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(dst + len, iov[i].iov_base, iov[i].iov_len);
        len += iov[i].iov_len;
    }
    int idx = w->free_slot;
    w->free_slot = slot->next_free;
    socklen_t tolen = net_sockaddr_of(to, &slot->to);
    slot->iov = (struct iovec){dst, len};
    slot->mh = (struct msghdr){
        .msg_name = &slot->to, .msg_namelen = tolen, .msg_iov = &slot->iov, .msg_iovlen = 1};
    slot->fd = fd;
    slot->retried = false;
    struct io_uring_sqe *sqe = get_sqe(w);
    io_uring_prep_sendmsg(sqe, fd, &slot->mh, 0);
    io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_SEND, (uint32_t)idx));
}

void worker_send_raw(struct worker *w, int fd, const struct sip_peer *to, const void *data,
                     size_t len)
{
    struct iovec iov = {(void *)(uintptr_t)data, len};
    queue_send(w, fd, to, &iov, 1);
}

/* send_fd: the SIP socket a datagram to `to` leaves from. With listeners bound per side (one
 * on an inside address, one on the outside), the one on the destination's side, so that the
 * peer sees the address it can answer; otherwise the first of the family (a wildcard one lets
 * the kernel pick the source by route). */

static int send_fd(struct worker *w, const struct sip_peer *to)
{
    int fallback = to->family == 6 ? w->fd6 : w->fd4;
    if (!w->side_bound) {
        return fallback; /* wildcard listeners only: nothing to choose */
    }
    signed char want = sip_cidr_any(w->snap->pc.inside, w->snap->pc.inside_count, to) ? 1 : 0;
    for (size_t i = 0; i < w->nfds; i++) {
        if (w->fds[i] >= 0 && w->side[i] == want &&
            w->all->cfg->listen[i].addr.ss_family == (to->family == 6 ? AF_INET6 : AF_INET)) {
            return w->fds[i];
        }
    }
    return fallback;
}

/* ---------- HEP capture ---------- */

#define HEP_BUF (65535 + SIP_HEP_OVERHEAD)

static uint64_t unix_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* hep_capture: the message iov[0..n) between `peer` and us, received or sent, to --hep */
static void hep_capture(struct worker *w, const struct sip_peer *peer, bool received,
                        const struct iovec *iov, size_t n)
{
    if (w->hep_fd < 0) {
        return;
    }
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        len += iov[i].iov_len;
    }
    if (len <= 4 || len > 65535 - SIP_HEP_OVERHEAD) {
        return; /* keepalives (CRLF) are no message; the largest never fit a HEP packet */
    }
    struct sip_peer self = peer->family == 6 ? w->self6 : w->self4;
    self.transport = peer->transport;
    long hl = sip_hep_encode(w->hep_buf, HEP_BUF, received ? peer : &self, received ? &self : peer,
                             unix_us(), w->snap->cfg.hep_id, iov, n);
    if (hl > 0) {
        worker_send_raw(w, w->hep_fd, &w->hep_to, w->hep_buf, (size_t)hl);
    }
}

/* advertised_host: the host of an --advertise value ("host:port", "[v6]:port", a bare v6
 * address or host) copied into buf, without brackets or port; *port gets the port (5060 when
 * none). Returns the host in buf. */
static const char *advertised_host(const char *advertise, char *buf, size_t cap, uint16_t *port)
{
    snprintf(buf, cap, "%s", advertise);
    char *h = buf, *p = NULL;
    if (*h == '[') {
        h++;
        char *e = strchrnul(h, ']');
        p = e[0] == ']' && e[1] == ':' ? e + 2 : NULL;
        *e = '\0';
    } else if (strchr(h, ':') == strrchr(h, ':') && strchr(h, ':') != NULL) {
        p = strchr(h, ':');
        *p++ = '\0';
    }
    *port = p ? (uint16_t)atoi(p) : 5060;
    return h;
}

static int hep_setup(struct worker *w, const struct config *cfg)
{
    w->hep_fd = -1;
    if (cfg->hep.addr_len == 0) {
        return 0;
    }
    net_peer_of(&cfg->hep.addr, &w->hep_to);
    w->hep_to.transport = SIP_TP_UDP;
    w->hep_fd = socket(cfg->hep.addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    w->hep_buf = malloc(HEP_BUF);
    if (w->hep_fd < 0 || w->hep_buf == NULL) {
        log_error("--hep %s: %s", cfg->hep.text, strerror(errno));
        return -1;
    }
    /* our side: the advertised address, of each family */
    char host[64];
    uint16_t pn;
    const char *h = advertised_host(w->snap->pc.advertise, host, sizeof(host), &pn);
    struct sip_peer me;
    if (sip_peer_from_text(sip_str_make(h, strlen(h)), pn, &me) == 0) {
        *(me.family == 6 ? &w->self6 : &w->self4) = me;
    }
    w->self4.family = 4;
    w->self6.family = 6;
    w->self4.port = w->self4.port ? w->self4.port : pn;
    w->self6.port = w->self6.port ? w->self6.port : pn;
    if (w->id == 0) {
        log_info("HEP capture to %s (agent id %u)", cfg->hep.text, cfg->hep_id);
    }
    return 0;
}

/* The proxy's sink. */
static void sink_send(void *ctx, const struct sip_peer *to, const char *name,
                      const struct iovec *iov, size_t n)
{
    struct worker *w = ctx;
    hep_capture(w, to, false, iov, n);
    if (to->transport == SIP_TP_UDP) {
        queue_send(w, send_fd(w, to), to, iov, n);
    } else if (w->conns != NULL) {
        conns_send(w->conns, to, name, iov, n);
    } else {
        w->dropped++;
    }
}

/* A failed authentication is counted by every worker's guard: the source's datagrams reach the
 * worker its address and port hash to, not necessarily this one (the Call-ID's owner). */
static void sink_auth_failed(void *ctx, const struct sip_peer *from)
{
    struct worker *w = ctx;
    guard_auth_failed(w->guard, from, now_ms(), true);
    for (unsigned k = 0; k < w->all->count; k++) {
        if (k != w->id) {
            handover_message(w, RING_OP_AUTH_FAILED, k, from, NULL, NULL, 0);
        }
    }
}

/* A response to nothing of ours costs its sender like a request (the guard let it in unlimited,
 * as responses to what we sent must never be dropped for a rate). */
static void sink_stray_response(void *ctx, const struct sip_peer *from)
{
    struct worker *w = ctx;
    guard_charge(w->guard, from, now_ms());
}

static struct call_clock call_clock_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (struct call_clock){now_ms(),
                               (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000};
}

/* call_log_flush: the records kept so far to --call-log, whole lines (O_APPEND: the workers'
 * lines never interleave within one). A failed write is logged once a minute at most and its
 * records are dropped: the calls go on. */
static void call_log_flush(struct worker *w)
{
    size_t at = 0;
    while (at < w->call_log_n) {
        ssize_t n = write(w->all->call_log_fd, w->call_log + at, w->call_log_n - at);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            log_limited(&w->call_log_limit, LOG_LVL_WARN,
                        "--call-log: write failed (%s): %zu bytes "
                        "of call records dropped",
                        n < 0 ? strerror(errno) : "nothing written", w->call_log_n - at);
            break;
        }
        at += (size_t)n;
    }
    w->call_log_n = 0;
}

/* sink_call_ended: a call's record: one log line, and a JSON line for --call-log */
static void sink_call_ended(void *ctx, const struct sip_call_record *rec)
{
    struct worker *w = ctx;
    if (log_enabled(LOG_LVL_INFO)) {
        char line[1536];
        call_record_line(line, sizeof(line), rec);
        log_info("%s", line);
    }
    if (w->call_log == NULL) {
        return;
    }
    struct call_clock clock = call_clock_now();
    for (int attempt = 0; attempt < 2; attempt++) {
        struct textbuf o = {w->call_log + w->call_log_n, CALL_LOG_BUF - w->call_log_n, 0, false};
        call_record_json(&o, rec, &clock);
        textbuf_put(&o, "\n");
        if (!o.full) {
            w->call_log_n += o.n;
            return;
        }
        call_log_flush(w); /* no room left: write what is kept, then try again */
    }
}

void worker_media_timed_out(struct worker *w, struct sip_str call_id)
{
    sip_proxy_media_timed_out(w->proxy, call_id, now_ms());
}

static void sink_log(void *ctx, bool debug, const char *line)
{
    (void)ctx;
    log_msg(debug ? LOG_LVL_DEBUG : LOG_LVL_INFO, "%s", line);
}

static bool hand_over(struct worker *w, unsigned owner, const struct sip_peer *from,
                      const char *payload, unsigned plen)
{
    struct iovec iov = {(void *)(uintptr_t)payload, plen};
    return handover_message(w, RING_OP_HANDOFF, owner, from, NULL, &iov, 1);
}

void worker_post_send(struct worker *w, unsigned owner, const struct sip_peer *to, const char *name,
                      const struct iovec *iov, size_t n)
{
    if (!handover_message(w, RING_OP_SEND_HANDOFF, owner, to, name, iov, n)) {
        w->dropped++;
    }
}

/* worker_report_unreachable: queued, and handled after this turn's completions, so that the
 * proxy is never re-entered from inside one of its own sends. */
void worker_report_unreachable(struct worker *w, const struct sip_peer *to)
{
    if (w->unreach_n < sizeof(w->unreach) / sizeof(w->unreach[0])) {
        w->unreach[w->unreach_n++] = *to; /* beyond: timer B ends those branches */
    }
}

static void flush_unreachable(struct worker *w)
{
    for (size_t i = 0; i < w->unreach_n; i++) {
        sip_proxy_on_unreachable(w->proxy, &w->unreach[i], now_ms());
        for (unsigned k = 0; k < w->all->count; k++) {
            if (k != w->id) {
                handover_message(w, RING_OP_UNREACH, k, &w->unreach[i], NULL, NULL, 0);
            }
        }
    }
    w->unreach_n = 0;
}

void worker_on_message(struct worker *w, const struct sip_peer *from, const char *payload,
                       size_t plen)
{
    struct iovec hiov = {(void *)(uintptr_t)payload, plen};
    hep_capture(w, from, true, &hiov, 1);
    if (!guard_admit(w->guard, from, payload, plen, now_ms())) {
        return;
    }
    if (w->all->count > 1) {
        uint32_t h = sip_callid_hash(payload, plen);
        unsigned owner = h % w->all->count;
        if (h != 0 && owner != w->id && hand_over(w, owner, from, payload, plen)) {
            return;
        }
    }
    sip_proxy_on_datagram(w->proxy, from, payload, plen, now_ms());
}

static void on_icmp_unreachable(void *ctx, const struct sip_peer *to)
{
    worker_report_unreachable(ctx, to);
}

static void read_icmp(struct worker *w, int fd)
{
    w->icmp_errors += net_read_icmp(fd, on_icmp_unreachable, w);
}

static bool is_icmp_error(int res)
{
    return res == -ECONNREFUSED || res == -EHOSTUNREACH || res == -ENETUNREACH || res == -EMSGSIZE;
}

static void on_recv(struct worker *w, struct io_uring_cqe *cqe, uint32_t li)
{
    if (is_icmp_error(cqe->res)) {
        read_icmp(w, w->fds[li]); /* the socket's pending error: an ICMP error was queued */
        if (!(cqe->flags & IORING_CQE_F_MORE) && !w->stopping) {
            arm_recv(w, li);
        }
        return;
    }
    if (!(cqe->flags & IORING_CQE_F_MORE)) {
        if (!w->stopping) {
            arm_recv(w, li);
        }
    }
    if (cqe->res < 0 || !(cqe->flags & IORING_CQE_F_BUFFER)) {
        return;
    }
    unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
    char *buf = bufring_buf(&w->rx, bid);
    struct io_uring_recvmsg_out *out = io_uring_recvmsg_validate(buf, cqe->res, &w->recv_mh);
    if (out != NULL && !(out->flags & MSG_TRUNC)) {
        struct sip_peer from;
        net_peer_of(io_uring_recvmsg_name(out), &from);
        worker_on_message(w, &from, io_uring_recvmsg_payload(out, &w->recv_mh),
                          io_uring_recvmsg_payload_length(out, cqe->res, &w->recv_mh));
    } else {
        w->dropped++;
    }
    bufring_put(&w->rx, bid);
}

static void start_drain(struct worker *w, const char *why)
{
    if (!w->draining) {
        log_info("worker %u: %s: draining %zu pending transactions, new requests get 503", w->id,
                 why, sip_proxy_pending(w->proxy));
        w->draining = true;
        sip_proxy_drain(w->proxy);
    }
}

/* listener_sides: which side each UDP listener's address is on, by the snapshot's --inside
 * (a wildcard address: none, the kernel picks the source). */
static void listener_sides(struct worker *w)
{
    const struct config *cfg = w->all->cfg;
    const struct sip_proxy_cfg *pc = &w->snap->pc;
    w->side_bound = false;
    for (size_t i = 0; i < cfg->listen_count; i++) {
        if (w->fds[i] < 0) {
            continue;
        }
        struct sip_peer local;
        static const uint8_t zero[16];
        net_peer_of(&cfg->listen[i].addr, &local);
        w->side[i] = memcmp(local.ip, zero, 16) == 0                      ? -1
                     : sip_cidr_any(pc->inside, pc->inside_count, &local) ? 1
                                                                          : 0;
        w->side_bound |= w->side[i] >= 0;
    }
}

/* apply_snapshot: this worker runs on s from now on: every part that reads the configuration
 * gets its part of s, then the previous snapshot's reference is dropped (the parts borrowed
 * from it are no longer in use: this worker is the only one touching its modules). */
static void apply_snapshot(struct worker *w, struct snapshot *s)
{
    if (s->gen <= w->snap->gen) {
        snapshot_drop(s); /* an older one arriving late, or a post that came back here */
        return;
    }
    struct snapshot *old = w->snap;
    w->snap = s;
    struct sip_proxy_cfg pc = s->pc;
    pc.keepalive_sender = w->id == 0;
    sip_proxy_reconfigure(w->proxy, &pc, log_enabled(LOG_LVL_DEBUG));
    guard_set_cfg(w->guard, &s->guard);
    if (w->conns != NULL) {
        conns_set_cfg(w->conns, &s->conns);
    }
    if (w->media != NULL) {
        media_set_cfg(w->media, &s->media);
    }
    if (w->auth != NULL && s->users != NULL) {
        auth_checker_set_users(w->auth, s->users, s->cfg.max_auth_failures);
    }
    if (w->trunk_cred != NULL &&
        auth_client_set_password(w->trunk_cred, s->cfg.upstream_password) != 0) {
        log_warn("worker %u: --upstream-password too long; keeping the previous one", w->id);
    }
    listener_sides(w);
    snapshot_drop(old);
}

/* on_signal (worker 0): SIGTERM/SIGINT drain every worker; SIGHUP reloads them all. */
static void on_signal(struct worker *w)
{
    char why[32];
    snprintf(why, sizeof(why), "signal %u", w->siginfo.ssi_signo);
    if (w->siginfo.ssi_signo != SIGHUP) {
        notify_state("STOPPING=1");
        start_drain(w, why);
        handover_ctrl_all(w, CTRL_DRAIN);
        return;
    }
    notify_reloading();
    struct snapshot *s = server_reload(w->all, w->snap);
    if (s == NULL) {
        notify_state("READY=1\nSTATUS=serving; the last reload was refused (see the log)");
        return;
    }
    /* s holds one reference per worker: each drops its previous snapshot as it swaps */
    for (unsigned i = 1; i < w->all->count; i++) {
        handover_post(w, i, ring_ud(RING_OP_RELOAD, (uintptr_t)s));
    }
    apply_snapshot(w, s);
    /* the others swap at their next loop turn, a moment from now: for the service manager the
     * reload is done once it is handed out */
    notify_state("READY=1\nSTATUS=serving");
}

static void on_message(struct worker *w, enum ring_op op, uint64_t payload)
{
    atomic_fetch_sub(&w->all->inflight, 1);
    if (op == RING_OP_HANDOFF) {
        struct handoff *h = (struct handoff *)(uintptr_t)payload;
        w->handed_in++;
        sip_proxy_on_datagram(w->proxy, &h->from, h->data, h->len, now_ms());
        free(h);
    } else if (op == RING_OP_SEND_HANDOFF || op == RING_OP_UNREACH || op == RING_OP_AUTH_FAILED) {
        struct handoff *h = (struct handoff *)(uintptr_t)payload;
        if (op == RING_OP_AUTH_FAILED) {
            guard_auth_failed(w->guard, &h->from, now_ms(), false);
        } else if (op == RING_OP_UNREACH) {
            sip_proxy_on_unreachable(w->proxy, &h->from, now_ms());
        } else if (w->conns != NULL) {
            struct iovec iov = {h->data, h->len};
            conns_send(w->conns, &h->from, h->name[0] ? h->name : NULL, &iov, 1);
        }
        free(h);
    } else if (op == RING_OP_RELOAD) {
        apply_snapshot(w, (struct snapshot *)(uintptr_t)payload);
    } else if (payload == CTRL_DRAIN) {
        start_drain(w, "told by worker 0");
    } else if (payload == CTRL_STOP) {
        w->stopping = true;
    }
}

/* A MSG_RING that could not be delivered: handle a hand-over here, drop anything else. */
static void on_post_failed(struct worker *w, int res, uint64_t posted)
{
    ring_report_error(w->id, RING_OP_POST_FAILED, res);
    on_message(w, ring_ud_op(posted), ring_ud_payload(posted));
}

/* ---------- metrics ---------- */

#ifndef SIPRING_VERSION
#define SIPRING_VERSION "0.0.0"
#endif

static void take_sample(struct worker *w, struct metrics_sample *s)
{
    memset(s, 0, sizeof(*s));
    s->proxy = *sip_proxy_stats(w->proxy);
    s->txn_in_use = sip_proxy_txn_in_use(w->proxy);
    s->guard = *guard_stats(w->guard);
    s->conns = *conns_stats(w->conns);
    s->conns_open = conns_open(w->conns);
    if (w->media != NULL) {
        s->media = *media_get_stats(w->media);
        s->media_open = media_open_sessions(w->media);
    }
    resolver_counts(w->resolver, &s->dns_queries, &s->dns_failures, &s->dns_cache_hits);
    s->tx = w->tx;
    s->send_drops = w->dropped;
    s->handed_in = w->handed_in;
    s->icmp_errors = w->icmp_errors;
    s->loop_turns = w->loop_turns;
    s->nbans = (uint32_t)guard_bans(w->guard, now_ms(), s->bans, METRICS_BANS);
}

static void publish(struct worker *w, uint64_t now)
{
    if (now < w->next_publish) {
        return;
    }
    w->next_publish = now + 1000;
    struct metrics_sample s;
    take_sample(w, &s);
    metrics_publish(&w->board, &s);
    if (w->call_log_n > 0) {
        call_log_flush(w);
    }
    if (w->calls_board.rec != NULL) {
        /* /calls: this worker's calls as of now, with their media figures */
        const struct sip_calls *calls = sip_proxy_calls(w->proxy);
        pthread_mutex_lock(&w->calls_board.mu);
        uint32_t n = 0;
        for (uint32_t i = 0; i < calls->used_hw && n < CALLS_BOARD_MAX; i++) {
            if (calls->c[i].used) {
                sip_proxy_call_record(w->proxy, &calls->c[i], &w->calls_board.rec[n++]);
            }
        }
        w->calls_board.n = n;
        w->calls_board.open = calls->open;
        pthread_mutex_unlock(&w->calls_board.mu);
    }
}

/* render_calls: /calls, every worker's board (each at most a second old), a page of it */
static size_t render_calls(struct worker *w, const char *query, char *out, size_t cap)
{
    size_t limit, offset, total = 0, listed = 0, skipped = 0;
    status_page_args(query, &limit, &offset);
    struct call_clock clock = call_clock_now();
    struct textbuf o = {out, cap, 0, false};
    for (unsigned i = 0; i < w->all->count; i++) {
        total += w->all->w[i].calls_board.open;
    }
    textbuf_put(&o, "{\"total\": %zu, \"offset\": %zu, \"per_worker_max\": %u, \"calls\": [", total,
                offset, CALLS_BOARD_MAX);
    for (unsigned i = 0; i < w->all->count && listed < limit; i++) {
        struct calls_board *b = &w->all->w[i].calls_board;
        pthread_mutex_lock(&b->mu);
        for (uint32_t k = 0; k < b->n && listed < limit; k++) {
            if (skipped < offset) {
                skipped++;
                continue;
            }
            textbuf_put(&o, "%s\n  ", listed ? "," : "");
            call_record_json(&o, &b->rec[k], &clock);
            listed++;
        }
        pthread_mutex_unlock(&b->mu);
    }
    textbuf_put(&o, "]}\n");
    return textbuf_len(&o);
}

/* gather: every worker's sample, this one's taken fresh, the others' from their boards */
static void gather(struct worker *w, struct metrics_sample *per)
{
    for (unsigned i = 0; i < w->all->count; i++) {
        if (i == w->id) {
            take_sample(w, &per[i]);
        } else {
            metrics_read(&w->all->w[i].board, &per[i]);
        }
    }
}

static size_t render_status(struct worker *w, const char *path, const char *query, char *out,
                            size_t cap)
{
    struct workers *all = w->all;
    size_t nat = 0;
    if (strcmp(path, "/status") == 0) {
        struct status_info in = {.version = SIPRING_VERSION,
                                 .start_time_s = all->start_time_s,
                                 .now_s = (uint64_t)time(NULL),
                                 .workers = all->count,
                                 .cfg = all->cfg};
        in.registrations = all->loc->ops->count(all->loc->self, now_ms(), &nat);
        in.nat_bindings = nat;
        return status_render(out, cap, &in);
    }
    size_t limit, offset, total = 0;
    status_page_args(query, &limit, &offset);
    struct sip_binding *b = malloc(limit * sizeof(*b));
    if (b == NULL) {
        return (size_t)-1;
    }
    uint64_t now = now_ms();
    size_t n = all->loc->ops->list(all->loc->self, now, offset, b, limit, &total);
    size_t len = status_render_registrations(out, cap, b, n, total, offset, now);
    free(b);
    return len;
}

/* render_page: GET /metrics, from every worker's board (this one's taken fresh), and the
 * JSON pages (src/status.c) */
static size_t render_page(void *ctx, const char *path, const char *query, char *out, size_t cap,
                          const char **ctype)
{
    struct worker *w = ctx;
    if (strcmp(path, "/bans") == 0) {
        *ctype = "application/json";
        struct metrics_sample *per = calloc(w->all->count, sizeof(*per));
        if (per == NULL) {
            return (size_t)-1;
        }
        gather(w, per);
        size_t n = status_render_bans(out, cap, per, w->all->count, now_ms());
        free(per);
        return n == 0 ? (size_t)-1 : n;
    }
    if (strcmp(path, "/calls") == 0) {
        *ctype = "application/json";
        size_t n = render_calls(w, query, out, cap);
        return n == 0 ? (size_t)-1 : n;
    }
    if (strcmp(path, "/status") == 0 || strcmp(path, "/registrations") == 0) {
        *ctype = "application/json";
        size_t n = render_status(w, path, query, out, cap);
        return n == 0 ? (size_t)-1 : n;
    }
    if (strcmp(path, "/metrics") != 0) {
        return 0;
    }
    struct workers *all = w->all;
    struct metrics_sample *per = calloc(all->count, sizeof(*per));
    if (per == NULL) {
        return (size_t)-1;
    }
    gather(w, per);
    size_t nat = 0;
    struct metrics_globals g = {.version = SIPRING_VERSION,
                                .start_time_s = all->start_time_s,
                                .workers = all->count,
                                .state_on = all->store != NULL};
    g.registrations = all->loc->ops->count(all->loc->self, now_ms(), &nat);
    g.nat_bindings = nat;
    if (all->store != NULL) {
        state_stats(all->store, &g.state_written, &g.state_lost);
    }
    size_t n = metrics_render(out, cap, per, all->count, &g);
    free(per);
    /* the text exposition format, version 0.0.4 (Prometheus' exposition formats page) */
    *ctype = "text/plain; version=0.0.4; charset=utf-8";
    return n == 0 ? (size_t)-1 : n;
}

static void on_cqe(struct worker *w, struct io_uring_cqe *cqe)
{
    uint64_t u = io_uring_cqe_get_data64(cqe);
    uint64_t payload = ring_ud_payload(u);
    if (cqe->res < 0 && ring_ud_op(u) != RING_OP_POST_FAILED) {
        ring_report_error(w->id, ring_ud_op(u), cqe->res); /* logs only the unexpected */
    }
    switch (ring_ud_op(u)) {
    case RING_OP_RECV:
        on_recv(w, cqe, (uint32_t)payload);
        break;
    case RING_OP_SEND: {
        struct send_slot *slot = &w->slots[payload];
        if (is_icmp_error(cqe->res) && !slot->retried) {
            /* IP_RECVERR: an ICMP error that arrived for an earlier datagram is reported by
             * the next send on the socket, and that send did not happen. Read the error
             * (its peer is the unreachable one) and send this datagram again, once. */
            read_icmp(w, slot->fd);
            slot->retried = true;
            struct io_uring_sqe *sqe = get_sqe(w);
            io_uring_prep_sendmsg(sqe, slot->fd, &slot->mh, 0);
            io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_SEND, payload));
            break;
        }
        if (cqe->res >= 0) {
            w->tx++;
        }
        free(w->slots[payload].big);
        w->slots[payload].big = NULL;
        w->slots[payload].next_free = w->free_slot;
        w->free_slot = (int)payload;
        break;
    }
    case RING_OP_SIGNAL:
        if (cqe->res == (int)sizeof(w->siginfo)) {
            on_signal(w);
        }
        arm_signal(w);
        break;
    case RING_OP_ACCEPT:
        if (w->conns != NULL) {
            conns_on_accept(w->conns, (unsigned)payload, cqe);
        } else if (cqe->res >= 0) {
            close(cqe->res);
        }
        break;
    case RING_OP_HTTP:
        if (w->http != NULL) {
            http_on_cqe(w->http, payload, cqe);
        }
        break;
    case RING_OP_DNS:
        if (w->resolver != NULL) {
            resolver_on_cqe(w->resolver, cqe);
        }
        break;
    case RING_OP_STREAM:
        if (w->conns != NULL) {
            conns_on_cqe(w->conns, payload, cqe);
        }
        break;
    case RING_OP_HANDOFF:
    case RING_OP_SEND_HANDOFF:
    case RING_OP_UNREACH:
    case RING_OP_AUTH_FAILED:
    case RING_OP_CTRL:
    case RING_OP_RELOAD:
        on_message(w, ring_ud_op(u), payload);
        break;
    case RING_OP_POST_FAILED:
        on_post_failed(w, cqe->res, payload);
        break;
    case RING_OP_RTP:
        if (w->media != NULL) {
            media_on_recv(w->media, payload, cqe);
        }
        break;
    case RING_OP_COUNT:
        break; /* not an operation: nothing carries it */
    }
}

/* trunk_setup: trunk mode on w's proxy: every worker answers the upstream's challenges with
 * the credentials; worker 0 registers, under a Call-ID that hashes to itself so that the
 * registrar's answers are handed to it (worker_on_message routes by Call-ID). */
static int trunk_setup(struct worker *w, const struct config *cfg)
{
    w->trunk_cred = auth_client_new(cfg->upstream_user, cfg->upstream_password);
    if (w->trunk_cred == NULL) {
        log_error("worker %u: out of memory for the trunk credentials", w->id);
        return -1;
    }
    struct sip_proxy_trunk_cfg tc;
    memset(&tc, 0, sizeof(tc));
    snprintf(tc.user, sizeof(tc.user), "%s", cfg->upstream_user);
    snprintf(tc.domain, sizeof(tc.domain), "%s", cfg->upstream_domain);
    tc.expires_s = cfg->upstream_expires_s;
    tc.do_register = w->id == 0 && cfg->upstream_expires_s > 0;
    /* The registration outlives the process (issue 15): its Call-ID is a MAC of the trunk's
     * identity under the key kept in --state-dir (or --secret-file), and its CSeq starts from
     * the clock, so the REGISTER a restarted sipring sends at once refreshes the same
     * registration at the provider (RFC 3261 §10.2.4: same Call-ID, higher CSeq) instead of
     * making a second one. A refresh every few minutes for years stays below the clock's
     * count of seconds. */
    const struct sip_mac *mac = &w->snap->pc.mac;
    struct sip_str parts[4] = {SIP_STR_LIT("trunk-call-id"), sip_str_make(tc.user, strlen(tc.user)),
                               sip_str_make(tc.domain, strlen(tc.domain)),
                               sip_str_make(cfg->upstream, strlen(cfg->upstream))};
    uint8_t id[32];
    mac->sign(mac->self, parts, 4, id);
    uint64_t r = 0;
    memcpy(&r, id, sizeof(r));
    time_t unix_s = time(NULL);
    tc.cseq_base = unix_s > 1700000000 ? (uint32_t)(unix_s - 1700000000) : 0;
    for (unsigned i = 0;; i++) {
        char probe[128];
        snprintf(tc.call_id, sizeof(tc.call_id), "trunk-%016llx-%u", (unsigned long long)r, i);
        int n = snprintf(probe, sizeof(probe), "SIP/2.0 200 OK\r\nCall-ID: %s\r\n\r\n", tc.call_id);
        if (w->all->count <= 1 || sip_callid_hash(probe, (size_t)n) % w->all->count == 0) {
            break;
        }
    }
    sip_proxy_set_trunk(w->proxy, &tc, auth_client_iface(w->trunk_cred));
    return 0;
}

static int setup(struct worker *w)
{
    const struct config *cfg = w->all->cfg;
    struct io_uring_params p = {0};
    /* One thread submits to this ring (SINGLE_ISSUER), and completion work runs when it
     * waits (DEFER_TASKRUN) rather than interrupting it: both only hold per thread. */
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    p.cq_entries = RING_ENTRIES * 4;
    int rc = io_uring_queue_init_params(RING_ENTRIES, &w->ring, &p);
    if (rc != 0) {
        log_error("worker %u: io_uring setup failed: %s", w->id, strerror(-rc));
        return -1;
    }
    rc = bufring_setup(&w->rx, &w->ring, BUF_GROUP, BUF_COUNT, BUF_SIZE);
    if (rc != 0) {
        log_error("worker %u: cannot set up the receive buffers: %s", w->id, strerror(-rc));
        return -1;
    }
    w->slots = calloc(SEND_SLOTS, sizeof(*w->slots));
    if (w->slots == NULL) {
        log_error("worker %u: out of memory", w->id);
        return -1;
    }
    for (int i = 0; i < SEND_SLOTS; i++) {
        w->slots[i].next_free = i + 1 < SEND_SLOTS ? i + 1 : -1;
    }
    w->recv_mh.msg_namelen = sizeof(struct sockaddr_storage);
    for (size_t i = 0; i < cfg->listen_count; i++) {
        w->nfds++;
        w->fds[i] = -1;
        if (cfg->listen[i].proto != LISTEN_UDP) {
            continue; /* conns_new listens on streams */
        }
        w->fds[i] = net_udp_listener(&cfg->listen[i]);
        if (w->fds[i] < 0) {
            return -1;
        }
        if (cfg->listen[i].addr.ss_family == AF_INET6 && w->fd6 < 0) {
            w->fd6 = w->fds[i];
        } else if (cfg->listen[i].addr.ss_family == AF_INET && w->fd4 < 0) {
            w->fd4 = w->fds[i];
        }
        if (w->id == 0) {
            log_info("listening on %s", cfg->listen[i].text);
        }
    }
    listener_sides(w);
    w->guard = guard_new(&w->snap->guard, w->id);
    if (w->guard == NULL) {
        log_error("worker %u: out of memory for the rate limits", w->id);
        return -1;
    }
    w->conns = conns_new(w, w->id, cfg->listen, cfg->listen_count, cfg->max_connections,
                         &w->snap->conns, &w->all->conns);
    if (w->conns == NULL) {
        return -1;
    }
    uint64_t seed;
    if (tls_random(&seed, sizeof(seed)) != 0) {
        log_error("no random bytes for the proxy's tags and branches");
        return -1;
    }
    struct sip_proxy_sink sink = {
        sink_send,           sink_log,       log_enabled(LOG_LVL_DEBUG), w, sink_auth_failed,
        sink_stray_response, sink_call_ended};
    struct sip_proxy_cfg pc = w->snap->pc;
    pc.keepalive_sender = w->id == 0; /* the store is shared: one worker pings for all */
    w->proxy = sip_proxy_new(&pc, w->all->loc, sink, seed);
    if (w->proxy == NULL) {
        log_error("worker %u: out of memory for the transaction pool", w->id);
        return -1;
    }
    if (cfg->metrics.addr_len != 0) {
        w->calls_board.rec = malloc(CALLS_BOARD_MAX * sizeof(*w->calls_board.rec));
    }
    if (w->all->call_log_fd >= 0) {
        w->call_log = malloc(CALL_LOG_BUF);
    }
    if ((cfg->metrics.addr_len != 0 && w->calls_board.rec == NULL) ||
        (w->all->call_log_fd >= 0 && w->call_log == NULL)) {
        log_error("worker %u: out of memory for the call records", w->id);
        return -1;
    }
    w->resolver = resolver_new(w, cfg->dns_server, w->proxy);
    if (w->resolver == NULL) {
        return -1;
    }
    sip_proxy_set_resolver(w->proxy, resolver_iface(w->resolver));
    if (w->snap->users != NULL) {
        w->auth = auth_checker_new(w->snap->users, w->all->auth_key, w->id, cfg->max_auth_failures);
        if (w->auth == NULL) {
            log_error("worker %u: out of memory for authentication", w->id);
            return -1;
        }
        sip_proxy_set_auth(w->proxy, auth_checker_iface(w->auth));
    }
    if (cfg->upstream_user[0] != '\0' && trunk_setup(w, cfg) != 0) {
        return -1;
    }
    if (hep_setup(w, cfg) != 0) {
        return -1;
    }
    if (w->id == 0 && cfg->metrics.addr_len != 0) {
        w->http = http_new(w, &cfg->metrics, render_page, w);
        if (w->http == NULL) {
            return -1;
        }
    }
    if (cfg->media_relay) {
        /* the media address towards the inside: the advertised host, without port */
        char host[64];
        uint16_t port;
        const char *h = advertised_host(w->snap->pc.advertise, host, sizeof(host), &port);
        w->media = media_new(w, &w->snap->media, w->id, w->all->count, h, w->all->fastpath);
        if (w->media == NULL) {
            return -1;
        }
        sip_proxy_set_media(w->proxy, media_iface(w->media));
    }
    return 0;
}

/* finish: this worker has drained; the last one to get here stops everybody. */
static void finish(struct worker *w)
{
    w->finished = true;
    /* the calls still up end here for their records (the dialogs may go on through the next
     * instance, which does not record them) */
    sip_proxy_calls_shutdown(w->proxy, now_ms());
    if (w->call_log_n > 0) {
        call_log_flush(w);
    }
    if (atomic_fetch_add(&w->all->finished, 1) + 1 == w->all->count) {
        atomic_store(&w->all->stop, true);
        handover_ctrl_all(w, CTRL_STOP);
        w->stopping = true;
    }
}

/* ring_wait: submits what is queued and waits for completions until timeout_ms. With the
 * kernel's min-timeout feature it waits for a batch (see BATCH_WAIT_US); otherwise for one. */
static int ring_wait(struct worker *w, uint64_t timeout_ms)
{
    struct __kernel_timespec ts = {(long long)(timeout_ms / 1000),
                                   (long long)(timeout_ms % 1000) * 1000000};
    if (!(w->ring.features & FEAT_MIN_TIMEOUT)) {
        struct io_uring_cqe *cqe;
        return io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, &ts, NULL);
    }
    /* liburing 2.3 cannot pass min_wait_usec: publish the queued entries ourselves, as its
     * submit does, and enter the kernel once. */
    struct io_uring_sq *sq = &w->ring.sq;
    if (sq->sqe_head != sq->sqe_tail) {
        sq->sqe_head = sq->sqe_tail;
        io_uring_smp_store_release(sq->ktail, sq->sqe_tail);
    }
    unsigned to_submit = io_uring_sq_ready(&w->ring);
    struct io_uring_getevents_arg arg = {.sigmask = 0,
                                         .sigmask_sz = _NSIG / 8,
                                         .pad = BATCH_WAIT_US,
                                         .ts = (uint64_t)(uintptr_t)&ts};
    long rc = syscall(__NR_io_uring_enter, w->ring.ring_fd, to_submit, BATCH_WAIT_NR,
                      IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg));
    return rc < 0 ? -errno : (int)rc;
}

static void loop(struct worker *w)
{
    for (;;) {
        bool leaving = w->stopping && atomic_load(&w->all->inflight) == 0;
        if (leaving) {
            break;
        }
        uint64_t now = now_ms(), next = sip_proxy_next_timer(w->proxy);
        next = next < w->next_publish ? next : w->next_publish;
        uint64_t wait = next > now ? next - now : 0;
        if (w->stopping || w->finished) {
            wait = wait < 5 ? wait : 5; /* waiting for the others: look again soon */
        }
        int rc = ring_wait(w, wait);
        if (rc < 0 && rc != -EINTR && rc != -ETIME) {
            log_error("worker %u: io_uring wait failed: %s", w->id, strerror(-rc));
            break;
        }
        struct io_uring_cqe *cqe;
        unsigned head, n = 0;
        io_uring_for_each_cqe(&w->ring, head, cqe)
        {
            on_cqe(w, cqe);
            n++;
        }
        io_uring_cq_advance(&w->ring, n);
        bufring_flush(&w->rx);
        flush_unreachable(w);
        now = now_ms();
        sip_proxy_on_timer(w->proxy, now);
        conns_on_timer(w->conns, now);
        resolver_on_timer(w->resolver, now);
        if (w->media != NULL) {
            media_end_turn(w->media);
            media_on_timer(w->media, now);
        }
        w->loop_turns++;
        publish(w, now);
        if (w->draining && !w->finished) {
            if (w->drain_deadline == 0) {
                w->drain_deadline = now + (uint64_t)w->snap->cfg.drain_timeout_s * 1000;
            }
            if (sip_proxy_pending(w->proxy) == 0 || now >= w->drain_deadline) {
                finish(w);
            }
        }
    }
    io_uring_submit(&w->ring);
}

void *worker_main(void *arg)
{
    struct worker *w = arg;
    if (setup(w) != 0) {
        atomic_store(&w->all->setup_failed, true);
    }
    pthread_barrier_wait(&w->all->ready);
    if (atomic_load(&w->all->setup_failed)) {
        return NULL;
    }
    for (uint32_t i = 0; i < w->nfds; i++) {
        if (w->fds[i] >= 0) {
            arm_recv(w, i);
        }
    }
    conns_start(w->conns);
    resolver_start(w->resolver);
    if (w->http != NULL) {
        http_start(w->http);
    }
    if (w->sigfd >= 0) {
        arm_signal(w);
        /* every worker is past the barrier: set up, its sockets bound (worker 0 holds the
         * signals, so it speaks for the process) */
        notify_state("READY=1\nSTATUS=serving");
    }
    loop(w);
    return NULL;
}

void worker_cleanup(struct worker *w)
{
    if (w->ring.ring_fd > 0) {
        io_uring_queue_exit(&w->ring);
    }
    media_free(w->media);
    http_free(w->http);
    if (w->hep_fd >= 0) {
        close(w->hep_fd);
    }
    free(w->hep_buf);
    free(w->calls_board.rec);
    free(w->call_log);
    pthread_mutex_destroy(&w->calls_board.mu);
    conns_free(w->conns);
    resolver_free(w->resolver);
    guard_free(w->guard);
    auth_checker_free(w->auth);
    auth_client_free(w->trunk_cred);
    for (size_t i = 0; i < w->nfds; i++) {
        if (w->fds[i] >= 0) {
            close(w->fds[i]);
        }
    }
    for (int i = 0; w->slots != NULL && i < SEND_SLOTS; i++) {
        free(w->slots[i].big); /* a send still in flight when the ring closed */
    }
    free(w->slots);
    sip_proxy_free(w->proxy);
    bufring_free(&w->rx);
    snapshot_drop(w->snap); /* last: the modules borrowed from it */
    w->snap = NULL;
}

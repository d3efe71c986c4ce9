/* src/server.c: io_uring event loop serving SIP over UDP. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <ifaddrs.h>
#include <net/if.h>
#include <time.h>

#include "../sip/proxy.h"
#include "../tls/tls.h"
#include "log.h"

#define RING_ENTRIES 256
#define BUF_GROUP 1
#define BUF_COUNT 256
#define BUF_SIZE (65536 + 512) /* a whole UDP datagram plus the recvmsg header and name */
#define SEND_SLOTS 256
#define SEND_BUF 4096

enum op { OP_RECV = 1, OP_SEND, OP_SIGNAL };

/* user_data = op << 32 | index: the index is the listener or the send slot. */
static uint64_t ud(enum op op, uint32_t idx)
{
    return (uint64_t)op << 32 | idx;
}

struct send_slot {
    struct msghdr mh;
    struct iovec iov;
    struct sockaddr_storage to;
    char buf[SEND_BUF];
    int next_free;
};

struct server {
    struct io_uring ring;
    struct io_uring_buf_ring *br;
    char *bufs;
    unsigned bufs_to_return;
    int fds[CONFIG_MAX_LISTEN];
    size_t nfds;
    int sigfd;
    struct signalfd_siginfo siginfo;
    struct msghdr recv_mh; /* template for multishot recvmsg: only name/control sizes matter */
    struct send_slot *slots;
    int free_slot;
    struct sip_proxy *proxy;
    struct sip_location *loc;
    int fd4, fd6; /* the sockets sends leave from, per family */
    const struct config *cfg;
    int argc;
    char **argv;
    bool stopping;
    bool draining;
    uint64_t drain_deadline;
    uint64_t tx, dropped;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct io_uring_sqe *get_sqe(struct server *s)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
    if (sqe == NULL) {
        io_uring_submit(&s->ring);
        sqe = io_uring_get_sqe(&s->ring);
    }
    return sqe;
}

static void arm_recv(struct server *s, uint32_t i)
{
    struct io_uring_sqe *sqe = get_sqe(s);
    io_uring_prep_recvmsg_multishot(sqe, s->fds[i], &s->recv_mh, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUF_GROUP;
    io_uring_sqe_set_data64(sqe, ud(OP_RECV, i));
}

static void arm_signal(struct server *s)
{
    struct io_uring_sqe *sqe = get_sqe(s);
    io_uring_prep_read(sqe, s->sigfd, &s->siginfo, sizeof(s->siginfo), 0);
    io_uring_sqe_set_data64(sqe, ud(OP_SIGNAL, 0));
}

static void return_buf(struct server *s, unsigned bid)
{
    io_uring_buf_ring_add(s->br, s->bufs + (size_t)bid * BUF_SIZE, BUF_SIZE, (unsigned short)bid,
                          io_uring_buf_ring_mask(BUF_COUNT), (int)s->bufs_to_return);
    s->bufs_to_return++;
}

static int setup_bufs(struct server *s)
{
    size_t ring_bytes = BUF_COUNT * sizeof(struct io_uring_buf);
    void *mem = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    s->bufs = mmap(NULL, (size_t)BUF_COUNT * BUF_SIZE, PROT_READ | PROT_WRITE,
                   MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED || s->bufs == MAP_FAILED) {
        log_error("cannot map receive buffers: %s", strerror(errno));
        return -1;
    }
    s->br = mem;
    io_uring_buf_ring_init(s->br);
    struct io_uring_buf_reg reg = {
        .ring_addr = (unsigned long)s->br, .ring_entries = BUF_COUNT, .bgid = BUF_GROUP};
    int rc = io_uring_register_buf_ring(&s->ring, &reg, 0);
    if (rc != 0) {
        log_error("cannot register the provided buffer ring: %s", strerror(-rc));
        return -1;
    }
    for (unsigned i = 0; i < BUF_COUNT; i++) {
        return_buf(s, i);
    }
    io_uring_buf_ring_advance(s->br, (int)s->bufs_to_return);
    s->bufs_to_return = 0;
    return 0;
}

static int open_listener(const struct listen_addr *l)
{
    int fd = socket(l->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_error("listen %s: socket: %s", l->text, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (l->addr.ss_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    int rcvbuf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    if (bind(fd, (const struct sockaddr *)&l->addr, l->addr_len) != 0) {
        log_error("listen %s: bind: %s", l->text, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void peer_of(const struct sockaddr *sa, struct sip_peer *p)
{
    memset(p, 0, sizeof(*p));
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        p->family = 6;
        memcpy(p->ip, &s6->sin6_addr, 16);
        p->port = ntohs(s6->sin6_port);
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        p->family = 4;
        memcpy(p->ip, &s4->sin_addr, 4);
        p->port = ntohs(s4->sin_port);
    }
}

static socklen_t sockaddr_of(const struct sip_peer *p, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (p->family == 6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, p->ip, 16);
        s6->sin6_port = htons(p->port);
        return sizeof(*s6);
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    memcpy(&s4->sin_addr, p->ip, 4);
    s4->sin_port = htons(p->port);
    return sizeof(*s4);
}

/* The proxy's sink: copies the datagram into a send slot and queues a sendmsg; everything
 * queued in one loop turn goes out with one submit. */
static void sink_send(void *ctx, const struct sip_peer *to, const struct iovec *iov, size_t n)
{
    struct server *s = ctx;
    int fd = to->family == 6 ? s->fd6 : s->fd4;
    if (s->free_slot < 0 || fd < 0) {
        s->dropped++;
        return;
    }
    struct send_slot *slot = &s->slots[s->free_slot];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (iov[i].iov_len > sizeof(slot->buf) - len) {
            s->dropped++;
            return;
        }
        memcpy(slot->buf + len, iov[i].iov_base, iov[i].iov_len);
        len += iov[i].iov_len;
    }
    int idx = s->free_slot;
    s->free_slot = slot->next_free;
    socklen_t tolen = sockaddr_of(to, &slot->to);
    slot->iov = (struct iovec){slot->buf, len};
    slot->mh = (struct msghdr){.msg_name = &slot->to, .msg_namelen = tolen, .msg_iov = &slot->iov,
                               .msg_iovlen = 1};
    struct io_uring_sqe *sqe = get_sqe(s);
    io_uring_prep_sendmsg(sqe, fd, &slot->mh, 0);
    io_uring_sqe_set_data64(sqe, ud(OP_SEND, (uint32_t)idx));
}

static void sink_log(void *ctx, bool debug, const char *line)
{
    (void)ctx;
    log_msg(debug ? LOG_LVL_DEBUG : LOG_LVL_INFO, "%s", line);
}

static void on_recv(struct server *s, struct io_uring_cqe *cqe, uint32_t li)
{
    if (!(cqe->flags & IORING_CQE_F_MORE)) {
        if (cqe->res < 0 && cqe->res != -ENOBUFS) {
            log_warn("recvmsg on %s failed: %s", "listener", strerror(-cqe->res));
        }
        if (!s->stopping) {
            arm_recv(s, li);
        }
    }
    if (cqe->res < 0 || !(cqe->flags & IORING_CQE_F_BUFFER)) {
        return;
    }
    unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
    char *buf = s->bufs + (size_t)bid * BUF_SIZE;
    struct io_uring_recvmsg_out *out = io_uring_recvmsg_validate(buf, cqe->res, &s->recv_mh);
    if (out != NULL && !(out->flags & MSG_TRUNC)) {
        const char *payload = io_uring_recvmsg_payload(out, &s->recv_mh);
        unsigned plen = io_uring_recvmsg_payload_length(out, cqe->res, &s->recv_mh);
        struct sip_peer from;
        peer_of(io_uring_recvmsg_name(out), &from);
        sip_proxy_on_datagram(s->proxy, &from, payload, plen, now_ms());
    } else {
        s->dropped++;
    }
    return_buf(s, bid);
}

/* SIGHUP: re-reads the command line and config file and applies what can change while
 * running: log level and sink, domains, trusted networks, upstream, timers, registration
 * limits. Listeners, the advertised address and the pool size need a restart. */
static void make_proxy_cfg(const struct config *cfg, struct sip_proxy_cfg *out);

static void reload(struct server *s)
{
    static struct config next;
    if (options_load(&next, s->argc, s->argv) != OPTIONS_RUN) {
        log_warn("SIGHUP: the configuration has errors (see above); keeping the running one");
        return;
    }
    struct sip_proxy_cfg pc;
    make_proxy_cfg(&next, &pc);
    sip_proxy_reconfigure(s->proxy, &pc, log_enabled(LOG_LVL_DEBUG));
    log_init(next.log_level, next.log_syslog);
    sip_proxy_set_debug(s->proxy, log_enabled(LOG_LVL_DEBUG));
    bool restart = next.listen_count != s->cfg->listen_count ||
                   memcmp(next.listen, s->cfg->listen, sizeof(next.listen)) != 0 ||
                   strcmp(next.advertise, s->cfg->advertise) != 0 ||
                   next.max_transactions != s->cfg->max_transactions;
    log_info("SIGHUP: applied log level, %zu domains, %zu inside networks, upstream %s, "
             "T1 %u ms, expires %u-%u s%s",
             pc.domain_count, pc.inside_count, pc.upstream[0] ? pc.upstream : "none", pc.timers.t1_ms,
             pc.min_expires, pc.max_expires,
             restart ? "; listen, advertise and max-transactions changes need a restart" : "");
}

static void on_cqe(struct server *s, struct io_uring_cqe *cqe)
{
    uint64_t u = io_uring_cqe_get_data64(cqe);
    uint32_t idx = (uint32_t)u;
    switch ((enum op)(u >> 32)) {
    case OP_RECV:
        on_recv(s, cqe, idx);
        break;
    case OP_SEND:
        if (cqe->res >= 0) {
            s->tx++;
        }
        s->slots[idx].next_free = s->free_slot;
        s->free_slot = (int)idx;
        break;
    case OP_SIGNAL:
        if (cqe->res == (int)sizeof(s->siginfo) && s->siginfo.ssi_signo != SIGHUP) {
            log_info("signal %u: draining %zu pending transactions, new requests get 503",
                     s->siginfo.ssi_signo, sip_proxy_pending(s->proxy));
            s->draining = true;
            sip_proxy_drain(s->proxy);
        } else if (cqe->res == (int)sizeof(s->siginfo)) {
            reload(s);
        }
        arm_signal(s);
        break;
    }
}

/* Our own addresses: the listen addresses, and for a wildcard one every interface address. */
static void self_addresses(const struct config *cfg, struct sip_proxy_cfg *pc)
{
    struct ifaddrs *ifs = NULL;
    getifaddrs(&ifs);
    for (size_t i = 0; i < cfg->listen_count; i++) {
        struct sip_peer lp;
        peer_of((const struct sockaddr *)&cfg->listen[i].addr, &lp);
        static const uint8_t zero[16];
        bool wildcard = memcmp(lp.ip, zero, lp.family == 6 ? 16 : 4) == 0;
        if (!wildcard && pc->self_count < SIP_PROXY_MAX_SELF) {
            pc->self[pc->self_count++] = lp;
            continue;
        }
        for (struct ifaddrs *a = ifs; a != NULL; a = a->ifa_next) {
            if (a->ifa_addr == NULL || pc->self_count >= SIP_PROXY_MAX_SELF ||
                a->ifa_addr->sa_family != (lp.family == 6 ? AF_INET6 : AF_INET)) {
                continue;
            }
            struct sip_peer ip;
            peer_of(a->ifa_addr, &ip);
            ip.port = lp.port;
            pc->self[pc->self_count++] = ip;
        }
    }
    freeifaddrs(ifs);
}

/* The proxy's view of the configuration (pc is filled from scratch). */
static void make_proxy_cfg(const struct config *cfg, struct sip_proxy_cfg *out)
{
    memset(out, 0, sizeof(*out));
    self_addresses(cfg, out);
    if (cfg->advertise[0] != '\0') {
        snprintf(out->advertise, sizeof(out->advertise), "%s", cfg->advertise);
    } else {
        /* The first non-loopback address we have, else the first one. */
        size_t pick = 0;
        for (size_t i = 0; i < out->self_count; i++) {
            if (!(out->self[i].family == 4 && out->self[i].ip[0] == 127)) {
                pick = i;
                break;
            }
        }
        char host[48];
        sip_peer_host_text(&out->self[pick], host, sizeof(host));
        snprintf(out->advertise, sizeof(out->advertise), "%.47s:%u", host, out->self[pick].port);
    }
    for (size_t i = 0; i < cfg->domain_count; i++) {
        snprintf(out->domains[out->domain_count++], sizeof(out->domains[0]), "%s", cfg->domains[i]);
    }
    if (cfg->domain_count == 0) {
        snprintf(out->domains[out->domain_count++], sizeof(out->domains[0]), "localhost");
        char host[64];
        if (gethostname(host, sizeof(host)) == 0) {
            host[sizeof(host) - 1] = '\0';
            snprintf(out->domains[out->domain_count++], sizeof(out->domains[0]), "%s", host);
        }
    }
    memcpy(out->inside, cfg->inside, sizeof(out->inside));
    out->inside_count = cfg->inside_count;
    snprintf(out->upstream, sizeof(out->upstream), "%s", cfg->upstream);
    out->timers = (struct sip_timers){cfg->t1_ms, cfg->t2_ms, cfg->t4_ms};
    out->max_transactions = cfg->max_transactions;
    out->min_expires = cfg->min_expires;
    out->max_expires = cfg->max_expires;
    out->default_expires = cfg->max_expires < 3600 ? cfg->max_expires : 3600;
}

static int setup_proxy(struct server *s, const struct config *cfg)
{
    struct sip_proxy_cfg pc;
    make_proxy_cfg(cfg, &pc);
    uint64_t seed;
    if (tls_random(&seed, sizeof(seed)) != 0) {
        log_error("no random bytes for the proxy's tags and branches");
        return -1;
    }
    s->loc = sip_location_mem_new(65536);
    struct sip_proxy_sink sink = {sink_send, sink_log, log_enabled(LOG_LVL_DEBUG), s};
    s->proxy = s->loc ? sip_proxy_new(&pc, s->loc, sink, seed) : NULL;
    if (s->proxy == NULL) {
        log_error("out of memory for the transaction pool");
        return -1;
    }
    log_info("advertising %s; serving %s%s%s; upstream %s", pc.advertise, pc.domains[0],
             pc.domain_count > 1 ? " and " : "", pc.domain_count > 1 ? pc.domains[1] : "",
             pc.upstream[0] ? pc.upstream : "none");
    return 0;
}

static int setup(struct server *s, const struct config *cfg)
{
    struct io_uring_params p = {0};
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    p.cq_entries = RING_ENTRIES * 4;
    int rc = io_uring_queue_init_params(RING_ENTRIES, &s->ring, &p);
    if (rc != 0) {
        log_error("io_uring setup failed: %s", strerror(-rc));
        return -1;
    }
    if (setup_bufs(s) != 0) {
        return -1;
    }
    s->slots = calloc(SEND_SLOTS, sizeof(*s->slots));
    if (s->slots == NULL) {
        log_error("out of memory");
        return -1;
    }
    for (int i = 0; i < SEND_SLOTS; i++) {
        s->slots[i].next_free = i + 1 < SEND_SLOTS ? i + 1 : -1;
    }
    s->free_slot = 0;
    s->recv_mh.msg_namelen = sizeof(struct sockaddr_storage);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    s->sigfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (s->sigfd < 0) {
        log_error("signalfd: %s", strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < cfg->listen_count; i++) {
        s->fds[i] = open_listener(&cfg->listen[i]);
        if (s->fds[i] < 0) {
            return -1;
        }
        s->nfds++;
        if (cfg->listen[i].addr.ss_family == AF_INET6 && s->fd6 < 0) {
            s->fd6 = s->fds[i];
        } else if (cfg->listen[i].addr.ss_family == AF_INET && s->fd4 < 0) {
            s->fd4 = s->fds[i];
        }
        log_info("listening on %s", cfg->listen[i].text);
    }
    return setup_proxy(s, cfg);
}

int server_run(const struct config *cfg, int argc, char **argv)
{
    struct server s;
    struct io_uring_cqe *cqe_out;
    memset(&s, 0, sizeof(s));
    s.fd4 = s.fd6 = -1;
    s.cfg = cfg;
    s.argc = argc;
    s.argv = argv;
    if (setup(&s, cfg) != 0) {
        return 1;
    }
    for (uint32_t i = 0; i < s.nfds; i++) {
        arm_recv(&s, i);
    }
    arm_signal(&s);
    while (!s.stopping) {
        uint64_t now = now_ms(), next = sip_proxy_next_timer(s.proxy);
        struct __kernel_timespec ts = {0, 0};
        uint64_t wait = next > now ? next - now : 0;
        ts.tv_sec = (long long)(wait / 1000);
        ts.tv_nsec = (long long)(wait % 1000) * 1000000;
        int rc = io_uring_submit_and_wait_timeout(&s.ring, &cqe_out, 1, &ts, NULL);
        if (rc < 0 && rc != -EINTR && rc != -ETIME) {
            log_error("io_uring wait failed: %s", strerror(-rc));
            return 1;
        }
        struct io_uring_cqe *cqe;
        unsigned head, n = 0;
        io_uring_for_each_cqe(&s.ring, head, cqe)
        {
            on_cqe(&s, cqe);
            n++;
        }
        io_uring_cq_advance(&s.ring, n);
        if (s.bufs_to_return > 0) {
            io_uring_buf_ring_advance(s.br, (int)s.bufs_to_return);
            s.bufs_to_return = 0;
        }
        now = now_ms();
        sip_proxy_on_timer(s.proxy, now);
        if (s.draining) {
            if (s.drain_deadline == 0) {
                s.drain_deadline = now + (uint64_t)cfg->drain_timeout_s * 1000;
            }
            if (sip_proxy_pending(s.proxy) == 0 || now >= s.drain_deadline) {
                s.stopping = true;
            }
        }
    }
    const struct sip_proxy_stats *st = sip_proxy_stats(s.proxy);
    log_info("stopped: rx %llu, bad %llu, forwarded %llu, replied %llu, absorbed %llu, "
             "refused %llu, unanswered %zu, send drops %llu",
             (unsigned long long)st->rx, (unsigned long long)st->bad,
             (unsigned long long)st->forwarded, (unsigned long long)st->replied,
             (unsigned long long)st->absorbed, (unsigned long long)st->txn_refused,
             sip_proxy_pending(s.proxy), (unsigned long long)s.dropped);
    io_uring_submit(&s.ring);
    io_uring_queue_exit(&s.ring);
    for (size_t i = 0; i < s.nfds; i++) {
        close(s.fds[i]);
    }
    free(s.slots);
    sip_proxy_free(s.proxy);
    sip_location_mem_free(s.loc);
    return 0;
}

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

#include "../sip/msg.h"
#include "../sip/reply.h"
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
    struct sip_msg *msg;
    struct sip_limits lim;
    uint8_t tag_secret[32];
    bool stopping;
    uint64_t rx, tx, bad, dropped;
};

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

static void addr_text(const struct sockaddr *sa, char *ip, size_t iplen, uint16_t *port)
{
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)iplen);
        *port = ntohs(s6->sin6_port);
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)iplen);
        *port = ntohs(s4->sin_port);
    }
}

/* A To tag that is the same for retransmissions of one request: a keyed hash of Call-ID, From
 * tag and top Via branch (so a stateless answer stays consistent, RFC 3261 §16.7 step 10). */
static void make_to_tag(const struct server *s, const struct sip_msg *m, char out[17])
{
    const struct sip_via *v = sip_msg_top_via(m);
    struct sip_str branch = v ? v->branch : SIP_STR_NULL;
    struct tls_bytes parts[3] = {{m->call_id.p, m->call_id.len},
                                 {m->addr[m->from].tag.p, m->addr[m->from].tag.len},
                                 {branch.p, branch.len}};
    uint8_t digest[32];
    tls_keyed_hash(s->tag_secret, sizeof(s->tag_secret), parts, 3, digest);
    for (int i = 0; i < 8; i++) {
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
    }
}

static void send_reply(struct server *s, int fd, const struct sockaddr *to, socklen_t tolen,
                       const struct sip_msg *m, const struct sip_reply *r)
{
    if (s->free_slot < 0) {
        s->dropped++;
        return;
    }
    struct send_slot *slot = &s->slots[s->free_slot];
    long n = sip_reply_build(m, r, slot->buf, sizeof(slot->buf));
    if (n < 0) {
        s->dropped++;
        return;
    }
    int idx = s->free_slot;
    s->free_slot = slot->next_free;
    memcpy(&slot->to, to, tolen);
    slot->iov = (struct iovec){slot->buf, (size_t)n};
    slot->mh = (struct msghdr){.msg_name = &slot->to, .msg_namelen = tolen, .msg_iov = &slot->iov,
                               .msg_iovlen = 1};
    struct io_uring_sqe *sqe = get_sqe(s);
    io_uring_prep_sendmsg(sqe, fd, &slot->mh, 0);
    io_uring_sqe_set_data64(sqe, ud(OP_SEND, (uint32_t)idx));
}

static const char allow_hdr[] =
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, PRACK, UPDATE, INFO, MESSAGE, "
    "SUBSCRIBE, NOTIFY, REFER\r\nAccept: application/sdp\r\n";

static void handle_datagram(struct server *s, int fd, const struct sockaddr *from,
                            socklen_t fromlen, const char *data, size_t len)
{
    char ip[INET6_ADDRSTRLEN];
    uint16_t port;
    s->rx++;
    /* RFC 5626 §3.5.1: a bare CRLF (or CRLFCRLF) datagram is a keepalive, not a message. */
    if (len <= 4 && strspn(data, "\r\n") >= len) {
        return;
    }
    int rc = sip_msg_parse(s->msg, data, len, SIP_PARSE_DGRAM, &s->lim);
    if (rc < 0) {
        s->bad++;
        if (log_enabled(LOG_LVL_DEBUG)) {
            addr_text(from, ip, sizeof(ip), &port);
            log_debug("drop from %s:%u: %s at byte %zu", ip, port, sip_err_phrase(s->msg->err),
                      s->msg->err_off);
        }
        return;
    }
    const struct sip_msg *m = s->msg;
    if (!m->is_request || m->method_id == SIP_METHOD_ACK) {
        return; /* no transactions yet: stray responses and ACKs are absorbed */
    }
    addr_text(from, ip, sizeof(ip), &port);
    char tag[17];
    make_to_tag(s, m, tag);
    struct sip_reply r = {
        .to_tag = sip_str_make(tag, 16), .received = sip_str_make(ip, strlen(ip)), .rport = port};
    if (m->method_id == SIP_METHOD_OPTIONS) {
        r.status = 200;
        r.phrase = "OK";
        r.extra = SIP_STR_LIT(allow_hdr);
    } else {
        /* The proxy core comes with issue 3; until then every other request is refused. */
        r.status = 501;
        r.phrase = "Not Implemented";
    }
    log_debug("%.*s from %s:%u Call-ID %.*s -> %u", (int)m->method.len, m->method.p, ip, port,
              (int)m->call_id.len, m->call_id.p, r.status);
    send_reply(s, fd, from, fromlen, m, &r);
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
        handle_datagram(s, s->fds[li], io_uring_recvmsg_name(out), out->namelen, payload, plen);
    } else {
        s->dropped++;
    }
    return_buf(s, bid);
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
        if (cqe->res == (int)sizeof(s->siginfo)) {
            log_info("signal %u: stopping (rx %llu, tx %llu, bad %llu, dropped %llu)",
                     s->siginfo.ssi_signo, (unsigned long long)s->rx,
                     (unsigned long long)s->tx, (unsigned long long)s->bad,
                     (unsigned long long)s->dropped);
            s->stopping = true;
        } else {
            arm_signal(s);
        }
        break;
    }
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
    s->msg = malloc(sizeof(*s->msg));
    if (s->slots == NULL || s->msg == NULL) {
        log_error("out of memory");
        return -1;
    }
    for (int i = 0; i < SEND_SLOTS; i++) {
        s->slots[i].next_free = i + 1 < SEND_SLOTS ? i + 1 : -1;
    }
    s->free_slot = 0;
    s->lim = (struct sip_limits){cfg->max_msg_bytes, cfg->max_headers, SIP_MAX_VIA};
    s->recv_mh.msg_namelen = sizeof(struct sockaddr_storage);
    if (tls_random(s->tag_secret, sizeof(s->tag_secret)) != 0) {
        log_error("no random bytes for the tag secret");
        return -1;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
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
        log_info("listening on %s", cfg->listen[i].text);
    }
    return 0;
}

int server_run(const struct config *cfg)
{
    struct server s;
    memset(&s, 0, sizeof(s));
    if (setup(&s, cfg) != 0) {
        return 1;
    }
    for (uint32_t i = 0; i < s.nfds; i++) {
        arm_recv(&s, i);
    }
    arm_signal(&s);
    while (!s.stopping) {
        int rc = io_uring_submit_and_wait(&s.ring, 1);
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
    }
    io_uring_submit(&s.ring);
    io_uring_queue_exit(&s.ring);
    for (size_t i = 0; i < s.nfds; i++) {
        close(s.fds[i]);
    }
    free(s.slots);
    free(s.msg);
    return 0;
}

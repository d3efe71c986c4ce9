/* src/resolver.c: the I/O of RFC 3263 server location: the nameserver's socket on the ring,
 * /etc/hosts read at start, the clock; the decisions are sip/locate.c's. See resolver.h. */
#include "resolver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../sip/dns.h"
#include "../sip/locate.h"
#include "../sip/proxy.h"
#include "../tls/tls.h"
#include "log.h"
#include "net.h"
#include "ring.h"
#include "worker.h"

#define RECV_BUF 4096

struct resolver {
    struct worker *w;
    struct sip_proxy *proxy;
    struct sip_resolver iface;
    struct sip_locate *loc;
    int fd;
    struct sip_peer ns;
    bool have_ns;
    uint64_t queries, failures, immediate; /* for metrics: see resolver_counts */
    char buf[RECV_BUF];
};

static void load_hosts(struct resolver *r)
{
    FILE *f = fopen("/etc/hosts", "r");
    if (f == NULL) {
        return;
    }
    char text[65536];
    size_t n = fread(text, 1, sizeof(text), f); /* a longer file: its first 64 KB */
    fclose(f);
    sip_locate_add_hosts(r->loc, text, n);
}

/* nameserver: --dns-server, else the first "nameserver" of /etc/resolv.conf. */
static bool find_nameserver(const char *dns_server, struct sip_peer *ns)
{
    if (dns_server[0] != '\0') {
        const char *v = dns_server, *colon = strrchr(v, ':');
        uint16_t port = 53;
        char ip[64];
        if (v[0] == '[') {
            const char *close = strchr(v, ']');
            snprintf(ip, sizeof(ip), "%.*s", (int)(close - v - 1), v + 1);
            port = close[1] == ':' ? (uint16_t)atoi(close + 2) : 53;
        } else if (colon != NULL && strchr(v, ':') == colon) {
            snprintf(ip, sizeof(ip), "%.*s", (int)(colon - v), v);
            port = (uint16_t)atoi(colon + 1);
        } else {
            snprintf(ip, sizeof(ip), "%s", v);
        }
        return sip_peer_from_text(sip_str_make(ip, strlen(ip)), port, ns) == 0;
    }
    FILE *f = fopen("/etc/resolv.conf", "r");
    if (f == NULL) {
        return false;
    }
    char line[256], ip[64];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        found = sscanf(line, " nameserver %63s", ip) == 1 &&
                sip_peer_from_text(sip_str_make(ip, strlen(ip)), 53, ns) == 0;
    }
    fclose(f);
    return found;
}

/* send_questions: every question the locator has due, each under a fresh random id (the
 * nameserver's socket is connected, so a forged answer needs the id and our port). */
static void send_questions(struct resolver *r)
{
    struct sip_locate_question q;
    uint64_t now = worker_now_ms();
    while (sip_locate_next_question(r->loc, now, &q)) {
        uint16_t id;
        tls_random(&id, sizeof(id));
        uint8_t pkt[300];
        long n = sip_dns_query(pkt, sizeof(pkt), id, q.name, (enum sip_dns_type)q.type);
        if (n > 0 && r->have_ns) {
            worker_send_raw(r->w, r->fd, &r->ns, pkt, (size_t)n);
            r->queries++;
        }
        sip_locate_sent(r->loc, q.slot, id, now);
    }
}

static void after_progress(struct resolver *r, bool done)
{
    char name[SIP_DNS_NAME_MAX];
    if (sip_locate_failed_name(r->loc, name, sizeof(name))) {
        r->failures++;
        log_warn("dns: %s has no SIP server (NAPTR/SRV/A/AAAA)", name);
    }
    if (done) {
        sip_proxy_on_resolved(r->proxy, worker_now_ms());
    }
    send_questions(r);
}

static int locate(void *self, const char *host, int tp, uint16_t port, struct sip_peer *out,
                  size_t max)
{
    struct resolver *r = self;
    int n = sip_locate_find(r->loc, host, tp, port, out, max, worker_now_ms());
    r->immediate += n > 0;
    after_progress(r, false);
    return n;
}

void resolver_counts(const struct resolver *r, uint64_t *queries, uint64_t *failures,
                     uint64_t *immediate)
{
    *queries = r->queries;
    *failures = r->failures;
    *immediate = r->immediate;
}

void resolver_on_cqe(struct resolver *r, const struct io_uring_cqe *cqe)
{
    if (cqe->res > 0) {
        struct sip_dns_answer *ans = malloc(sizeof(*ans)); /* ~9 KB: not on the stack */
        if (ans != NULL && sip_dns_parse((const uint8_t *)r->buf, (size_t)cqe->res, ans) == 0) {
            after_progress(r, sip_locate_on_answer(r->loc, ans, worker_now_ms()));
        }
        free(ans);
    }
    resolver_start(r);
}

void resolver_on_timer(struct resolver *r, uint64_t now)
{
    if (now < sip_locate_next_deadline(r->loc)) {
        return;
    }
    struct sip_locate_gave_up gave[8];
    size_t n = 0;
    bool done = sip_locate_on_timer(r->loc, now, gave, 8, &n);
    for (size_t i = 0; i < n; i++) {
        log_warn("dns: no answer for %s (type %u) after %d tries", gave[i].name, gave[i].type,
                 SIP_LOCATE_TRIES);
    }
    after_progress(r, done);
}

void resolver_start(struct resolver *r)
{
    if (r->fd < 0) {
        return;
    }
    struct io_uring_sqe *sqe = worker_sqe(r->w);
    io_uring_prep_recv(sqe, r->fd, r->buf, sizeof(r->buf), 0);
    io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_DNS, 0));
}

static const struct sip_resolver_ops ops = {locate};

struct resolver *resolver_new(struct worker *w, const char *dns_server, struct sip_proxy *proxy)
{
    struct resolver *r = calloc(1, sizeof(*r));
    uint32_t seed = 0;
    tls_random(&seed, sizeof(seed));
    if (r == NULL || (r->loc = sip_locate_new(seed)) == NULL) {
        free(r);
        log_error("out of memory for the resolver");
        return NULL;
    }
    r->w = w;
    r->proxy = proxy;
    r->iface = (struct sip_resolver){&ops, r};
    r->fd = -1;
    load_hosts(r);
    r->have_ns = find_nameserver(dns_server, &r->ns);
    if (!r->have_ns) {
        log_warn("dns: no nameserver (/etc/resolv.conf or --dns-server): only /etc/hosts and "
                 "IP addresses will be found");
        sip_locate_set_asking(r->loc, false);
        return r;
    }
    r->fd = socket(r->ns.family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    /* connected: the kernel drops datagrams from anyone but the nameserver */
    struct sockaddr_storage ss;
    socklen_t sl = net_sockaddr_of(&r->ns, &ss);
    if (r->fd < 0 || connect(r->fd, (struct sockaddr *)&ss, sl) != 0) {
        /* not fatal: IP addresses and /etc/hosts still work (an edge may have no DNS at all) */
        char ip[64];
        sip_peer_host_text(&r->ns, ip, sizeof(ip));
        log_warn("dns: cannot reach the nameserver %s:%u (%s): only /etc/hosts and IP "
                 "addresses will be found",
                 ip, r->ns.port, strerror(errno));
        if (r->fd >= 0) {
            close(r->fd);
        }
        r->fd = -1;
        r->have_ns = false;
        sip_locate_set_asking(r->loc, false);
    }
    return r;
}

void resolver_free(struct resolver *r)
{
    if (r == NULL) {
        return;
    }
    if (r->fd >= 0) {
        close(r->fd);
    }
    sip_locate_free(r->loc);
    free(r);
}

struct sip_resolver *resolver_iface(struct resolver *r)
{
    return &r->iface;
}

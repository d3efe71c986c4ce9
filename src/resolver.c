/* src/resolver.c: RFC 3263 server location on the ring; see resolver.h. */
#include "resolver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../sip/dns.h"
#include "../sip/proxy.h"
#include "../tls/tls.h"
#include "log.h"
#include "worker.h"

#define RR_CACHE 64
#define RESULTS 128
#define JOBS 32
#define QUERIES 32
#define HOSTS 256
#define TRY_MS 1000
#define TRIES 3
#define NEGATIVE_TTL 30
#define MAX_TTL 86400
#define RECV_BUF 4096

enum stage { ST_NAPTR, ST_SRV_INIT, ST_SRV, ST_ADDR_INIT, ST_TARGETS, ST_DONE };

struct rr_entry {
    bool used;
    uint16_t type;
    char name[SIP_DNS_NAME_MAX];
    uint64_t expires;
    struct sip_dns_answer a;
};

struct result {
    bool used;
    char key[300];
    uint64_t expires;
    int n; /* -1: no server */
    struct sip_peer peer[SIP_RESOLVE_MAX];
};

struct target {
    char name[SIP_DNS_NAME_MAX];
    uint16_t port;
    uint8_t tp;
    uint32_t rank; /* NAPTR: order << 16 | preference (RFC 3403 §4.1), the sort key */
};

struct job {
    bool used;
    char key[300];
    char host[SIP_DNS_NAME_MAX];
    int tp;
    uint16_t port;
    enum stage stage;
    struct target srvq[3]; /* SRV names to try, with their transport */
    int nsrvq, srvi;
    struct target tgt[SIP_RESOLVE_MAX];
    int ntgt, tgti;
    struct sip_peer out[SIP_RESOLVE_MAX];
    int nout;
    uint32_t ttl;
};

struct query {
    bool used;
    uint16_t id, type;
    char name[SIP_DNS_NAME_MAX];
    uint64_t deadline;
    int tries;
};

struct host_entry {
    char name[SIP_DNS_NAME_MAX];
    struct sip_peer ip;
};

struct resolver {
    struct worker *w;
    struct sip_proxy *proxy;
    struct sip_resolver iface;
    int fd;
    struct sip_peer ns;
    bool have_ns;
    char buf[RECV_BUF];
    struct rr_entry rr[RR_CACHE];
    unsigned rr_next;
    struct result res[RESULTS];
    unsigned res_next;
    struct job job[JOBS];
    struct query q[QUERIES];
    struct host_entry hosts[HOSTS];
    size_t nhosts;
    unsigned rng;
};

static void lower(char *out, size_t cap, const char *in)
{
    size_t i = 0;
    for (; in[i] && i + 1 < cap; i++) {
        out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] | 0x20 : in[i]);
    }
    out[i] = '\0';
    if (i > 0 && out[i - 1] == '.') {
        out[i - 1] = '\0';
    }
}

static void load_hosts(struct resolver *r)
{
    FILE *f = fopen("/etc/hosts", "r");
    if (f == NULL) {
        return;
    }
    char line[512];
    while (fgets(line, sizeof(line), f) != NULL && r->nhosts < HOSTS) {
        *strchrnul(line, '#') = '\0';
        char *save = NULL, *ip = strtok_r(line, " \t\r\n", &save);
        struct sip_peer p;
        if (ip == NULL || sip_peer_from_text(sip_str_make(ip, strlen(ip)), 0, &p) != 0) {
            continue;
        }
        for (char *n = strtok_r(NULL, " \t\r\n", &save); n && r->nhosts < HOSTS;
             n = strtok_r(NULL, " \t\r\n", &save)) {
            lower(r->hosts[r->nhosts].name, SIP_DNS_NAME_MAX, n);
            r->hosts[r->nhosts++].ip = p;
        }
    }
    fclose(f);
}

/* nameserver: --dns-server, else the first "nameserver" of /etc/resolv.conf. */
static bool find_nameserver(const struct config *cfg, struct sip_peer *ns)
{
    if (cfg->dns_server[0] != '\0') {
        const char *v = cfg->dns_server, *colon = strrchr(v, ':');
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

static const struct sip_dns_answer *cached(struct resolver *r, const char *name, uint16_t type,
                                           uint64_t now)
{
    for (unsigned i = 0; i < RR_CACHE; i++) {
        struct rr_entry *e = &r->rr[i];
        if (e->used && e->type == type && now < e->expires && strcmp(e->name, name) == 0) {
            return &e->a;
        }
    }
    return NULL;
}

static void send_query(struct resolver *r, struct query *q)
{
    uint8_t pkt[300];
    long n = sip_dns_query(pkt, sizeof(pkt), q->id, q->name, (enum sip_dns_type)q->type);
    if (n > 0 && r->have_ns) {
        worker_send_raw(r->w, r->fd, &r->ns, pkt, (size_t)n);
    }
    q->tries++;
    q->deadline = worker_now_ms() + TRY_MS;
}

/* need: the cached answer for (name, type), or NULL after making sure a query is out. */
static const struct sip_dns_answer *need(struct resolver *r, const char *name, uint16_t type)
{
    const struct sip_dns_answer *a = cached(r, name, type, worker_now_ms());
    if (a != NULL) {
        return a;
    }
    if (!r->have_ns) {
        static const struct sip_dns_answer none; /* nobody to ask: no records */
        return &none;
    }
    struct query *free_q = NULL;
    for (unsigned i = 0; i < QUERIES; i++) {
        if (r->q[i].used && r->q[i].type == type && strcmp(r->q[i].name, name) == 0) {
            return NULL; /* already asked */
        }
        if (!r->q[i].used && free_q == NULL) {
            free_q = &r->q[i];
        }
    }
    if (free_q == NULL) {
        return NULL; /* every slot busy: asked again when one frees (jobs re-run) */
    }
    memset(free_q, 0, sizeof(*free_q));
    free_q->used = true;
    free_q->type = type;
    snprintf(free_q->name, sizeof(free_q->name), "%s", name);
    uint16_t id;
    tls_random(&id, sizeof(id));
    free_q->id = id;
    send_query(r, free_q);
    return NULL;
}

static void keep_ttl(struct job *j, uint32_t ttl)
{
    if (ttl < j->ttl) {
        j->ttl = ttl;
    }
}

/* srv_order: RFC 2782: lowest priority first; within one, a weighted random order. */
static void srv_order(struct resolver *r, struct sip_dns_rr **v, int n)
{
    for (int i = 1; i < n; i++) {
        for (int k = i; k > 0 && v[k]->u.srv.priority < v[k - 1]->u.srv.priority; k--) {
            struct sip_dns_rr *t = v[k];
            v[k] = v[k - 1];
            v[k - 1] = t;
        }
    }
    for (int start = 0; start < n;) {
        int end = start;
        while (end < n && v[end]->u.srv.priority == v[start]->u.srv.priority) {
            end++;
        }
        for (int i = start; i < end; i++) {
            unsigned sum = 0;
            for (int k = i; k < end; k++) {
                sum += v[k]->u.srv.weight + 1u; /* +1: weight 0 still has a small chance */
            }
            unsigned pick = (unsigned)rand_r(&r->rng) % sum, acc = 0;
            for (int k = i; k < end; k++) {
                acc += v[k]->u.srv.weight + 1u;
                if (pick < acc) {
                    struct sip_dns_rr *t = v[i];
                    v[i] = v[k];
                    v[k] = t;
                    break;
                }
            }
        }
        start = end;
    }
}

static bool naptr_service(const char *s, uint8_t *tp)
{
    if (strcmp(s, "sip+d2u") == 0) {
        *tp = SIP_TP_UDP;
    } else if (strcmp(s, "sip+d2t") == 0) {
        *tp = SIP_TP_TCP;
    } else if (strcmp(s, "sips+d2t") == 0) {
        *tp = SIP_TP_TLS;
    } else {
        return false;
    }
    return true;
}

static bool host_address(struct resolver *r, const char *name, struct sip_peer *out)
{
    for (size_t i = 0; i < r->nhosts; i++) {
        if (strcmp(r->hosts[i].name, name) == 0) {
            *out = r->hosts[i].ip;
            return true;
        }
    }
    return false;
}

/* job_run: advances j as far as the cache allows; true once it is done. */
static bool job_run(struct resolver *r, struct job *j)
{
    for (;;) {
        const struct sip_dns_answer *a;
        switch (j->stage) {
        case ST_NAPTR:
            if (j->port != 0) {
                j->stage = ST_ADDR_INIT; /* §4.2: a port means no SRV */
                continue;
            }
            if (j->tp >= 0) {
                j->stage = ST_SRV_INIT;
                continue;
            }
            if ((a = need(r, j->host, SIP_DNS_NAPTR)) == NULL) {
                return false;
            }
            j->nsrvq = 0;
            for (size_t i = 0; i < a->count; i++) {
                const struct sip_dns_rr *x = &a->rr[i];
                uint8_t tp;
                if (x->type != SIP_DNS_NAPTR || strcmp(x->u.naptr.flags, "s") != 0 ||
                    !naptr_service(x->u.naptr.service, &tp) || j->nsrvq >= 3) {
                    continue;
                }
                /* insertion by (order, preference) */
                int k = j->nsrvq++;
                snprintf(j->srvq[k].name, SIP_DNS_NAME_MAX, "%s", x->u.naptr.replacement);
                j->srvq[k].tp = tp;
                /* both fields are 16 bits: neither may be cut to fit the other */
                j->srvq[k].rank = (uint32_t)x->u.naptr.order << 16 | x->u.naptr.preference;
                for (; k > 0 && j->srvq[k].rank < j->srvq[k - 1].rank; k--) {
                    struct target t = j->srvq[k];
                    j->srvq[k] = j->srvq[k - 1];
                    j->srvq[k - 1] = t;
                }
                keep_ttl(j, x->ttl);
            }
            if (j->nsrvq == 0) {
                /* §4.1: no NAPTR: SRV for each transport we support, UDP first */
                static const char *const pfx[] = {"_sip._udp.", "_sip._tcp.", "_sips._tcp."};
                for (int t = 0; t < 3; t++) {
                    snprintf(j->srvq[t].name, SIP_DNS_NAME_MAX, "%s%.*s", pfx[t], 200, j->host);
                    j->srvq[t].tp = (uint8_t)t;
                }
                j->nsrvq = 3;
            }
            j->srvi = 0;
            j->stage = ST_SRV;
            continue;
        case ST_SRV_INIT: {
            static const char *const pfx[] = {"_sip._udp.", "_sip._tcp.", "_sips._tcp."};
            snprintf(j->srvq[0].name, SIP_DNS_NAME_MAX, "%s%.*s", pfx[j->tp], 200, j->host);
            j->srvq[0].tp = (uint8_t)j->tp;
            j->nsrvq = 1;
            j->srvi = 0;
            j->stage = ST_SRV;
            continue;
        }
        case ST_SRV: {
            if (j->srvi >= j->nsrvq) {
                j->stage = ST_ADDR_INIT; /* §4.2: no SRV: the host's address */
                continue;
            }
            if ((a = need(r, j->srvq[j->srvi].name, SIP_DNS_SRV)) == NULL) {
                return false;
            }
            struct sip_dns_rr *v[SIP_DNS_MAX_RR];
            int n = 0;
            for (size_t i = 0; i < a->count; i++) {
                if (a->rr[i].type == SIP_DNS_SRV && strcmp(a->rr[i].u.srv.target, "") != 0) {
                    v[n++] = (struct sip_dns_rr *)&a->rr[i];
                }
            }
            if (n == 0) {
                j->srvi++;
                continue;
            }
            srv_order(r, v, n);
            j->ntgt = 0;
            for (int i = 0; i < n && j->ntgt < SIP_RESOLVE_MAX; i++) {
                struct target *t = &j->tgt[j->ntgt++];
                snprintf(t->name, SIP_DNS_NAME_MAX, "%s", v[i]->u.srv.target);
                t->port = v[i]->u.srv.port;
                t->tp = j->srvq[j->srvi].tp;
                keep_ttl(j, v[i]->ttl);
            }
            j->tgti = 0;
            j->stage = ST_TARGETS;
            continue;
        }
        case ST_ADDR_INIT:
            snprintf(j->tgt[0].name, SIP_DNS_NAME_MAX, "%s", j->host);
            j->tgt[0].tp = (uint8_t)(j->tp >= 0 ? j->tp : SIP_TP_UDP);
            j->tgt[0].port = j->port ? j->port : j->tgt[0].tp == SIP_TP_TLS ? 5061 : 5060;
            j->ntgt = 1;
            j->tgti = 0;
            j->stage = ST_TARGETS;
            continue;
        case ST_TARGETS: {
            if (j->tgti >= j->ntgt) {
                j->stage = ST_DONE;
                continue;
            }
            struct target *t = &j->tgt[j->tgti];
            struct sip_peer p;
            bool found = host_address(r, t->name, &p);
            if (!found) {
                const struct sip_dns_answer *a4 = need(r, t->name, SIP_DNS_A);
                if (a4 == NULL) {
                    return false;
                }
                for (size_t i = 0; i < a4->count && !found; i++) {
                    if (a4->rr[i].type == SIP_DNS_A) {
                        memset(&p, 0, sizeof(p));
                        p.family = 4;
                        memcpy(p.ip, a4->rr[i].u.ip, 4);
                        keep_ttl(j, a4->rr[i].ttl);
                        found = true;
                    }
                }
            }
            if (!found) {
                const struct sip_dns_answer *a6 = need(r, t->name, SIP_DNS_AAAA);
                if (a6 == NULL) {
                    return false;
                }
                for (size_t i = 0; i < a6->count && !found; i++) {
                    if (a6->rr[i].type == SIP_DNS_AAAA) {
                        memset(&p, 0, sizeof(p));
                        p.family = 6;
                        memcpy(p.ip, a6->rr[i].u.ip, 16);
                        keep_ttl(j, a6->rr[i].ttl);
                        found = true;
                    }
                }
            }
            if (found && j->nout < SIP_RESOLVE_MAX) {
                p.port = t->port;
                p.transport = t->tp;
                j->out[j->nout++] = p;
            }
            j->tgti++;
            continue;
        }
        case ST_DONE: {
            struct result *res = &r->res[r->res_next++ % RESULTS];
            memset(res, 0, sizeof(*res));
            res->used = true;
            snprintf(res->key, sizeof(res->key), "%s", j->key);
            res->n = j->nout > 0 ? j->nout : -1;
            memcpy(res->peer, j->out, sizeof(res->peer));
            uint32_t ttl = j->nout > 0 ? j->ttl : NEGATIVE_TTL;
            res->expires = worker_now_ms() + (uint64_t)(ttl ? ttl : 1) * 1000;
            if (j->nout == 0) {
                log_warn("dns: %s has no SIP server (NAPTR/SRV/A/AAAA)", j->host);
            }
            j->used = false;
            return true;
        }
        }
    }
}

static int locate(void *self, const char *host, int tp, uint16_t port, struct sip_peer *out,
                  size_t max)
{
    struct resolver *r = self;
    char name[SIP_DNS_NAME_MAX], key[300];
    lower(name, sizeof(name), host);
    snprintf(key, sizeof(key), "%d|%u|%s", tp, port, name);
    uint64_t now = worker_now_ms();
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < RESULTS; i++) {
            struct result *res = &r->res[i];
            if (res->used && now < res->expires && strcmp(res->key, key) == 0) {
                if (res->n < 0) {
                    return -1;
                }
                size_t n = (size_t)res->n < max ? (size_t)res->n : max;
                memcpy(out, res->peer, n * sizeof(*out));
                return (int)n;
            }
        }
        if (pass == 1) {
            break;
        }
        struct job *j = NULL;
        for (unsigned i = 0; i < JOBS; i++) {
            if (r->job[i].used && strcmp(r->job[i].key, key) == 0) {
                return 0; /* under way */
            }
            if (!r->job[i].used && j == NULL) {
                j = &r->job[i];
            }
        }
        if (j == NULL) {
            return -1; /* too many lookups at once: the request gets 503 */
        }
        memset(j, 0, sizeof(*j));
        j->used = true;
        snprintf(j->key, sizeof(j->key), "%s", key);
        snprintf(j->host, sizeof(j->host), "%s", name);
        j->tp = tp;
        j->port = port;
        j->ttl = MAX_TTL;
        if (!job_run(r, j)) {
            return 0;
        }
        /* done from the cache alone: read the result */
    }
    return -1;
}

static void run_jobs(struct resolver *r)
{
    bool done = false;
    for (unsigned i = 0; i < JOBS; i++) {
        if (r->job[i].used) {
            done |= job_run(r, &r->job[i]);
        }
    }
    if (done) {
        sip_proxy_on_resolved(r->proxy, worker_now_ms());
    }
}

static void store(struct resolver *r, struct query *q, const struct sip_dns_answer *a)
{
    struct rr_entry *e = &r->rr[r->rr_next++ % RR_CACHE];
    e->used = true;
    e->type = q->type;
    memcpy(e->name, q->name, sizeof(e->name)); /* both NUL-terminated, same size */
    if (a != NULL) {
        e->a = *a;
    } else {
        memset(&e->a, 0, sizeof(e->a));
    }
    uint32_t ttl = MAX_TTL;
    for (size_t i = 0; a != NULL && i < a->count; i++) {
        ttl = a->rr[i].ttl < ttl ? a->rr[i].ttl : ttl;
    }
    if (a == NULL || a->count == 0) {
        ttl = NEGATIVE_TTL;
    }
    e->expires = worker_now_ms() + (uint64_t)(ttl ? ttl : 1) * 1000;
    q->used = false;
}

void resolver_on_cqe(struct resolver *r, const struct io_uring_cqe *cqe)
{
    if (cqe->res > 0) {
        struct sip_dns_answer *ans = malloc(sizeof(*ans)); /* ~9 KB: not on the stack */
        if (ans != NULL && sip_dns_parse((const uint8_t *)r->buf, (size_t)cqe->res, ans) == 0) {
            for (unsigned i = 0; i < QUERIES; i++) {
                struct query *q = &r->q[i];
                if (q->used && q->id == ans->id) {
                    store(r, q, ans->rcode == 0 || ans->rcode == 3 ? ans : NULL);
                    break;
                }
            }
        }
        free(ans);
        run_jobs(r);
    }
    resolver_start(r);
}

void resolver_on_timer(struct resolver *r, uint64_t now)
{
    bool gave_up = false;
    for (unsigned i = 0; i < QUERIES; i++) {
        struct query *q = &r->q[i];
        if (!q->used || now < q->deadline) {
            continue;
        }
        if (q->tries < TRIES) {
            send_query(r, q);
        } else {
            log_warn("dns: no answer for %s (type %u) after %d tries", q->name, q->type, TRIES);
            store(r, q, NULL);
            gave_up = true;
        }
    }
    if (gave_up) {
        run_jobs(r);
    }
}

void resolver_start(struct resolver *r)
{
    if (r->fd < 0) {
        return;
    }
    struct io_uring_sqe *sqe = worker_sqe(r->w);
    io_uring_prep_recv(sqe, r->fd, r->buf, sizeof(r->buf), 0);
    io_uring_sqe_set_data64(sqe, worker_ud_dns());
}

static const struct sip_resolver_ops ops = {locate};

struct resolver *resolver_new(struct worker *w, const struct config *cfg, struct sip_proxy *proxy)
{
    struct resolver *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        log_error("out of memory for the resolver");
        return NULL;
    }
    r->w = w;
    r->proxy = proxy;
    r->iface = (struct sip_resolver){&ops, r};
    r->fd = -1;
    tls_random(&r->rng, sizeof(r->rng));
    load_hosts(r);
    r->have_ns = find_nameserver(cfg, &r->ns);
    if (!r->have_ns) {
        log_warn("dns: no nameserver (/etc/resolv.conf or --dns-server): only /etc/hosts and "
                 "IP addresses will be found");
        return r;
    }
    r->fd = socket(r->ns.family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    /* connected: the kernel drops datagrams from anyone but the nameserver */
    struct sockaddr_storage ss;
    socklen_t sl = worker_sockaddr_of(&r->ns, &ss);
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
    free(r);
}

struct sip_resolver *resolver_iface(struct resolver *r)
{
    return &r->iface;
}

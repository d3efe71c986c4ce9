/* sip/locate.c: RFC 3263 server location, sans-I/O; see locate.h. */
#include "locate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "str.h"

#define RR_CACHE 64
#define RESULTS 128
#define JOBS 32
#define QUERIES 32
#define HOSTS 256
#define MAX_TTL 86400

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
    bool used, due; /* due: to be handed out by sip_locate_next_question */
    uint16_t id, type;
    char name[SIP_DNS_NAME_MAX];
    uint64_t deadline;
    int tries;
};

struct host_entry {
    char name[SIP_DNS_NAME_MAX];
    struct sip_peer ip;
};

struct sip_locate {
    bool asking;
    uint32_t rng;
    struct rr_entry rr[RR_CACHE];
    unsigned rr_next;
    struct result res[RESULTS];
    unsigned res_next;
    struct job job[JOBS];
    struct query q[QUERIES];
    struct host_entry hosts[HOSTS];
    size_t nhosts;
    char failed[SIP_DNS_NAME_MAX]; /* last lookup with no server, until read */
};

static uint32_t next_random(struct sip_locate *l)
{
    /* xorshift32: the SRV draw needs spread, not secrecy (the order is no secret) */
    uint32_t x = l->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return l->rng = x;
}

static void lower(char *out, size_t cap, const char *in, size_t len)
{
    size_t i = 0;
    for (; i < len && in[i] && i + 1 < cap; i++) {
        out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] | 0x20 : in[i]);
    }
    out[i] = '\0';
    if (i > 0 && out[i - 1] == '.') {
        out[i - 1] = '\0';
    }
}

struct sip_locate *sip_locate_new(uint32_t seed)
{
    struct sip_locate *l = calloc(1, sizeof(*l));
    if (l != NULL) {
        l->rng = seed ? seed : 0x9e3779b9u;
        l->asking = true;
    }
    return l;
}

void sip_locate_free(struct sip_locate *l)
{
    free(l);
}

void sip_locate_set_asking(struct sip_locate *l, bool asking)
{
    l->asking = asking;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

size_t sip_locate_add_hosts(struct sip_locate *l, const char *text, size_t len)
{
    size_t taken = 0, i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && text[end] != '\n') {
            end++;
        }
        size_t stop = i;
        while (stop < end && text[stop] != '#') {
            stop++;
        }
        /* fields of text[i..stop) */
        size_t k = i, field = 0;
        struct sip_peer ip;
        bool ip_ok = false;
        while (k < stop) {
            while (k < stop && is_space(text[k])) {
                k++;
            }
            size_t b = k;
            while (k < stop && !is_space(text[k])) {
                k++;
            }
            if (k == b) {
                break;
            }
            if (field++ == 0) {
                ip_ok = sip_peer_from_text(sip_str_make(text + b, k - b), 0, &ip) == 0;
                if (!ip_ok) {
                    break;
                }
            } else if (l->nhosts < HOSTS) {
                lower(l->hosts[l->nhosts].name, SIP_DNS_NAME_MAX, text + b, k - b);
                l->hosts[l->nhosts++].ip = ip;
                taken++;
            }
        }
        i = end + 1;
    }
    return taken;
}

static const struct sip_dns_answer *cached(struct sip_locate *l, const char *name, uint16_t type,
                                           uint64_t now)
{
    for (unsigned i = 0; i < RR_CACHE; i++) {
        struct rr_entry *e = &l->rr[i];
        if (e->used && e->type == type && now < e->expires && strcmp(e->name, name) == 0) {
            return &e->a;
        }
    }
    return NULL;
}

/* need: the cached answer for (name, type), or NULL after making sure a question is queued. */
static const struct sip_dns_answer *need(struct sip_locate *l, const char *name, uint16_t type,
                                         uint64_t now)
{
    const struct sip_dns_answer *a = cached(l, name, type, now);
    if (a != NULL) {
        return a;
    }
    if (!l->asking) {
        static const struct sip_dns_answer none; /* nobody to ask: no records */
        return &none;
    }
    struct query *free_q = NULL;
    for (unsigned i = 0; i < QUERIES; i++) {
        if (l->q[i].used && l->q[i].type == type && strcmp(l->q[i].name, name) == 0) {
            return NULL; /* already asked */
        }
        if (!l->q[i].used && free_q == NULL) {
            free_q = &l->q[i];
        }
    }
    if (free_q == NULL) {
        return NULL; /* every slot busy: asked again when one frees (jobs re-run) */
    }
    memset(free_q, 0, sizeof(*free_q));
    free_q->used = true;
    free_q->due = true;
    free_q->type = type;
    snprintf(free_q->name, sizeof(free_q->name), "%s", name);
    return NULL;
}

static void keep_ttl(struct job *j, uint32_t ttl)
{
    if (ttl < j->ttl) {
        j->ttl = ttl;
    }
}

/* srv_order: RFC 2782: lowest priority first; within one priority, a weighted random order:
 * each place goes to one of the records left with a chance in proportion to its weight. A
 * weight of 0 gets a small chance (RFC 2782: "a very small chance of being selected"), here
 * that of weight 1 among the others plus one. */
static void srv_order(struct sip_locate *l, struct sip_dns_rr **v, int n)
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
            uint32_t sum = 0;
            for (int k = i; k < end; k++) {
                sum += v[k]->u.srv.weight + 1u;
            }
            uint32_t pick = next_random(l) % sum, acc = 0;
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

static bool host_address(const struct sip_locate *l, const char *name, struct sip_peer *out)
{
    for (size_t i = 0; i < l->nhosts; i++) {
        if (strcmp(l->hosts[i].name, name) == 0) {
            *out = l->hosts[i].ip;
            return true;
        }
    }
    return false;
}

static const char *const SRV_PREFIX[] = {"_sip._udp.", "_sip._tcp.", "_sips._tcp."};

/* stage_naptr: RFC 3263 §4.1: the NAPTR records with flag "s" and a service we speak, by
 * order then preference; none: the SRV names of every transport, UDP first. */
static void stage_naptr(struct job *j, const struct sip_dns_answer *a)
{
    j->nsrvq = 0;
    for (size_t i = 0; i < a->count; i++) {
        const struct sip_dns_rr *x = &a->rr[i];
        uint8_t tp;
        if (x->type != SIP_DNS_NAPTR || strcmp(x->u.naptr.flags, "s") != 0 ||
            !naptr_service(x->u.naptr.service, &tp) || j->nsrvq >= 3) {
            continue;
        }
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
        for (int t = 0; t < 3; t++) {
            snprintf(j->srvq[t].name, SIP_DNS_NAME_MAX, "%s%.*s", SRV_PREFIX[t], 200, j->host);
            j->srvq[t].tp = (uint8_t)t;
        }
        j->nsrvq = 3;
    }
    j->srvi = 0;
    j->stage = ST_SRV;
}

/* stage_srv: the targets of one SRV name in RFC 2782 order, or the next name when it has
 * none. */
static void stage_srv(struct sip_locate *l, struct job *j, const struct sip_dns_answer *a)
{
    struct sip_dns_rr *v[SIP_DNS_MAX_RR];
    int n = 0;
    for (size_t i = 0; i < a->count; i++) {
        /* target "." means the service is not offered here (RFC 2782) */
        if (a->rr[i].type == SIP_DNS_SRV && strcmp(a->rr[i].u.srv.target, "") != 0) {
            v[n++] = (struct sip_dns_rr *)&a->rr[i];
        }
    }
    if (n == 0) {
        j->srvi++;
        return;
    }
    srv_order(l, v, n);
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
}

/* first_address: the first record of `type` in a, as a peer. */
static bool first_address(struct job *j, const struct sip_dns_answer *a, uint16_t type,
                          struct sip_peer *p)
{
    for (size_t i = 0; i < a->count; i++) {
        if (a->rr[i].type == type) {
            memset(p, 0, sizeof(*p));
            p->family = type == SIP_DNS_A ? 4 : 6;
            memcpy(p->ip, a->rr[i].u.ip, type == SIP_DNS_A ? 4 : 16);
            keep_ttl(j, a->rr[i].ttl);
            return true;
        }
    }
    return false;
}

static void finish(struct sip_locate *l, struct job *j, uint64_t now)
{
    struct result *res = &l->res[l->res_next++ % RESULTS];
    memset(res, 0, sizeof(*res));
    res->used = true;
    snprintf(res->key, sizeof(res->key), "%s", j->key);
    res->n = j->nout > 0 ? j->nout : -1;
    memcpy(res->peer, j->out, sizeof(res->peer));
    uint32_t ttl = j->nout > 0 ? j->ttl : SIP_LOCATE_NEGATIVE_S;
    res->expires = now + (uint64_t)(ttl ? ttl : 1) * 1000;
    if (j->nout == 0) {
        snprintf(l->failed, sizeof(l->failed), "%s", j->host);
    }
    j->used = false;
}

/* job_run: advances j as far as the cache allows; true once it is done. */
static bool job_run(struct sip_locate *l, struct job *j, uint64_t now)
{
    for (;;) {
        const struct sip_dns_answer *a;
        switch (j->stage) {
        case ST_NAPTR:
            if (j->port != 0) {
                j->stage = ST_ADDR_INIT; /* §4.2: a port means no SRV */
            } else if (j->tp >= 0) {
                j->stage = ST_SRV_INIT; /* §4.1: the transport is known: its SRV only */
            } else if ((a = need(l, j->host, SIP_DNS_NAPTR, now)) == NULL) {
                return false;
            } else {
                stage_naptr(j, a);
            }
            continue;
        case ST_SRV_INIT:
            snprintf(j->srvq[0].name, SIP_DNS_NAME_MAX, "%s%.*s", SRV_PREFIX[j->tp], 200, j->host);
            j->srvq[0].tp = (uint8_t)j->tp;
            j->nsrvq = 1;
            j->srvi = 0;
            j->stage = ST_SRV;
            continue;
        case ST_SRV:
            if (j->srvi >= j->nsrvq) {
                j->stage = ST_ADDR_INIT; /* §4.2: no SRV: the host's address */
            } else if ((a = need(l, j->srvq[j->srvi].name, SIP_DNS_SRV, now)) == NULL) {
                return false;
            } else {
                stage_srv(l, j, a);
            }
            continue;
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
            bool found = host_address(l, t->name, &p);
            if (!found) {
                /* A first; AAAA only for a name without A records (an IPv4 edge mostly) */
                const struct sip_dns_answer *a4 = need(l, t->name, SIP_DNS_A, now);
                if (a4 == NULL) {
                    return false;
                }
                found = first_address(j, a4, SIP_DNS_A, &p);
            }
            if (!found) {
                const struct sip_dns_answer *a6 = need(l, t->name, SIP_DNS_AAAA, now);
                if (a6 == NULL) {
                    return false;
                }
                found = first_address(j, a6, SIP_DNS_AAAA, &p);
            }
            if (found && j->nout < SIP_RESOLVE_MAX) {
                p.port = t->port;
                p.transport = t->tp;
                j->out[j->nout++] = p;
            }
            j->tgti++;
            continue;
        }
        case ST_DONE:
            finish(l, j, now);
            return true;
        }
    }
}

int sip_locate_find(struct sip_locate *l, const char *host, int tp, uint16_t port,
                    struct sip_peer *out, size_t max, uint64_t now)
{
    char name[SIP_DNS_NAME_MAX], key[300];
    lower(name, sizeof(name), host, strlen(host));
    snprintf(key, sizeof(key), "%d|%u|%s", tp, port, name);
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < RESULTS; i++) {
            struct result *res = &l->res[i];
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
            if (l->job[i].used && strcmp(l->job[i].key, key) == 0) {
                return 0; /* under way */
            }
            if (!l->job[i].used && j == NULL) {
                j = &l->job[i];
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
        if (!job_run(l, j, now)) {
            return 0;
        }
        /* done from the cache alone: read the result */
    }
    return -1;
}

static bool run_jobs(struct sip_locate *l, uint64_t now)
{
    bool done = false;
    for (unsigned i = 0; i < JOBS; i++) {
        if (l->job[i].used) {
            done |= job_run(l, &l->job[i], now);
        }
    }
    return done;
}

bool sip_locate_next_question(struct sip_locate *l, uint64_t now, struct sip_locate_question *q)
{
    (void)now;
    for (unsigned i = 0; i < QUERIES; i++) {
        if (l->q[i].used && l->q[i].due) {
            *q = (struct sip_locate_question){i, l->q[i].type, l->q[i].name};
            return true;
        }
    }
    return false;
}

void sip_locate_sent(struct sip_locate *l, unsigned slot, uint16_t id, uint64_t now)
{
    if (slot >= QUERIES || !l->q[slot].used) {
        return;
    }
    struct query *q = &l->q[slot];
    q->due = false;
    q->id = id;
    q->tries++;
    q->deadline = now + SIP_LOCATE_TRY_MS;
}

/* store: the answer to q (NULL: none, or an error) cached for its lowest TTL; no records for
 * SIP_LOCATE_NEGATIVE_S. */
static void store(struct sip_locate *l, struct query *q, const struct sip_dns_answer *a,
                  uint64_t now)
{
    struct rr_entry *e = &l->rr[l->rr_next++ % RR_CACHE];
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
        ttl = SIP_LOCATE_NEGATIVE_S;
    }
    e->expires = now + (uint64_t)(ttl ? ttl : 1) * 1000;
    q->used = false;
}

bool sip_locate_on_answer(struct sip_locate *l, const struct sip_dns_answer *a, uint64_t now)
{
    for (unsigned i = 0; i < QUERIES; i++) {
        struct query *q = &l->q[i];
        if (q->used && !q->due && q->id == a->id) {
            /* NXDOMAIN (3) is an answer: no records; other errors count as none too */
            store(l, q, a->rcode == 0 || a->rcode == 3 ? a : NULL, now);
            return run_jobs(l, now);
        }
    }
    return false;
}

bool sip_locate_on_timer(struct sip_locate *l, uint64_t now, struct sip_locate_gave_up *gave_up,
                         size_t max, size_t *n)
{
    *n = 0;
    bool failed = false;
    for (unsigned i = 0; i < QUERIES; i++) {
        struct query *q = &l->q[i];
        if (!q->used || q->due || now < q->deadline) {
            continue;
        }
        if (q->tries < SIP_LOCATE_TRIES) {
            q->due = true; /* handed out again */
            continue;
        }
        if (*n < max) {
            snprintf(gave_up[*n].name, sizeof(gave_up[*n].name), "%s", q->name);
            gave_up[(*n)++].type = q->type;
        }
        store(l, q, NULL, now);
        failed = true;
    }
    return failed && run_jobs(l, now);
}

uint64_t sip_locate_next_deadline(const struct sip_locate *l)
{
    uint64_t next = UINT64_MAX;
    for (unsigned i = 0; i < QUERIES; i++) {
        if (l->q[i].used && !l->q[i].due && l->q[i].deadline < next) {
            next = l->q[i].deadline;
        }
    }
    return next;
}

bool sip_locate_failed_name(struct sip_locate *l, char *out, size_t cap)
{
    if (l->failed[0] == '\0') {
        return false;
    }
    snprintf(out, cap, "%s", l->failed);
    l->failed[0] = '\0';
    return true;
}

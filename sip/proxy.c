/* sip/proxy.c: the stateful proxy core: transaction table, request path (RFC 3261 §16.3-16.6),
 * CANCEL (§16.10) and stateless forwarding of 2xx ACKs. Responses are in proxy_resp.c, REGISTER
 * in registrar.c. */
#include "decode.h"
#include "proxy_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* ---------- small helpers ---------- */

char *proxy_dup(const char *buf, size_t len)
{
    char *c = malloc(len ? len : 1);
    if (c != NULL) {
        memcpy(c, buf, len);
    }
    return c;
}

void proxy_send_iov(struct sip_proxy *p, const struct sip_peer *to, const struct iovec *iov,
                    size_t n)
{
    p->sink.send(p->sink.ctx, to, p->send_name, iov, n);
}

void proxy_send(struct sip_proxy *p, const struct sip_peer *to, const char *buf, size_t len)
{
    struct iovec v = {(void *)buf, len};
    proxy_send_iov(p, to, &v, 1);
}

static void vlog(struct sip_proxy *p, bool debug, const char *fmt, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    p->sink.log(p->sink.ctx, debug, line);
}

void proxy_log(struct sip_proxy *p, const char *fmt, ...)
{
    if (p->sink.log == NULL) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vlog(p, false, fmt, ap);
    va_end(ap);
}

void proxy_debug(struct sip_proxy *p, const char *fmt, ...)
{
    if (p->sink.log == NULL || !p->sink.debug) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vlog(p, true, fmt, ap);
    va_end(ap);
}

static uint32_t fnv(const char *s, size_t n, uint32_t h)
{
    return sip_fnv1a(s, n, h);
}

static uint32_t fnv_str(struct sip_str s, uint32_t h)
{
    return sip_fnv1a(s.p, s.len, h);
}

/* ---------- addresses ---------- */

/* uri_transport: sips: and transport=tls mean TLS (RFC 3261 §26.2), transport=tcp TCP. */
static enum sip_transport uri_transport(const struct sip_uri *u)
{
    return u->scheme == SIP_SCHEME_SIPS ? SIP_TP_TLS : sip_transport_of(u->transport);
}

static uint16_t uri_port(const struct sip_uri *u)
{
    return u->has_port ? u->port : (uri_transport(u) == SIP_TP_TLS ? 5061 : 5060);
}

/* is_self_port: one of the ports we listen on (UDP's advertised one, TCP's, TLS's). */
static bool is_self_port(const struct sip_proxy *p, uint16_t port)
{
    return port == p->self_port ||
           (port != 0 && (port == p->cfg.tcp_port || port == p->cfg.tls_port));
}

bool proxy_peer_is_self(const struct sip_proxy *p, const struct sip_peer *peer)
{
    for (size_t i = 0; i < p->cfg.self_count; i++) {
        if (sip_peer_eq(peer, &p->cfg.self[i])) {
            return true;
        }
    }
    return false;
}

bool proxy_uri_is_self(const struct sip_proxy *p, const struct sip_uri *u)
{
    if (u->scheme != SIP_SCHEME_SIP && u->scheme != SIP_SCHEME_SIPS) {
        return false;
    }
    uint16_t port = uri_port(u);
    if (sip_str_ieq(u->host, sip_str_make(p->self_host, strlen(p->self_host))) &&
        is_self_port(p, port)) {
        return true;
    }
    if (p->public_host[0] != '\0' &&
        sip_str_ieq(u->host, sip_str_make(p->public_host, strlen(p->public_host))) &&
        is_self_port(p, port)) {
        return true; /* our address behind a 1:1 NAT is on no interface of ours */
    }
    struct sip_peer peer;
    if (sip_peer_from_text(u->host, port, &peer) == 0) {
        return proxy_peer_is_self(p, &peer);
    }
    /* A served domain name without a port, or with one of ours, is us too. */
    return proxy_domain_served(p, u) && (!u->has_port || is_self_port(p, port));
}

bool proxy_domain_served(const struct sip_proxy *p, const struct sip_uri *u)
{
    if (u->scheme != SIP_SCHEME_SIP && u->scheme != SIP_SCHEME_SIPS) {
        return false;
    }
    for (size_t i = 0; i < p->cfg.domain_count; i++) {
        if (sip_str_ieq(u->host, sip_str_make(p->cfg.domains[i], strlen(p->cfg.domains[i])))) {
            return true;
        }
    }
    /* Our own addresses are served domains: users register at sip:user@<our IP>. */
    struct sip_peer peer;
    return sip_peer_from_text(u->host, uri_port(u), &peer) == 0 && proxy_peer_is_self(p, &peer);
}

/* Next hop of a URI (RFC 3263 lite): maddr, else the host; a literal or "localhost" only until
 * the resolver of issue 5 arrives. */
int proxy_resolve(struct sip_proxy *p, const struct sip_uri *u, struct sip_peer *out, char *name)
{
    struct sip_str host = sip_str_is_set(u->maddr) ? u->maddr : u->host;
    uint16_t port = uri_port(u);
    p->resolve_more = false;
    int rc = sip_peer_from_text(host, port, out);
    if (rc != 0 && sip_str_ieq_lit(host, "localhost")) {
        rc = sip_peer_from_text(SIP_STR_LIT("127.0.0.1"), port, out);
    }
    if (rc == 0) {
        out->transport = (uint8_t)uri_transport(u);
        rc = p->resolve_skip == 0 ? 0 : -1; /* a literal is one server */
    } else if (p->resolver != NULL && host.len > 0 && host.len < 254) {
        /* RFC 3263 §4: a domain. The URI's transport and port narrow the search. */
        char h[256];
        snprintf(h, sizeof(h), "%.*s", (int)host.len, host.p);
        int tp = u->scheme == SIP_SCHEME_SIPS || sip_str_is_set(u->transport)
                     ? (int)uri_transport(u)
                     : -1;
        struct sip_peer list[SIP_RESOLVE_MAX];
        int n = p->resolver->ops->locate(p->resolver->self, h, tp, u->has_port ? u->port : 0, list,
                                         SIP_RESOLVE_MAX);
        if (n == 0) {
            return 1;
        }
        if (n <= p->resolve_skip) {
            return -1;
        }
        *out = list[p->resolve_skip];
        p->resolve_more = n > p->resolve_skip + 1;
        rc = 0;
    }
    if (rc == 0) {
        if (name != NULL) {
            struct sip_str h = host;
            if (h.len >= 2 && h.p[0] == '[') {
                h = sip_str_make(h.p + 1, h.len - 2);
            }
            snprintf(name, 64, "%.*s", (int)(h.len < 63 ? h.len : 63), h.p);
        }
    }
    return rc;
}

bool proxy_is_inside(const struct sip_proxy *p, const struct sip_peer *from)
{
    for (size_t i = 0; i < p->cfg.inside_count; i++) {
        if (sip_cidr_match(&p->cfg.inside[i], from)) {
            return true;
        }
    }
    return false;
}

const char *proxy_side_addr(const struct sip_proxy *p, const struct sip_peer *peer)
{
    bool in = p->cfg.public_advertise[0] == '\0' || proxy_is_inside(p, peer);
    return p->side_addr[in][peer->transport <= SIP_TP_TLS ? peer->transport : 0];
}

/* side_addrs: the table behind proxy_side_addr, from the advertised addresses and ports. */
static void side_addrs(struct sip_proxy *p)
{
    for (int in = 0; in < 2; in++) {
        const char *adv =
            in || p->cfg.public_advertise[0] == '\0' ? p->cfg.advertise : p->cfg.public_advertise;
        const char *host = in || p->public_host[0] == '\0' ? p->self_host : p->public_host;
        uint16_t ports[3] = {0, p->cfg.tcp_port, p->cfg.tls_port};
        for (int tp = 0; tp < 3; tp++) {
            if (tp == SIP_TP_UDP || ports[tp] == 0) {
                snprintf(p->side_addr[in][tp], sizeof(p->side_addr[in][tp]), "%s", adv);
            } else {
                snprintf(p->side_addr[in][tp], sizeof(p->side_addr[in][tp]), "%s:%u", host,
                         ports[tp]);
            }
        }
    }
}

/* proxy_side_route: our Record-Route (or Path) URI body for peer's side and transport:
 * host:port, with ;transport= for a stream. Into out (cap bytes). */
const char *proxy_side_route(const struct sip_proxy *p, const struct sip_peer *peer, char *out,
                             size_t cap)
{
    const char *tp = sip_transport_param((enum sip_transport)peer->transport);
    snprintf(out, cap, "%s%s%s", proxy_side_addr(p, peer), *tp ? ";transport=" : "", tp);
    return out;
}

/* ---------- transaction table and timers ---------- */

static uint64_t txn_next(const struct ptxn *t)
{
    uint64_t best = sip_txn_next_timer(&t->st);
    for (int i = 0; i < t->nbranch; i++) {
        uint64_t c = t->br[i].final_status == 0 ? t->br[i].timer_c_at : 0;
        if (c != 0 && (best == 0 || c < best)) {
            best = c;
        }
        uint64_t a = sip_txn_next_timer(&t->br[i].ct), b = sip_txn_next_timer(&t->br[i].cancel_ct);
        if (a != 0 && (best == 0 || a < best)) {
            best = a;
        }
        if (b != 0 && (best == 0 || b < best)) {
            best = b;
        }
    }
    return best;
}

void proxy_rearm(struct sip_proxy *p, struct ptxn *t)
{
    uint64_t next = txn_next(t);
    if (next != 0 && next != t->armed_at) {
        t->armed_at = next;
        if (sip_wheel_add(&p->wheel, next, (uint32_t)(t - p->pool), t->gen) != 0) {
            t->armed_at = 0; /* out of memory: the next re-arm of this transaction retries */
        }
    }
}

static bool txn_live(const struct sip_txn *x)
{
    return x->state != SIP_TXN_IDLE && x->state != SIP_TXN_TERMINATED;
}

/* The message copies a transaction keeps (request, last response, each branch's messages). */
static void free_copies(struct ptxn *t)
{
    free(t->req);
    free(t->last);
    for (int i = 0; i < t->nbranch; i++) {
        free(t->br[i].req);
        free(t->br[i].cancel);
        free(t->br[i].resp);
    }
}

void proxy_maybe_free(struct sip_proxy *p, struct ptxn *t)
{
    if (!t->used || txn_live(&t->st)) {
        return;
    }
    for (int i = 0; i < t->nbranch; i++) {
        if (txn_live(&t->br[i].ct) || txn_live(&t->br[i].cancel_ct)) {
            return;
        }
    }
    /* Unlink from its bucket. */
    int32_t *link = &p->bucket[t->hash % TXN_BUCKETS];
    while (*link >= 0 && &p->pool[*link] != t) {
        link = &p->pool[*link].hnext;
    }
    if (*link >= 0) {
        *link = t->hnext;
    }
    free_copies(t);
    sip_addr_count_put(p->src, t->src_slot);
    uint32_t gen = t->gen + 1;
    memset(t, 0, sizeof(*t));
    t->gen = gen;
    t->hnext = p->free_head;
    p->free_head = (int32_t)(t - p->pool);
    p->active--;
}

/* Server transaction key (RFC 3261 §17.2.3): branch, sent-by and method, with ACK matching the
 * INVITE; without the magic cookie, the RFC 2543 fields (§17.2.3 last paragraphs). */
static size_t make_key(const struct sip_msg *m, struct sip_str method, char *out)
{
    const struct sip_via *v = &m->via[0];
    int n;
    if (v->branch.len > 7 && memcmp(v->branch.p, "z9hG4bK", 7) == 0) {
        n = snprintf(out, KEY_MAX, "%.*s|%.*s:%u|%.*s", (int)v->branch.len, v->branch.p,
                     (int)v->host.len, v->host.p, v->port, (int)method.len, method.p);
    } else {
        n = snprintf(out, KEY_MAX, "2543|%.*s|%.*s|%u|%.*s|%.*s:%u|%.*s", (int)m->call_id.len,
                     m->call_id.p, (int)m->addr[m->from].tag.len, m->addr[m->from].tag.p, m->cseq,
                     (int)m->ruri.raw.len, m->ruri.raw.p, (int)v->host.len, v->host.p, v->port,
                     (int)method.len, method.p);
    }
    return n < 0 ? 0 : ((size_t)n >= KEY_MAX ? KEY_MAX - 1 : (size_t)n);
}

static struct ptxn *find_server(struct sip_proxy *p, const char *key, uint32_t h)
{
    for (int32_t i = p->bucket[h % TXN_BUCKETS]; i >= 0; i = p->pool[i].hnext) {
        struct ptxn *t = &p->pool[i];
        if (t->hash == h && strcmp(t->key, key) == 0) {
            return t;
        }
    }
    return NULL;
}

/* ---------- per-source transaction caps ---------- */

bool proxy_is_upstream_hop(const struct sip_proxy *p, const struct sip_peer *from)
{
    for (unsigned i = 0; i < p->upstream_n; i++) {
        if (sip_peer_same_ip(&p->upstream_hops[i], from)) {
            return true;
        }
    }
    return false;
}

static void note_upstream_hop(struct sip_proxy *p, const struct sip_peer *hop)
{
    if (!proxy_is_upstream_hop(p, hop)) {
        p->upstream_hops[p->upstream_next] = *hop;
        p->upstream_next = (uint8_t)((p->upstream_next + 1) % 8);
        p->upstream_n = p->upstream_n < 8 ? p->upstream_n + 1 : 8;
    }
}

/* src_take: counts a new transaction of from; false when from is at its cap. *slot gets
 * what sip_addr_count_take returned, or 0 (not counted: the inside, the upstream, no cap). */
static bool src_take(struct sip_proxy *p, const struct sip_peer *from, uint16_t *slot)
{
    *slot = 0;
    if (p->cfg.source_txn_max == 0 || proxy_is_inside(p, from) || proxy_is_upstream_hop(p, from)) {
        return true;
    }
    int r = sip_addr_count_take(p->src, SRC_SLOTS, from, (uint32_t)p->seed, p->cfg.source_txn_max);
    *slot = r > 0 ? (uint16_t)r : 0;
    return r >= 0;
}

static struct ptxn *new_txn(struct sip_proxy *p, const char *key, uint32_t h)
{
    /* Slots never used come last, in order: the pool's memory is only touched as the load
     * actually reaches it, so an idle proxy stays small. */
    int32_t i;
    if (p->free_head >= 0) {
        i = p->free_head;
        p->free_head = p->pool[i].hnext;
    } else if (p->pool_used < p->pool_cap) {
        i = (int32_t)p->pool_used++;
    } else {
        return NULL;
    }
    struct ptxn *t = &p->pool[i];
    uint32_t gen = t->gen;
    memset(t, 0, sizeof(*t));
    t->gen = gen;
    t->used = true;
    snprintf(t->key, sizeof(t->key), "%s", key);
    t->hash = h;
    t->hnext = p->bucket[h % TXN_BUCKETS];
    p->bucket[h % TXN_BUCKETS] = i;
    p->active++;
    p->stats.txn_created++;
    return t;
}

/* ---------- responses we generate ---------- */

/* local_tag: the To tag of a response sipring makes itself: a MAC of what identifies the
 * request (Call-ID, From tag, top Via branch), so a retransmission gets the same tag without
 * state, and the ACK of a non-2xx answer (same branch, RFC 3261 §17.1.1.3) is recognised as
 * ours even when no transaction kept it (a stateless 503). */
static void local_tag(struct sip_proxy *p, const struct sip_msg *req, char tag[17])
{
    struct sip_str parts[4] = {SIP_STR_LIT("totag"), req->call_id, req->addr[req->from].tag,
                               req->via[0].branch};
    proxy_mac_hex(p, parts, 4, tag, 16);
}

void proxy_reply(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *req, unsigned status,
                 const char *phrase, struct sip_str extra)
{
    char tag[17] = "", ip[64]; /* 100 Trying carries none */
    if (status > 100) {
        local_tag(p, req, tag);
    }
    sip_peer_ip_text(&t->from, ip, sizeof(ip));
    struct sip_reply r = {
        status,       phrase, sip_str_make(tag, strlen(tag)), sip_str_make(ip, strlen(ip)),
        t->from.port, extra};
    long n = sip_reply_build(req, &r, p->out, sizeof(p->out));
    if (n < 0) {
        return;
    }
    unsigned acts = sip_txn_server_on_send(&t->st, status, p->now);
    if (acts & SIP_TXN_SEND_RESPONSE) {
        free(t->last);
        t->last = proxy_dup(p->out, (size_t)n);
        t->last_len = t->last ? (size_t)n : 0;
        proxy_send(p, &t->from, p->out, (size_t)n);
        p->stats.replied++;
        if (status >= 200) {
            t->answered_final = true;
        }
    }
    proxy_rearm(p, t);
    proxy_maybe_free(p, t);
}

/* A response without a transaction (pool full, draining): sent once, statelessly. */
static void reply_stateless(struct sip_proxy *p, const struct sip_peer *from,
                            const struct sip_msg *req, unsigned status, const char *phrase,
                            struct sip_str extra)
{
    char ip[64], tag[17];
    sip_peer_ip_text(from, ip, sizeof(ip));
    local_tag(p, req, tag);
    struct sip_reply r = {status,     phrase, sip_str_make(tag, 16), sip_str_make(ip, strlen(ip)),
                          from->port, extra};
    long n = sip_reply_build(req, &r, p->out, sizeof(p->out));
    if (n > 0) {
        proxy_send(p, from, p->out, (size_t)n);
        p->stats.stateless++;
    }
}

/* ---------- forwarding ---------- */

/* §16.6 step 8 + §16.3 step 4: the branch carries a hash of what identifies the request at this
 * hop, so that the same request coming back (a loop, not a spiral) is recognised. */
static uint32_t loop_hash(const struct sip_msg *m)
{
    uint32_t h = fnv_str(m->ruri.raw, SIP_FNV_INIT);
    h = fnv_str(m->addr[m->from].tag, h);
    h = fnv_str(m->addr[m->to].tag, h);
    h = fnv_str(m->call_id, h);
    h = fnv((const char *)&m->cseq, sizeof(m->cseq), h);
    const struct sip_hdr *r = sip_msg_first(m, SIP_HDR_ROUTE);
    return r ? fnv_str(r->value, h) : h;
}

static bool is_looped(const struct sip_proxy *p, const struct sip_msg *m)
{
    char want[16];
    snprintf(want, sizeof(want), "-%08x", loop_hash(m));
    for (unsigned i = 0; i < m->via_count; i++) {
        const struct sip_via *v = &m->via[i];
        struct sip_peer peer;
        if (sip_peer_from_text(v->host, v->has_port ? v->port : 5060, &peer) != 0) {
            continue;
        }
        if (proxy_peer_is_self(p, &peer) && v->branch.len >= 9 &&
            memcmp(v->branch.p + v->branch.len - 9, want, 9) == 0) {
            return true;
        }
    }
    return false;
}

static bool dialog_forming(const struct sip_msg *m)
{
    return !m->addr[m->to].has_tag &&
           (m->method_id == SIP_METHOD_INVITE || m->method_id == SIP_METHOD_SUBSCRIBE ||
            m->method_id == SIP_METHOD_REFER);
}

/* RFC 3261 §18.2.1 and RFC 3581 §4: the previous hop's Via gets received when its sent-by is
 * not the address the request came from, and its rport filled in when it asked for one, so
 * that responses and the next hops see the address that really works through a NAT. */
static void fix_top_via(struct sip_build *bd, const struct sip_msg *m, const struct sip_peer *from)
{
    const struct sip_via *v = &m->via[0];
    struct sip_peer sent_by;
    bool same =
        sip_peer_from_text(v->host, from->port, &sent_by) == 0 && sip_peer_same_ip(&sent_by, from);
    bool want_rport = v->has_rport && v->rport_value.len == 0;
    if ((same && !want_rport) || v->has_received) {
        return;
    }
    char ip[64], line[1024];
    sip_peer_ip_text(from, ip, sizeof(ip));
    long n = sip_reply_top_via(m, sip_str_make(ip, strlen(ip)), from->port, line, sizeof(line));
    if (n > 0) {
        sip_build_replace(bd, sip_msg_first(m, SIP_HDR_VIA),
                          sip_build_fmt(bd, "%.*s", (int)n, line));
    }
}

#define SIZE_UDP_MAX 1300
#define SIZE_ADDED_BY_US 200

/* Builds and sends one branch of t for the request m. */
static int forward_branch(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m,
                          const struct target *tg, bool pop_route)
{
    if (t->nbranch >= MAX_BRANCHES) {
        return -1;
    }
    int bi = t->nbranch;
    struct branch *b = &t->br[bi];
    memset(b, 0, sizeof(*b));
    /* RFC 3261 §18.1.1: "If a request is within 200 bytes of the path MTU, or if it is larger
     * than 1300 bytes and the path MTU is unknown, the request MUST be sent using ... TCP."
     * The size is known only once built, so it is estimated from the request as received plus
     * what this hop adds (Via, two Record-Routes). Where sipring listens on TCP itself and the
     * hop is not a UA's own flow (a UA registered over UDP, maybe behind NAT, may take no
     * connection), the branch goes over TCP to the same address; if that connection fails,
     * the request is sent again over UDP (sip_proxy_on_unreachable, "the element SHOULD retry
     * the request, using UDP"). */
    struct target by_size;
    if (tg->hop.transport == SIP_TP_UDP && !tg->is_flow && !t->force_udp && p->cfg.tcp_port != 0 &&
        m->len + SIZE_ADDED_BY_US > SIZE_UDP_MAX) {
        by_size = *tg;
        by_size.hop.transport = SIP_TP_TCP;
        by_size.hop.conn = 0;
        tg = &by_size;
        b->size_switched = true;
    }
    struct sip_peer back;
    if (proxy_via_back(&m->via[0], &t->from, &back) != 0) {
        back = t->from;
    }
    proxy_branch_id(p, m, (uint32_t)(t - p->pool), t->gen, bi, (uint32_t)(p->counter++ ^ p->seed),
                    &back, loop_hash(m), b->id, sizeof(b->id));
    struct sip_build bd;
    sip_build_init(&bd, m, p->iov, sizeof(p->iov) / sizeof(p->iov[0]), p->scratch,
                   sizeof(p->scratch));
    if (sip_str_is_set(tg->ruri)) {
        sip_build_start_line(&bd, sip_build_fmt(&bd, "%.*s %.*s SIP/2.0\r\n", (int)m->method.len,
                                                m->method.p, (int)tg->ruri.len, tg->ruri.p));
    }
    if (pop_route) {
        sip_build_remove(&bd, sip_msg_first(m, SIP_HDR_ROUTE));
    }
    if (tg->drop != NULL && !(pop_route && tg->drop == sip_msg_first(m, SIP_HDR_ROUTE))) {
        sip_build_remove(&bd, tg->drop);
    }
    fix_top_via(&bd, m, &t->from);
    proxy_nat_masquerade(p, m, &bd, &t->from, &tg->hop);
    if (tg->path.len > 0) {
        sip_build_prepend(&bd,
                          sip_build_fmt(&bd, "Route: %.*s\r\n", (int)tg->path.len, tg->path.p));
    }
    if (dialog_forming(m)) {
        /* RFC 5658 §4: a request that crosses from one side to the other (inside to outside,
         * or back) gets two Record-Routes, each naming the address its side can reach; the
         * one facing the next hop on top. */
        char prev[100], next[100], proof[PROXY_RR_PROOF_MAX];
        proxy_side_route(p, &t->from, prev, sizeof(prev));
        proxy_side_route(p, &tg->hop, next, sizeof(next));
        proxy_rr_proof(p, m, &t->from, &tg->hop, proof, sizeof(proof));
        if (strcmp(prev, next) != 0) {
            sip_build_prepend(&bd,
                              sip_build_fmt(&bd, "Record-Route: <sip:%s;lr%s>\r\n", prev, proof));
        }
        sip_build_prepend(&bd, sip_build_fmt(&bd, "Record-Route: <sip:%s;lr%s>\r\n", next, proof));
    }
    sip_build_prepend(&bd, sip_build_fmt(&bd, "Via: SIP/2.0/%s %s;branch=%s\r\n",
                                         sip_transport_name(tg->hop.transport),
                                         proxy_side_addr(p, &tg->hop), b->id));
    const struct sip_hdr *mf = sip_msg_first(m, SIP_HDR_MAX_FORWARDS);
    if (mf != NULL) {
        sip_build_replace(&bd, mf, sip_build_fmt(&bd, "Max-Forwards: %d\r\n", m->max_forwards - 1));
    } else {
        sip_build_append(&bd, SIP_STR_LIT("Max-Forwards: 70\r\n"));
    }
    proxy_trunk_cseq_out(p, m, &bd);
    if (tg->is_upstream) {
        proxy_trunk_note_upstream(p, &tg->hop);
        note_upstream_hop(p, &tg->hop);
    }
    int media_rc = proxy_media_rewrite(p, m, &bd, &t->from, &tg->hop, true);
    if (media_rc == SIP_MEDIA_FULL && t->is_initial_invite) {
        return -2; /* forward_or_fail answers 503 */
    }
    if (media_rc == SIP_MEDIA_REFUSED) {
        return -3; /* forward_or_fail answers 488 */
    }
    if (m->method_id == SIP_METHOD_BYE) {
        proxy_media_end(p, m->call_id);
        proxy_trunk_dialog_end(p, m);
    }
    long n = sip_build_finish(&bd);
    if (n < 0 || (size_t)n > sizeof(p->out) ||
        sip_build_flatten(bd.iov, bd.iov_n, p->out, sizeof(p->out)) != n) {
        return -1;
    }
    b->req = proxy_dup(p->out, (size_t)n);
    if (b->req == NULL) {
        return -1;
    }
    b->req_len = (size_t)n;
    b->to = tg->hop;
    t->nbranch++;
    sip_txn_client_start(&b->ct, m->method_id == SIP_METHOD_INVITE, b->to.transport != SIP_TP_UDP,
                         &p->cfg.timers, p->now);
    if (m->method_id == SIP_METHOD_INVITE) {
        b->timer_c_at = p->now + (p->cfg.timer_c_ms ? p->cfg.timer_c_ms : 180000);
    }
    p->send_name = tg->name[0] != '\0' ? tg->name : NULL;
    proxy_send(p, &b->to, b->req, b->req_len);
    p->send_name = NULL;
    p->stats.forwarded++;
    return 0;
}

/* fail_reply: answers a request no branch could be forwarded for, by forward_branch's code:
 * 503 with Retry-After when the media relay is full, 488 when media policy refuses the offer,
 * 500 otherwise. */
static void fail_reply(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m, int rc)
{
    if (rc == -2) {
        proxy_reply(p, t, m, 503, "Service Unavailable (media relay full)",
                    SIP_STR_LIT("Retry-After: 10\r\n"));
    } else if (rc == -3) {
        proxy_reply(p, t, m, 488, "Not Acceptable Here (SRTP required)", SIP_STR_NULL);
    } else {
        proxy_reply(p, t, m, 500, "Server Internal Error", SIP_STR_NULL);
    }
}

/* flow_failed_reply: the only ways to the target were flows that have closed. RFC 5626 §5.3:
 * "If the flow is no longer available, the proxy MUST respond with a 430 (Flow Failed)" to a
 * UA that registered with outbound, which then registers a new flow; other UAs are simply
 * not reachable until they register again (480). */
static void flow_failed_reply(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m,
                              bool outbound)
{
    if (outbound) {
        proxy_reply(p, t, m, 430, "Flow Failed", SIP_STR_NULL);
    } else {
        proxy_reply(p, t, m, 480, "Temporarily Unavailable (connection closed)",
                    SIP_STR_LIT("Retry-After: 30\r\n"));
    }
}

/* forward_or_fail: forward_branch, answering the request with fail_reply when that fails. */
static void forward_or_fail(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m,
                            const struct target *tg, bool pop_route)
{
    int rc = forward_branch(p, t, m, tg, pop_route);
    if (rc != 0) {
        fail_reply(p, t, m, rc);
    }
}

/* Forwards a request without a transaction (the ACK of a 2xx, §16.11 stateless branch). */
static void forward_stateless(struct sip_proxy *p, const struct sip_msg *m, const struct target *tg,
                              bool pop_route)
{
    struct sip_build bd;
    sip_build_init(&bd, m, p->iov, sizeof(p->iov) / sizeof(p->iov[0]), p->scratch,
                   sizeof(p->scratch));
    if (sip_str_is_set(tg->ruri)) {
        sip_build_start_line(&bd, sip_build_fmt(&bd, "%.*s %.*s SIP/2.0\r\n", (int)m->method.len,
                                                m->method.p, (int)tg->ruri.len, tg->ruri.p));
    }
    if (pop_route) {
        sip_build_remove(&bd, sip_msg_first(m, SIP_HDR_ROUTE));
    }
    if (tg->drop != NULL) {
        sip_build_remove(&bd, tg->drop);
    }
    uint32_t h = fnv_str(m->via[0].branch, (uint32_t)p->seed);
    sip_build_prepend(&bd, sip_build_fmt(&bd, "Via: SIP/2.0/%s %s;branch=z9hG4bKsl%08x\r\n",
                                         sip_transport_name(tg->hop.transport),
                                         proxy_side_addr(p, &tg->hop), fnv_str(m->call_id, h)));
    const struct sip_hdr *mf = sip_msg_first(m, SIP_HDR_MAX_FORWARDS);
    if (mf != NULL) {
        sip_build_replace(&bd, mf, sip_build_fmt(&bd, "Max-Forwards: %d\r\n", m->max_forwards - 1));
    }
    proxy_trunk_cseq_out(p, m, &bd);
    if (p->in_from != NULL) {
        /* an answer in a 2xx's ACK updates a running call; it opens no ports for one that
         * has ended */
        if (proxy_media_rewrite(p, m, &bd, p->in_from, &tg->hop, false) == SIP_MEDIA_NO_CALL) {
            return;
        }
        proxy_nat_masquerade(p, m, &bd, p->in_from, &tg->hop);
    }
    if (sip_build_finish(&bd) > 0) {
        p->send_name = tg->name[0] != '\0' ? tg->name : NULL;
        proxy_send_iov(p, &tg->hop, bd.iov, bd.iov_n);
        p->send_name = NULL;
        p->stats.stateless++;
    }
}

/* §16.4: strict-router fix and removal of our own top Route. Returns whether the top Route is
 * ours (to be removed); *next gets the URI to route on: the top remaining Route or the R-URI. */
static bool route_processing(struct sip_proxy *p, const struct sip_msg *m,
                             const struct sip_uri **next, const struct sip_hdr **second)
{
    const struct sip_hdr *r = sip_msg_first(m, SIP_HDR_ROUTE);
    bool pop = false;
    *second = NULL;
    if (r != NULL && proxy_uri_is_self(p, &m->addr[r->item].uri)) {
        pop = true;
        r = sip_msg_next(m, r);
        /* RFC 5658: our double Record-Route comes back as two Routes of ours. */
        if (r != NULL && proxy_uri_is_self(p, &m->addr[r->item].uri)) {
            *second = r;
            r = sip_msg_next(m, r);
        }
    }
    *next = r ? &m->addr[r->item].uri : &m->ruri;
    return pop;
}

/* ---------- requests ---------- */

static void on_ack(struct sip_proxy *p, const struct sip_peer *from, const struct sip_msg *m)
{
    char key[KEY_MAX];
    make_key(m, SIP_STR_LIT("INVITE"), key);
    struct ptxn *t = find_server(p, key, fnv(key, strlen(key), SIP_FNV_INIT));
    if (t != NULL && t->st.state != SIP_TXN_ACCEPTED) {
        /* The ACK of a non-2xx final response is hop-by-hop: ours to absorb (§16.7 note). */
        sip_txn_server_on_request(&t->st, true, p->now);
        p->stats.absorbed++;
        proxy_rearm(p, t);
        proxy_maybe_free(p, t);
        return;
    }
    if (t == NULL && m->addr[m->to].has_tag && m->addr[m->to].tag.len == 16) {
        /* the ACK of a final answer sipring gave without keeping a transaction (503 when the
         * pool was full): hop-by-hop as well, never forwarded (issue 17) */
        char tag[17];
        local_tag(p, m, tag);
        if (memcmp(tag, m->addr[m->to].tag.p, 16) == 0) {
            p->stats.absorbed++;
            return;
        }
    }
    const struct sip_uri *next;
    const struct sip_hdr *second;
    bool pop = route_processing(p, m, &next, &second);
    struct target tg = {.drop = second};
    /* The same relay rule as for other requests: inside, or along a dialog we record-routed. */
    if (!pop && !proxy_is_inside(p, from)) {
        return;
    }
    if (m->max_forwards == 0 || is_looped(p, m)) {
        return; /* an ACK is never answered */
    }
    struct sip_binding b;
    int tok = m->ruri.user.len > 0 ? proxy_nat_target(p, &m->ruri, &b) : 1;
    if (tok == 0) {
        /* to a Contact sipring stands in for: the UA's own Contact, through its flow, or
         * along the Routes left after ours (the same rule as route_request's) */
        snprintf(p->masq_uri, sizeof(p->masq_uri), "%s", b.contact);
        tg.ruri = sip_str_make(p->masq_uri, strlen(p->masq_uri));
        tg.hop = b.received;
        if (next == &m->ruri && b.flow_failed) {
            return; /* an ACK is never answered; its flow is gone */
        }
        if (next != &m->ruri &&
            (proxy_resolve(p, next, &tg.hop, tg.name) != 0 ||
             (!proxy_is_inside(p, from) &&
              proxy_is_inside(p, &tg.hop) != proxy_is_inside(p, &b.received)))) {
            return;
        }
    } else if (pop && proxy_nat_route_flow(p, m, &b)) {
        /* along our Path's flow token: the R-URI stays, the flow is the way */
        if (b.flow_failed) {
            return;
        }
        tg.hop = b.received;
    } else {
        /* the same next hop as the INVITE had: --upstream for a domain not served here */
        struct sip_uri up;
        const struct sip_uri *hop_uri = next;
        if (next == &m->ruri && p->cfg.upstream[0] != '\0' && !proxy_domain_served(p, &m->ruri) &&
            !proxy_uri_is_self(p, &m->ruri) &&
            sip_uri_parse(sip_str_make(p->cfg.upstream, strlen(p->cfg.upstream)), &up) == 0) {
            hop_uri = &up;
        }
        if (proxy_resolve(p, hop_uri, &tg.hop, tg.name) != 0) {
            return;
        }
        /* from the outside, only along a dialog sipring record-routed towards that hop */
        if (!proxy_is_inside(p, from) &&
            !proxy_rr_allows(p, m, &m->addr[sip_msg_first(m, SIP_HDR_ROUTE)->item].uri, &tg.hop)) {
            p->stats.not_relayed++;
            return;
        }
    }
    forward_stateless(p, m, &tg, pop);
}

static void on_cancel(struct sip_proxy *p, const struct sip_peer *from, const struct sip_msg *m,
                      struct ptxn *ct)
{
    char key[KEY_MAX];
    make_key(m, SIP_STR_LIT("INVITE"), key);
    struct ptxn *inv = find_server(p, key, fnv(key, strlen(key), SIP_FNV_INIT));
    (void)from;
    if (inv == NULL || inv->answered_final) {
        proxy_reply(p, ct, m, 481, "Call/Transaction Does Not Exist", SIP_STR_NULL);
        return;
    }
    /* §16.10: answer the CANCEL, then cancel every pending branch; the INVITE gets its final
     * response (487) from the branches. */
    proxy_reply(p, ct, m, 200, "OK", SIP_STR_NULL);
    proxy_cancel_branches(p, inv, -1);
}

/* Location lookup for a served domain; returns the number of targets. */
static size_t location_targets(struct sip_proxy *p, const struct sip_msg *m, struct sip_binding *bs,
                               size_t cap)
{
    char aor[SIP_LOC_AOR_MAX];
    if (sip_aor_of(&m->ruri, aor, sizeof(aor)) == 0) {
        return 0;
    }
    return p->loc->ops->lookup(p->loc->self, aor, p->now, bs, cap);
}

/* not_relaying: the answer to a request from the outside that proves no state of ours (RFC
 * 3261 §16.3 step 4 leaves relaying to local policy; sipring's is in README "Trust model"). */
static void not_relaying(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m,
                         const char *why)
{
    p->stats.not_relayed++;
    if (p->sink.debug) {
        char ip[64];
        sip_peer_ip_text(&t->from, ip, sizeof(ip));
        proxy_debug(p, "not relaying %.*s from %s: %s", (int)m->method.len, m->method.p, ip, why);
    }
    proxy_reply(p, t, m, 403, "Not relaying", SIP_STR_NULL);
}

/* §16.4: "If the Request-URI contains a value this proxy previously placed into a Record-Route
 * header field, the proxy MUST replace the Request-URI in the request with the last value from
 * the Route header field, and remove that value" (the previous hop was a strict router). */
static bool strict_router_fix(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m,
                              bool inside)
{
    if (m->count[SIP_HDR_ROUTE] == 0 || !proxy_uri_is_self(p, &m->ruri) || m->ruri.user.len > 0) {
        return false;
    }
    const struct sip_hdr *last = NULL, *first = sip_msg_first(m, SIP_HDR_ROUTE);
    for (const struct sip_hdr *h = first; h; h = sip_msg_next(m, h)) {
        last = h;
    }
    const struct sip_uri *dest = &m->addr[last->item].uri;
    bool pop = first != last && proxy_uri_is_self(p, &m->addr[first->item].uri);
    const struct sip_hdr *next_route = pop ? sip_msg_next(m, first) : first;
    const struct sip_uri *hop_uri =
        next_route != NULL && next_route != last ? &m->addr[next_route->item].uri : dest;
    struct target tg = {.ruri = dest->raw, .drop = last};
    if (!inside && !proxy_rr_has_proof(&m->ruri)) {
        not_relaying(p, t, m, "strict route without our proof");
        return true;
    }
    if (proxy_resolve(p, hop_uri, &tg.hop, tg.name) != 0) {
        proxy_reply(p, t, m, 503, "Service Unavailable (cannot resolve next hop)", SIP_STR_NULL);
    } else if (!inside && !proxy_rr_allows(p, m, &m->ruri, &tg.hop)) {
        /* the Request-URI must be a Record-Route of ours for this dialog and direction: a
         * stranger's "INVITE sip:<us>" with a Route to anywhere is not a strict router's */
        not_relaying(p, t, m, "strict route");
    } else {
        forward_or_fail(p, t, m, &tg, pop);
    }
    return true;
}

/* register_admitted: without users to challenge, anyone who can send sipring a REGISTER could
 * bind (or remove, with "*") any user's contacts: RFC 3261 §10.3 step 3 has the registrar
 * authenticate, §26.1.1 names the hijack. Without --users, only the inside registers, unless
 * the operator opened the registrar to the outside explicitly (--open-registrar). */
static void register_admitted(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m,
                              bool inside)
{
    if (p->auth == NULL && !inside && !p->cfg.open_registrar) {
        p->stats.not_relayed++;
        proxy_reply(p, t, m, 403, "Registration only from the inside", SIP_STR_NULL);
        return;
    }
    proxy_register(p, t, m);
}

/* in_dialog_proved: m carries a Record-Route of ours (now its top Route) whose proof says the
 * sender is one end of the dialog it names: not a To tag anyone can make up. */
static bool in_dialog_proved(const struct sip_proxy *p, const struct sip_msg *m,
                             const struct sip_peer *from)
{
    const struct sip_hdr *r = sip_msg_first(m, SIP_HDR_ROUTE);
    return r != NULL && m->addr[m->to].has_tag && proxy_uri_is_self(p, &m->addr[r->item].uri) &&
           proxy_rr_allows(p, m, &m->addr[r->item].uri, from);
}

/* auth_ok: RFC 3261 §22: with users configured, every REGISTER to a served domain (401),
 * whatever Route it carries, and every request from the inside that is relayed out of a
 * dialog (407) must carry valid digest credentials; false when it was answered with a
 * challenge (or a 403) instead. ACK and CANCEL cannot be challenged (§22.1); requests to
 * sipring itself are answered here; REGISTERs to other domains go to their own registrar,
 * which authenticates them. Calls from the outside to our users are not challenged: a
 * provider cannot know our users' passwords. */
static bool auth_ok(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m)
{
    bool reg = m->method_id == SIP_METHOD_REGISTER && proxy_domain_served(p, &m->ruri);
    bool to_us = proxy_uri_is_self(p, &m->ruri) && m->ruri.user.len == 0 &&
                 sip_msg_first(m, SIP_HDR_ROUTE) == NULL;
    if (p->auth == NULL || t->authed) {
        return true;
    }
    bool out = !reg && m->method_id != SIP_METHOD_REGISTER && m->method_id != SIP_METHOD_ACK &&
               m->method_id != SIP_METHOD_CANCEL && !to_us && proxy_is_inside(p, &t->from) &&
               !in_dialog_proved(p, m, &t->from);
    if (!reg && !out) {
        return true;
    }
    char realm[64];
    if (reg) {
        snprintf(realm, sizeof(realm), "%.*s", (int)(m->ruri.host.len < 63 ? m->ruri.host.len : 63),
                 m->ruri.host.p);
    } else {
        snprintf(realm, sizeof(realm), "%s", p->cfg.domains[0]);
    }
    char hdrs[1024];
    enum sip_auth_result r =
        p->auth->ops->check(p->auth->self, m, !reg, realm, p->now, hdrs, sizeof(hdrs));
    if (r == SIP_AUTH_OK) {
        t->authed = true; /* a DNS wait or fail-over routes it again: one check */
        return true;
    }
    if (r == SIP_AUTH_FAILED || r == SIP_AUTH_FORBIDDEN || r == SIP_AUTH_LOCKED_WRONG) {
        p->stats.auth_failed++;
        if (p->sink.auth_failed != NULL) {
            p->sink.auth_failed(p->sink.ctx, &t->from);
        }
    }
    if (r == SIP_AUTH_FORBIDDEN) {
        proxy_reply(p, t, m, 403, "Forbidden (credentials not for this address)", SIP_STR_NULL);
    } else if (r == SIP_AUTH_LOCKED || r == SIP_AUTH_LOCKED_WRONG) {
        proxy_reply(p, t, m, 403, "Forbidden (account locked after failures, retry later)",
                    SIP_STR_LIT("Retry-After: 60\r\n"));
    } else {
        proxy_reply(p, t, m, reg ? 401 : 407,
                    reg ? "Unauthorized" : "Proxy Authentication Required",
                    sip_str_make(hdrs, strlen(hdrs)));
    }
    return false;
}

void sip_proxy_set_auth(struct sip_proxy *p, struct sip_auth *a)
{
    p->auth = a;
}

static void route_request(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m)
{
    if (!auth_ok(p, t, m)) {
        return;
    }
    bool inside = proxy_is_inside(p, &t->from);
    if (strict_router_fix(p, t, m, inside)) {
        return;
    }
    const struct sip_uri *next;
    const struct sip_hdr *second;
    bool pop = route_processing(p, m, &next, &second);
    bool has_route = next != &m->ruri;
    const struct sip_hdr *top_route = sip_msg_first(m, SIP_HDR_ROUTE);
    /* Requests addressed to us, not to a user: answered here. */
    if (!has_route && proxy_uri_is_self(p, &m->ruri) && m->ruri.user.len == 0) {
        if (m->method_id == SIP_METHOD_REGISTER) {
            register_admitted(p, t, m, inside);
        } else if (m->method_id == SIP_METHOD_OPTIONS) {
            proxy_reply(p, t, m, 200, "OK",
                        SIP_STR_LIT("Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, PRACK, "
                                    "UPDATE, INFO, MESSAGE, SUBSCRIBE, NOTIFY, REFER\r\n"));
        } else {
            proxy_reply(p, t, m, 501, "Not Implemented", SIP_STR_NULL);
        }
        return;
    }
    /* A Contact sipring put in place of a NATed UA's own (RFC 3261 §12.2.1.1 makes it the
     * Request-URI of every request in the dialog): always translated back, whatever Routes
     * remain. Without Routes after ours, the request goes down the UA's flow; with them, it
     * follows them (§16.12) and the token's Contact is the UA's behind the last of them. */
    struct sip_binding tb;
    int tok = m->ruri.user.len > 0 ? proxy_nat_target(p, &m->ruri, &tb) : 1;
    if (tok < 0) {
        proxy_reply(p, t, m, 404, "Not Found (binding expired)", SIP_STR_NULL);
        return;
    }
    if (tok == 0) {
        snprintf(p->masq_uri, sizeof(p->masq_uri), "%s", tb.contact);
        if (!has_route && tb.flow_failed) {
            flow_failed_reply(p, t, m, tb.outbound);
            return;
        }
        if (!has_route) {
            struct target tg = {.ruri = sip_str_make(p->masq_uri, strlen(p->masq_uri)),
                                .hop = tb.received,
                                .is_flow = true,
                                .drop = second};
            forward_or_fail(p, t, m, &tg, pop);
            return;
        }
    }
    if (!has_route && proxy_domain_served(p, &m->ruri)) {
        if (m->method_id == SIP_METHOD_REGISTER) {
            register_admitted(p, t, m, inside);
            return;
        }
        struct sip_binding bs[MAX_BRANCHES];
        size_t n = location_targets(p, m, bs, MAX_BRANCHES);
        if (n == 0) {
            proxy_reply(p, t, m, 404, "Not Found", SIP_STR_NULL);
            return;
        }
        int last = 0;
        size_t failed_flows = 0;
        bool outbound = false;
        for (size_t i = 0; i < n; i++) {
            if (bs[i].flow_failed) {
                failed_flows++; /* its connection is gone: RFC 5626 §5.3, no new one */
                outbound |= bs[i].outbound;
                continue;
            }
            struct target tg = {.ruri = sip_str_make(bs[i].contact, strlen(bs[i].contact)),
                                .hop = bs[i].received,
                                .is_flow = true,
                                .path = sip_str_make(bs[i].path, strlen(bs[i].path))};
            /* The Contact's own address is the target (§16.5), unless the UA registered from
             * behind NAT (its Contact's IP is not the one the REGISTER came from): then the
             * flow it registered over, its NAT binding, is the only way in. */
            struct sip_uri cu;
            if (sip_uri_parse(tg.ruri, &cu) == 0) {
                struct sip_peer hop;
                /* a UA registered over a stream is reached over that connection, as most
                 * cannot accept one (RFC 5626 §4.2 and RFC 5923's reasoning) */
                if (proxy_resolve(p, &cu, &hop, tg.name) == 0 && !bs[i].behind_nat &&
                    bs[i].received.transport == SIP_TP_UDP) {
                    tg.hop = hop;
                }
            }
            struct sip_uri pu;
            struct sip_addr pa;
            /* With a Path, the request goes to its first element (RFC 3327 §5.3). */
            const char *comma = strchr(bs[i].path, ',');
            size_t first_len = comma ? (size_t)(comma - bs[i].path) : strlen(bs[i].path);
            if (first_len > 0 &&
                sip_addr_decode(sip_str_make(bs[i].path, first_len), &pa, false) == 0) {
                pu = pa.uri;
                if (proxy_resolve(p, &pu, &tg.hop, tg.name) != 0) {
                    continue;
                }
            }
            last = forward_branch(p, t, m, &tg, pop);
        }
        if (t->nbranch == 0 && failed_flows == n) {
            flow_failed_reply(p, t, m, outbound);
        } else if (t->nbranch == 0) {
            fail_reply(p, t, m, last);
        }
        return;
    }
    /* Not ours to serve: relay only for the inside, along a dialog we record-routed (a
     * request with a To tag and our Route), or into the flow our Path token names. A new
     * request from the outside with a Route to us preloaded would otherwise make sipring an
     * open relay to anywhere (toll fraud through the edge). */
    struct target tg = {.drop = second};
    if (tok == 0) {
        tg.ruri = sip_str_make(p->masq_uri, strlen(p->masq_uri));
    }
    struct sip_binding fb;
    bool flow = tok != 0 && pop && proxy_nat_route_flow(p, m, &fb);
    if (flow) {
        tg.hop = fb.received;
        tg.is_flow = true;
    }
    if (!inside && !pop) {
        not_relaying(p, t, m, "no Route of ours");
        return;
    }
    if (!inside && !flow && tok != 0 && !proxy_rr_has_proof(&m->addr[top_route->item].uri)) {
        not_relaying(p, t, m, "our Route without its proof");
        return;
    }
    if (flow) {
        /* our Path (RFC 3327) with a flow token: the UA behind it, through its NAT binding */
        if (fb.flow_failed) {
            flow_failed_reply(p, t, m, fb.outbound);
            return;
        }
        forward_or_fail(p, t, m, &tg, pop);
        return;
    }
    struct sip_uri up;
    const struct sip_uri *hop_uri = next;
    if (!has_route && p->cfg.upstream[0] != '\0' &&
        sip_uri_parse(sip_str_make(p->cfg.upstream, strlen(p->cfg.upstream)), &up) == 0) {
        hop_uri = &up;
        tg.is_upstream = true;
    }
    p->resolve_skip = t->dns_skip;
    int rc = proxy_resolve(p, hop_uri, &tg.hop, tg.name);
    p->resolve_skip = 0;
    if (rc == 1) {
        t->dns_wait = true; /* sip_proxy_on_resolved goes on */
        p->dns_parked++;
        return;
    }
    t->dns_more = rc == 0 && p->resolve_more;
    if (rc != 0) {
        proxy_reply(p, t, m, 503, "Service Unavailable (cannot resolve next hop)", SIP_STR_NULL);
        return;
    }
    if (tok == 0 && !inside && proxy_is_inside(p, &tg.hop) != proxy_is_inside(p, &tb.received)) {
        /* the Routes left after ours must lead towards the UA the token names, not elsewhere */
        not_relaying(p, t, m, "Routes after a token lead elsewhere");
        return;
    }
    if (tok != 0 && !inside && !proxy_rr_allows(p, m, &m->addr[top_route->item].uri, &tg.hop)) {
        /* our Route without the proof of this dialog and direction: a Route anyone can write */
        not_relaying(p, t, m, "Route without a valid proof");
        return;
    }
    forward_or_fail(p, t, m, &tg, pop);
}

void proxy_reroute(struct sip_proxy *p, struct ptxn *t)
{
    if (sip_msg_parse(&p->reroute, t->req, t->req_len, SIP_PARSE_DGRAM, NULL) <= 0) {
        return;
    }
    route_request(p, t, &p->reroute);
}

void sip_proxy_set_resolver(struct sip_proxy *p, struct sip_resolver *r)
{
    p->resolver = r;
}

void sip_proxy_on_resolved(struct sip_proxy *p, uint64_t now)
{
    p->now = now;
    for (uint32_t i = 0; i < p->pool_used && p->dns_parked > 0; i++) {
        struct ptxn *t = &p->pool[i];
        if (t->used && t->dns_wait) {
            t->dns_wait = false;
            p->dns_parked--;
            proxy_reroute(p, t);
            proxy_rearm(p, t);
            proxy_maybe_free(p, t);
        }
    }
}

/* §16.3 request validation. Returns 0, or the status it answered with. */
static unsigned validate(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m)
{
    if (m->ruri.scheme == SIP_SCHEME_OTHER) {
        proxy_reply(p, t, m, 416, "Unsupported URI Scheme", SIP_STR_NULL);
        return 416;
    }
    if (m->max_forwards == 0) {
        proxy_reply(p, t, m, 483, "Too Many Hops", SIP_STR_NULL);
        return 483;
    }
    if (is_looped(p, m)) {
        proxy_reply(p, t, m, 482, "Loop Detected", SIP_STR_NULL);
        return 482;
    }
    const struct sip_hdr *pr = sip_msg_first(m, SIP_HDR_PROXY_REQUIRE);
    if (pr != NULL) {
        /* sipring supports no extension that needs proxy support: list them all back. */
        char *u = p->scratch;
        size_t used = (size_t)snprintf(u, sizeof(p->scratch), "Unsupported: ");
        for (; pr; pr = sip_msg_next(m, pr)) {
            int n = snprintf(u + used, sizeof(p->scratch) - used, "%s%.*s", used > 13 ? ", " : "",
                             (int)pr->value.len, pr->value.p);
            used = n < 0 ? used : used + (size_t)n;
            if (used >= sizeof(p->scratch) - 4) {
                break;
            }
        }
        used += (size_t)snprintf(u + used, sizeof(p->scratch) - used, "\r\n");
        proxy_reply(p, t, m, 420, "Bad Extension", sip_str_make(u, used));
        return 420;
    }
    return 0;
}

/* is_scanner: a User-Agent of the tools that sweep the internet for open SIP servers and weak
 * passwords (SIPVicious' "friendly-scanner" and its renames, sipsak floods, ...). Answering
 * them confirms a target; they get nothing. */
static bool is_scanner(const struct sip_msg *m)
{
    static const char *const tools[] = {
        "friendly-scanner", "sipvicious", "sipcli", "sip-scan",   "sipsak",    "sundayddr", "iwar",
        "vaxsipuseragent",  "pplsip",     "smap",   "sip hacker", "voipbuster"};
    const struct sip_hdr *ua = sip_msg_first(m, SIP_HDR_USER_AGENT);
    if (ua == NULL) {
        return false;
    }
    for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
        size_t n = strlen(tools[i]);
        for (size_t k = 0; k + n <= ua->value.len; k++) {
            if (sip_str_ieq(sip_str_make(ua->value.p + k, n), sip_str_make(tools[i], n))) {
                return true;
            }
        }
    }
    return false;
}

static void on_request(struct sip_proxy *p, const struct sip_peer *from, const struct sip_msg *m,
                       const char *buf, size_t len)
{
    if (is_scanner(m)) {
        if (p->stats.scanners++ % 1000 == 0) {
            char ip[64];
            sip_peer_ip_text(from, ip, sizeof(ip));
            proxy_log(p, "dropped a request from a SIP scanner at %s (%llu so far on this worker)",
                      ip, (unsigned long long)p->stats.scanners + 0ull);
        }
        return;
    }
    if (m->method_id == SIP_METHOD_ACK) {
        on_ack(p, from, m);
        return;
    }
    char key[KEY_MAX];
    make_key(m, m->cseq_method, key);
    uint32_t h = fnv(key, strlen(key), SIP_FNV_INIT);
    struct ptxn *t = find_server(p, key, h);
    if (t != NULL) {
        /* A retransmission: the server transaction decides (§17.2.1, §17.2.2). */
        unsigned acts = sip_txn_server_on_request(&t->st, false, p->now);
        p->stats.absorbed++;
        if ((acts & SIP_TXN_SEND_RESPONSE) && t->last != NULL) {
            proxy_send(p, &t->from, t->last, t->last_len);
        }
        return;
    }
    if (p->draining) {
        reply_stateless(p, from, m, 503, "Service Unavailable", SIP_STR_LIT("Retry-After: 5\r\n"));
        p->stats.txn_refused++;
        return;
    }
    uint16_t slot;
    if (!src_take(p, from, &slot)) {
        /* one outside address holds its share of the pool: it waits, the others go on */
        if (p->stats.source_capped++ % 1000 == 0) {
            char ip[64];
            sip_peer_ip_text(from, ip, sizeof(ip));
            proxy_log(p,
                      "%s holds %u transactions (--max-source-transactions): 503 to its "
                      "new requests (%llu so far on this worker)",
                      ip, p->cfg.source_txn_max, (unsigned long long)p->stats.source_capped);
        }
        reply_stateless(p, from, m, 503, "Service Unavailable (too many transactions from you)",
                        SIP_STR_LIT("Retry-After: 5\r\n"));
        return;
    }
    /* The last tenth of the pool is kept for requests that end or carry calls already set
     * up (in a dialog: BYE, re-INVITE, UPDATE; and CANCEL): under overload new calls are
     * refused first, and the calls in progress can still be hung up (issue 17). */
    bool ongoing = m->addr[m->to].has_tag || m->method_id == SIP_METHOD_CANCEL;
    uint32_t reserve = p->pool_cap / 10;
    t = ongoing || p->active + reserve < p->pool_cap ? new_txn(p, key, h) : NULL;
    if (t == NULL) {
        sip_addr_count_put(p->src, slot);
        reply_stateless(p, from, m, 503, "Service Unavailable", SIP_STR_LIT("Retry-After: 1\r\n"));
        if (p->stats.txn_refused++ % 1000 == 0) {
            proxy_log(p,
                      "transaction pool full: %u of %u in use (--max-transactions; the last %u "
                      "kept for calls in progress): 503 to %s requests (%llu refused so far on "
                      "this worker)",
                      (unsigned)p->active, p->pool_cap, reserve, ongoing ? "all" : "new",
                      (unsigned long long)p->stats.txn_refused);
        }
        return;
    }
    t->src_slot = slot;
    t->from = *from;
    t->is_invite = m->method_id == SIP_METHOD_INVITE;
    t->cseq = m->cseq;
    t->is_initial_invite = t->is_invite && !m->addr[m->to].has_tag;
    t->req = proxy_dup(buf, len);
    t->req_len = t->req ? len : 0;
    sip_txn_server_start(&t->st, t->is_invite, from->transport != SIP_TP_UDP, &p->cfg.timers,
                         p->now);
    uint32_t idx = (uint32_t)(t - p->pool), gen = t->gen;
    if (validate(p, t, m) != 0) {
        return;
    }
    if (t->is_invite) {
        /* §16.2: a stateful proxy answers an INVITE with 100 Trying at once. */
        proxy_reply(p, t, m, 100, "Trying", SIP_STR_NULL);
    }
    if (m->method_id == SIP_METHOD_CANCEL) {
        on_cancel(p, from, m, t);
        return;
    }
    route_request(p, t, m);
    if (p->pool[idx].used && p->pool[idx].gen == gen) {
        proxy_rearm(p, &p->pool[idx]);
    }
}

/* ---------- entry points ---------- */

/* reply_version: RFC 3261 §8.2 and RFC 4475 §3.1.2.16: a request in a SIP version we do not
 * speak gets 505 (a response in one is dropped). The parser stops at the version, so the
 * request is read again from a copy that says SIP/2.0 wherever it said that version (the
 * start line and the Vias' protocol), only to find what the answer must echo (Via, From, To,
 * Call-ID, CSeq); it is answered statelessly and goes no further. */
static void reply_version(struct sip_proxy *p, const struct sip_peer *from, const char *buf,
                          size_t len, size_t at)
{
    const char *eol = memchr(buf, '\n', len);
    if (eol == NULL || at >= (size_t)(eol - buf) || memchr(buf, ' ', at) == NULL) {
        return;
    }
    size_t vlen = 0;
    while (at + vlen < len && buf[at + vlen] != '\r' && buf[at + vlen] != '\n') {
        vlen++;
    }
    if (vlen < 7 || vlen > 16) {
        return;
    }
    char *copy = malloc(len + len / 7 * 9 + 16); /* each version at most grows to SIP/2.0 */
    if (copy == NULL) {
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        bool in_via_proto = i + vlen < len && buf[i + vlen] == '/';
        if ((i == at || in_via_proto) && memcmp(buf + i, buf + at, vlen) == 0) {
            memcpy(copy + n, "SIP/2.0", 7);
            n += 7;
            i += vlen;
        } else {
            copy[n++] = buf[i++];
        }
    }
    if (sip_msg_parse(&p->aux, copy, n, SIP_PARSE_DGRAM, NULL) > 0 && p->aux.is_request &&
        p->aux.method_id != SIP_METHOD_ACK) {
        reply_stateless(p, from, &p->aux, 505, "Version Not Supported", SIP_STR_NULL);
    }
    free(copy);
}

void sip_proxy_on_datagram(struct sip_proxy *p, const struct sip_peer *from, const char *buf,
                           size_t len, uint64_t now)
{
    p->now = now;
    p->stats.rx++;
    p->in_from = from;
    if (p->wheel.count == 0) {
        p->wheel.cur_ms = now > p->wheel.cur_ms ? now : p->wheel.cur_ms; /* idle: nothing to fire */
    }
    /* RFC 5626 §3.5.1: CRLF keepalives carry no message. */
    size_t crlf = 0;
    while (crlf < len && crlf < 4 && (buf[crlf] == '\r' || buf[crlf] == '\n')) {
        crlf++;
    }
    if (len <= 4 && crlf == len) {
        return; /* buf is not NUL-terminated: no string functions on it */
    }
    const struct sip_limits *lim = p->cfg.limits.max_msg_bytes != 0 ? &p->cfg.limits : NULL;
    if (sip_msg_parse(&p->in, buf, len, SIP_PARSE_DGRAM, lim) <= 0) {
        p->stats.bad++;
        if (p->in.err == SIP_ERR_VERSION) {
            reply_version(p, from, buf, len, p->in.err_off);
        }
        if (p->sink.debug) {
            char ip[64];
            sip_peer_ip_text(from, ip, sizeof(ip));
            proxy_debug(p, "drop from %s:%u: %s at byte %zu", ip, from->port,
                        sip_err_phrase(p->in.err), p->in.err_off);
        }
        return;
    }
    if (p->in.is_request) {
        on_request(p, from, &p->in, buf, p->in.len);
    } else {
        proxy_on_response(p, from, &p->in);
    }
    p->in_from = NULL; /* timers run without a message in hand */
}

static void fire(void *ctx, const struct sip_wheel_ent *e)
{
    struct sip_proxy *p = ctx;
    struct ptxn *t = &p->pool[e->idx];
    if (!t->used || t->gen != e->gen || t->armed_at != e->at_ms) {
        return; /* stale: the transaction moved on or was freed */
    }
    t->armed_at = 0;
    proxy_txn_timer(p, t, p->now);
    if (t->used && t->gen == e->gen) {
        proxy_rearm(p, t);
        proxy_maybe_free(p, t);
    }
}

void sip_proxy_on_timer(struct sip_proxy *p, uint64_t now)
{
    p->now = now;
    sip_wheel_advance(&p->wheel, now, fire, p);
    if (now >= p->next_expire_sweep) {
        p->loc->ops->expire(p->loc->self, now);
        p->next_expire_sweep = now + 1000;
    }
    proxy_nat_keepalive(p, now);
    proxy_trunk_tick(p, now);
}

uint64_t sip_proxy_next_timer(const struct sip_proxy *p)
{
    uint64_t t = sip_wheel_next(&p->wheel);
    return (t == 0 || t > p->next_expire_sweep) ? p->next_expire_sweep : t;
}

void sip_proxy_reconfigure(struct sip_proxy *p, const struct sip_proxy_cfg *cfg, bool debug)
{
    memcpy(p->cfg.domains, cfg->domains, sizeof(cfg->domains));
    p->cfg.domain_count = cfg->domain_count;
    memcpy(p->cfg.inside, cfg->inside, sizeof(cfg->inside));
    p->cfg.inside_count = cfg->inside_count;
    memcpy(p->cfg.upstream, cfg->upstream, sizeof(cfg->upstream));
    p->cfg.timers = cfg->timers;
    p->cfg.nat_keepalive_ms = cfg->nat_keepalive_ms;
    p->cfg.min_expires = cfg->min_expires;
    p->cfg.max_expires = cfg->max_expires;
    p->cfg.default_expires = cfg->default_expires;
    p->cfg.open_registrar = cfg->open_registrar;
    p->cfg.limits = cfg->limits;
    p->cfg.source_txn_max = cfg->source_txn_max;
    p->sink.debug = debug;
}

void sip_proxy_set_debug(struct sip_proxy *p, bool debug)
{
    p->sink.debug = debug;
}

void sip_proxy_drain(struct sip_proxy *p)
{
    p->draining = true;
}

size_t sip_proxy_active(const struct sip_proxy *p)
{
    return p->active;
}

size_t sip_proxy_pending(const struct sip_proxy *p)
{
    size_t n = 0;
    for (uint32_t i = 0; i < p->pool_used; i++) {
        n += p->pool[i].used && !p->pool[i].answered_final &&
             p->pool[i].st.state != SIP_TXN_TERMINATED;
    }
    return n;
}

const struct sip_proxy_stats *sip_proxy_stats(const struct sip_proxy *p)
{
    return &p->stats;
}

struct sip_proxy *sip_proxy_new(const struct sip_proxy_cfg *cfg, struct sip_location *loc,
                                struct sip_proxy_sink sink, uint64_t seed)
{
    if (cfg->mac.sign == NULL) {
        return NULL; /* nothing sipring writes for itself could be verified */
    }
    struct sip_proxy *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return NULL;
    }
    p->cfg = *cfg;
    p->loc = loc;
    p->sink = sink;
    p->seed = seed;
    p->pool_cap = cfg->max_transactions ? cfg->max_transactions : 65536;
    p->pool = calloc(p->pool_cap, sizeof(*p->pool));
    p->src = calloc(SRC_SLOTS, sizeof(*p->src));
    if (p->pool == NULL || p->src == NULL) {
        free(p->pool);
        free(p->src);
        free(p);
        return NULL;
    }
    p->free_head = -1;
    for (int i = 0; i < TXN_BUCKETS; i++) {
        p->bucket[i] = -1;
    }
    /* advertise = host[:port]; its host and port identify our own URIs. */
    snprintf(p->self_host, sizeof(p->self_host), "%s", cfg->advertise);
    p->self_port = 5060;
    char *colon = strrchr(p->self_host, ':');
    char *bracket = strrchr(p->self_host, ']');
    if (colon != NULL && (bracket == NULL || colon > bracket)) {
        p->self_port = (uint16_t)atoi(colon + 1);
        *colon = '\0';
    }
    snprintf(p->public_host, sizeof(p->public_host), "%s", cfg->public_advertise);
    colon = strrchr(p->public_host, ':');
    bracket = strrchr(p->public_host, ']');
    if (colon != NULL && (bracket == NULL || colon > bracket)) {
        *colon = '\0';
    }
    side_addrs(p);
    return p;
}

void sip_proxy_free(struct sip_proxy *p)
{
    if (p == NULL) {
        return;
    }
    for (uint32_t i = 0; i < p->pool_used; i++) {
        struct ptxn *t = &p->pool[i];
        if (t->used) {
            free_copies(t);
        }
    }
    free(p->pool);
    free(p->src);
    sip_wheel_free(&p->wheel);
    proxy_trunk_free(p);
    free(p);
}

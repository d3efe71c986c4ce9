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

void proxy_send_iov(struct sip_proxy *p, const struct sip_peer *to, const char *name,
                    const struct iovec *iov, size_t n)
{
    p->sink.send(p->sink.ctx, to, name, iov, n);
}

void proxy_send_named(struct sip_proxy *p, const struct sip_peer *to, const char *name,
                      const char *buf, size_t len)
{
    struct iovec v = {(void *)buf, len};
    proxy_send_iov(p, to, name, &v, 1);
}

void proxy_send(struct sip_proxy *p, const struct sip_peer *to, const char *buf, size_t len)
{
    proxy_send_named(p, to, NULL, buf, len);
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
    return proxy_resolve_nth(p, u, 0, NULL, out, name);
}

int proxy_resolve_nth(struct sip_proxy *p, const struct sip_uri *u, unsigned skip, bool *more,
                      struct sip_peer *out, char *name)
{
    struct sip_str host = sip_str_is_set(u->maddr) ? u->maddr : u->host;
    uint16_t port = uri_port(u);
    bool dummy;
    more = more != NULL ? more : &dummy;
    *more = false;
    int rc = sip_peer_from_text(host, port, out);
    if (rc != 0 && sip_str_ieq_lit(host, "localhost")) {
        rc = sip_peer_from_text(SIP_STR_LIT("127.0.0.1"), port, out);
    }
    if (rc == 0) {
        out->transport = (uint8_t)uri_transport(u);
        rc = skip == 0 ? 0 : -1; /* a literal is one server */
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
        if (n <= (int)skip) {
            return -1;
        }
        *out = list[skip];
        *more = n > (int)skip + 1;
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
        if (sip_wheel_add(&p->wheel, next, t->idx, t->gen) != 0) {
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

static void drop_copy(char **c, size_t *len)
{
    free(*c);
    *c = NULL;
    *len = 0;
}

void proxy_trim(struct ptxn *t)
{
    if (!t->used || !t->answered_final) {
        return;
    }
    /* the request as received: read only to route it (again) and to answer it (issue 17:
     * a lingering transaction keeps its final response, and what its branches still send) */
    drop_copy(&t->req, &t->req_len);
    for (int i = 0; i < t->nbranch; i++) {
        struct branch *b = &t->br[i];
        drop_copy(&b->resp, &b->resp_len); /* the best response was chosen */
        if (!txn_live(&b->cancel_ct)) {
            drop_copy(&b->cancel, &b->cancel_len);
        }
        /* a branch without its final may still be retransmitted or cancelled; an INVITE
         * branch's non-2xx final is ACKed again on each retransmission of it (§17.1.1.2) */
        bool needed =
            b->final_status == 0 || (t->is_invite && b->final_status >= 300 && txn_live(&b->ct));
        if (!needed) {
            drop_copy(&b->req, &b->req_len);
        }
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
    while (*link >= 0 && proxy_txn(p, (uint32_t)*link) != t) {
        link = &proxy_txn(p, (uint32_t)*link)->hnext;
    }
    if (*link >= 0) {
        *link = t->hnext;
    }
    free_copies(t);
    sip_addr_count_put(p->src, t->src_slot);
    uint32_t gen = t->gen + 1, idx = t->idx;
    memset(t, 0, sizeof(*t));
    t->gen = gen;
    t->idx = idx;
    t->hnext = p->free_head;
    p->free_head = (int32_t)t->idx;
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
    for (int32_t i = p->bucket[h % TXN_BUCKETS]; i >= 0; i = proxy_txn(p, (uint32_t)i)->hnext) {
        struct ptxn *t = proxy_txn(p, (uint32_t)i);
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

void proxy_note_upstream_hop(struct sip_proxy *p, const struct sip_peer *hop)
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
        p->free_head = proxy_txn(p, (uint32_t)i)->hnext;
    } else if (p->pool_used < p->pool_cap) {
        if (p->pool_used % TXN_CHUNK == 0) {
            uint32_t c = p->pool_used / TXN_CHUNK;
            uint32_t n =
                p->pool_cap - p->pool_used < TXN_CHUNK ? p->pool_cap - p->pool_used : TXN_CHUNK;
            p->chunk[c] = calloc(n, sizeof(struct ptxn));
            if (p->chunk[c] == NULL) {
                return NULL; /* out of memory: answered like a full pool */
            }
            for (uint32_t k = 0; k < n; k++) {
                p->chunk[c][k].idx = c * TXN_CHUNK + k;
            }
        }
        i = (int32_t)p->pool_used++;
    } else {
        return NULL;
    }
    struct ptxn *t = proxy_txn(p, (uint32_t)i);
    uint32_t gen = t->gen, idx = t->idx;
    memset(t, 0, sizeof(*t));
    t->gen = gen;
    t->idx = idx;
    t->used = true;
    snprintf(t->key, sizeof(t->key), "%s", key);
    t->hash = h;
    t->hnext = p->bucket[h % TXN_BUCKETS];
    p->bucket[h % TXN_BUCKETS] = i;
    p->active++;
    p->stats.txn_created++;
    return t;
}

void proxy_call_ended(struct sip_proxy *p, const struct sip_msg *m, unsigned status)
{
    proxy_calls_end(p, m, status); /* first: its record asks the relay for the media's figures */
    proxy_media_end(p, m->call_id);
    proxy_trunk_dialog_end(p, m);
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

/* is_local_tag_shape: 16 lower-case hex digits, as local_tag writes them. */
static bool is_local_tag_shape(struct sip_str tag)
{
    if (tag.len != 16) {
        return false;
    }
    for (size_t i = 0; i < 16; i++) {
        char c = tag.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
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
        p->stats.replies[status / 100 < 7 ? status / 100 : 0]++;
        proxy_note_answer(p, t, status);
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

/* ---------- requests ---------- */

static void on_ack(struct sip_proxy *p, const struct sip_peer *from, const struct sip_msg *m)
{
    char key[KEY_MAX];
    make_key(m, SIP_STR_LIT("INVITE"), key);
    struct ptxn *t = find_server(p, key, proxy_fnv(key, strlen(key), SIP_FNV_INIT));
    if (t != NULL && t->st.state != SIP_TXN_ACCEPTED) {
        /* The ACK of a non-2xx final response is hop-by-hop: ours to absorb (§16.7 note). */
        sip_txn_server_on_request(&t->st, true, p->now);
        p->stats.absorbed++;
        proxy_rearm(p, t);
        proxy_maybe_free(p, t);
        return;
    }
    if (t == NULL && is_local_tag_shape(m->addr[m->to].tag)) {
        /* the ACK of a final answer sipring gave without keeping a transaction (503 when the
         * pool was full): hop-by-hop as well, never forwarded (issue 17). The MAC is computed
         * only for a tag shaped like ours: every 2xx's ACK passes here. */
        char tag[17];
        local_tag(p, m, tag);
        if (memcmp(tag, m->addr[m->to].tag.p, 16) == 0) {
            p->stats.absorbed++;
            return;
        }
    }
    proxy_route_ack(p, from, m);
}

static void on_cancel(struct sip_proxy *p, const struct sip_peer *from, const struct sip_msg *m,
                      struct ptxn *ct)
{
    char key[KEY_MAX];
    make_key(m, SIP_STR_LIT("INVITE"), key);
    struct ptxn *inv = find_server(p, key, proxy_fnv(key, strlen(key), SIP_FNV_INIT));
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

static void on_request(struct sip_proxy *p, const struct sip_peer *from, const struct sip_msg *m,
                       const char *buf, size_t len)
{
    if (proxy_is_scanner(m)) {
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
    uint32_t h = proxy_fnv(key, strlen(key), SIP_FNV_INIT);
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
    t->started_ms = p->now;
    p->stats.calls_started += t->is_initial_invite;
    if (t->is_initial_invite) {
        proxy_calls_start(p, t, m, from);
    }
    t->req = proxy_dup(buf, len);
    t->req_len = t->req ? len : 0;
    sip_txn_server_start(&t->st, t->is_invite, from->transport != SIP_TP_UDP, &p->cfg.timers,
                         p->now);
    uint32_t idx = t->idx, gen = t->gen;
    if (proxy_validate(p, t, m) != 0) {
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
    proxy_route_request(p, t, m);
    t = proxy_txn(p, idx);
    if (t->used && t->gen == gen) {
        proxy_trim(t); /* a request sipring answered itself keeps only the answer */
        proxy_rearm(p, t);
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
        p->stats.requests[p->in.method_id < SIP_METHOD_SLOTS ? p->in.method_id : 0]++;
        on_request(p, from, &p->in, buf, p->in.len);
    } else {
        p->stats.responses[p->in.status / 100 < 7 ? p->in.status / 100 : 0]++;
        proxy_on_response(p, from, &p->in);
    }
}

static void fire(void *ctx, const struct sip_wheel_ent *e)
{
    struct sip_proxy *p = ctx;
    struct ptxn *t = proxy_txn(p, e->idx);
    if (!t->used || t->gen != e->gen || t->armed_at != e->at_ms) {
        return; /* stale: the transaction moved on or was freed */
    }
    t->armed_at = 0;
    proxy_txn_timer(p, t, p->now);
    if (t->used && t->gen == e->gen) {
        proxy_trim(t);
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
    proxy_calls_sweep(p, now);
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
        const struct ptxn *t = proxy_txn(p, i);
        n += t->used && !t->answered_final && t->st.state != SIP_TXN_TERMINATED;
    }
    return n;
}

const struct sip_proxy_stats *sip_proxy_stats(const struct sip_proxy *p)
{
    return &p->stats;
}

size_t sip_proxy_kept_bytes(const struct sip_proxy *p)
{
    size_t n = 0;
    for (uint32_t i = 0; i < p->pool_used; i++) {
        const struct ptxn *t = proxy_txn(p, i);
        if (!t->used) {
            continue;
        }
        n += t->req_len + t->last_len;
        for (int b = 0; b < t->nbranch; b++) {
            n += t->br[b].req_len + t->br[b].cancel_len + t->br[b].resp_len;
        }
    }
    return n;
}

size_t sip_proxy_txn_in_use(const struct sip_proxy *p)
{
    return p->active;
}

const uint32_t sip_setup_le_ms[SIP_SETUP_BUCKETS] = {50,   100,  250,   500,   1000,
                                                     2500, 5000, 10000, 30000, 60000};

static void observe(struct sip_setup_hist *h, uint64_t ms)
{
    size_t i = 0;
    while (i < SIP_SETUP_BUCKETS && ms > sip_setup_le_ms[i]) {
        i++;
    }
    h->bucket[i]++;
    h->sum_ms += ms;
    h->count++;
}

void proxy_note_answer(struct sip_proxy *p, struct ptxn *t, unsigned status)
{
    if (!t->is_initial_invite || t->call_counted || status < 180) {
        return;
    }
    proxy_calls_progress(p, t, status);
    uint64_t took = p->now - t->started_ms;
    if (status < 200) {
        if (!t->rang) {
            t->rang = true;
            observe(&p->stats.to_ringing, took);
        }
        return;
    }
    t->call_counted = true;
    if (status < 300) {
        p->stats.calls_answered++;
        observe(&p->stats.to_answer, took);
    } else if (status < 700) {
        p->stats.calls_failed[status - 300]++;
    }
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
    p->pool_cap = cfg->max_transactions ? cfg->max_transactions : 262144;
    p->chunk = calloc((p->pool_cap + TXN_CHUNK - 1) / TXN_CHUNK, sizeof(*p->chunk));
    p->src = calloc(SRC_SLOTS, sizeof(*p->src));
    if (p->chunk == NULL || p->src == NULL || sip_calls_init(&p->calls, p->pool_cap) != 0) {
        free(p->chunk);
        free(p->src);
        sip_calls_free(&p->calls);
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
        struct ptxn *t = proxy_txn(p, i);
        if (t->used) {
            free_copies(t);
        }
    }
    for (uint32_t c = 0; c * TXN_CHUNK < p->pool_used; c++) {
        free(p->chunk[c]);
    }
    free(p->chunk);
    free(p->src);
    sip_calls_free(&p->calls);
    sip_wheel_free(&p->wheel);
    proxy_trunk_free(p);
    free(p);
}

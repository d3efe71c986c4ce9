/* sip/proxy_nat.c: repairing what NAT breaks in signaling. A UA behind NAT writes its private
 * address into Contact; nobody outside its NAT can reach that. sipring replaces such a Contact by
 * one of its own, sip:<token>@<sipring>, and keeps token -> (original Contact, the flow the
 * message came from: its NAT binding) in the location store under the AOR "masq:<token>". A
 * request later addressed to that Contact (an incoming call to a registered phone, or an
 * in-dialog request) is sent to the original Contact through the same flow. The store is
 * shared by every worker, and the token does not depend on the worker, so any worker finds it.
 * The same is done for every Contact going from the inside to the outside, where private
 * addresses mean nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_int.h"

#define TOKEN_PREFIX "sr"
#define TOKEN_LEN 18           /* "sr" + 16 hex digits */
#define DIALOG_CONTACT_S 43200 /* refreshed by every message that carries the Contact */

static const struct sip_addr *first_contact(const struct sip_msg *m)
{
    for (const struct sip_hdr *h = sip_msg_first(m, SIP_HDR_CONTACT); h; h = sip_msg_next(m, h)) {
        if (!m->addr[h->item].is_star) {
            return &m->addr[h->item];
        }
    }
    return NULL;
}

/* differs: host is an IP literal other than from's. A host name proves nothing and is taken as
 * reachable. */
static bool differs(struct sip_str host, const struct sip_peer *from)
{
    struct sip_peer ip;
    return host.len > 0 && sip_peer_from_text(host, 0, &ip) == 0 && !sip_peer_same_ip(&ip, from);
}

/* proxy_nat_behind: whether the sender of m, received from `from`, is a UA behind NAT, whose
 * Contact nobody on the far side of its NAT can reach.
 * - A request: its Contact names an IP that is not the one the message came from, and so does
 *   its own Via (RFC 3581 §4's test: a UA that sends from its own address but registers another
 *   Contact is registering a third party; a proxy that relayed the request put its own address
 *   in the top Via, so its source matches).
 * - A response: the sender is whoever sent the request's last hop its answer, and behind a
 *   proxy that is the proxy. A proxy that record-routed (its Record-Route above ours, RFC 3261
 *   §16.6 step 4, §12.1.2) is how the receiver reaches the Contact: nothing to repair. Without
 *   one, only a private Contact (RFC 1918 and kin) that is not the source is a UA behind NAT; a
 *   public one is reachable where it is, whoever relayed the response. */
bool proxy_nat_behind(const struct sip_proxy *p, const struct sip_msg *m,
                      const struct sip_peer *from)
{
    const struct sip_addr *c = first_contact(m);
    if (m->is_request) {
        if (!differs(m->via[0].host, from)) {
            return false;
        }
        return c != NULL ? differs(c->uri.host, from) : true;
    }
    const struct sip_hdr *rr = sip_msg_first(m, SIP_HDR_RECORD_ROUTE);
    if (c == NULL || (rr != NULL && !proxy_uri_is_self(p, &m->addr[rr->item].uri))) {
        return false;
    }
    struct sip_peer ip;
    return differs(c->uri.host, from) && sip_peer_from_text(c->uri.host, 0, &ip) == 0 &&
           sip_peer_is_private(&ip);
}

/* store_token: the token of a stored stand-in, "sr" and 16 hex digits of the MAC over the
 * Contact and the flow: the same on every worker, and unguessable to outsiders. */
static void store_token(const struct sip_proxy *p, struct sip_str uri, const struct sip_peer *from,
                        char out[TOKEN_LEN + 1])
{
    struct sip_str parts[3] = {SIP_STR_LIT("tok"), uri,
                               sip_str_make((const char *)from, sizeof(*from))};
    memcpy(out, TOKEN_PREFIX, 2);
    proxy_mac_hex(p, parts, 3, out + 2, TOKEN_LEN - 2);
}

/* A stand-in for a Contact from the outside keeps no state: what the store would hold (the
 * flow and the Contact) travels in the token itself, "st" + base64url(flow | Contact | MAC),
 * so that no peer outside can fill the store by sending Contacts (class 5 of issue 13). The
 * MAC makes it sipring's: a forged or altered one names nothing. */
#define ST_PREFIX "st"
#define ST_MAC 10
#define ST_FLOW 24 /* transport, family, port (2), conn (4), ip (16) */
#define ST_CONTACT_MAX 180

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t b64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        size_t chars = n - i >= 3 ? 4 : n - i + 1;
        for (size_t k = 0; k < chars; k++) {
            out[o++] = b64[(v >> (18 - 6 * k)) & 63];
        }
    }
    return o;
}

static int b64_value(char c)
{
    const char *k = c ? strchr(b64, c) : NULL;
    return k ? (int)(k - b64) : -1;
}

/* b64_decode: -1 on a character outside the alphabet or a length no encoding has */
static long b64_decode(struct sip_str in, uint8_t *out, size_t cap)
{
    size_t o = 0;
    if (in.len % 4 == 1) {
        return -1;
    }
    for (size_t i = 0; i < in.len; i += 4) {
        uint32_t v = 0;
        size_t chars = in.len - i >= 4 ? 4 : in.len - i;
        for (size_t k = 0; k < 4; k++) {
            int d = k < chars ? b64_value(in.p[i + k]) : 0;
            if (d < 0) {
                return -1;
            }
            v = v << 6 | (uint32_t)d;
        }
        for (size_t k = 0; k + 1 < chars; k++) {
            if (o >= cap) {
                return -1;
            }
            out[o++] = (uint8_t)(v >> (16 - 8 * k));
        }
    }
    return (long)o;
}

static void st_mac(const struct sip_proxy *p, const uint8_t *payload, size_t n, uint8_t *mac)
{
    char hex[2 * ST_MAC + 1];
    struct sip_str parts[2] = {SIP_STR_LIT("st"), sip_str_make((const char *)payload, n)};
    proxy_mac_hex(p, parts, 2, hex, 2 * ST_MAC);
    for (int i = 0; i < ST_MAC; i++) {
        unsigned hi = (unsigned)(hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10);
        unsigned lo =
            (unsigned)(hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0' : hex[2 * i + 1] - 'a' + 10);
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
}

/* stateless_token: the "st" user part for Contact uri arriving from `from`; 0 when uri is too
 * long to carry. */
static size_t stateless_token(const struct sip_proxy *p, struct sip_str uri,
                              const struct sip_peer *from, char *out, size_t cap)
{
    uint8_t buf[ST_FLOW + ST_CONTACT_MAX + ST_MAC];
    if (uri.len > ST_CONTACT_MAX || cap < 2 + (sizeof(buf) + 2) / 3 * 4 + 1) {
        return 0;
    }
    buf[0] = from->transport;
    buf[1] = from->family;
    buf[2] = (uint8_t)(from->port >> 8);
    buf[3] = (uint8_t)from->port;
    memcpy(buf + 4, &from->conn, 4);
    memcpy(buf + 8, from->ip, 16);
    memcpy(buf + ST_FLOW, uri.p, uri.len);
    st_mac(p, buf, ST_FLOW + uri.len, buf + ST_FLOW + uri.len);
    memcpy(out, ST_PREFIX, 2);
    size_t n = 2 + b64_encode(buf, ST_FLOW + uri.len + ST_MAC, out + 2);
    out[n] = '\0';
    return n;
}

/* stateless_target: the binding an "st" token stands for; -1 when it is not a valid one. */
static int stateless_target(const struct sip_proxy *p, struct sip_str user, struct sip_binding *b)
{
    uint8_t buf[ST_FLOW + ST_CONTACT_MAX + ST_MAC + 3];
    long n = b64_decode(sip_str_make(user.p + 2, user.len - 2), buf, sizeof(buf));
    if (n < ST_FLOW + ST_MAC + 1) {
        return -1;
    }
    size_t clen = (size_t)n - ST_FLOW - ST_MAC;
    uint8_t want[ST_MAC];
    st_mac(p, buf, ST_FLOW + clen, want);
    unsigned diff = 0;
    for (int i = 0; i < ST_MAC; i++) {
        diff |= (unsigned)(want[i] ^ buf[ST_FLOW + clen + (size_t)i]);
    }
    if (diff != 0 || clen >= sizeof(b->contact)) {
        return -1;
    }
    memset(b, 0, sizeof(*b));
    b->received.transport = buf[0];
    b->received.family = buf[1];
    b->received.port = (uint16_t)(buf[2] << 8 | buf[3]);
    memcpy(&b->received.conn, buf + 4, 4);
    memcpy(b->received.ip, buf + 8, 16);
    memcpy(b->contact, buf + ST_FLOW, clen);
    b->contact[clen] = '\0';
    return 0;
}

static bool path_known(const struct sip_proxy *p, const struct sip_peer *registrar)
{
    for (unsigned i = 0; i < p->path_ok_n; i++) {
        if (sip_peer_eq(&p->path_ok[i], registrar)) {
            return true;
        }
    }
    return false;
}

static bool has_option(const struct sip_msg *m, enum sip_hdr_type type, const char *opt)
{
    for (const struct sip_hdr *h = sip_msg_first(m, type); h; h = sip_msg_next(m, h)) {
        if (sip_str_ieq(h->value, sip_str_make(opt, strlen(opt)))) {
            return true;
        }
    }
    return false;
}

/* proxy_contact_outbound: RFC 5626 §4.2: a UA that registers with outbound puts both
 * +sip.instance and reg-id on its Contact. */
bool proxy_contact_outbound(const struct sip_addr *a)
{
    bool inst = false, reg_id = false;
    struct sip_str ps = a->params;
    size_t i = 0;
    while (ps.len > 0 && i < ps.len) {
        size_t k = i;
        while (k < ps.len && ps.p[k] != ';') {
            k++;
        }
        struct sip_str one = sip_str_trim(sip_str_make(ps.p + i, k - i));
        size_t name = 0;
        while (name < one.len && one.p[name] != '=') {
            name++;
        }
        struct sip_str n = sip_str_trim(sip_str_make(one.p, name));
        inst |= sip_str_ieq_lit(n, "+sip.instance");
        reg_id |= sip_str_ieq_lit(n, "reg-id");
        i = k + 1;
    }
    return inst && reg_id;
}

void proxy_nat_masquerade(struct sip_proxy *p, const struct sip_msg *m, struct sip_build *bd,
                          const struct sip_peer *from, const struct sip_peer *receiver)
{
    /* A REGISTER's answer lists bindings, a 3xx redirect targets: neither is the sender's own
     * Contact, and both stay as they are. */
    if (!m->is_request && (m->cseq_method_id == SIP_METHOD_REGISTER || m->status >= 300)) {
        return;
    }
    /* Behind NAT, a UA's Contact reaches nobody; from the inside to the outside it points into
     * a network the receiver cannot route to. Either way, sipring stands in for it. */
    if (!proxy_nat_behind(p, m, from) &&
        !(proxy_is_inside(p, from) && !proxy_is_inside(p, receiver))) {
        return;
    }
    char host[100]; /* host:port, and ;transport= when the receiver is on a stream */
    proxy_side_route(p, receiver, host, sizeof(host));
    bool is_register = m->is_request && m->method_id == SIP_METHOD_REGISTER;
    /* RFC 3327: a REGISTER from a UA that supports Path gets ours, with the flow token in it;
     * a registrar seen to keep it needs no masqueraded Contact, the others get one too. */
    bool registrar_keeps_path = is_register && path_known(p, receiver);
    bool add_path =
        is_register && (registrar_keeps_path || has_option(m, SIP_HDR_SUPPORTED, "path"));
    bool path_added = false;
    for (const struct sip_hdr *h = sip_msg_first(m, SIP_HDR_CONTACT); h; h = sip_msg_next(m, h)) {
        const struct sip_addr *a = &m->addr[h->item];
        if (a->is_star || a->uri.raw.len >= SIP_LOC_URI_MAX) {
            continue;
        }
        if (!proxy_is_inside(p, from)) {
            /* from the outside: no state, the token carries it */
            char st[2 + (ST_FLOW + ST_CONTACT_MAX + ST_MAC + 2) / 3 * 4 + 1];
            if (stateless_token(p, a->uri.raw, from, st, sizeof(st)) == 0) {
                proxy_debug(p, "nat: Contact %.*s too long to stand in for: forwarded unchanged",
                            (int)a->uri.raw.len, a->uri.raw.p);
                continue;
            }
            sip_build_replace(bd, h,
                              sip_build_fmt(bd, "Contact: <sip:%s@%s>%s%.*s\r\n", st, host,
                                            a->params.len ? ";" : "", (int)a->params.len,
                                            a->params.p));
            continue;
        }
        struct sip_binding b;
        memset(&b, 0, sizeof(b));
        char tok[TOKEN_LEN + 1];
        store_token(p, a->uri.raw, from, tok);
        snprintf(b.aor, sizeof(b.aor), "masq:%s", tok);
        memcpy(b.contact, a->uri.raw.p, a->uri.raw.len);
        b.received = *from;
        b.alive_ms = p->now;
        b.outbound = is_register && proxy_contact_outbound(a);
        uint32_t expires = DIALOG_CONTACT_S;
        if (is_register) {
            expires = a->has_expires ? a->expires : m->has_expires ? m->expires : 3600;
        }
        if (expires == 0) {
            p->loc->ops->remove(p->loc->self, b.aor, NULL);
        } else {
            /* a little longer than asked: the registrar may grant up to what was asked */
            b.expires_at_ms = p->now + (uint64_t)expires * 1000 + 30000;
            if (p->loc->ops->save(p->loc->self, &b) != 0) {
                proxy_log(p, "nat: location store full: Contact %.*s forwarded unchanged",
                          (int)a->uri.raw.len, a->uri.raw.p);
                continue;
            }
        }
        if (add_path && !path_added) {
            sip_build_prepend(bd, sip_build_fmt(bd, "Path: <sip:%s@%s;lr>\r\n", b.aor + 5, host));
            path_added = true;
        }
        if (registrar_keeps_path) {
            continue; /* the Path leads back to us and names the flow: the Contact may stay */
        }
        struct sip_str line =
            sip_build_fmt(bd, "Contact: <sip:%s@%s>%s%.*s\r\n", b.aor + 5, host,
                          a->params.len ? ";" : "", (int)a->params.len, a->params.p);
        sip_build_replace(bd, h, line);
    }
}

/* proxy_nat_route_flow: whether the top Route (ours) carries a flow token, as our Path does;
 * *b gets the binding it names (the flow is b->received; b->flow_failed if it closed). */
bool proxy_nat_route_flow(struct sip_proxy *p, const struct sip_msg *m, struct sip_binding *b)
{
    const struct sip_hdr *r = sip_msg_first(m, SIP_HDR_ROUTE);
    return r != NULL && proxy_nat_target(p, &m->addr[r->item].uri, b) == 0;
}

/* proxy_nat_learn_path: a 2xx to a REGISTER that returns our Path (RFC 3327 §5.3: the
 * registrar returns the Path it stored) shows that this registrar keeps it. */
void proxy_nat_learn_path(struct sip_proxy *p, const struct sip_msg *m, const struct sip_peer *from)
{
    if (m->is_request || m->cseq_method_id != SIP_METHOD_REGISTER || m->status / 100 != 2 ||
        path_known(p, from)) {
        return;
    }
    for (const struct sip_hdr *h = sip_msg_first(m, SIP_HDR_PATH); h; h = sip_msg_next(m, h)) {
        if (proxy_uri_is_self(p, &m->addr[h->item].uri)) {
            p->path_ok[p->path_ok_next] = *from;
            p->path_ok_next = (uint8_t)((p->path_ok_next + 1) % 16);
            p->path_ok_n = p->path_ok_n < 16 ? p->path_ok_n + 1 : 16;
            return;
        }
    }
}

/* proxy_nat_target: for a Request-URI naming one of our Contact tokens, the binding it stands
 * for. Returns 0 (found), -1 (a token, but unknown or expired) or 1 (not a token). */
int proxy_nat_target(struct sip_proxy *p, const struct sip_uri *u, struct sip_binding *b)
{
    if (u->user.len > TOKEN_LEN && memcmp(u->user.p, ST_PREFIX, 2) == 0 &&
        proxy_uri_is_self(p, u)) {
        return stateless_target(p, u->user, b);
    }
    if (u->user.len != TOKEN_LEN || memcmp(u->user.p, TOKEN_PREFIX, 2) != 0 ||
        !proxy_uri_is_self(p, u)) {
        return 1;
    }
    char aor[SIP_LOC_AOR_MAX];
    snprintf(aor, sizeof(aor), "masq:%.*s", (int)u->user.len, u->user.p);
    return p->loc->ops->lookup(p->loc->self, aor, p->now, b, 1) == 1 ? 0 : -1;
}

static void keepalive_mac(const struct sip_proxy *p, const char *hash, struct sip_str aor,
                          char out[13])
{
    struct sip_str parts[3] = {SIP_STR_LIT("ka"), sip_str_make(hash, 8), aor};
    proxy_mac_hex(p, parts, 3, out, 12);
}

/* proxy_nat_keepalive: keeps the NAT bindings of registered UAs open (RFC 5626 §4.4.1 names
 * the need; over UDP without STUN, an OPTIONS that the UA must answer, RFC 3261 §11, both
 * refreshes the binding and proves the UA is still there). The Call-ID names the binding, so
 * that whichever worker gets the answer can mark it alive without any state of its own. */
void proxy_nat_keepalive(struct sip_proxy *p, uint64_t now)
{
    if (p->cfg.nat_keepalive_ms == 0 || !p->cfg.keepalive_sender || now < p->next_keepalive_sweep) {
        return;
    }
    p->next_keepalive_sweep = now + 1000;
    struct sip_binding bs[32];
    for (int round = 0; round < 32; round++) {
        size_t n = p->loc->ops->nat_due(p->loc->self, now, p->cfg.nat_keepalive_ms, bs, 32);
        for (size_t i = 0; i < n; i++) {
            const struct sip_binding *b = &bs[i];
            if (b->flow_failed) {
                continue; /* its connection is gone: a new one cannot reach through a NAT */
            }
            if (b->outbound && b->received.transport != SIP_TP_UDP) {
                /* RFC 5626 §3.5.1 / §4.4.1: on a stream, a double-CRLF ping keeps the flow
                 * and the NAT in front of it alive; a dead peer fails the connection */
                proxy_send(p, &b->received, "\r\n\r\n", 4);
                continue;
            }
            if (b->unreachable) {
                char ip[64];
                sip_peer_ip_text(&b->received, ip, sizeof(ip));
                proxy_log(p, "nat: %s (%s via %s:%u) stopped answering keepalives: unreachable",
                          b->aor, b->contact, ip, b->received.port);
            }
            char hash[9], mac[13];
            snprintf(hash, sizeof(hash), "%08x", sip_contact_hash(b->contact));
            keepalive_mac(p, hash, sip_str_make(b->aor, strlen(b->aor)), mac);
            int len = snprintf(
                p->out, sizeof(p->out),
                "OPTIONS %s SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=z9hG4bKka%llx\r\n"
                "Max-Forwards: 70\r\nFrom: <sip:keepalive@%s>;tag=ka%08x\r\n"
                "To: <%s>\r\nCall-ID: ka.%s.%s.%s\r\nCSeq: 1 OPTIONS\r\n"
                "Content-Length: 0\r\n\r\n",
                b->contact, sip_transport_name(b->received.transport),
                proxy_side_addr(p, &b->received), (unsigned long long)(p->counter++ ^ p->seed),
                proxy_side_addr(p, &b->received), (uint32_t)p->seed, b->contact, hash, mac, b->aor);
            if (len > 0 && (size_t)len < sizeof(p->out)) {
                proxy_send(p, &b->received, p->out, (size_t)len);
            }
        }
        if (n < 32) {
            break;
        }
    }
}

/* proxy_nat_keepalive_reply: whether m answers one of our keepalives (then it is consumed).
 * The Call-ID "ka.<contact hash>.<MAC>.<aor>" names the binding; the MAC keeps a forged
 * answer from keeping alive a binding whose UA has gone. */
bool proxy_nat_keepalive_reply(struct sip_proxy *p, const struct sip_msg *m)
{
    struct sip_str c = m->call_id;
    size_t at = 3 + 8 + 1 + 12 + 1;
    if (m->cseq_method_id != SIP_METHOD_OPTIONS || c.len <= at || memcmp(c.p, "ka.", 3) != 0 ||
        c.p[11] != '.' || c.p[at - 1] != '.') {
        return false;
    }
    char hex[9], aor[SIP_LOC_AOR_MAX], want[13];
    memcpy(hex, c.p + 3, 8);
    hex[8] = '\0';
    if (c.len - at >= sizeof(aor)) {
        return true;
    }
    memcpy(aor, c.p + at, c.len - at);
    aor[c.len - at] = '\0';
    keepalive_mac(p, hex, sip_str_make(aor, c.len - at), want);
    if (memcmp(want, c.p + 12, 12) != 0) {
        return true; /* not ours to believe; consumed all the same */
    }
    p->loc->ops->alive(p->loc->self, aor, (uint32_t)strtoul(hex, NULL, 16), p->now);
    return true;
}

void sip_proxy_on_flow_closed(struct sip_proxy *p, const struct sip_peer *flow)
{
    size_t n = p->loc->ops->flow_down(p->loc->self, flow);
    if (n > 0) {
        char ip[64];
        sip_peer_ip_text(flow, ip, sizeof(ip));
        proxy_debug(p,
                    "nat: the %s flow from %s:%u closed: %zu bindings reached through it "
                    "failed",
                    sip_transport_name(flow->transport), ip, flow->port, n);
    }
}

/* sip/proxy_route.c: RFC 3261 §16.4-16.5, where a request goes: Route processing and the
 * strict-router fix, who may be relayed for (the trust model: proofs for the outside, the
 * registrar's admission, digest authentication), and target determination (the location
 * service, NAT bindings and flows, --upstream, DNS with fail-over). The forwarding itself is
 * proxy_forward.c's. */
#include "decode.h"
#include "proxy_int.h"

#include <stdio.h>
#include <string.h>

/* §16.4: strict-router fix and removal of our own top Route. Returns whether the top Route is
 * ours (to be removed); *next gets the URI to route on: the top remaining Route or the R-URI. */
bool proxy_route_processing(struct sip_proxy *p, const struct sip_msg *m,
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
        proxy_forward_or_fail(p, t, m, &tg, pop);
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

void proxy_route_request(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m)
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
    bool pop = proxy_route_processing(p, m, &next, &second);
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
            proxy_flow_failed_reply(p, t, m, tb.outbound);
            return;
        }
        if (!has_route) {
            struct target tg = {.ruri = sip_str_make(p->masq_uri, strlen(p->masq_uri)),
                                .hop = tb.received,
                                .is_flow = true,
                                .drop = second};
            proxy_forward_or_fail(p, t, m, &tg, pop);
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
            last = proxy_forward_branch(p, t, m, &tg, pop);
        }
        if (t->nbranch == 0 && failed_flows == n) {
            proxy_flow_failed_reply(p, t, m, outbound);
        } else if (t->nbranch == 0) {
            proxy_fail_reply(p, t, m, last);
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
            proxy_flow_failed_reply(p, t, m, fb.outbound);
            return;
        }
        proxy_forward_or_fail(p, t, m, &tg, pop);
        return;
    }
    struct sip_uri up;
    const struct sip_uri *hop_uri = next;
    if (!has_route && p->cfg.upstream[0] != '\0' &&
        sip_uri_parse(sip_str_make(p->cfg.upstream, strlen(p->cfg.upstream)), &up) == 0) {
        hop_uri = &up;
        tg.is_upstream = true;
    }
    bool more = false;
    int rc = proxy_resolve_nth(p, hop_uri, t->dns_skip, &more, &tg.hop, tg.name);
    if (rc == 1) {
        t->dns_wait = true; /* sip_proxy_on_resolved goes on */
        p->dns_parked++;
        return;
    }
    t->dns_more = rc == 0 && more;
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
    proxy_forward_or_fail(p, t, m, &tg, pop);
}

void proxy_reroute(struct sip_proxy *p, struct ptxn *t)
{
    if (sip_msg_parse(&p->reroute, t->req, t->req_len, SIP_PARSE_DGRAM, NULL) <= 0) {
        return;
    }
    proxy_route_request(p, t, &p->reroute);
}

void sip_proxy_set_resolver(struct sip_proxy *p, struct sip_resolver *r)
{
    p->resolver = r;
}

void sip_proxy_on_resolved(struct sip_proxy *p, uint64_t now)
{
    p->now = now;
    for (uint32_t i = 0; i < p->pool_used && p->dns_parked > 0; i++) {
        struct ptxn *t = proxy_txn(p, i);
        if (t->used && t->dns_wait) {
            t->dns_wait = false;
            p->dns_parked--;
            proxy_reroute(p, t);
            proxy_rearm(p, t);
            proxy_maybe_free(p, t);
        }
    }
}

/* proxy_route_ack: an ACK that belongs to no transaction here (the ACK of a 2xx, end to end,
 * §16.11): routed like any request, forwarded statelessly, never answered. */
void proxy_route_ack(struct sip_proxy *p, const struct sip_peer *from, const struct sip_msg *m)
{
    const struct sip_uri *next;
    const struct sip_hdr *second;
    bool pop = proxy_route_processing(p, m, &next, &second);
    struct target tg = {.drop = second};
    /* The same relay rule as for other requests: inside, or along a dialog we record-routed. */
    if (!pop && !proxy_is_inside(p, from)) {
        return;
    }
    if (m->max_forwards == 0 || proxy_is_looped(p, m)) {
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
    proxy_forward_stateless(p, from, m, &tg, pop);
}

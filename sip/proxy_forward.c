/* sip/proxy_forward.c: RFC 3261 §16.6, forwarding a request to one target: each step of the
 * section is one function below (proxy_forward_branch runs them in order), then the answers a
 * request gets when no branch could be sent, and the stateless forwarding of a 2xx's ACK
 * (§16.11). Where the target is came from proxy_route.c. */
#include "proxy_int.h"

#include <stdio.h>
#include <string.h>

#define SIZE_UDP_MAX 1300
#define SIZE_ADDED_BY_US 200

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

/* §18.1.1: "If a request is within 200 bytes of the path MTU, or if it is larger than 1300
 * bytes and the path MTU is unknown, the request MUST be sent using ... TCP." The size is
 * known only once built, so it is estimated from the request as received plus what this hop
 * adds (Via, two Record-Routes). Where sipring listens on TCP itself and the hop is not a UA's
 * own flow (a UA registered over UDP, maybe behind NAT, may take no connection), the branch
 * goes over TCP to the same address; if that connection fails, the request is sent again over
 * UDP (sip_proxy_on_unreachable, "the element SHOULD retry the request, using UDP"). Returns
 * the target to use: tg, or *by_size filled from it. */
static const struct target *step_transport_by_size(const struct sip_proxy *p, const struct ptxn *t,
                                                   const struct sip_msg *m, const struct target *tg,
                                                   struct target *by_size, struct branch *b)
{
    if (tg->hop.transport != SIP_TP_UDP || tg->is_flow || t->force_udp || p->cfg.tcp_port == 0 ||
        m->len + SIZE_ADDED_BY_US <= SIZE_UDP_MAX) {
        return tg;
    }
    *by_size = *tg;
    by_size->hop.transport = SIP_TP_TCP;
    by_size->hop.conn = 0;
    b->size_switched = true;
    return by_size;
}

/* §16.6 step 2: the Request-URI of the target (a binding's contact, the strict-router fix). */
static void step_request_uri(struct sip_build *bd, const struct sip_msg *m, const struct target *tg)
{
    if (sip_str_is_set(tg->ruri)) {
        sip_build_start_line(bd, sip_build_fmt(bd, "%.*s %.*s SIP/2.0\r\n", (int)m->method.len,
                                               m->method.p, (int)tg->ruri.len, tg->ruri.p));
    }
}

/* §16.6 step 3: Max-Forwards one less, or 70 where it was missing. */
static void step_max_forwards(struct sip_build *bd, const struct sip_msg *m)
{
    const struct sip_hdr *mf = sip_msg_first(m, SIP_HDR_MAX_FORWARDS);
    if (mf != NULL) {
        sip_build_replace(bd, mf, sip_build_fmt(bd, "Max-Forwards: %d\r\n", m->max_forwards - 1));
    } else {
        sip_build_append(bd, SIP_STR_LIT("Max-Forwards: 70\r\n"));
    }
}

/* §16.6 step 4: Record-Route on dialog-forming requests, with the proof that lets the
 * dialog's later requests from the outside through (proxy_mac.c). RFC 5658 §4: a request that
 * crosses from one side to the other (inside to outside, or back) gets two, each naming the
 * address its side can reach; the one facing the next hop on top. */
static void step_record_route(struct sip_proxy *p, struct sip_build *bd, const struct sip_msg *m,
                              const struct ptxn *t, const struct target *tg)
{
    if (!dialog_forming(m)) {
        return;
    }
    char prev[100], next[100], proof[PROXY_RR_PROOF_MAX];
    proxy_side_route(p, &t->from, prev, sizeof(prev));
    proxy_side_route(p, &tg->hop, next, sizeof(next));
    proxy_rr_proof(p, m, &t->from, &tg->hop, proof, sizeof(proof));
    if (strcmp(prev, next) != 0) {
        sip_build_prepend(bd, sip_build_fmt(bd, "Record-Route: <sip:%s;lr%s>\r\n", prev, proof));
    }
    sip_build_prepend(bd, sip_build_fmt(bd, "Record-Route: <sip:%s;lr%s>\r\n", next, proof));
}

/* §16.6 step 5, what sipring adds as an edge: the previous hop's Via repaired (§18.2.1,
 * RFC 3581), the Contact masqueraded towards the other side (proxy_nat.c), the CSeq of a
 * dialog whose request the trunk re-sent with credentials. */
static void step_edge_headers(struct sip_proxy *p, struct sip_build *bd, const struct sip_msg *m,
                              const struct ptxn *t, const struct target *tg)
{
    fix_top_via(bd, m, &t->from);
    proxy_nat_masquerade(p, m, bd, &t->from, &tg->hop);
    proxy_trunk_cseq_out(p, m, bd);
}

/* §16.6 step 6, postprocess routing: our own Route removed (both, for a double
 * Record-Route), and a binding's Path pushed as the Route set (RFC 3327 §5.2). */
static void step_route_set(struct sip_build *bd, const struct sip_msg *m, const struct target *tg,
                           bool pop_route)
{
    if (pop_route) {
        sip_build_remove(bd, sip_msg_first(m, SIP_HDR_ROUTE));
    }
    if (tg->drop != NULL && !(pop_route && tg->drop == sip_msg_first(m, SIP_HDR_ROUTE))) {
        sip_build_remove(bd, tg->drop);
    }
    if (tg->path.len > 0) {
        sip_build_prepend(bd, sip_build_fmt(bd, "Route: %.*s\r\n", (int)tg->path.len, tg->path.p));
    }
}

/* §16.6 step 8: our Via on top, for the transport of the hop, naming the address its side
 * reaches us at, with a branch id that finds the transaction and proves it is ours
 * (proxy_mac.c). */
static void step_via(struct sip_proxy *p, struct sip_build *bd, const struct sip_msg *m,
                     const struct ptxn *t, const struct target *tg, int bi, struct branch *b)
{
    struct sip_peer back;
    if (proxy_via_back(&m->via[0], &t->from, &back) != 0) {
        back = t->from;
    }
    proxy_branch_id(p, m, t->idx, t->gen, bi, (uint32_t)(p->counter++ ^ p->seed), &back,
                    proxy_loop_hash(m), b->id, sizeof(b->id));
    sip_build_prepend(bd, sip_build_fmt(bd, "Via: SIP/2.0/%s %s;branch=%s\r\n",
                                        sip_transport_name(tg->hop.transport),
                                        proxy_side_addr(p, &tg->hop), b->id));
}

/* The body: SDP through the media relay (proxy_media.c). 0, or the code of a refusal. */
static int step_media(struct sip_proxy *p, struct sip_build *bd, const struct sip_msg *m,
                      const struct ptxn *t, const struct target *tg)
{
    int media_rc = proxy_media_rewrite(p, m, bd, &t->from, &tg->hop, true);
    if (media_rc == SIP_MEDIA_FULL && t->is_initial_invite) {
        return -2; /* proxy_forward_or_fail answers 503 */
    }
    if (media_rc == SIP_MEDIA_REFUSED) {
        return -3; /* proxy_forward_or_fail answers 488 */
    }
    return 0;
}

/* §16.6 steps 9-11: Content-Length set by the builder, the branch's client transaction
 * started on a kept copy, sent (over TLS checked against the hop's name), timer C armed for an
 * INVITE. */
static int step_send(struct sip_proxy *p, struct ptxn *t, struct branch *b, struct sip_build *bd,
                     const struct sip_msg *m, const struct target *tg)
{
    long n = sip_build_finish(bd);
    if (n < 0 || (size_t)n > sizeof(p->out) ||
        sip_build_flatten(bd->iov, bd->iov_n, p->out, sizeof(p->out)) != n) {
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
    proxy_send_named(p, &b->to, tg->name[0] != '\0' ? tg->name : NULL, b->req, b->req_len);
    p->stats.forwarded++;
    return 0;
}

int proxy_forward_branch(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m,
                         const struct target *tg, bool pop_route)
{
    if (t->nbranch >= MAX_BRANCHES) {
        return -1;
    }
    int bi = t->nbranch;
    struct branch *b = &t->br[bi];
    memset(b, 0, sizeof(*b));
    struct target by_size;
    tg = step_transport_by_size(p, t, m, tg, &by_size, b);
    struct sip_build bd;
    sip_build_init(&bd, m, p->iov, sizeof(p->iov) / sizeof(p->iov[0]), p->scratch,
                   sizeof(p->scratch));
    /* step 1 (copy) is the builder's: it writes only what changes */
    step_request_uri(&bd, m, tg);
    step_route_set(&bd, m, tg, pop_route);
    step_edge_headers(p, &bd, m, t, tg);
    step_record_route(p, &bd, m, t, tg);
    step_via(p, &bd, m, t, tg, bi, b); /* after the Route and Record-Route: prepended on top */
    step_max_forwards(&bd, m);
    /* step 7, the next hop, was determined before (tg->hop: proxy_route.c) */
    if (tg->is_upstream) {
        proxy_trunk_note_upstream(p, &tg->hop);
        proxy_note_upstream_hop(p, &tg->hop);
    }
    int rc = step_media(p, &bd, m, t, tg);
    if (rc != 0) {
        return rc;
    }
    if (t->is_initial_invite) {
        proxy_calls_forwarded(p, t, &tg->hop);
    }
    if (m->method_id == SIP_METHOD_BYE) {
        p->stats.calls_ended += bi == 0;
        proxy_call_ended(p, m, 0);
    }
    return step_send(p, t, b, &bd, m, tg);
}

/* fail_reply: answers a request no branch could be forwarded for, by forward_branch's code:
 * 503 with Retry-After when the media relay is full, 488 when media policy refuses the offer,
 * 500 otherwise. */
void proxy_fail_reply(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m, int rc)
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
void proxy_flow_failed_reply(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m,
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
void proxy_forward_or_fail(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m,
                           const struct target *tg, bool pop_route)
{
    int rc = proxy_forward_branch(p, t, m, tg, pop_route);
    if (rc != 0) {
        proxy_fail_reply(p, t, m, rc);
    }
}

/* Forwards a request without a transaction (the ACK of a 2xx, §16.11 stateless branch). */
void proxy_forward_stateless(struct sip_proxy *p, const struct sip_peer *from,
                             const struct sip_msg *m, const struct target *tg, bool pop_route)
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
    uint32_t h = proxy_fnv_str(m->via[0].branch, (uint32_t)p->seed);
    sip_build_prepend(&bd,
                      sip_build_fmt(&bd, "Via: SIP/2.0/%s %s;branch=z9hG4bKsl%08x\r\n",
                                    sip_transport_name(tg->hop.transport),
                                    proxy_side_addr(p, &tg->hop), proxy_fnv_str(m->call_id, h)));
    const struct sip_hdr *mf = sip_msg_first(m, SIP_HDR_MAX_FORWARDS);
    if (mf != NULL) {
        sip_build_replace(&bd, mf, sip_build_fmt(&bd, "Max-Forwards: %d\r\n", m->max_forwards - 1));
    }
    proxy_trunk_cseq_out(p, m, &bd);
    /* an answer in a 2xx's ACK updates a running call; it opens no ports for one that has
     * ended */
    if (proxy_media_rewrite(p, m, &bd, from, &tg->hop, false) == SIP_MEDIA_NO_CALL) {
        return;
    }
    proxy_nat_masquerade(p, m, &bd, from, &tg->hop);
    if (sip_build_finish(&bd) > 0) {
        proxy_send_iov(p, &tg->hop, tg->name[0] != '\0' ? tg->name : NULL, bd.iov, bd.iov_n);
        p->stats.stateless++;
    }
}

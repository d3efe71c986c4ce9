/* sip/proxy_resp.c: responses (RFC 3261 §16.7), branch timeouts, CANCEL and ACK generation. */
#include <stdio.h>
#include <stdlib.h>

#include "proxy_int.h"

/* Finds the branch of a response by our branch id "z9hG4bK<idx>.<gen>.<b>.<salt>-<loop>". */
static struct branch *find_branch(struct sip_proxy *p, const struct sip_msg *m, struct ptxn **tp)
{
    const struct sip_via *v = sip_msg_top_via(m);
    char id[64];
    if (v == NULL || v->branch.len >= sizeof(id) || v->branch.len < 8) {
        return NULL;
    }
    memcpy(id, v->branch.p, v->branch.len);
    id[v->branch.len] = '\0';
    unsigned idx, gen;
    int b;
    if (sscanf(id, "z9hG4bK%x.%x.%d.", &idx, &gen, &b) != 3 || idx >= p->pool_used || b < 0 ||
        b >= MAX_BRANCHES) {
        return NULL;
    }
    struct ptxn *t = proxy_txn(p, idx);
    if (!t->used || t->gen != gen || b >= t->nbranch || strcmp(t->br[b].id, id) != 0) {
        return NULL;
    }
    *tp = t;
    return &t->br[b];
}

/* Builds an ACK or CANCEL for a branch from its request (RFC 3261 §17.1.1.3, §9.1): same
 * Request-URI, our Via only, Route, From, Call-ID, CSeq number; To from `to` (the response's,
 * for an ACK) or from the request. */
static long build_hop_request(struct sip_proxy *p, const struct branch *b, const char *method,
                              const struct sip_msg *resp, char *out, size_t cap)
{
    struct sip_msg *r = &p->aux;
    if (sip_msg_parse(r, b->req, b->req_len, SIP_PARSE_DGRAM, NULL) <= 0) {
        return -1;
    }
    const struct sip_hdr *via = sip_msg_first(r, SIP_HDR_VIA);
    const struct sip_hdr *to =
        resp ? sip_msg_first(resp, SIP_HDR_TO) : sip_msg_first(r, SIP_HDR_TO);
    const struct sip_hdr *from = sip_msg_first(r, SIP_HDR_FROM);
    int n = snprintf(out, cap,
                     "%s %.*s SIP/2.0\r\nVia: %.*s\r\nFrom: %.*s\r\nTo: %.*s\r\nCall-ID: %.*s\r\n"
                     "CSeq: %u %s\r\nMax-Forwards: 70\r\n",
                     method, (int)r->ruri.raw.len, r->ruri.raw.p, (int)via->value.len, via->value.p,
                     (int)from->value.len, from->value.p, (int)to->value.len, to->value.p,
                     (int)r->call_id.len, r->call_id.p, r->cseq, method);
    if (n < 0 || (size_t)n >= cap) {
        return -1;
    }
    size_t used = (size_t)n;
    for (const struct sip_hdr *h = sip_msg_first(r, SIP_HDR_ROUTE); h; h = sip_msg_next(r, h)) {
        n = snprintf(out + used, cap - used, "Route: %.*s\r\n", (int)h->value.len, h->value.p);
        if (n < 0 || (size_t)n >= cap - used) {
            return -1;
        }
        used += (size_t)n;
    }
    n = snprintf(out + used, cap - used, "Content-Length: 0\r\n\r\n");
    if (n < 0 || (size_t)n >= cap - used) {
        return -1;
    }
    return (long)(used + (size_t)n);
}

static void send_cancel(struct sip_proxy *p, struct ptxn *t, struct branch *b)
{
    char buf[4096];
    long n = build_hop_request(p, b, "CANCEL", NULL, buf, sizeof(buf));
    if (n < 0) {
        return;
    }
    b->cancel = proxy_dup(buf, (size_t)n);
    b->cancel_len = b->cancel ? (size_t)n : 0;
    sip_txn_client_start(&b->cancel_ct, false, b->to.transport != SIP_TP_UDP, &p->cfg.timers,
                         p->now);
    proxy_send(p, &b->to, buf, (size_t)n);
    (void)t;
}

void proxy_cancel_branches_one(struct sip_proxy *p, struct ptxn *t, int which)
{
    struct branch *b = &t->br[which];
    if (b->final_status == 0 && !b->cancel_wanted) {
        b->cancel_wanted = true;
        if (b->provisional_seen) {
            send_cancel(p, t, b);
        }
    }
}

void proxy_cancel_branches(struct sip_proxy *p, struct ptxn *t, int except)
{
    for (int i = 0; i < t->nbranch; i++) {
        struct branch *b = &t->br[i];
        if (i == except || b->final_status != 0 || b->cancel_wanted) {
            continue;
        }
        b->cancel_wanted = true;
        /* §9.1: a CANCEL may only be sent once a provisional response arrived. */
        if (b->provisional_seen) {
            send_cancel(p, t, b);
        }
    }
    proxy_rearm(p, t);
}

/* Sends a response upstream: our Via popped, to the address the request came from. sender:
 * where m came from when it is the message in hand (its SDP and Contact are rewritten, its
 * Path learnt); NULL for a kept copy, which was rewritten when it arrived. */
void proxy_forward_response_up(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m,
                               const struct sip_peer *sender, bool through_txn)
{
    struct sip_build bd;
    sip_build_init(&bd, m, p->iov, sizeof(p->iov) / sizeof(p->iov[0]), p->scratch,
                   sizeof(p->scratch));
    sip_build_pop_via(&bd);
    if (m->cseq != t->cseq) {
        /* trunk mode raised the request's CSeq: the UA gets back the number it sent */
        sip_build_replace(&bd, sip_msg_first(m, SIP_HDR_CSEQ),
                          sip_build_fmt(&bd, "CSeq: %u %.*s\r\n", t->cseq, (int)m->cseq_method.len,
                                        m->cseq_method.p));
    }
    if (sender != NULL) {
        if (proxy_media_rewrite(p, m, &bd, sender, &t->from, true) == SIP_MEDIA_NO_CALL) {
            return;
        }
        proxy_nat_masquerade(p, m, &bd, sender, &t->from);
        proxy_nat_learn_path(p, m, sender);
    }
    long n = sip_build_finish(&bd);
    if (n < 0 || sip_build_flatten(bd.iov, bd.iov_n, p->out, sizeof(p->out)) != n) {
        return;
    }
    if (through_txn) {
        unsigned acts = sip_txn_server_on_send(&t->st, m->status, p->now);
        if (!(acts & SIP_TXN_SEND_RESPONSE)) {
            return;
        }
        proxy_note_answer(p, t, m->status);
        free(t->last);
        t->last = proxy_dup(p->out, (size_t)n);
        t->last_len = t->last ? (size_t)n : 0;
        if (m->status >= 200) {
            t->answered_final = true;
        }
    }
    proxy_send(p, &t->from, p->out, (size_t)n);
    p->stats.forwarded++;
}

/* §16.7 step 6: once every branch has a final response, the best one goes upstream: a 6xx if
 * any, else the lowest class; a synthesized 408 when the best is a timeout. */
static void choose_best(struct sip_proxy *p, struct ptxn *t)
{
    if (t->answered_final) {
        return;
    }
    int best = -1;
    for (int i = 0; i < t->nbranch; i++) {
        unsigned s = t->br[i].final_status;
        if (s == 0) {
            return; /* still waiting */
        }
        if (t->br[i].superseded) {
            continue; /* a challenge sipring answered itself */
        }
        if (best < 0) {
            best = i;
            continue;
        }
        unsigned bs = t->br[best].final_status;
        bool better = (s >= 600 && bs < 600) || (bs < 600 && s / 100 < bs / 100);
        if (better) {
            best = i;
        }
    }
    if (best < 0) {
        return;
    }
    struct branch *b = &t->br[best];
    if (t->dns_more && (b->final_status == 503 || b->final_status == 408) &&
        t->nbranch < MAX_BRANCHES) {
        /* RFC 3263 §4.3: the next server of the domain, before giving up */
        t->dns_skip++;
        t->dns_more = false;
        proxy_reroute(p, t);
        return;
    }
    if (t->is_initial_invite && b->final_status >= 300) {
        /* the call failed (or was cancelled: 487): no dialog, no media */
        if (sip_msg_parse(&p->aux, t->req, t->req_len, SIP_PARSE_DGRAM, NULL) > 0) {
            proxy_call_ended(p, &p->aux, b->final_status);
        }
    }
    if (b->resp != NULL &&
        sip_msg_parse(&p->aux2, b->resp, b->resp_len, SIP_PARSE_DGRAM, NULL) > 0) {
        proxy_forward_response_up(p, t, &p->aux2, NULL, true);
    } else if (sip_msg_parse(&p->aux2, t->req, t->req_len, SIP_PARSE_DGRAM, NULL) > 0) {
        proxy_reply(p, t, &p->aux2, b->final_status,
                    b->final_status == 408 ? "Request Timeout" : "Service Unavailable",
                    SIP_STR_NULL);
    }
}

void proxy_on_response(struct sip_proxy *p, const struct sip_peer *from, const struct sip_msg *m)
{
    struct ptxn *t = NULL;
    if (proxy_nat_keepalive_reply(p, m)) {
        return;
    }
    if (proxy_trunk_on_response(p, m)) {
        return;
    }
    bool is_cancel = m->cseq_method_id == SIP_METHOD_CANCEL;
    struct branch *b = find_branch(p, m, &t);
    /* Except for the answer to our own CANCEL (hop-by-hop), a response must carry a Via to
     * return it to below ours. */
    if (m->via_count < 2 && !(b != NULL && is_cancel)) {
        return;
    }
    if (b == NULL) {
        /* §16.7: a 2xx to an INVITE whose transaction is gone is forwarded statelessly, to the
         * next Via (received/rport first, RFC 3581 §4) -- only when the top Via's branch is one
         * sipring made for a request from that very address: a stranger cannot make sipring
         * reflect responses (and open media) towards any host it writes into a second Via. */
        struct sip_peer to;
        bool ours = m->via_count >= 2 && proxy_via_back(&m->via[1], NULL, &to) == 0 &&
                    proxy_branch_ours(p, m, &to);
        if (ours && m->cseq_method_id == SIP_METHOD_INVITE && m->status >= 200 && m->status < 300) {
            to.transport = (uint8_t)sip_transport_of(m->via[1].transport);
            struct sip_build bd;
            sip_build_init(&bd, m, p->iov, sizeof(p->iov) / sizeof(p->iov[0]), p->scratch,
                           sizeof(p->scratch));
            sip_build_pop_via(&bd);
            if (proxy_media_rewrite(p, m, &bd, from, &to, false) == SIP_MEDIA_NO_CALL) {
                proxy_debug(p,
                            "a 2xx for Call-ID %.*s outlived its transaction and its "
                            "call: dropped",
                            (int)m->call_id.len, m->call_id.p);
                return;
            }
            proxy_nat_masquerade(p, m, &bd, from, &to);
            if (sip_build_finish(&bd) > 0) {
                proxy_send_iov(p, &to, NULL, bd.iov, bd.iov_n);
                p->stats.stateless++;
            }
        } else if (!ours) {
            /* nothing of ours: the sender answers what nobody asked, and the guard counts it
             * like a request */
            p->stats.stray_responses++;
            if (p->sink.stray_response != NULL) {
                p->sink.stray_response(p->sink.ctx, from);
            }
        }
        return;
    }
    if (is_cancel) {
        sip_txn_client_on_response(&b->cancel_ct, m->status, p->now);
        proxy_rearm(p, t);
        proxy_maybe_free(p, t);
        return;
    }
    unsigned acts = sip_txn_client_on_response(&b->ct, m->status, p->now);
    if (acts & SIP_TXN_SEND_ACK) {
        char buf[4096];
        long n = build_hop_request(p, b, "ACK", m, buf, sizeof(buf));
        if (n > 0) {
            proxy_send(p, &b->to, buf, (size_t)n);
        }
    }
    if (acts & SIP_TXN_PASS_UP) {
        int bi = (int)(b - t->br);
        if (m->status < 200) {
            b->provisional_seen = true;
            /* §16.7 step 2: a provisional (other than 100) resets timer C. */
            if (m->status > 100 && b->timer_c_at != 0) {
                b->timer_c_at = p->now + (p->cfg.timer_c_ms ? p->cfg.timer_c_ms : 180000);
            }
            if (b->cancel_wanted && b->cancel == NULL) {
                send_cancel(p, t, b);
            }
            if (m->status > 100) {
                proxy_forward_response_up(p, t, m, from, true);
            }
        } else if (m->status < 300) {
            /* §16.7 step 5: every 2xx goes upstream at once; the first one cancels the rest. */
            bool first = b->final_status == 0;
            if (!first && t->last_2xx_branch == bi + 1 && t->last != NULL) {
                /* RFC 3261 §13.3.1.4: the UAS retransmits its 2xx until the ACK arrives, the
                 * same message each time; it goes up as the same bytes we sent the first
                 * time, without asking the relay again (the call may have ended meanwhile:
                 * a BYE must not be followed by ports opened anew). */
                proxy_send(p, &t->from, t->last, t->last_len);
                p->stats.forwarded++;
                proxy_rearm(p, t);
                proxy_maybe_free(p, t);
                return;
            }
            b->final_status = (uint16_t)m->status;
            bool was_answered = t->answered_final;
            proxy_forward_response_up(p, t, m, from, !was_answered);
            if (!was_answered && t->answered_final) {
                t->last_2xx_branch = (uint8_t)(bi + 1);
            }
            if (first && t->is_invite) {
                proxy_cancel_branches(p, t, bi);
            }
        } else if (b->final_status == 0 && proxy_trunk_answer(p, t, b, m)) {
            /* re-sent with credentials as a new branch: this challenge stays here */
        } else if (b->final_status == 0) {
            b->final_status = (uint16_t)m->status;
            b->resp = proxy_dup(m->buf, m->len);
            b->resp_len = b->resp ? m->len : 0;
            if (m->status >= 600 && t->is_invite) {
                proxy_cancel_branches(p, t, bi);
            }
            choose_best(p, t);
        }
    } else {
        p->stats.absorbed++;
    }
    proxy_trim(t);
    proxy_rearm(p, t);
    proxy_maybe_free(p, t);
}

void proxy_txn_timer(struct sip_proxy *p, struct ptxn *t, uint64_t now)
{
    unsigned acts = sip_txn_on_timer(&t->st, now);
    if ((acts & SIP_TXN_SEND_RESPONSE) && t->last != NULL) {
        proxy_send(p, &t->from, t->last, t->last_len);
    }
    for (int i = 0; i < t->nbranch; i++) {
        struct branch *b = &t->br[i];
        acts = sip_txn_on_timer(&b->ct, now);
        if (acts & SIP_TXN_SEND_REQUEST) {
            proxy_send(p, &b->to, b->req, b->req_len);
        }
        if ((acts & SIP_TXN_TIMEOUT) && b->final_status == 0) {
            /* Timer B/F: the branch failed; it counts as a 408 (§16.7 step 1, §16.8). */
            b->final_status = 408;
            choose_best(p, t);
        }
        if (b->timer_c_at != 0 && now >= b->timer_c_at && b->final_status == 0) {
            /* §16.8: timer C fired. With a provisional seen, CANCEL the branch (its 487 will
             * come back); without one, the branch counts as a 408. */
            b->timer_c_at = 0;
            if (b->provisional_seen) {
                proxy_cancel_branches_one(p, t, i);
            } else {
                b->final_status = 408;
                choose_best(p, t);
            }
        }
        acts = sip_txn_on_timer(&b->cancel_ct, now);
        if ((acts & SIP_TXN_SEND_REQUEST) && b->cancel != NULL) {
            proxy_send(p, &b->to, b->cancel, b->cancel_len);
        }
    }
}

/* RFC 3261 §8.1.3.1 and §16.7 step 1: a transport failure towards a branch's next hop (the
 * connection could not be opened, or its TLS handshake failed) counts as a 503 from it, at
 * once rather than after timer B. */
void sip_proxy_on_unreachable(struct sip_proxy *p, const struct sip_peer *to, uint64_t now)
{
    p->now = now;
    for (uint32_t i = 0; i < p->pool_used; i++) {
        struct ptxn *t = proxy_txn(p, i);
        if (!t->used) {
            continue;
        }
        for (int k = 0; k < t->nbranch; k++) {
            struct branch *b = &t->br[k];
            if (b->final_status != 0 || b->to.transport != to->transport ||
                !sip_peer_eq(&b->to, to)) {
                continue;
            }
            sip_txn_client_on_response(&b->ct, 503, now);
            b->final_status = 503;
            if (b->size_switched && !t->force_udp && t->nbranch < MAX_BRANCHES) {
                /* RFC 3261 §18.1.1: TCP was our choice for the size; the hop takes none */
                t->force_udp = true;
                b->superseded = true;
                proxy_debug(p, "a large request's TCP connection failed: sent again over UDP");
                proxy_reroute(p, t);
                continue;
            }
            choose_best(p, t);
        }
        proxy_rearm(p, t);
        proxy_maybe_free(p, t);
    }
}

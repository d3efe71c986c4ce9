/* sip/proxy_trunk.c: trunk mode. sipring is a client of its upstream provider (RFC 3261 §10.2,
 * §22.2): it registers itself there (one worker does, as for keepalives) and answers the
 * provider's digest challenges for requests it forwards there.
 *
 * A request re-sent with credentials gets a higher CSeq (§22.2 requires it; a provider that
 * detects merged requests, §8.2.2.2, would refuse the same number). The UA never sees that
 * number, so the shift is kept per dialog side (Call-ID and From tag): later requests of that
 * UA are raised by it, and every response goes back with the number its request had.
 *
 * The shift also rides in the dialog itself, for a restarted sipring that has lost the table:
 * a re-sent dialog-forming request's Record-Routes of ours carry ";ts=<shift>.<hash>", the hash
 * over the Call-ID and the From tag of the side whose CSeq is shifted, so the UA's in-dialog
 * requests come back with it in their top Route (the provider's carry it too, but their From
 * tag is the other side's: no shift). Only what the UA's own requests carry is changed: a
 * forged value shifts nobody's CSeq but the forger's.
 *
 * Challenges are answered only for branches sent to an address the upstream URI resolved to,
 * so a stranger cannot collect digest responses for the trunk password by challenging a call. */
#include <stdio.h>
#include <stdlib.h>

#include "proxy_int.h"

#define TRUNK_DIALOGS 8192
#define TRUNK_PROBES 8
#define TRUNK_RETRY_MS 60000

struct trunk_dialog {
    uint32_t hash;  /* 0: free */
    uint32_t delta; /* added to the CSeq of this side's requests */
    uint64_t used_ms;
    uint8_t cid_len, tag_len;
    char cid[96];
    char tag[48];
};

enum reg_state { REG_OFF = 0, REG_WAIT, REG_SENT, REG_OK, REG_FAILED };

struct proxy_trunk {
    struct sip_proxy_trunk_cfg cfg;
    struct sip_credentials *cred;
    struct trunk_dialog *dlg;
    struct sip_peer peers[4]; /* addresses the upstream resolved to */
    uint8_t npeers, next_peer;
    /* registration */
    enum reg_state state, reported;
    unsigned last_status;
    uint32_t cseq;
    uint64_t next_at;
    bool auth_tried; /* the request in flight already carries credentials */
    struct sip_txn ct;
    struct sip_peer to;
    char name[64]; /* the upstream's host as written: the TLS server name to check */
    char branch[40];
    char req[2048];
    size_t req_len;
};

static uint32_t dialog_hash(struct sip_str cid, struct sip_str tag)
{
    uint32_t h = sip_fnv1a(cid.p, cid.len, SIP_FNV_INIT);
    h = sip_fnv1a(tag.p, tag.len, h);
    return h != 0 ? h : 1;
}

static struct trunk_dialog *dialog_find(struct proxy_trunk *tr, struct sip_str cid,
                                        struct sip_str tag, bool create, uint64_t now)
{
    if (tr->dlg == NULL || cid.len > sizeof(tr->dlg->cid) || tag.len > sizeof(tr->dlg->tag)) {
        return NULL;
    }
    uint32_t h = dialog_hash(cid, tag);
    struct trunk_dialog *victim = NULL;
    for (unsigned i = 0; i < TRUNK_PROBES; i++) {
        struct trunk_dialog *d = &tr->dlg[(h + i) % TRUNK_DIALOGS];
        if (d->hash == h && d->cid_len == cid.len && d->tag_len == tag.len &&
            memcmp(d->cid, cid.p, cid.len) == 0 && memcmp(d->tag, tag.p, tag.len) == 0) {
            d->used_ms = now;
            return d;
        }
        if (victim == NULL ||
            (victim->hash != 0 && (d->hash == 0 || d->used_ms < victim->used_ms))) {
            victim = d;
        }
    }
    if (!create) {
        return NULL;
    }
    /* a free slot, else the least recently used of the probed ones (a dialog idle longest) */
    memset(victim, 0, sizeof(*victim));
    victim->hash = h;
    victim->used_ms = now;
    victim->cid_len = (uint8_t)cid.len;
    victim->tag_len = (uint8_t)tag.len;
    memcpy(victim->cid, cid.p, cid.len);
    memcpy(victim->tag, tag.p, tag.len);
    return victim;
}

void sip_proxy_set_trunk(struct sip_proxy *p, const struct sip_proxy_trunk_cfg *cfg,
                         struct sip_credentials *cred)
{
    if (p->trunk == NULL) {
        p->trunk = calloc(1, sizeof(*p->trunk));
        if (p->trunk == NULL) {
            return;
        }
        p->trunk->dlg = calloc(TRUNK_DIALOGS, sizeof(struct trunk_dialog));
    }
    struct proxy_trunk *tr = p->trunk;
    tr->cfg = *cfg;
    tr->cred = cred;
    if (tr->cseq < cfg->cseq_base) {
        tr->cseq = cfg->cseq_base; /* §10.2.4: every REGISTER of a Call-ID a higher CSeq */
    }
    tr->state = cfg->do_register ? REG_WAIT : REG_OFF;
    tr->next_at = 0;
}

void proxy_trunk_free(struct sip_proxy *p)
{
    if (p->trunk != NULL) {
        free(p->trunk->dlg);
        free(p->trunk);
        p->trunk = NULL;
    }
}

void proxy_trunk_note_upstream(struct sip_proxy *p, const struct sip_peer *hop)
{
    struct proxy_trunk *tr = p->trunk;
    if (tr == NULL) {
        return;
    }
    for (unsigned i = 0; i < tr->npeers; i++) {
        if (sip_peer_same_ip(&tr->peers[i], hop)) {
            return;
        }
    }
    tr->peers[tr->next_peer] = *hop;
    tr->next_peer = (uint8_t)((tr->next_peer + 1) % 4);
    if (tr->npeers < 4) {
        tr->npeers++;
    }
}

static bool is_upstream(const struct proxy_trunk *tr, const struct sip_peer *to)
{
    for (unsigned i = 0; i < tr->npeers; i++) {
        if (sip_peer_same_ip(&tr->peers[i], to)) {
            return true;
        }
    }
    return false;
}

/* credentials_line: "Authorization: ..." or "Proxy-Authorization: ...", CRLF-terminated,
 * answering the first challenge of resp we can answer (RFC 8760 §2.4: the first supported). */
static long credentials_line(struct sip_proxy *p, const struct sip_msg *resp, struct sip_str method,
                             struct sip_str uri, char *out, size_t cap)
{
    bool proxy_auth = resp->status == 407;
    enum sip_hdr_type type = proxy_auth ? SIP_HDR_PROXY_AUTHENTICATE : SIP_HDR_WWW_AUTHENTICATE;
    const char *name = proxy_auth ? "Proxy-Authorization: " : "Authorization: ";
    size_t nl = strlen(name);
    for (const struct sip_hdr *h = sip_msg_first(resp, type); h; h = sip_msg_next(resp, h)) {
        struct sip_digest ch;
        if (sip_digest_parse(h->value, &ch) != 0 || cap < nl + 3) {
            continue;
        }
        long n = p->trunk->cred->ops->answer(p->trunk->cred->self, &ch, method, uri, out + nl,
                                             cap - nl - 2);
        if (n > 0) {
            memcpy(out, name, nl);
            memcpy(out + nl + (size_t)n, "\r\n", 2);
            return (long)nl + n + 2;
        }
    }
    return -1;
}

/* ---- registration ---- */

static void reg_report(struct sip_proxy *p, struct proxy_trunk *tr)
{
    if (tr->state == tr->reported) {
        return;
    }
    tr->reported = tr->state;
    if (tr->state == REG_OK) {
        proxy_log(p, "trunk: registered with %s as %s (expires %u s)", p->cfg.upstream,
                  tr->cfg.user, tr->cfg.expires_s);
    } else if (tr->state == REG_FAILED) {
        proxy_log(p, "trunk: registration with %s as %s failed (%u%s); retrying every %u s",
                  p->cfg.upstream, tr->cfg.user, tr->last_status,
                  tr->last_status == 0 ? ": no answer" : "", TRUNK_RETRY_MS / 1000);
    }
}

/* reg_transmit: the REGISTER in flight, to the upstream (over TLS checked against its name) */
static void reg_transmit(struct sip_proxy *p, struct proxy_trunk *tr)
{
    proxy_send_named(p, &tr->to, tr->name[0] != '\0' ? tr->name : NULL, tr->req, tr->req_len);
}

static void reg_send(struct sip_proxy *p, struct proxy_trunk *tr, const struct sip_msg *challenge)
{
    struct sip_uri up;
    if (sip_uri_parse(sip_str_make(p->cfg.upstream, strlen(p->cfg.upstream)), &up) != 0) {
        tr->state = REG_OFF;
        return;
    }
    if (challenge == NULL) {
        int rc = proxy_resolve(p, &up, &tr->to, tr->name);
        if (rc != 0) {
            tr->next_at = p->now + (rc == 1 ? 200 : TRUNK_RETRY_MS); /* DNS pending: soon */
            if (rc < 0) {
                tr->last_status = 0;
                tr->state = REG_FAILED;
                reg_report(p, tr);
            }
            return;
        }
        proxy_trunk_note_upstream(p, &tr->to);
    }
    char domain[160];
    snprintf(domain, sizeof(domain), "%s", tr->cfg.domain[0] ? tr->cfg.domain : "");
    if (domain[0] == '\0') {
        snprintf(domain, sizeof(domain), "%.*s", (int)up.host.len, up.host.p);
    }
    char ruri[200];
    snprintf(ruri, sizeof(ruri), "sip:%s", domain);
    char auth[1024] = "";
    if (challenge != NULL &&
        credentials_line(p, challenge, SIP_STR_LIT("REGISTER"), sip_str_make(ruri, strlen(ruri)),
                         auth, sizeof(auth) - 1) < 0) {
        tr->last_status = challenge->status;
        tr->state = REG_FAILED;
        tr->next_at = p->now + TRUNK_RETRY_MS;
        reg_report(p, tr);
        return;
    }
    tr->auth_tried = challenge != NULL;
    tr->cseq++;
    snprintf(tr->branch, sizeof(tr->branch), "z9hG4bKtrunk.%08x.%x", (unsigned)p->seed, tr->cseq);
    const char *side = proxy_side_addr(p, &tr->to);
    int n =
        snprintf(tr->req, sizeof(tr->req),
                 "REGISTER %s SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=%s;rport\r\n"
                 "Max-Forwards: 70\r\nFrom: <sip:%s@%s>;tag=%08x\r\nTo: <sip:%s@%s>\r\n"
                 "Call-ID: %s\r\nCSeq: %u REGISTER\r\nContact: <sip:%s@%s%s%s>\r\n"
                 "Expires: %u\r\n%sUser-Agent: sipring\r\nContent-Length: 0\r\n\r\n",
                 ruri, sip_transport_name(tr->to.transport), side, tr->branch, tr->cfg.user, domain,
                 (unsigned)(p->seed >> 8), tr->cfg.user, domain, tr->cfg.call_id, tr->cseq,
                 tr->cfg.user, side, sip_transport_param(tr->to.transport)[0] ? ";" : "",
                 sip_transport_param(tr->to.transport), tr->cfg.expires_s, auth);
    if (n < 0 || (size_t)n >= sizeof(tr->req)) {
        tr->state = REG_OFF;
        return;
    }
    tr->req_len = (size_t)n;
    sip_txn_client_start(&tr->ct, false, tr->to.transport != SIP_TP_UDP, &p->cfg.timers, p->now);
    tr->state = REG_SENT;
    reg_transmit(p, tr);
}

void proxy_trunk_tick(struct sip_proxy *p, uint64_t now)
{
    struct proxy_trunk *tr = p->trunk;
    if (tr == NULL || tr->state == REG_OFF || p->draining) {
        return;
    }
    if (tr->state == REG_SENT) {
        unsigned acts = sip_txn_on_timer(&tr->ct, now);
        if (acts & SIP_TXN_SEND_REQUEST) {
            reg_transmit(p, tr);
        }
        if (acts & SIP_TXN_TIMEOUT) {
            tr->last_status = 0;
            tr->state = REG_FAILED;
            tr->next_at = now + TRUNK_RETRY_MS;
            reg_report(p, tr);
        }
        return;
    }
    if (now >= tr->next_at) {
        reg_send(p, tr, NULL);
    }
}

/* reg_expires: what the registrar granted our Contact (its expires parameter, else Expires),
 * or what we asked for. */
static uint32_t reg_expires(const struct proxy_trunk *tr, const struct sip_msg *m)
{
    uint32_t e = tr->cfg.expires_s;
    if (m->has_expires) {
        e = m->expires;
    }
    for (const struct sip_hdr *h = sip_msg_first(m, SIP_HDR_CONTACT); h; h = sip_msg_next(m, h)) {
        const struct sip_addr *a = &m->addr[h->item];
        if (h->item != SIP_NONE && a->has_expires &&
            sip_str_eq(a->uri.user, sip_str_make(tr->cfg.user, strlen(tr->cfg.user)))) {
            e = a->expires;
        }
    }
    return e;
}

bool proxy_trunk_on_response(struct sip_proxy *p, const struct sip_msg *m)
{
    struct proxy_trunk *tr = p->trunk;
    const struct sip_via *v = sip_msg_top_via(m);
    if (tr == NULL || v == NULL || tr->state != REG_SENT ||
        !sip_str_eq(v->branch, sip_str_make(tr->branch, strlen(tr->branch)))) {
        return tr != NULL && v != NULL && v->branch.len > 12 &&
               memcmp(v->branch.p, "z9hG4bKtrunk.", 12) == 0; /* late answers: ours, ignore */
    }
    unsigned acts = sip_txn_client_on_response(&tr->ct, m->status, p->now);
    if (!(acts & SIP_TXN_PASS_UP) || m->status < 200) {
        return true;
    }
    tr->last_status = m->status;
    if ((m->status == 401 || m->status == 407) && !tr->auth_tried) {
        reg_send(p, tr, m);
        return true;
    }
    const struct sip_hdr *min = sip_msg_first(m, SIP_HDR_MIN_EXPIRES);
    uint32_t want = 0;
    if (m->status == 423 && min != NULL && sip_str_to_u32(min->value, 86400, &want) == 0 &&
        want > tr->cfg.expires_s) {
        tr->cfg.expires_s = want; /* §10.2.8: ask again for at least what the registrar wants */
        reg_send(p, tr, NULL);
        return true;
    }
    if (m->status >= 200 && m->status < 300) {
        uint32_t e = reg_expires(tr, m);
        tr->cfg.expires_s = e > 0 ? e : tr->cfg.expires_s;
        tr->state = REG_OK;
        /* refresh well before expiry: at 3/4 of the time granted */
        tr->next_at = p->now + (uint64_t)(e > 0 ? e : 60) * 750;
    } else {
        tr->state = REG_FAILED;
        tr->next_at = p->now + TRUNK_RETRY_MS;
    }
    reg_report(p, tr);
    return true;
}

/* ---- challenges to forwarded requests ---- */

bool proxy_trunk_answer(struct sip_proxy *p, struct ptxn *t, struct branch *b,
                        const struct sip_msg *resp)
{
    struct proxy_trunk *tr = p->trunk;
    if (tr == NULL || tr->cred == NULL || (resp->status != 401 && resp->status != 407) ||
        b->auth_tried || !is_upstream(tr, &b->to) || t->nbranch >= MAX_BRANCHES) {
        return false;
    }
    struct sip_msg *r = &p->aux;
    if (sip_msg_parse(r, b->req, b->req_len, SIP_PARSE_DGRAM, NULL) <= 0 ||
        r->method_id == SIP_METHOD_ACK || r->method_id == SIP_METHOD_CANCEL) {
        return false;
    }
    char line[1024];
    long ln = credentials_line(p, resp, r->method, r->ruri.raw, line, sizeof(line));
    if (ln < 0) {
        proxy_log(p,
                  "trunk: cannot answer the %u challenge of %s (Call-ID %.*s): algorithm "
                  "or qop not supported",
                  resp->status, p->cfg.upstream, (int)r->call_id.len, r->call_id.p);
        return false;
    }
    struct trunk_dialog *d = dialog_find(tr, r->call_id, r->addr[r->from].tag, true, p->now);
    if (d == NULL) {
        return false;
    }
    d->delta++;
    /* the new branch: our Via with a new branch id, CSeq one higher, the credentials added */
    struct branch *nb = &t->br[t->nbranch];
    memset(nb, 0, sizeof(*nb));
    nb->to = b->to;
    nb->auth_tried = true;
    snprintf(nb->id, sizeof(nb->id), "z9hG4bK%x.%x.%d.%08x-a", (unsigned)t->idx, (unsigned)t->gen,
             t->nbranch, (unsigned)(p->seed ^ p->counter++));
    struct sip_build bd;
    sip_build_init(&bd, r, p->iov, sizeof(p->iov) / sizeof(p->iov[0]), p->scratch,
                   sizeof(p->scratch));
    const struct sip_hdr *via = sip_msg_first(r, SIP_HDR_VIA);
    sip_build_replace(&bd, via,
                      sip_build_fmt(&bd, "Via: SIP/2.0/%s %s;branch=%s\r\n",
                                    sip_transport_name(b->to.transport), proxy_side_addr(p, &b->to),
                                    nb->id));
    sip_build_replace(
        &bd, sip_msg_first(r, SIP_HDR_CSEQ),
        sip_build_fmt(&bd, "CSeq: %u %.*s\r\n", r->cseq + 1, (int)r->method.len, r->method.p));
    sip_build_append(&bd, sip_str_make(line, (size_t)ln));
    if (r->method_id == SIP_METHOD_INVITE || r->method_id == SIP_METHOD_SUBSCRIBE) {
        uint32_t side = dialog_hash(r->call_id, r->addr[r->from].tag);
        for (const struct sip_hdr *h = sip_msg_first(r, SIP_HDR_RECORD_ROUTE); h;
             h = sip_msg_next(r, h)) {
            const struct sip_addr *a = h->item != SIP_NONE ? &r->addr[h->item] : NULL;
            if (a == NULL || !proxy_uri_is_self(p, &a->uri) || !proxy_rr_has_proof(&a->uri)) {
                break; /* ours are on top: the rest are the caller's side's */
            }
            sip_build_replace(&bd, h,
                              sip_build_fmt(&bd, "Record-Route: <%.*s;ts=%u.%08x>\r\n",
                                            (int)a->uri.raw.len, a->uri.raw.p, d->delta,
                                            (unsigned)side));
        }
    }
    long n = sip_build_finish(&bd);
    if (n < 0 || (size_t)n > sizeof(p->out) ||
        sip_build_flatten(bd.iov, bd.iov_n, p->out, sizeof(p->out)) != n) {
        d->delta--;
        return false;
    }
    nb->req = proxy_dup(p->out, (size_t)n);
    if (nb->req == NULL) {
        d->delta--;
        return false;
    }
    nb->req_len = (size_t)n;
    b->final_status = resp->status; /* the challenged branch is over; its answer is not passed up */
    b->superseded = true;
    t->nbranch++;
    sip_txn_client_start(&nb->ct, r->method_id == SIP_METHOD_INVITE, nb->to.transport != SIP_TP_UDP,
                         &p->cfg.timers, p->now);
    if (r->method_id == SIP_METHOD_INVITE) {
        nb->timer_c_at = p->now + (p->cfg.timer_c_ms ? p->cfg.timer_c_ms : 180000);
    }
    proxy_send(p, &nb->to, nb->req, nb->req_len);
    p->stats.trunk_auth++;
    proxy_debug(p, "trunk: answered a %u challenge for %.*s (Call-ID %.*s)", resp->status,
                (int)r->method.len, r->method.p, (int)r->call_id.len, r->call_id.p);
    return true;
}

/* route_shift: the shift the top Route of m (ours) carries for m's side of its dialog, or 0 */
static uint32_t route_shift(const struct sip_proxy *p, const struct sip_msg *m)
{
    const struct sip_hdr *h = sip_msg_first(m, SIP_HDR_ROUTE);
    struct sip_str v;
    if (h == NULL || h->item == SIP_NONE || !proxy_uri_is_self(p, &m->addr[h->item].uri) ||
        !sip_uri_param(&m->addr[h->item].uri, "ts", &v) || v.len == 0) {
        return 0;
    }
    const char *dot = memchr(v.p, '.', v.len);
    uint32_t delta, side;
    if (dot == NULL || sip_str_to_u32(sip_str_make(v.p, (size_t)(dot - v.p)), 16, &delta) != 0) {
        return 0;
    }
    struct sip_str hex = sip_str_make(dot + 1, v.len - (size_t)(dot + 1 - v.p));
    char want[9];
    side = dialog_hash(m->call_id, m->addr[m->from].tag);
    snprintf(want, sizeof(want), "%08x", (unsigned)side);
    return hex.len == 8 && memcmp(hex.p, want, 8) == 0 ? delta : 0;
}

void proxy_trunk_cseq_out(struct sip_proxy *p, const struct sip_msg *m, struct sip_build *bd)
{
    if (p->trunk == NULL || !m->is_request) {
        return;
    }
    struct trunk_dialog *d = dialog_find(p->trunk, m->call_id, m->addr[m->from].tag, false, p->now);
    uint32_t delta = d != NULL ? d->delta : route_shift(p, m);
    if (delta == 0) {
        return;
    }
    sip_build_replace(bd, sip_msg_first(m, SIP_HDR_CSEQ),
                      sip_build_fmt(bd, "CSeq: %u %.*s\r\n", m->cseq + delta,
                                    (int)m->cseq_method.len, m->cseq_method.p));
}

void proxy_trunk_dialog_end(struct sip_proxy *p, const struct sip_msg *m)
{
    if (p->trunk == NULL) {
        return;
    }
    struct trunk_dialog *d = dialog_find(p->trunk, m->call_id, m->addr[m->from].tag, false, p->now);
    if (d != NULL) {
        memset(d, 0, sizeof(*d));
    }
}

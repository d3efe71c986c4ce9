/* sip/proxy_calls.c: the proxy's side of the call table (sip/calls.h): a call opens with its
 * initial INVITE, rings and is answered with the responses that go back for it, and ends with
 * a BYE, its INVITE's final failure, a media timeout or age; each end makes one record, with
 * the media's figures asked of the relay first, handed to the sink. */
#include "proxy_int.h"

static struct sip_call *call_of(struct sip_proxy *p, const struct ptxn *t)
{
    return t->call_gen ? sip_calls_by_index(&p->calls, t->call_idx, t->call_gen) : NULL;
}

void proxy_calls_start(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m,
                       const struct sip_peer *from)
{
    bool fresh;
    struct sip_call *c = sip_calls_open(&p->calls, m->call_id, p->now, &fresh);
    if (c == NULL) {
        p->stats.calls_untracked++;
        return;
    }
    t->call_idx = (uint32_t)(c - p->calls.c);
    t->call_gen = c->gen;
    if (!fresh) {
        return; /* a spiral, or a new INVITE of a call being set up (another fork) */
    }
    const struct sip_addr *f = &m->addr[m->from], *to = &m->addr[m->to];
    sip_calls_set_party(c->from, sizeof(c->from), f->uri.user, f->uri.host);
    sip_calls_set_party(c->to, sizeof(c->to), to->uri.user, to->uri.host);
    size_t tl = f->tag.len < SIP_CALL_TAG_MAX ? f->tag.len : 0;
    if (tl > 0) { /* a From without a tag (RFC 2543) has no slice to copy */
        memcpy(c->caller_tag, f->tag.p, tl);
    }
    c->caller_tag_len = (uint8_t)tl;
    c->caller_inside = proxy_is_inside(p, from);
}

void proxy_calls_forwarded(struct sip_proxy *p, struct ptxn *t, const struct sip_peer *hop)
{
    struct sip_call *c = call_of(p, t);
    if (c != NULL) {
        c->callee_inside = proxy_is_inside(p, hop);
        c->forwarded = true;
    }
}

void sip_proxy_call_record(struct sip_proxy *p, const struct sip_call *c,
                           struct sip_call_record *out)
{
    memset(out, 0, sizeof(*out));
    out->call = *c;
    if (p->media != NULL && p->media->ops->totals != NULL) {
        p->media->ops->totals(p->media->self, sip_str_make(c->call_id, c->call_id_len), out);
    }
}

/* finish: c ends now, by why: its record goes to the sink, then the slot is freed. A challenge
 * (401/407) is not an end: the UA sends the INVITE again with credentials and the same
 * Call-ID, and that one is the call (its record starts then). A call sipring refused itself
 * before forwarding it (no proof, a cap, no such user) gets no record: the metrics count it,
 * and an attacker's flood of refused INVITEs must not become a flood of log lines. */
static void finish(struct sip_proxy *p, struct sip_call *c, enum sip_call_end why, unsigned status,
                   uint64_t now)
{
    if (status == 401 || status == 407 || !c->forwarded) {
        sip_calls_close(&p->calls, c);
        return;
    }
    if (p->sink.call_ended != NULL) {
        struct sip_call_record rec;
        sip_proxy_call_record(p, c, &rec);
        rec.call.state = SIP_CALL_ENDED;
        rec.call.end = why;
        rec.call.end_ms = now;
        if (status != 0 && rec.call.status == 0) {
            rec.call.status = (uint16_t)status;
        }
        p->sink.call_ended(p->sink.ctx, &rec);
    }
    sip_calls_close(&p->calls, c);
}

void proxy_calls_progress(struct sip_proxy *p, struct ptxn *t, unsigned status)
{
    struct sip_call *c = call_of(p, t);
    if (c == NULL || status < 180) {
        return;
    }
    if (status < 200) {
        if (c->state == SIP_CALL_SETUP) {
            c->state = SIP_CALL_RINGING;
            c->ring_ms = p->now;
        }
    } else if (status < 300) {
        if (c->state != SIP_CALL_ANSWERED) {
            c->state = SIP_CALL_ANSWERED;
            c->answer_ms = p->now;
            c->status = (uint16_t)status;
        }
    } else if (c->state != SIP_CALL_ANSWERED) {
        /* an answer sipring made itself (a check, credentials, no such user): no
         * proxy_call_ended came first */
        finish(p, c, SIP_CALL_END_FAILED, status, p->now);
    }
}

void proxy_calls_end(struct sip_proxy *p, const struct sip_msg *m, unsigned status)
{
    struct sip_call *c = sip_calls_find(&p->calls, m->call_id);
    if (c == NULL) {
        return;
    }
    if (m->method_id != SIP_METHOD_BYE) {
        if (c->state != SIP_CALL_ANSWERED) {
            finish(p, c, SIP_CALL_END_FAILED, status, p->now);
        }
        return; /* a failed fork of a call another branch answered */
    }
    struct sip_str tag = m->addr[m->from].tag;
    bool by_caller = tag.len == c->caller_tag_len && memcmp(tag.p, c->caller_tag, tag.len) == 0;
    finish(p, c, by_caller ? SIP_CALL_END_CALLER : SIP_CALL_END_CALLEE, 0, p->now);
}

void sip_proxy_media_timed_out(struct sip_proxy *p, struct sip_str call_id, uint64_t now)
{
    struct sip_call *c = sip_calls_find(&p->calls, call_id);
    if (c != NULL) {
        finish(p, c, SIP_CALL_END_MEDIA_TIMEOUT, 0, now);
    }
}

void proxy_calls_sweep(struct sip_proxy *p, uint64_t now)
{
    if (now < p->next_calls_sweep) {
        return;
    }
    p->next_calls_sweep = now + 60000;
    for (uint32_t i = 0; i < p->calls.used_hw && p->calls.open > 0; i++) {
        struct sip_call *c = &p->calls.c[i];
        uint64_t limit =
            c->state == SIP_CALL_ANSWERED ? SIP_CALL_MAX_AGE_MS : SIP_CALL_MAX_SETUP_MS;
        if (c->used && now - c->start_ms > limit) {
            finish(p, c, SIP_CALL_END_EXPIRED, 0, now);
        }
    }
}

void sip_proxy_calls_shutdown(struct sip_proxy *p, uint64_t now)
{
    for (uint32_t i = 0; i < p->calls.used_hw && p->calls.open > 0; i++) {
        if (p->calls.c[i].used) {
            finish(p, &p->calls.c[i], SIP_CALL_END_SHUTDOWN, 0, now);
        }
    }
}

const struct sip_calls *sip_proxy_calls(const struct sip_proxy *p)
{
    return &p->calls;
}

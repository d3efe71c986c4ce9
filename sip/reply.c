/* sip/reply.c: locally generated responses. */
#include "reply.h"

#include <stdio.h>

#include "scan.h"

struct out {
    char *p;
    size_t cap;
    size_t used;
    bool overflow;
};

static void put(struct out *o, const char *p, size_t n)
{
    if (n == 0) {
        return; /* p may be NULL for an empty slice */
    }
    if (n > o->cap - o->used) {
        o->overflow = true;
        return;
    }
    memcpy(o->p + o->used, p, n);
    o->used += n;
}

static void put_str(struct out *o, struct sip_str s)
{
    put(o, s.p, s.len);
}

static void put_lit(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* The top Via element, with received and a filled-in rport (RFC 3581 §4). */
static void put_top_via(struct out *o, const struct sip_msg *req, const struct sip_reply *r)
{
    const struct sip_hdr *h = sip_msg_first(req, SIP_HDR_VIA);
    const struct sip_via *v = &req->via[h->item];
    struct sip_str val = h->value;
    put_lit(o, "Via: ");
    if (v->has_rport && v->rport_value.len == 0 && r->rport != 0) {
        /* rport_value points right after the "rport" name of a value-less rport. */
        const char *at = v->rport_value.p + 5;
        char num[16];
        int n = snprintf(num, sizeof(num), "=%u", r->rport);
        put(o, val.p, (size_t)(at - val.p));
        put(o, num, (size_t)n);
        put(o, at, (size_t)(val.p + val.len - at));
    } else {
        put_str(o, val);
    }
    /* Not twice, and not as a 33rd parameter: what we build must parse again (found by
     * fuzz_sip: corpus/sip/regress/fuzz-via-received-overflow.sip). */
    if (r->received.len > 0 && !v->has_received && v->param_count < SIP_MAX_PARAMS) {
        put_lit(o, ";received=");
        put_str(o, r->received);
    }
    put_lit(o, "\r\n");
}

long sip_reply_top_via(const struct sip_msg *req, struct sip_str received, uint16_t rport,
                       char *out, size_t cap)
{
    struct out o = {out, cap, 0, false};
    struct sip_reply r = {0, "", SIP_STR_NULL, received, rport, SIP_STR_NULL};
    put_top_via(&o, req, &r);
    return o.overflow ? -1 : (long)o.used;
}

long sip_reply_build(const struct sip_msg *req, const struct sip_reply *r, char *out, size_t cap)
{
    struct out o = {out, cap, 0, false};
    char line[32];
    /* the phrase may be any length: only the fixed part goes through the small buffer */
    int n = snprintf(line, sizeof(line), "SIP/2.0 %u ", r->status % 1000);
    put(&o, line, (size_t)n);
    put(&o, r->phrase, strlen(r->phrase));
    put_lit(&o, "\r\n");
    put_top_via(&o, req, r);
    /* Remaining Vias in order: siblings of the top element first, then the other lines. */
    for (const struct sip_hdr *h = sip_msg_first(req, SIP_HDR_VIA); (h = sip_msg_next(req, h));) {
        put_lit(&o, "Via: ");
        put_str(&o, h->value);
        put_lit(&o, "\r\n");
    }
    const struct sip_hdr *from = sip_msg_first(req, SIP_HDR_FROM);
    const struct sip_hdr *to = sip_msg_first(req, SIP_HDR_TO);
    put_lit(&o, "From: ");
    put_str(&o, from->value);
    put_lit(&o, "\r\nTo: ");
    put_str(&o, to->value);
    /* the tag would be a 33rd parameter of a To that cannot have one more and still parse
     * (fuzz_sip: corpus/sip/regress/fuzz-to-tag-overflow.sip): such a reply goes without */
    if (!req->addr[req->to].has_tag && r->status > 100 && r->to_tag.len > 0 &&
        req->addr[req->to].param_count < SIP_MAX_PARAMS) {
        put_lit(&o, ";tag=");
        put_str(&o, r->to_tag);
    }
    put_lit(&o, "\r\nCall-ID: ");
    put_str(&o, req->call_id);
    n = snprintf(line, sizeof(line), "\r\nCSeq: %u ", req->cseq);
    put(&o, line, (size_t)n);
    put_str(&o, req->cseq_method);
    put_lit(&o, "\r\n");
    put_str(&o, r->extra);
    put_lit(&o, "Server: sipring\r\nContent-Length: 0\r\n\r\n");
    return o.overflow ? -1 : (long)o.used;
}

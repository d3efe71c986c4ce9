/* sip/registrar.c: REGISTER processing (RFC 3261 §10.3, RFC 3327 Path). */
#include <stdio.h>
#include <stdlib.h>

#include "proxy_int.h"

#define REG_CONTACTS_MAX 10 /* bindings one AOR may have */

static uint32_t expires_of(const struct sip_proxy *p, const struct sip_msg *m,
                           const struct sip_addr *c)
{
    /* §10.3 step 6: the contact's expires parameter, else the Expires header, else our default. */
    uint32_t e =
        c->has_expires ? c->expires : (m->has_expires ? m->expires : p->cfg.default_expires);
    return e > p->cfg.max_expires ? p->cfg.max_expires : e;
}

/* Writes the 200's Contact lines: every live binding of the AOR with its remaining time. */
static size_t contacts_text(struct sip_proxy *p, const char *aor, char *out, size_t cap)
{
    struct sip_binding bs[16];
    size_t n = p->loc->ops->lookup(p->loc->self, aor, p->now, bs, 16), used = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t left = (bs[i].expires_at_ms - p->now + 999) / 1000;
        int w = snprintf(out + used, cap - used, "Contact: <%s>;expires=%llu\r\n", bs[i].contact,
                         (unsigned long long)left);
        if (w < 0 || (size_t)w >= cap - used) {
            break;
        }
        used += (size_t)w;
    }
    return used;
}

/* Joins the Path values of the REGISTER (RFC 3327 §5.3: stored, and used as a Route set). */
static void path_of(const struct sip_msg *m, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (const struct sip_hdr *h = sip_msg_first(m, SIP_HDR_PATH); h; h = sip_msg_next(m, h)) {
        int w = snprintf(out + used, cap - used, "%s%.*s", used ? ", " : "", (int)h->value.len,
                         h->value.p);
        if (w < 0 || (size_t)w >= cap - used) {
            out[0] = '\0';
            return;
        }
        used += (size_t)w;
    }
}

void proxy_register(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m)
{
    char aor[SIP_LOC_AOR_MAX];
    const struct sip_addr *to = &m->addr[m->to];
    if ((to->uri.scheme != SIP_SCHEME_SIP && to->uri.scheme != SIP_SCHEME_SIPS) ||
        sip_aor_of(&to->uri, aor, sizeof(aor)) == 0) {
        proxy_reply(p, t, m, 404, "Not Found", SIP_STR_NULL);
        return;
    }
    struct sip_location *loc = p->loc;
    /* §10.3 step 6: "*" only alone and with Expires: 0; it removes every binding. */
    for (const struct sip_hdr *h = sip_msg_first(m, SIP_HDR_CONTACT); h; h = sip_msg_next(m, h)) {
        if (m->addr[h->item].is_star) {
            if (m->count[SIP_HDR_CONTACT] != 1 || !m->has_expires || m->expires != 0) {
                proxy_reply(p, t, m, 400, "Invalid Contact *", SIP_STR_NULL);
                return;
            }
            loc->ops->remove(loc->self, aor, NULL);
            proxy_reply(p, t, m, 200, "OK", SIP_STR_NULL);
            proxy_log(p, "unregistered all of %s", aor);
            return;
        }
    }
    /* Check every contact before changing anything (the request is atomic, §10.3). */
    struct sip_binding have[REG_CONTACTS_MAX + 1];
    size_t nhave = loc->ops->lookup(loc->self, aor, p->now, have, REG_CONTACTS_MAX + 1), added = 0;
    for (const struct sip_hdr *h = sip_msg_first(m, SIP_HDR_CONTACT); h; h = sip_msg_next(m, h)) {
        const struct sip_addr *c = &m->addr[h->item];
        uint32_t e = expires_of(p, m, c);
        if (e != 0 && e < p->cfg.min_expires) {
            char extra[64];
            int n = snprintf(extra, sizeof(extra), "Min-Expires: %u\r\n", p->cfg.min_expires);
            proxy_reply(p, t, m, 423, "Interval Too Brief", sip_str_make(extra, (size_t)n));
            return;
        }
        struct sip_binding old;
        char uri[SIP_LOC_URI_MAX];
        snprintf(uri, sizeof(uri), "%.*s", (int)c->uri.raw.len, c->uri.raw.p);
        /* §10.3 step 7: same Call-ID with a CSeq not higher: out of order, refuse. */
        bool known = loc->ops->find(loc->self, aor, uri, p->now, &old) == 0;
        if (known && sip_str_eq(m->call_id, sip_str_make(old.call_id, strlen(old.call_id))) &&
            m->cseq <= old.cseq) {
            proxy_reply(p, t, m, 500, "Out Of Order REGISTER", SIP_STR_NULL);
            return;
        }
        added += !known && e != 0;
    }
    if (added > 0 && nhave + added > REG_CONTACTS_MAX) {
        /* one account's contacts are capped, so that no client fills the store (issue 13) */
        proxy_reply(p, t, m, 403, "Forbidden (too many contacts for this address of record)",
                    SIP_STR_NULL);
        return;
    }
    for (const struct sip_hdr *h = sip_msg_first(m, SIP_HDR_CONTACT); h; h = sip_msg_next(m, h)) {
        const struct sip_addr *c = &m->addr[h->item];
        uint32_t e = expires_of(p, m, c);
        struct sip_binding b;
        memset(&b, 0, sizeof(b));
        snprintf(b.aor, sizeof(b.aor), "%s", aor);
        snprintf(b.contact, sizeof(b.contact), "%.*s", (int)c->uri.raw.len, c->uri.raw.p);
        if (e == 0) {
            loc->ops->remove(loc->self, aor, b.contact);
            continue;
        }
        snprintf(b.call_id, sizeof(b.call_id), "%.*s", (int)m->call_id.len, m->call_id.p);
        b.cseq = m->cseq;
        b.q_milli = c->has_q ? c->q_milli : 1000;
        b.received = t->from;
        /* A stream flow is kept like a NAT binding: requests go through it, keepalives keep it
         * (and the NAT in front of it, if any) open. */
        b.behind_nat = proxy_nat_behind(p, m, &t->from) || t->from.transport != SIP_TP_UDP;
        b.alive_ms = p->now;
        b.outbound = proxy_contact_outbound(c);
        b.expires_at_ms = p->now + (uint64_t)e * 1000;
        path_of(m, b.path, sizeof(b.path));
        if (loc->ops->save(loc->self, &b) != 0) {
            proxy_reply(p, t, m, 503, "Registrar Full", SIP_STR_LIT("Retry-After: 60\r\n"));
            if (p->stats.registrar_full++ % 1000 == 0) {
                proxy_log(p,
                          "the location store is full (--max-registrations): 503 to new "
                          "registrations (%llu so far on this worker)",
                          (unsigned long long)p->stats.registrar_full);
            }
            return;
        }
    }
    char extra[4096];
    size_t n = contacts_text(p, aor, extra, sizeof(extra));
    proxy_reply(p, t, m, 200, "OK", sip_str_make(extra, n));
}

/* sip/proxy_validate.c: RFC 3261 §16.3, request validation, before anything is forwarded:
 * the checks of proxy_validate (Max-Forwards, loops, Proxy-Require), the loop hash our branch
 * ids carry (§16.6 step 8), and the scanners that get no answer at all. */
#include "proxy_int.h"

#include <stdio.h>
#include <string.h>

/* §16.6 step 8 + §16.3 step 4: the branch carries a hash of what identifies the request at this
 * hop, so that the same request coming back (a loop, not a spiral) is recognised. */
uint32_t proxy_loop_hash(const struct sip_msg *m)
{
    uint32_t h = proxy_fnv_str(m->ruri.raw, SIP_FNV_INIT);
    h = proxy_fnv_str(m->addr[m->from].tag, h);
    h = proxy_fnv_str(m->addr[m->to].tag, h);
    h = proxy_fnv_str(m->call_id, h);
    h = proxy_fnv((const char *)&m->cseq, sizeof(m->cseq), h);
    const struct sip_hdr *r = sip_msg_first(m, SIP_HDR_ROUTE);
    return r ? proxy_fnv_str(r->value, h) : h;
}

bool proxy_is_looped(const struct sip_proxy *p, const struct sip_msg *m)
{
    char want[16];
    snprintf(want, sizeof(want), "-%08x", proxy_loop_hash(m));
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

/* §16.3 request validation. Returns 0, or the status it answered with. */
unsigned proxy_validate(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m)
{
    if (m->ruri.scheme == SIP_SCHEME_OTHER) {
        proxy_reply(p, t, m, 416, "Unsupported URI Scheme", SIP_STR_NULL);
        return 416;
    }
    if (m->max_forwards == 0) {
        proxy_reply(p, t, m, 483, "Too Many Hops", SIP_STR_NULL);
        return 483;
    }
    if (proxy_is_looped(p, m)) {
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
bool proxy_is_scanner(const struct sip_msg *m)
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

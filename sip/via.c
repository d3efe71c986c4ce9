/* sip/via.c: the Via header element decoder (RFC 3261 §20.42, §25.1; RFC 3581 rport).
 *
 *   via-parm      = sent-protocol LWS sent-by *( SEMI via-params )
 *   sent-protocol = protocol-name SLASH protocol-version SLASH transport
 *   sent-by       = host [ COLON port ]
 *   via-params    = via-ttl / via-maddr / via-received / via-branch / response-port / via-extension
 */
#include "decode.h"
#include "scan.h"

static bool received_valid(struct sip_str v)
{
    /* via-received = "received" EQUAL (IPv4address / IPv6address); a bracketed IPv6 reference
     * is accepted too (RFC 5118 §4.5: liberal receivers accept it). */
    if (v.len >= 2 && v.p[0] == '[' && v.p[v.len - 1] == ']') {
        return sip_ipv6_valid(sip_str_make(v.p + 1, v.len - 2));
    }
    return sip_ipv4_valid(v) || sip_ipv6_valid(v);
}

static int via_params(struct sip_cur *c, struct sip_via *v)
{
    struct sip_param ps[SIP_MAX_PARAMS];
    size_t n;
    const char *b = c->p;
    if (sip_cur_params(c, ps, SIP_MAX_PARAMS, &n) != 0) {
        return -1;
    }
    v->param_count = (uint8_t)n;
    if (n > 0) {
        struct sip_cur t = {b, c->p};
        sip_cur_lws(&t);
        v->params = sip_str_from_range(t.p + 1, c->p);
    }
    for (size_t i = 0; i < n; i++) {
        const struct sip_param *p = &ps[i];
        if (sip_str_ieq_lit(p->name, "branch")) {
            if (!p->has_value || p->is_quoted || v->has_branch) {
                return -1;
            }
            v->branch = p->value;
            v->has_branch = true;
        } else if (sip_str_ieq_lit(p->name, "received")) {
            if (!p->has_value || !received_valid(p->value)) {
                return -1;
            }
            v->received = p->value;
            v->has_received = true;
        } else if (sip_str_ieq_lit(p->name, "rport")) {
            uint32_t port;
            if (p->has_value && sip_str_to_u32(p->value, 65535, &port) != 0) {
                return -1;
            }
            v->rport_value = p->has_value ? p->value : sip_str_make(p->name.p, 0);
            v->has_rport = true;
        } else if (sip_str_ieq_lit(p->name, "maddr")) {
            if (!p->has_value) {
                return -1;
            }
            v->maddr = p->value;
            v->has_maddr = true;
        } else if (sip_str_ieq_lit(p->name, "ttl")) {
            uint32_t ttl;
            if (!p->has_value || sip_str_to_u32(p->value, 255, &ttl) != 0) {
                return -1;
            }
            v->ttl = p->value;
            v->has_ttl = true;
        }
    }
    return 0;
}

int sip_via_decode(struct sip_str value, struct sip_via *v)
{
    memset(v, 0, sizeof(*v));
    struct sip_cur c = sip_cur_of(value);
    sip_cur_lws(&c);
    struct sip_str name = sip_cur_token(&c);
    if (!sip_str_ieq_lit(name, "SIP") || !sip_cur_sep(&c, '/')) {
        return -1;
    }
    struct sip_str version = sip_cur_token(&c);
    if (!sip_str_eq(version, SIP_STR_LIT("2.0")) || !sip_cur_sep(&c, '/')) {
        return -1;
    }
    v->transport = sip_cur_token(&c);
    if (v->transport.len == 0) {
        return -1;
    }
    const char *before = c.p;
    sip_cur_lws(&c);
    if (c.p == before) {
        return -1; /* LWS is required between sent-protocol and sent-by */
    }
    /* sent-by = host [ COLON port ]; COLON allows LWS around it. */
    const char *hb = c.p;
    if (c.p < c.e && *c.p == '[') {
        const char *close = memchr(c.p, ']', (size_t)(c.e - c.p));
        if (close == NULL) {
            return -1;
        }
        c.p = close + 1;
    } else {
        while (c.p < c.e && sip_is((unsigned char)*c.p, SIP_C_HOST)) {
            c.p++;
        }
    }
    struct sip_str host = sip_str_from_range(hb, c.p);
    uint32_t port = 0;
    bool has_port = false;
    if (sip_cur_sep(&c, ':')) {
        const char *pb = c.p;
        while (c.p < c.e && sip_is_digit(*c.p)) {
            c.p++;
        }
        if (sip_str_to_u32(sip_str_from_range(pb, c.p), 65535, &port) != 0) {
            return -1;
        }
        has_port = true;
    }
    uint16_t unused_port;
    bool unused_has;
    int used = sip_hostport_parse(host, &v->host, &v->host_kind, &unused_port, &unused_has);
    if (used < 0 || (size_t)used != host.len) {
        return -1;
    }
    v->has_port = has_port;
    v->port = (uint16_t)port;
    if (via_params(&c, v) != 0) {
        return -1;
    }
    sip_cur_lws(&c);
    return sip_cur_end(&c) ? 0 : -1;
}

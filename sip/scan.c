/* sip/scan.c: LWS-aware grammar pieces shared by the header decoders. */
#include "scan.h"

int sip_cur_quoted(struct sip_cur *c, struct sip_str *out)
{
    if (c->p >= c->e || *c->p != '"') {
        return -1;
    }
    const char *b = ++c->p;
    while (c->p < c->e) {
        char ch = *c->p;
        if (ch == '"') {
            *out = sip_str_from_range(b, c->p);
            c->p++;
            return 0;
        }
        /* quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F) */
        if (ch == '\\') {
            if (c->p + 1 >= c->e || c->p[1] == '\r' || c->p[1] == '\n' ||
                (unsigned char)c->p[1] > 0x7f) {
                return -1;
            }
            c->p += 2;
            continue;
        }
        c->p++;
    }
    return -1;
}

/* gen-value for a host may be an IPv6 reference, and Via's received may hold a bare IPv6
 * address (RFC 5118 §4.5), so ':' '[' ']' are accepted besides token characters. */
static struct sip_str gen_value(struct sip_cur *c)
{
    const char *b = c->p;
    while (c->p < c->e && (sip_is((unsigned char)*c->p, SIP_C_TOKEN) || *c->p == ':' ||
                           *c->p == '[' || *c->p == ']')) {
        c->p++;
    }
    return sip_str_from_range(b, c->p);
}

int sip_cur_params(struct sip_cur *c, struct sip_param *out, size_t cap, size_t *n)
{
    *n = 0;
    while (sip_cur_sep(c, ';')) {
        struct sip_param prm = {0};
        prm.name = sip_cur_token(c);
        if (prm.name.len == 0) {
            return -1;
        }
        if (sip_cur_sep(c, '=')) {
            prm.has_value = true;
            if (c->p < c->e && *c->p == '"') {
                if (sip_cur_quoted(c, &prm.value) != 0) {
                    return -1;
                }
                prm.is_quoted = true;
            } else {
                prm.value = gen_value(c);
                if (prm.value.len == 0) {
                    return -1;
                }
            }
        }
        if (*n >= cap) {
            return -1;
        }
        out[(*n)++] = prm;
    }
    return 0;
}

const struct sip_param *sip_param_find(const struct sip_param *ps, size_t n, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < n; i++) {
        if (sip_str_ieq(ps[i].name, sip_str_make(name, len))) {
            return &ps[i];
        }
    }
    return NULL;
}

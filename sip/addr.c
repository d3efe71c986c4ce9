/* sip/addr.c: name-addr / addr-spec decoding and list splitting (RFC 3261 §20.10, §25.1).
 *
 *   name-addr    = [ display-name ] LAQUOT addr-spec RAQUOT
 *   addr-spec    = SIP-URI / SIPS-URI / absoluteURI
 *   display-name = *(token LWS) / quoted-string
 *
 * RFC 3261 §20: "if the URI contains a comma, question mark or semicolon, the URI MUST be
 * enclosed in angle brackets", so an addr-spec ends at the first ';' or LWS and may not hold '?'.
 */
#include "decode.h"
#include "scan.h"

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
static int qvalue(struct sip_str v, uint16_t *out)
{
    if (v.len == 0 || (v.p[0] != '0' && v.p[0] != '1') || v.len > 5 ||
        (v.len > 1 && v.p[1] != '.')) {
        return -1;
    }
    unsigned q = (unsigned)(v.p[0] - '0') * 1000, scale = 100;
    for (size_t i = 2; i < v.len; i++, scale /= 10) {
        if (!sip_is_digit(v.p[i])) {
            return -1;
        }
        q += (unsigned)(v.p[i] - '0') * scale;
    }
    if (q > 1000) {
        return -1;
    }
    *out = (uint16_t)q;
    return 0;
}

static int addr_params(struct sip_cur *c, struct sip_addr *a)
{
    struct sip_param ps[SIP_MAX_PARAMS];
    size_t n;
    const char *b = c->p;
    if (sip_cur_params(c, ps, SIP_MAX_PARAMS, &n) != 0) {
        return -1;
    }
    a->param_count = (uint8_t)n;
    if (n > 0) {
        struct sip_cur t = {b, c->p};
        sip_cur_lws(&t);
        a->params = sip_str_from_range(t.p + 1, c->p);
    }
    for (size_t i = 0; i < n; i++) {
        const struct sip_param *p = &ps[i];
        if (sip_str_ieq_lit(p->name, "tag")) {
            if (!p->has_value || p->is_quoted || a->has_tag) {
                return -1;
            }
            a->tag = p->value;
            a->has_tag = true;
        } else if (sip_str_ieq_lit(p->name, "expires")) {
            /* RFC 3261 §20.19: malformed values SHOULD be treated as 3600. */
            if (!p->has_value || sip_str_to_u32(p->value, UINT32_MAX, &a->expires) != 0) {
                a->expires = 3600;
            }
            a->has_expires = true;
        } else if (sip_str_ieq_lit(p->name, "q")) {
            if (!p->has_value || qvalue(p->value, &a->q_milli) != 0) {
                return -1;
            }
            a->has_q = true;
        }
    }
    return 0;
}

/* Display name as *(token LWS), ending right before '<'. Returns 0 if a '<' follows. */
static int token_display(struct sip_cur *c, struct sip_addr *a)
{
    const char *b = c->p, *last = c->p;
    while (c->p < c->e) {
        struct sip_str t = sip_cur_token(c);
        if (t.len == 0) {
            break;
        }
        last = c->p;
        sip_cur_lws(c);
    }
    if (c->p < c->e && *c->p == '<') {
        a->display = sip_str_from_range(b, last);
        return 0;
    }
    return -1;
}

int sip_addr_decode(struct sip_str value, struct sip_addr *a, bool allow_star)
{
    memset(a, 0, sizeof(*a));
    struct sip_cur c = sip_cur_of(sip_str_trim(value));
    if (allow_star && c.e - c.p == 1 && *c.p == '*') {
        a->is_star = true;
        return 0;
    }
    struct sip_cur start = c;
    bool bracketed = false;
    if (c.p < c.e && *c.p == '"') {
        if (sip_cur_quoted(&c, &a->display) != 0) {
            return -1;
        }
        sip_cur_lws(&c);
        if (c.p >= c.e || *c.p != '<') {
            return -1;
        }
        bracketed = true;
    } else if (c.p < c.e && *c.p == '<') {
        bracketed = true;
    } else if (token_display(&c, a) == 0) {
        bracketed = true;
    } else {
        c = start;
    }
    struct sip_str uri;
    if (bracketed) {
        const char *close = memchr(c.p, '>', (size_t)(c.e - c.p));
        if (close == NULL) {
            return -1;
        }
        uri = sip_str_from_range(c.p + 1, close);
        c.p = close + 1;
    } else {
        const char *b = c.p;
        while (c.p < c.e && *c.p != ';' && *c.p != ' ' && *c.p != '\t' && *c.p != '\r' &&
               *c.p != '\n') {
            c.p++;
        }
        uri = sip_str_from_range(b, c.p);
        if (memchr(uri.p, '?', uri.len) != NULL || memchr(uri.p, ',', uri.len) != NULL) {
            return -1;
        }
    }
    if (sip_uri_parse(uri, &a->uri) != 0 || addr_params(&c, a) != 0) {
        return -1;
    }
    sip_cur_lws(&c);
    return sip_cur_end(&c) ? 0 : -1;
}

int sip_list_split(struct sip_str value, sip_list_fn fn, void *ctx)
{
    /* Most list header lines hold one element: without a comma there is nothing to split. */
    if (memchr(value.p, ',', value.len) == NULL) {
        return fn(ctx, sip_str_trim(value));
    }
    const char *p = value.p, *e = value.p + value.len, *b = p;
    bool in_quote = false, in_angle = false;
    for (; p < e; p++) {
        char ch = *p;
        if (in_quote) {
            if (ch == '\\' && p + 1 < e) {
                p++;
            } else if (ch == '"') {
                in_quote = false;
            }
        } else if (ch == '"') {
            in_quote = true;
        } else if (ch == '<') {
            in_angle = true;
        } else if (ch == '>') {
            in_angle = false;
        } else if (ch == ',' && !in_angle) {
            int rc = fn(ctx, sip_str_trim(sip_str_from_range(b, p)));
            if (rc != 0) {
                return rc;
            }
            b = p + 1;
        }
    }
    return fn(ctx, sip_str_trim(sip_str_from_range(b, e)));
}

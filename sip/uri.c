/* sip/uri.c: URI decoding and comparison.
 *
 * SIP-URI = "sip:" [ userinfo ] hostport uri-parameters [ headers ]     (RFC 3261 §25.1)
 * userinfo = ( user / telephone-subscriber ) [ ":" password ] "@"
 */
#include "uri.h"

#include "chars.h"

static bool is_escaped_at(const char *p, const char *e)
{
    return e - p >= 3 && sip_is_hex(p[1]) && sip_is_hex(p[2]);
}

/* Checks that every octet is in class cls or is an escaped triplet. */
static bool all_of(struct sip_str s, uint8_t cls)
{
    const char *p = s.p, *e = s.p + s.len;
    while (p < e) {
        if (*p == '%') {
            if (!is_escaped_at(p, e)) {
                return false;
            }
            p += 3;
            continue;
        }
        if (!sip_is((unsigned char)*p, cls)) {
            return false;
        }
        p++;
    }
    return true;
}

bool sip_ipv4_valid(struct sip_str s)
{
    const char *p = s.p, *e = s.p + s.len;
    for (int part = 0; part < 4; part++) {
        unsigned v = 0;
        int digits = 0;
        while (p < e && sip_is_digit(*p) && digits < 4) {
            v = v * 10 + (unsigned)(*p++ - '0');
            digits++;
        }
        if (digits == 0 || digits > 3 || v > 255) {
            return false;
        }
        if (part < 3) {
            if (p >= e || *p != '.') {
                return false;
            }
            p++;
        }
    }
    return p == e;
}

bool sip_ipv6_valid(struct sip_str s)
{
    const char *p = s.p, *e = s.p + s.len;
    int groups = 0;
    bool has_gap = false;
    if (s.len < 2) {
        return false;
    }
    if (p[0] == ':') {
        if (p[1] != ':') {
            return false;
        }
        has_gap = true;
        p += 2;
        if (p == e) {
            return true;
        }
    }
    while (p < e) {
        const char *g = p;
        while (p < e && sip_is_hex(*p) && p - g < 5) {
            p++;
        }
        size_t glen = (size_t)(p - g);
        if (p < e && *p == '.') {
            /* Trailing IPv4 part counts as two groups. */
            if (!sip_ipv4_valid(sip_str_from_range(g, e))) {
                return false;
            }
            groups += 2;
            p = e;
            break;
        }
        if (glen == 0 || glen > 4) {
            return false;
        }
        groups++;
        if (p == e) {
            break;
        }
        if (*p != ':') {
            return false;
        }
        p++;
        if (p < e && *p == ':') {
            if (has_gap) {
                return false;
            }
            has_gap = true;
            p++;
            if (p == e) {
                break;
            }
        } else if (p == e) {
            return false;
        }
    }
    return has_gap ? groups <= 7 : groups == 8;
}

/* hostname = *( domainlabel "." ) toplabel [ "." ]: labels of alphanum with inner '-'.
 * Returns true and sets *all_digits_dots when every octet is a digit or a dot (a candidate
 * IPv4address, which the caller checks separately). */
static bool hostname_scan(struct sip_str s, bool *all_digits_dots)
{
    bool digits_dots = true;
    char prev = '.';
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (!sip_is((unsigned char)c, SIP_C_HOST)) {
            return false;
        }
        if ((c == '.' || c == '-') && prev == '.') {
            return false; /* empty label, or a label starting with '-' */
        }
        digits_dots &= sip_is_digit(c) || c == '.';
        prev = c;
    }
    *all_digits_dots = digits_dots;
    return s.len > 0;
}

int sip_hostport_parse(struct sip_str s, struct sip_str *host, enum sip_host_kind *kind,
                       uint16_t *port, bool *has_port)
{
    const char *p = s.p, *e = s.p + s.len;
    *has_port = false;
    *port = 0;
    if (p < e && *p == '[') {
        const char *close = memchr(p, ']', (size_t)(e - p));
        if (close == NULL) {
            return -1;
        }
        *host = sip_str_from_range(p + 1, close);
        if (!sip_ipv6_valid(*host)) {
            return -1;
        }
        *kind = SIP_HOST_IPV6;
        p = close + 1;
    } else {
        const char *b = p;
        while (p < e && sip_is((unsigned char)*p, SIP_C_HOST)) {
            p++;
        }
        *host = sip_str_from_range(b, p);
        bool digits_dots;
        if (!hostname_scan(*host, &digits_dots)) {
            return -1;
        }
        /* A name made of digits and dots only must be a valid IPv4 address: the toplabel of a
         * hostname starts with a letter (RFC 3261 §25.1). */
        if (digits_dots) {
            if (!sip_ipv4_valid(*host)) {
                return -1;
            }
            *kind = SIP_HOST_IPV4;
        } else {
            *kind = SIP_HOST_NAME;
        }
    }
    if (p < e && *p == ':') {
        const char *b = ++p;
        while (p < e && sip_is_digit(*p)) {
            p++;
        }
        uint32_t v;
        if (sip_str_to_u32(sip_str_from_range(b, p), 65535, &v) != 0) {
            return -1;
        }
        *port = (uint16_t)v;
        *has_port = true;
    }
    return (int)(p - s.p);
}

/* uri-parameters = *( ";" pname [ "=" pvalue ] ), pname/pvalue = 1*paramchar */
static int parse_uri_params(struct sip_uri *u, const char *p, const char *e)
{
    while (p < e) {
        if (*p != ';') {
            return -1;
        }
        const char *nb = ++p;
        while (p < e && *p != ';' && *p != '=') {
            p++;
        }
        struct sip_str name = sip_str_from_range(nb, p);
        struct sip_str val = {p, 0};
        if (p < e && *p == '=') {
            const char *vb = ++p;
            while (p < e && *p != ';') {
                p++;
            }
            val = sip_str_from_range(vb, p);
            if (val.len == 0 || !all_of(val, SIP_C_UNRES | SIP_C_PARAM)) {
                return -1;
            }
        }
        if (name.len == 0 || !all_of(name, SIP_C_UNRES | SIP_C_PARAM)) {
            return -1;
        }
        switch (name.len) {
        case 2:
            u->has_lr |= sip_str_ieq_n(name.p, "lr", 2);
            break;
        case 3:
            u->ttl = sip_str_ieq_n(name.p, "ttl", 3) ? val : u->ttl;
            break;
        case 4:
            u->user_param = sip_str_ieq_n(name.p, "user", 4) ? val : u->user_param;
            break;
        case 5:
            u->maddr = sip_str_ieq_n(name.p, "maddr", 5) ? val : u->maddr;
            break;
        case 6:
            u->method = sip_str_ieq_n(name.p, "method", 6) ? val : u->method;
            break;
        case 9:
            u->transport = sip_str_ieq_n(name.p, "transport", 9) ? val : u->transport;
            break;
        default:
            break;
        }
    }
    return 0;
}

/* headers = "?" header *( "&" header ), header = hname "=" hvalue */
static bool uri_headers_valid(struct sip_str h)
{
    const char *p = h.p, *e = h.p + h.len;
    while (p <= e) {
        const char *b = p;
        while (p < e && *p != '&') {
            p++;
        }
        struct sip_str one = sip_str_from_range(b, p);
        const char *eq = memchr(one.p, '=', one.len);
        if (eq == NULL || eq == one.p) {
            return false;
        }
        if (!all_of(sip_str_from_range(one.p, eq), SIP_C_UNRES | SIP_C_HNV) ||
            !all_of(sip_str_from_range(eq + 1, p), SIP_C_UNRES | SIP_C_HNV)) {
            return false;
        }
        p++;
    }
    return true;
}

static int parse_sip(struct sip_uri *u, const char *p, const char *e)
{
    /* '@' appears only as the end of userinfo (it is in no other production of SIP-URI),
     * while '?' and ';' may appear inside the user part: find '@' first. */
    const char *at = memchr(p, '@', (size_t)(e - p));
    const char *hp = at ? at + 1 : p;
    const char *q = memchr(hp, '?', (size_t)(e - hp));
    const char *end = q ? q : e;
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        u->user = sip_str_from_range(p, colon ? colon : at);
        if (colon != NULL) {
            u->password = sip_str_from_range(colon + 1, at);
            if (!all_of(u->password, SIP_C_UNRES | SIP_C_PASS)) {
                return -1;
            }
        }
        if (u->user.len == 0 || !all_of(u->user, SIP_C_UNRES | SIP_C_USER)) {
            return -1;
        }
        p = at + 1;
    }
    const char *semi = memchr(p, ';', (size_t)(end - p));
    const char *hp_end = semi ? semi : end;
    int used = sip_hostport_parse(sip_str_from_range(p, hp_end), &u->host, &u->host_kind, &u->port,
                                  &u->has_port);
    if (used < 0 || p + used != hp_end) {
        return -1;
    }
    if (semi != NULL) {
        u->params = sip_str_from_range(semi + 1, end);
        if (parse_uri_params(u, semi, end) != 0) {
            return -1;
        }
    }
    if (q != NULL) {
        u->headers = sip_str_from_range(q + 1, e);
        if (!uri_headers_valid(u->headers)) {
            return -1;
        }
    }
    return 0;
}

/* RFC 3966: telephone-subscriber, kept loose: visual separators, digits, hex, '*', '#', '+'. */
static int parse_tel(struct sip_uri *u, const char *p, const char *e)
{
    const char *semi = memchr(p, ';', (size_t)(e - p));
    u->user = sip_str_from_range(p, semi ? semi : e);
    if (u->user.len == 0) {
        return -1;
    }
    for (size_t i = 0; i < u->user.len; i++) {
        char c = u->user.p[i];
        if (!(sip_is_hex(c) || c == '*' || c == '#' || c == '+' || c == '-' || c == '.' ||
              c == '(' || c == ')')) {
            return -1;
        }
    }
    if (semi != NULL) {
        u->params = sip_str_from_range(semi + 1, e);
        return parse_uri_params(u, semi, e);
    }
    return 0;
}

int sip_uri_parse(struct sip_str s, struct sip_uri *u)
{
    memset(u, 0, sizeof(*u));
    u->raw = s;
    const char *p = s.p, *e = s.p + s.len;
    const char *colon = memchr(p, ':', s.len);
    if (colon == NULL || colon == p) {
        return -1;
    }
    struct sip_str scheme = sip_str_from_range(p, colon);
    p = colon + 1;
    if (p >= e) {
        return -1;
    }
    if (sip_str_ieq_lit(scheme, "sip")) {
        u->scheme = SIP_SCHEME_SIP;
        return parse_sip(u, p, e);
    }
    if (sip_str_ieq_lit(scheme, "sips")) {
        u->scheme = SIP_SCHEME_SIPS;
        return parse_sip(u, p, e);
    }
    if (sip_str_ieq_lit(scheme, "tel")) {
        u->scheme = SIP_SCHEME_TEL;
        return parse_tel(u, p, e);
    }
    /* absoluteURI: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then no LWS, quotes
     * or angle brackets. */
    if (!((scheme.p[0] | 0x20) >= 'a' && (scheme.p[0] | 0x20) <= 'z')) {
        return -1;
    }
    for (size_t i = 0; i < scheme.len; i++) {
        char c = scheme.p[i];
        if (!(sip_is((unsigned char)c, SIP_C_HOST) || c == '+')) {
            return -1;
        }
    }
    for (; p < e; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c == '<' || c == '>' || c == '"' || c >= 0x7f) {
            return -1;
        }
    }
    u->scheme = SIP_SCHEME_OTHER;
    return 0;
}

/* Search of ";name[=value]" inside a params slice (which has no leading ';'). */
static bool find_param(struct sip_str params, const char *name, struct sip_str *value)
{
    size_t nlen = strlen(name);
    const char *p = params.p, *e = params.p + params.len;
    while (p < e) {
        const char *b = p;
        while (p < e && *p != ';') {
            p++;
        }
        const char *eq = memchr(b, '=', (size_t)(p - b));
        struct sip_str n = sip_str_from_range(b, eq ? eq : p);
        if (sip_str_ieq(n, sip_str_make(name, nlen))) {
            *value = eq ? sip_str_from_range(eq + 1, p) : sip_str_make(p, 0);
            return true;
        }
        p++;
    }
    return false;
}

bool sip_uri_param(const struct sip_uri *u, const char *name, struct sip_str *value)
{
    if (!sip_str_is_set(u->params)) {
        return false;
    }
    return find_param(u->params, name, value);
}

static int hexval(char c)
{
    return sip_is_digit(c) ? c - '0' : (sip_lower(c) - 'a' + 10);
}

/* Reads one octet of an escaped string, decoding %XX. */
static unsigned char next_octet(const char **p, const char *e)
{
    if (**p == '%' && e - *p >= 3 && sip_is_hex((*p)[1]) && sip_is_hex((*p)[2])) {
        unsigned char v = (unsigned char)(hexval((*p)[1]) * 16 + hexval((*p)[2]));
        *p += 3;
        return v;
    }
    return (unsigned char)*(*p)++;
}

/* Compares two escaped strings after unescaping, optionally case-insensitively. */
static bool unescaped_eq(struct sip_str a, struct sip_str b, bool icase)
{
    if (a.len == 0 || b.len == 0) {
        return a.len == b.len; /* an unset slice is NULL: no pointer arithmetic on it */
    }
    const char *pa = a.p, *ea = a.p + a.len, *pb = b.p, *eb = b.p + b.len;
    while (pa < ea && pb < eb) {
        unsigned char ca = next_octet(&pa, ea), cb = next_octet(&pb, eb);
        if (icase) {
            ca = (unsigned char)sip_lower((char)ca);
            cb = (unsigned char)sip_lower((char)cb);
        }
        if (ca != cb) {
            return false;
        }
    }
    return pa == ea && pb == eb;
}

/* RFC 3261 §19.1.4: "A URI omitting any component with a default value will not match a URI
 * explicitly containing that component with its default value." and for the user, ttl,
 * method, maddr and transport parameters: present in one, then present and equal in both. */
static bool params_eq(const struct sip_uri *a, const struct sip_uri *b)
{
    static const char *const must[] = {"user", "ttl", "method", "maddr", "transport"};
    for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++) {
        struct sip_str va, vb;
        bool ha = sip_uri_param(a, must[i], &va), hb = sip_uri_param(b, must[i], &vb);
        if (ha != hb || (ha && !unescaped_eq(va, vb, true))) {
            return false;
        }
    }
    /* Any other parameter appearing in both must match. */
    if (!sip_str_is_set(a->params) || a->params.len == 0) {
        return true;
    }
    const char *p = a->params.p, *e = a->params.p + a->params.len;
    while (p < e) {
        const char *nb = p;
        while (p < e && *p != ';') {
            p++;
        }
        const char *eq = memchr(nb, '=', (size_t)(p - nb));
        struct sip_str name = sip_str_from_range(nb, eq ? eq : p);
        struct sip_str va = eq ? sip_str_from_range(eq + 1, p) : sip_str_make(p, 0), vb;
        char nbuf[64];
        if (name.len < sizeof(nbuf)) {
            memcpy(nbuf, name.p, name.len);
            nbuf[name.len] = '\0';
            if (sip_uri_param(b, nbuf, &vb) && !unescaped_eq(va, vb, true)) {
                return false;
            }
        }
        p++;
    }
    return true;
}

static bool headers_eq(struct sip_str a, struct sip_str b)
{
    /* Same set of headers, in any order: each header of a is in b and the counts agree. */
    size_t na = 0, nb = 0;
    if (a.len == 0 || b.len == 0) {
        return a.len == b.len; /* an unset slice is NULL: no pointer arithmetic on it */
    }
    const char *p = a.p, *e = a.p + a.len;
    for (size_t i = 0; i < b.len; i++) {
        nb += b.p[i] == '&';
    }
    while (a.len > 0 && p <= e) {
        const char *hb = p;
        while (p < e && *p != '&') {
            p++;
        }
        struct sip_str one = sip_str_from_range(hb, p);
        const char *eq = memchr(one.p, '=', one.len);
        bool found = false;
        const char *q = b.p, *qe = b.p + b.len;
        while (eq != NULL && b.len > 0 && q <= qe && !found) {
            const char *ob = q;
            while (q < qe && *q != '&') {
                q++;
            }
            struct sip_str other = sip_str_from_range(ob, q);
            const char *oeq = memchr(other.p, '=', other.len);
            found =
                oeq != NULL &&
                unescaped_eq(sip_str_from_range(one.p, eq), sip_str_from_range(ob, oeq), true) &&
                unescaped_eq(sip_str_from_range(eq + 1, p), sip_str_from_range(oeq + 1, q), false);
            q++;
        }
        if (!found) {
            return false;
        }
        na++;
        p++;
    }
    return a.len == 0 ? b.len == 0 : (b.len > 0 && na == nb + 1);
}

bool sip_uri_eq(const struct sip_uri *a, const struct sip_uri *b)
{
    if (a->scheme != b->scheme) {
        return false;
    }
    if (a->scheme == SIP_SCHEME_OTHER) {
        return sip_str_ieq(a->raw, b->raw);
    }
    if (!unescaped_eq(a->user, b->user, a->scheme == SIP_SCHEME_TEL) ||
        !unescaped_eq(a->password, b->password, false)) {
        return false;
    }
    if (!sip_str_ieq(a->host, b->host) || a->has_port != b->has_port || a->port != b->port) {
        return false;
    }
    return params_eq(a, b) && params_eq(b, a) && headers_eq(a->headers, b->headers);
}

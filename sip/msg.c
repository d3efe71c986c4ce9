/* sip/msg.c: the message parser (RFC 3261 §7, §25): start line, header index, typed fields,
 * body framing. */
#include "msg.h"

#include "decode.h"
#include "scan.h"

const struct sip_limits sip_limits_default = {
    .max_msg_bytes = 65535,
    .max_headers = SIP_MAX_HEADERS,
    .max_vias = SIP_MAX_VIA,
};

static int fail(struct sip_msg *m, enum sip_err e, const char *at)
{
    m->err = e;
    m->err_off = (size_t)(at - m->buf);
    return SIP_EBAD;
}

enum sip_method sip_method_of(struct sip_str s)
{
    static const struct {
        const char *name;
        enum sip_method id;
    } methods[] = {
        {"INVITE", SIP_METHOD_INVITE},   {"ACK", SIP_METHOD_ACK},
        {"BYE", SIP_METHOD_BYE},         {"CANCEL", SIP_METHOD_CANCEL},
        {"OPTIONS", SIP_METHOD_OPTIONS}, {"REGISTER", SIP_METHOD_REGISTER},
        {"PRACK", SIP_METHOD_PRACK},     {"SUBSCRIBE", SIP_METHOD_SUBSCRIBE},
        {"NOTIFY", SIP_METHOD_NOTIFY},   {"PUBLISH", SIP_METHOD_PUBLISH},
        {"INFO", SIP_METHOD_INFO},       {"REFER", SIP_METHOD_REFER},
        {"MESSAGE", SIP_METHOD_MESSAGE}, {"UPDATE", SIP_METHOD_UPDATE},
    };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (s.len == strlen(methods[i].name) && memcmp(s.p, methods[i].name, s.len) == 0) {
            return methods[i].id;
        }
    }
    return SIP_METHOD_UNKNOWN;
}

static bool is_version(struct sip_str s)
{
    return s.len == 7 && sip_str_ieq(s, SIP_STR_LIT("SIP/2.0"));
}

/* "SIP/" 1*DIGIT "." 1*DIGIT other than 2.0: a version we do not speak (505), not garbage. */
static bool is_other_version(struct sip_str s)
{
    if (s.len < 7 || !sip_str_ieq(sip_str_make(s.p, 4), SIP_STR_LIT("SIP/"))) {
        return false;
    }
    const char *dot = memchr(s.p + 4, '.', s.len - 4);
    uint32_t v;
    return dot != NULL && sip_str_to_u32(sip_str_from_range(s.p + 4, dot), 999, &v) == 0 &&
           sip_str_to_u32(sip_str_from_range(dot + 1, s.p + s.len), 999, &v) == 0;
}

/* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF */
static int parse_status_line(struct sip_msg *m, struct sip_str l)
{
    const char *sp = memchr(l.p, ' ', l.len);
    if (sp == NULL || !is_version(sip_str_from_range(l.p, sp))) {
        return fail(m,
                    sp && is_other_version(sip_str_from_range(l.p, sp)) ? SIP_ERR_VERSION
                                                                        : SIP_ERR_START_LINE,
                    l.p);
    }
    const char *c = sp + 1, *e = l.p + l.len;
    const char *ce = c;
    while (ce < e && sip_is_digit(*ce)) {
        ce++;
    }
    uint32_t code;
    if (ce - c != 3 || sip_str_to_u32(sip_str_from_range(c, ce), 699, &code) != 0 || code < 100 ||
        (ce < e && *ce != ' ')) {
        return fail(m, SIP_ERR_STATUS_CODE, c);
    }
    m->status = code;
    m->reason = ce < e ? sip_str_from_range(ce + 1, e) : sip_str_make(e, 0);
    return 0;
}

/* Request-Line = Method SP Request-URI SP SIP-Version CRLF */
static int parse_request_line(struct sip_msg *m, struct sip_str l)
{
    struct sip_cur c = sip_cur_of(l);
    m->method = sip_cur_token(&c);
    if (m->method.len == 0 || c.p >= c.e || *c.p != ' ') {
        return fail(m, SIP_ERR_METHOD, c.p);
    }
    const char *last_sp = c.p;
    for (const char *q = l.p + l.len - 1; q > c.p; q--) {
        if (*q == ' ') {
            last_sp = q;
            break;
        }
    }
    if (last_sp == c.p) {
        return fail(m, SIP_ERR_START_LINE, c.p);
    }
    struct sip_str version = sip_str_from_range(last_sp + 1, c.e);
    if (!is_version(version)) {
        return fail(m, is_other_version(version) ? SIP_ERR_VERSION : SIP_ERR_START_LINE, version.p);
    }
    struct sip_str uri = sip_str_from_range(c.p + 1, last_sp);
    /* RFC 3261 §19.1.5: headers are not allowed in a Request-URI; LWS is not allowed in it. */
    if (sip_uri_parse(uri, &m->ruri) != 0 || sip_str_is_set(m->ruri.headers)) {
        return fail(m, SIP_ERR_REQUEST_URI, uri.p);
    }
    m->is_request = true;
    m->method_id = sip_method_of(m->method);
    return 0;
}

static int parse_start_line(struct sip_msg *m, struct sip_str l)
{
    m->start_line = l;
    if (l.len >= 4 && memcmp(l.p, "SIP/", 4) == 0) {
        return parse_status_line(m, l);
    }
    return parse_request_line(m, l);
}

/* State handed to the list splitter for one header line. */
struct line_ctx {
    struct sip_msg *m;
    const struct sip_limits *lim;
    struct sip_str name;
    struct sip_str line;
    enum sip_hdr_type type;
    uint16_t line_first;
};

static enum sip_err err_of(enum sip_hdr_type t)
{
    switch (t) {
    case SIP_HDR_VIA:
        return SIP_ERR_VIA;
    case SIP_HDR_FROM:
        return SIP_ERR_FROM;
    case SIP_HDR_TO:
        return SIP_ERR_TO;
    case SIP_HDR_CONTACT:
        return SIP_ERR_CONTACT;
    case SIP_HDR_ROUTE:
        return SIP_ERR_ROUTE;
    case SIP_HDR_RECORD_ROUTE:
        return SIP_ERR_RECORD_ROUTE;
    case SIP_HDR_PATH:
        return SIP_ERR_PATH;
    default:
        return SIP_ERR_HEADER_SYNTAX;
    }
}

/* callid = word [ "@" word ] */
static bool call_id_valid(struct sip_str s)
{
    int ats = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] == '@') {
            if (++ats > 1 || i == 0 || i + 1 == s.len) {
                return false;
            }
        } else if (!sip_is((unsigned char)s.p[i], SIP_C_WORD)) {
            return false;
        }
    }
    return s.len > 0;
}

/* CSeq = 1*DIGIT LWS Method */
static int decode_cseq(struct sip_msg *m, struct sip_str v)
{
    struct sip_cur c = sip_cur_of(v);
    const char *b = c.p;
    while (c.p < c.e && sip_is_digit(*c.p)) {
        c.p++;
    }
    if (sip_str_to_u32(sip_str_from_range(b, c.p), UINT32_MAX, &m->cseq) != 0) {
        return -1;
    }
    const char *before = c.p;
    sip_cur_lws(&c);
    m->cseq_method = sip_cur_token(&c);
    sip_cur_lws(&c);
    if (c.p == before || m->cseq_method.len == 0 || !sip_cur_end(&c)) {
        return -1;
    }
    m->cseq_method_id = sip_method_of(m->cseq_method);
    return 0;
}

/* rfc1123-date = wkday "," SP date1 SP time SP "GMT" (RFC 3261 §20.17: GMT only). */
static bool date_valid(struct sip_str v)
{
    return v.len == 29 && v.p[3] == ',' && memcmp(v.p + 26, "GMT", 3) == 0;
}

static int decode_single(struct sip_msg *m, enum sip_hdr_type t, struct sip_str v)
{
    uint32_t n;
    switch (t) {
    case SIP_HDR_CALL_ID:
        if (!call_id_valid(v)) {
            return fail(m, SIP_ERR_CALL_ID, v.p);
        }
        m->call_id = v;
        return 0;
    case SIP_HDR_CSEQ:
        return decode_cseq(m, v) == 0 ? 0 : fail(m, SIP_ERR_CSEQ, v.p);
    case SIP_HDR_MAX_FORWARDS:
        if (sip_str_to_u32(v, 255, &n) != 0) {
            return fail(m, SIP_ERR_MAX_FORWARDS, v.p);
        }
        m->max_forwards = (int)n;
        return 0;
    case SIP_HDR_CONTENT_LENGTH:
        if (sip_str_to_u32(v, UINT32_MAX, &m->content_length) != 0) {
            return fail(m, SIP_ERR_CONTENT_LENGTH, v.p);
        }
        m->has_content_length = true;
        return 0;
    case SIP_HDR_CONTENT_TYPE:
        m->content_type = v;
        return 0;
    case SIP_HDR_EXPIRES:
        /* RFC 3261 §20.19: malformed values SHOULD be treated as 3600. */
        if (sip_str_to_u32(v, UINT32_MAX, &m->expires) != 0) {
            m->expires = 3600;
        }
        m->has_expires = true;
        return 0;
    case SIP_HDR_DATE:
        return date_valid(v) ? 0 : fail(m, SIP_ERR_DATE, v.p);
    default:
        return 0;
    }
}

static bool is_singleton(enum sip_hdr_type t)
{
    return t == SIP_HDR_FROM || t == SIP_HDR_TO || t == SIP_HDR_CALL_ID || t == SIP_HDR_CSEQ ||
           t == SIP_HDR_MAX_FORWARDS || t == SIP_HDR_CONTENT_LENGTH || t == SIP_HDR_CONTENT_TYPE;
}

/* Appends one header element to the index and decodes its typed form. */
static int add_element(void *vctx, struct sip_str v)
{
    struct line_ctx *x = vctx;
    struct sip_msg *m = x->m;
    enum sip_hdr_type t = x->type;
    if (m->hdr_count >= x->lim->max_headers || m->hdr_count >= SIP_MAX_HEADERS) {
        return fail(m, SIP_ERR_TOO_MANY_HEADERS, v.p);
    }
    uint16_t idx = m->hdr_count;
    struct sip_hdr *h = &m->hdr[idx];
    *h = (struct sip_hdr){x->name, v, x->line, (uint16_t)t, SIP_NONE, SIP_NONE, x->line_first};
    if (t == SIP_HDR_VIA) {
        if (m->via_count >= x->lim->max_vias || m->via_count >= SIP_MAX_VIA) {
            return fail(m, SIP_ERR_TOO_MANY_VIAS, v.p);
        }
        if (sip_via_decode(v, &m->via[m->via_count]) != 0) {
            return fail(m, SIP_ERR_VIA, v.p);
        }
        h->item = m->via_count++;
    } else if (t == SIP_HDR_FROM || t == SIP_HDR_TO || t == SIP_HDR_CONTACT || t == SIP_HDR_ROUTE ||
               t == SIP_HDR_RECORD_ROUTE || t == SIP_HDR_PATH) {
        if (m->addr_count >= SIP_MAX_ADDR) {
            return fail(m, SIP_ERR_TOO_MANY_HEADERS, v.p);
        }
        if (sip_addr_decode(v, &m->addr[m->addr_count], t == SIP_HDR_CONTACT) != 0) {
            return fail(m, err_of(t), v.p);
        }
        h->item = m->addr_count++;
        if (t == SIP_HDR_FROM) {
            m->from = h->item;
        } else if (t == SIP_HDR_TO) {
            m->to = h->item;
        }
    } else if (t != SIP_HDR_OTHER && decode_single(m, t, v) != 0) {
        return SIP_EBAD;
    }
    /* Chain after the last entry of this type. */
    if (m->first[t] == SIP_NONE) {
        m->first[t] = idx;
    } else {
        m->hdr[m->last[t]].next = idx;
    }
    m->last[t] = idx;
    m->count[t]++;
    m->hdr_count++;
    return 0;
}

/* One header field: ls..ce is its content without the final CRLF, ls..le the whole line. */
static int parse_header(struct sip_msg *m, const struct sip_limits *lim, const char *ls,
                        const char *ce, const char *le)
{
    struct sip_cur c = {ls, ce};
    struct sip_str name = sip_cur_token(&c);
    while (c.p < c.e && sip_is_wsp(*c.p)) {
        c.p++;
    }
    if (name.len == 0 || c.p >= c.e || *c.p != ':') {
        return fail(m, SIP_ERR_HEADER_SYNTAX, ls);
    }
    struct sip_str value = sip_str_trim(sip_str_from_range(c.p + 1, ce));
    enum sip_hdr_type t = sip_hdr_lookup(name.p, name.len);
    if (is_singleton(t) && m->count[t] > 0) {
        return fail(m, SIP_ERR_DUPLICATE_HEADER, ls);
    }
    struct line_ctx x = {m, lim, name, sip_str_from_range(ls, le), t, m->hdr_count};
    if (sip_hdr_def_of(t)->kind == SIP_HK_LIST && value.len > 0) {
        return sip_list_split(value, add_element, &x);
    }
    return add_element(&x, value);
}

static void reset(struct sip_msg *m, const char *buf, size_t len)
{
    /* Only the scalar part is cleared; the arrays are written before they are read. */
    memset(m, 0, offsetof(struct sip_msg, hdr));
    memset(m->first, 0xff, sizeof(m->first));
    m->buf = buf;
    m->len = len;
    m->max_forwards = -1;
}

/* Finds the end of one line: returns a pointer past its LF, or NULL. *ce gets the content end. */
static const char *line_end(const char *p, const char *e, const char **ce)
{
    const char *nl = memchr(p, '\n', (size_t)(e - p));
    if (nl == NULL) {
        return NULL;
    }
    *ce = (nl > p && nl[-1] == '\r') ? nl - 1 : nl;
    return nl + 1;
}

static int need_more(struct sip_msg *m, enum sip_parse_mode mode, const struct sip_limits *lim,
                     const char *at)
{
    if (mode == SIP_PARSE_STREAM && m->len <= lim->max_msg_bytes) {
        return SIP_AGAIN;
    }
    return fail(m, mode == SIP_PARSE_STREAM ? SIP_ERR_TOO_BIG : SIP_ERR_HEADER_SYNTAX, at);
}

static int check_required(struct sip_msg *m)
{
    if (m->count[SIP_HDR_VIA] == 0 || m->count[SIP_HDR_FROM] == 0 || m->count[SIP_HDR_TO] == 0 ||
        m->count[SIP_HDR_CALL_ID] == 0 || m->count[SIP_HDR_CSEQ] == 0) {
        return fail(m, SIP_ERR_MISSING_HEADER, m->buf);
    }
    /* RFC 3261 §8.1.1.5: the CSeq method MUST match the request method. */
    if (m->is_request && !sip_str_eq(m->cseq_method, m->method)) {
        return fail(m, SIP_ERR_CSEQ_METHOD, m->cseq_method.p);
    }
    return 0;
}

int sip_msg_parse(struct sip_msg *m, const char *buf, size_t len, enum sip_parse_mode mode,
                  const struct sip_limits *lim)
{
    const char *p = buf, *e = buf + len, *ce;
    if (lim == NULL) {
        lim = &sip_limits_default;
    }
    reset(m, buf, len);
    if (mode == SIP_PARSE_DGRAM && len > lim->max_msg_bytes) {
        return fail(m, SIP_ERR_TOO_BIG, buf);
    }
    const char *next = line_end(p, e, &ce);
    if (next == NULL) {
        return need_more(m, mode, lim, p);
    }
    if (parse_start_line(m, sip_str_from_range(p, ce)) != 0) {
        return SIP_EBAD;
    }
    p = next;
    for (;;) {
        if (p >= e) {
            return need_more(m, mode, lim, p);
        }
        if (*p == '\n' || (*p == '\r' && p + 1 < e && p[1] == '\n')) {
            p += *p == '\n' ? 1 : 2;
            break;
        }
        const char *ls = p;
        /* A header field runs on over lines that start with SP or HTAB (folding). */
        do {
            next = line_end(p, e, &ce);
            if (next == NULL || (next == e && mode == SIP_PARSE_STREAM)) {
                return need_more(m, mode, lim, p);
            }
            p = next;
        } while (p < e && sip_is_wsp(*p));
        if (parse_header(m, lim, ls, ce, p) != 0) {
            return SIP_EBAD;
        }
    }
    m->head = sip_str_from_range(buf, p);
    if (check_required(m) != 0) {
        return SIP_EBAD;
    }
    size_t avail = (size_t)(e - p);
    if (!m->has_content_length) {
        if (mode == SIP_PARSE_STREAM) {
            return fail(m, SIP_ERR_NO_CONTENT_LENGTH, p);
        }
        m->content_length = (uint32_t)avail;
    }
    if ((size_t)(p - buf) + m->content_length > lim->max_msg_bytes) {
        return fail(m, SIP_ERR_TOO_BIG, p);
    }
    if (m->content_length > avail) {
        return mode == SIP_PARSE_STREAM ? SIP_AGAIN : fail(m, SIP_ERR_BODY_TRUNCATED, p);
    }
    m->body = sip_str_make(p, m->content_length);
    m->len = (size_t)(p - buf) + m->content_length;
    return (int)m->len;
}

const struct sip_hdr *sip_msg_first(const struct sip_msg *m, enum sip_hdr_type t)
{
    uint16_t i = m->first[t];
    return i == SIP_NONE ? NULL : &m->hdr[i];
}

const struct sip_hdr *sip_msg_next(const struct sip_msg *m, const struct sip_hdr *h)
{
    return h->next == SIP_NONE ? NULL : &m->hdr[h->next];
}

const struct sip_hdr *sip_msg_find_other(const struct sip_msg *m, const char *name)
{
    for (const struct sip_hdr *h = sip_msg_first(m, SIP_HDR_OTHER); h; h = sip_msg_next(m, h)) {
        if (sip_str_ieq_lit(h->name, name)) {
            return h;
        }
    }
    return NULL;
}

/* sip/scan.h: a cursor over one header value, and the LWS-aware pieces of the RFC 3261 §25
 * grammar shared by the Via, name-addr, CSeq and auth decoders. Internal to sip/.
 *
 * A header value handed to these functions has already been cut at its (unfolded) end, so CR
 * and LF inside it can only be line folds and count as white space (LWS, RFC 3261 §7.3.1). */
#ifndef SIPRING_SIP_SCAN_H
#define SIPRING_SIP_SCAN_H

#include "chars.h"
#include "str.h"

struct sip_cur {
    const char *p;
    const char *e;
};

struct sip_param {
    struct sip_str name;
    struct sip_str value; /* without quotes for quoted-string values */
    bool has_value;
    bool is_quoted;
};

#define SIP_MAX_PARAMS 32

static inline struct sip_cur sip_cur_of(struct sip_str s)
{
    return (struct sip_cur){s.p, s.p + s.len};
}

static inline bool sip_cur_end(const struct sip_cur *c)
{
    return c->p >= c->e;
}

static inline void sip_cur_lws(struct sip_cur *c)
{
    while (c->p < c->e && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n')) {
        c->p++;
    }
}

/* sip_cur_sep: skips LWS, eats ch, skips LWS (RFC 3261 SEMI, COMMA, EQUAL, SLASH, COLON).
 * Returns false, cursor unchanged, if the next non-LWS char is not ch. */
static inline bool sip_cur_sep(struct sip_cur *c, char ch)
{
    struct sip_cur t = *c;
    sip_cur_lws(&t);
    if (t.p >= t.e || *t.p != ch) {
        return false;
    }
    t.p++;
    sip_cur_lws(&t);
    *c = t;
    return true;
}

/* sip_cur_token: 1*token at the cursor; an empty slice if there is none. */
static inline struct sip_str sip_cur_token(struct sip_cur *c)
{
    const char *b = c->p;
    while (c->p < c->e && sip_is((unsigned char)*c->p, SIP_C_TOKEN)) {
        c->p++;
    }
    return sip_str_from_range(b, c->p);
}

/* sip_cur_quoted: quoted-string = DQUOTE *(qdtext / quoted-pair) DQUOTE, cursor on the DQUOTE.
 * *out gets the inside, quoted-pairs left escaped. Returns 0, or -1 if unterminated. */
int sip_cur_quoted(struct sip_cur *c, struct sip_str *out);

/* sip_cur_params: *( SEMI generic-param ), generic-param = token [ EQUAL gen-value ],
 * gen-value = token / host / quoted-string. Stores up to cap params in out[] and the count in
 * *n. Returns 0, or -1 on an empty or malformed parameter or more than cap of them. */
int sip_cur_params(struct sip_cur *c, struct sip_param *out, size_t cap, size_t *n);

/* sip_param_find: looks up name (case-insensitively) among n params. */
const struct sip_param *sip_param_find(const struct sip_param *ps, size_t n, const char *name);

#endif

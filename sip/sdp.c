/* sip/sdp.c: SDP decoding (RFC 4566 §5), line by line, zero-copy. */
#include "sdp.h"

#include <stdio.h>

#include "chars.h"

/* Splits off the next SP-separated field of *rest. */
static struct sip_str field(struct sip_str *rest)
{
    const char *sp = memchr(rest->p, ' ', rest->len);
    struct sip_str f = sip_str_make(rest->p, sp ? (size_t)(sp - rest->p) : rest->len);
    size_t used = sp ? f.len + 1 : f.len;
    rest->p += used;
    rest->len -= used;
    return f;
}

/* connection-field = "c=" nettype SP addrtype SP connection-address */
static int parse_conn(struct sip_str v, struct sdp_conn *c)
{
    c->line = v;
    c->nettype = field(&v);
    c->addrtype = field(&v);
    c->addr = field(&v);
    if (c->nettype.len == 0 || c->addrtype.len == 0 || c->addr.len == 0 || v.len != 0) {
        return -1;
    }
    c->is_set = true;
    return 0;
}

/* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address> */
static int parse_origin(struct sip_str v, struct sdp *s)
{
    s->origin_user = field(&v);
    s->sess_id = field(&v);
    s->sess_version = field(&v);
    if (s->origin_user.len == 0 || s->sess_id.len == 0 || s->sess_version.len == 0) {
        return -1;
    }
    return parse_conn(v, &s->origin);
}

static int parse_port(struct sip_str t, uint16_t *port)
{
    uint32_t v;
    if (sip_str_to_u32(t, 65535, &v) != 0) {
        return -1;
    }
    *port = (uint16_t)v;
    return 0;
}

/* m=<media> <port>[/<number of ports>] <proto> <fmt> ... */
static int parse_media(struct sip_str v, struct sdp_media *m)
{
    m->line = v;
    m->type = field(&v);
    struct sip_str port = field(&v);
    const char *slash = memchr(port.p, '/', port.len);
    m->port_text = sip_str_make(port.p, slash ? (size_t)(slash - port.p) : port.len);
    m->port_count = 1;
    if (parse_port(m->port_text, &m->port) != 0) {
        return -1;
    }
    if (slash != NULL) {
        uint32_t n;
        if (sip_str_to_u32(sip_str_from_range(slash + 1, port.p + port.len), 65535, &n) != 0 ||
            n == 0) {
            return -1;
        }
        m->port_count = (uint16_t)n;
    }
    m->proto = field(&v);
    m->fmts = v;
    return (m->type.len == 0 || m->proto.len == 0) ? -1 : 0;
}

static bool starts(struct sip_str v, const char *lit, struct sip_str *rest)
{
    size_t n = strlen(lit);
    if (v.len < n || memcmp(v.p, lit, n) != 0) {
        return false;
    }
    *rest = sip_str_make(v.p + n, v.len - n);
    return true;
}

/* a=crypto:<tag> <crypto-suite> <key-params> [<session-params>] (RFC 4568 §9.1) */
static int parse_crypto(struct sip_str v, struct sdp_media *m)
{
    struct sdp_crypto spare;
    /* Lines past the cap are checked but not kept rather than failing the whole SDP: the cap
     * holds every suite registered for SDES (rtpengine offers all twelve). */
    struct sdp_crypto *c = m->crypto_count < SDP_MAX_CRYPTO ? &m->crypto[m->crypto_count] : &spare;
    c->line = v;
    if (sip_str_to_u32(field(&v), 999999999, &c->tag) != 0) {
        return -1;
    }
    c->suite = field(&v);
    c->key_params = field(&v);
    c->session_params = v;
    if (c->suite.len == 0 || c->key_params.len == 0) {
        return -1;
    }
    if (c != &spare) {
        m->crypto_count++;
    }
    return 0;
}

/* a=rtcp:<port> [<nettype> <addrtype> <connection-address>] (RFC 3605) */
static int parse_rtcp(struct sip_str v, struct sdp_media *m)
{
    m->rtcp_line = v;
    if (parse_port(field(&v), &m->rtcp_port) != 0) {
        return -1;
    }
    m->has_rtcp = true;
    return v.len == 0 ? 0 : parse_conn(v, &m->rtcp_conn);
}

static int parse_attr(struct sip_str v, struct sdp *s, struct sdp_media *m)
{
    struct sip_str rest;
    enum sdp_dir *dir = m ? &m->dir : &s->dir;
    if (sip_str_eq(v, SIP_STR_LIT("sendrecv"))) {
        *dir = SDP_DIR_SENDRECV;
    } else if (sip_str_eq(v, SIP_STR_LIT("sendonly"))) {
        *dir = SDP_DIR_SENDONLY;
    } else if (sip_str_eq(v, SIP_STR_LIT("recvonly"))) {
        *dir = SDP_DIR_RECVONLY;
    } else if (sip_str_eq(v, SIP_STR_LIT("inactive"))) {
        *dir = SDP_DIR_INACTIVE;
    } else if (m == NULL) {
        return 0;
    } else if (sip_str_eq(v, SIP_STR_LIT("rtcp-mux"))) {
        m->rtcp_mux = true;
    } else if (starts(v, "rtcp:", &rest)) {
        return parse_rtcp(rest, m);
    } else if (starts(v, "crypto:", &rest)) {
        return parse_crypto(rest, m);
    } else if (starts(v, "candidate:", &rest)) {
        if (m->cand_count >= SDP_MAX_CANDIDATES) {
            return -1;
        }
        m->cand[m->cand_count++] = v;
    }
    return 0;
}

int sdp_parse(struct sip_str body, struct sdp *s)
{
    memset(s, 0, offsetof(struct sdp, media));
    const char *p = body.p, *e = body.p + body.len;
    struct sdp_media *m = NULL;
    bool first = true;
    while (p < e) {
        const char *ls = p, *nl = memchr(p, '\n', (size_t)(e - p));
        const char *le = nl ? nl : e;
        p = nl ? nl + 1 : e;
        if (le > ls && le[-1] == '\r') {
            le--;
        }
        if (le == ls) {
            continue; /* tolerate blank lines, e.g. a trailing CRLF pair */
        }
        if (le - ls < 2 || ls[1] != '=' || ls[0] < 'a' || ls[0] > 'z') {
            return -1;
        }
        struct sip_str v = sip_str_from_range(ls + 2, le);
        if (first) {
            if (ls[0] != 'v' || !sip_str_eq(v, SIP_STR_LIT("0"))) {
                return -1;
            }
            first = false;
            continue;
        }
        int rc = 0;
        switch (ls[0]) {
        case 'o':
            rc = parse_origin(v, s);
            break;
        case 'c':
            rc = parse_conn(v, m ? &m->conn : &s->conn);
            break;
        case 'm':
            if (s->media_count >= SDP_MAX_MEDIA) {
                return -1;
            }
            if (m != NULL) {
                m->section = sip_str_from_range(m->section.p, ls);
            }
            m = &s->media[s->media_count++];
            memset(m, 0, sizeof(*m));
            m->section.p = ls;
            rc = parse_media(v, m);
            break;
        case 'a':
            rc = parse_attr(v, s, m);
            break;
        default:
            break;
        }
        if (rc != 0) {
            return -1;
        }
    }
    if (m != NULL) {
        m->section = sip_str_from_range(m->section.p, e);
    }
    return first ? -1 : 0;
}

const struct sdp_conn *sdp_media_conn(const struct sdp *s, unsigned i)
{
    if (i >= s->media_count) {
        return NULL;
    }
    return s->media[i].conn.is_set ? &s->media[i].conn : (s->conn.is_set ? &s->conn : NULL);
}

/* RFC 3551 §6, table 4: static audio payload types (the ones phones still offer) */
static const struct {
    uint8_t pt;
    const char *name;
    uint32_t clock;
} static_pt[] = {{0, "PCMU", 8000},  {3, "GSM", 8000},   {4, "G723", 8000},
                 {8, "PCMA", 8000},  {9, "G722", 8000},  {13, "CN", 8000},
                 {18, "G729", 8000}, {10, "L16", 44100}, {11, "L16", 44100}};

void sdp_media_codec(const struct sdp_media *md, char *out, size_t cap, uint32_t *clock_hz)
{
    *clock_hz = 0;
    if (cap == 0) {
        return;
    }
    out[0] = '\0';
    struct sip_str f = md->fmts;
    size_t n = 0;
    while (n < f.len && f.p[n] != ' ') {
        n++;
    }
    if (n == 0 || n > 3) {
        return;
    }
    unsigned pt = 0;
    for (size_t i = 0; i < n; i++) {
        if (f.p[i] < '0' || f.p[i] > '9') {
            return; /* not RTP/AVP formats (an application or image stream) */
        }
        pt = pt * 10 + (unsigned)(f.p[i] - '0');
    }
    /* a=rtpmap:<pt> <name>/<clock>[/<channels>] (RFC 4566 §6) in the media's section */
    char want[16];
    int wl = snprintf(want, sizeof(want), "a=rtpmap:%u ", pt);
    struct sip_str s = md->section;
    for (size_t at = 0; wl > 0 && at + (size_t)wl <= s.len; at++) {
        if ((at == 0 || s.p[at - 1] == '\n') && memcmp(s.p + at, want, (size_t)wl) == 0) {
            size_t b = at + (size_t)wl, e = b;
            while (e < s.len && s.p[e] != '\r' && s.p[e] != '\n' && s.p[e] != ' ') {
                e++;
            }
            size_t k = 0;
            for (size_t i = b; i < e && k + 1 < cap; i++) {
                unsigned char c = (unsigned char)s.p[i];
                out[k++] = c >= 0x21 && c < 0x7f && c != '"' && c != '\\' ? (char)c : '?';
            }
            out[k] = '\0';
            const char *slash = memchr(s.p + b, '/', e - b);
            uint32_t clock = 0;
            for (const char *q = slash ? slash + 1 : s.p + e; q < s.p + e && *q >= '0' && *q <= '9';
                 q++) {
                clock = clock * 10 + (uint32_t)(*q - '0');
                if (clock > 1000000) {
                    clock = 0;
                    break;
                }
            }
            *clock_hz = clock;
            return;
        }
    }
    for (size_t i = 0; i < sizeof(static_pt) / sizeof(static_pt[0]); i++) {
        if (static_pt[i].pt == pt) {
            snprintf(out, cap, "%s/%u", static_pt[i].name, (unsigned)static_pt[i].clock);
            *clock_hz = static_pt[i].clock;
            return;
        }
    }
}

/* sip/auth.c: reading digest credentials; see auth.h. */
#include "auth.h"

#include <stddef.h>
#include <string.h>

#include "scan.h"

static struct sip_str *field(struct sip_digest *d, struct sip_str name)
{
    static const struct {
        const char *name;
        size_t off;
    } fields[] = {
        {"username", offsetof(struct sip_digest, username)},
        {"realm", offsetof(struct sip_digest, realm)},
        {"nonce", offsetof(struct sip_digest, nonce)},
        {"uri", offsetof(struct sip_digest, uri)},
        {"response", offsetof(struct sip_digest, response)},
        {"algorithm", offsetof(struct sip_digest, algorithm)},
        {"cnonce", offsetof(struct sip_digest, cnonce)},
        {"opaque", offsetof(struct sip_digest, opaque)},
        {"qop", offsetof(struct sip_digest, qop)},
        {"nc", offsetof(struct sip_digest, nc)},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (sip_str_ieq_lit(name, fields[i].name)) {
            return (struct sip_str *)((char *)d + fields[i].off);
        }
    }
    return NULL;
}

int sip_digest_parse(struct sip_str value, struct sip_digest *out)
{
    memset(out, 0, sizeof(*out));
    struct sip_cur c = sip_cur_of(value);
    sip_cur_lws(&c);
    static const char scheme[] = "digest";
    for (size_t i = 0; i < sizeof(scheme) - 1; i++) {
        if (sip_cur_end(&c) || (c.p[0] | 0x20) != scheme[i]) {
            return -1;
        }
        c.p++;
    }
    if (sip_cur_end(&c) || (*c.p != ' ' && *c.p != '\t' && *c.p != '\r' && *c.p != '\n')) {
        return -1;
    }
    for (;;) {
        sip_cur_lws(&c);
        if (sip_cur_end(&c)) {
            return 0;
        }
        const char *n0 = c.p;
        while (!sip_cur_end(&c) && *c.p != '=' && *c.p != ',' && *c.p != ' ' && *c.p != '\t') {
            c.p++;
        }
        struct sip_str name = sip_str_make(n0, (size_t)(c.p - n0));
        sip_cur_lws(&c);
        if (name.len == 0 || sip_cur_end(&c) || *c.p != '=') {
            return -1;
        }
        c.p++;
        sip_cur_lws(&c);
        struct sip_str v;
        if (!sip_cur_end(&c) && *c.p == '"') {
            const char *v0 = ++c.p;
            while (!sip_cur_end(&c) && *c.p != '"') {
                c.p += (*c.p == '\\' && c.p + 1 < c.e) ? 2 : 1;
            }
            if (sip_cur_end(&c)) {
                return -1; /* unterminated quote */
            }
            v = sip_str_make(v0, (size_t)(c.p - v0));
            c.p++;
        } else {
            const char *v0 = c.p;
            while (!sip_cur_end(&c) && *c.p != ',' && *c.p != ' ' && *c.p != '\t' && *c.p != '\r' &&
                   *c.p != '\n') {
                c.p++;
            }
            v = sip_str_make(v0, (size_t)(c.p - v0));
        }
        struct sip_str *f = field(out, name);
        if (f != NULL) {
            *f = v;
        }
        sip_cur_lws(&c);
        if (sip_cur_end(&c)) {
            return 0;
        }
        if (*c.p != ',') {
            return -1;
        }
        c.p++;
    }
}

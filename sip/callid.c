/* sip/callid.c: Call-ID lookup by line scan; see callid.h. */
#include "callid.h"
#include "str.h"

#include <string.h>

#include <strings.h>

/* name_is_callid: whether the header line at p (n bytes up to its end) is named Call-ID or i;
 * returns the offset just after the colon, or 0. */
static size_t name_is_callid(const char *p, size_t n)
{
    size_t i = 0;
    static const char full[] = "call-id";
    if (n > 7 && strncasecmp(p, full, 7) == 0) {
        i = 7;
    } else if (n > 1 && (p[0] == 'i' || p[0] == 'I')) {
        i = 1;
    } else {
        return 0;
    }
    while (i < n && (p[i] == ' ' || p[i] == '\t')) {
        i++;
    }
    return (i < n && p[i] == ':') ? i + 1 : 0;
}

uint32_t sip_callid_hash(const char *buf, size_t len)
{
    const char *end = buf + len;
    const char *line = memchr(buf, '\n', len); /* the start line is skipped */
    while (line != NULL && ++line < end) {
        if (*line == '\r' || *line == '\n') {
            return 0; /* end of the header section */
        }
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        size_t n = (size_t)((eol ? eol : end) - line);
        size_t v = name_is_callid(line, n);
        if (v != 0) {
            while (v < n && (line[v] == ' ' || line[v] == '\t')) {
                v++;
            }
            while (n > v && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t')) {
                n--;
            }
            if (n == v) {
                return 0;
            }
            uint32_t h = sip_fnv1a(line + v, n - v, SIP_FNV_INIT);
            return h ? h : 1;
        }
        line = eol;
    }
    return 0;
}

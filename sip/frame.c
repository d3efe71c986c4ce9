/* sip/frame.c: stream framing; see frame.h. */
#include "frame.h"

#include <string.h>

/* content_length_value: when the line p..e is a Content-Length header (or its compact form
 * "l"), where its value starts; NULL otherwise. */
static const char *content_length_value(const char *p, const char *e)
{
    static const char full[] = "content-length";
    size_t n = 0;
    while (p + n < e && n < sizeof(full) - 1 && (p[n] | 0x20) == full[n]) {
        n++;
    }
    if (n != sizeof(full) - 1 && !(n == 0 && p < e && (*p | 0x20) == 'l')) {
        return NULL;
    }
    const char *q = p + (n == 0 ? 1 : n);
    while (q < e && (*q == ' ' || *q == '\t')) {
        q++;
    }
    return q < e && *q == ':' ? q + 1 : NULL;
}

struct sip_frame sip_frame_next(const char *buf, size_t n, size_t max)
{
    struct sip_frame f = {SIP_FRAME_AGAIN, 0, 0};
    size_t s = 0;
    while (s < n && (buf[s] == '\r' || buf[s] == '\n')) {
        s++;
    }
    if (s > 0) {
        /* A ping is CRLFCRLF on its own; lone CRLFs (pongs, or padding) are skipped. */
        f.skip = s;
        f.kind =
            s >= 4 && memcmp(buf + s - 4, "\r\n\r\n", 4) == 0 ? SIP_FRAME_PING : SIP_FRAME_AGAIN;
        if (f.kind == SIP_FRAME_PING || s == n) {
            return f;
        }
    }
    const char *p = buf + s, *e = buf + n;
    const char *line = p;
    long clen = -1;
    while (line < e) {
        const char *nl = memchr(line, '\n', (size_t)(e - line));
        if (nl == NULL) {
            break;
        }
        size_t llen = (size_t)(nl - line);
        if (llen == 0 || (llen == 1 && line[0] == '\r')) {
            /* the blank line: headers end here */
            size_t head = (size_t)(nl + 1 - p);
            if (clen < 0 || head + (size_t)clen > max) {
                f.kind = SIP_FRAME_BAD;
                return f;
            }
            if (head + (size_t)clen > (size_t)(e - p)) {
                return f; /* body not all here yet */
            }
            f.kind = SIP_FRAME_MESSAGE;
            f.len = head + (size_t)clen;
            return f;
        }
        const char *v = line != p ? content_length_value(line, nl) : NULL;
        if (v != NULL) {
            long val = 0;
            const char *d = v;
            while (d < nl && (*d == ' ' || *d == '\t')) {
                d++;
            }
            const char *digits = d;
            while (d < nl && *d >= '0' && *d <= '9' && val <= 10000000) {
                val = val * 10 + (*d - '0');
                d++;
            }
            while (d < nl && (*d == ' ' || *d == '\t' || *d == '\r')) {
                d++;
            }
            if (d == digits || d != nl || (clen >= 0 && clen != val)) {
                f.kind = SIP_FRAME_BAD; /* empty, not a number, or two that disagree */
                return f;
            }
            clen = val;
        }
        line = nl + 1;
        if ((size_t)(line - p) > max) {
            break;
        }
    }
    if ((size_t)(e - p) > max) {
        f.kind = SIP_FRAME_BAD; /* headers alone longer than a message may be */
    }
    return f;
}

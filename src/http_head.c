/* src/http_head.c: see http_head.h. */
#include "http_head.h"

#include <string.h>

static const char *find_crlfcrlf(const char *p, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i++) {
        if (p[i] == '\r' && memcmp(p + i, "\r\n\r\n", 4) == 0) {
            return p + i;
        }
    }
    return NULL;
}

enum http_head_result http_head_parse(const char *req, size_t len, char path[HTTP_PATH_MAX],
                                      char query[HTTP_PATH_MAX])
{
    path[0] = query[0] = '\0';
    if (find_crlfcrlf(req, len) == NULL) {
        return HTTP_HEAD_INCOMPLETE;
    }
    if (len < 4 || memcmp(req, "GET ", 4) != 0) {
        return HTTP_HEAD_BAD_METHOD;
    }
    /* request-line = method SP request-target SP HTTP-version (RFC 9112 §3) */
    const char *t = req + 4, *end = req + len;
    const char *sp = t;
    while (sp < end && *sp != ' ' && *sp != '\r' && *sp != '\n') {
        sp++;
    }
    size_t tl = (size_t)(sp - t);
    if (tl == 0 || tl >= HTTP_PATH_MAX || sp >= end || *sp != ' ' || t[0] != '/') {
        return HTTP_HEAD_BAD;
    }
    const char *q = memchr(t, '?', tl);
    size_t pl = q ? (size_t)(q - t) : tl;
    memcpy(path, t, pl);
    path[pl] = '\0';
    if (q != NULL) {
        size_t ql = tl - pl - 1;
        memcpy(query, q + 1, ql);
        query[ql] = '\0';
    }
    if (memchr(path, '\0', pl) != NULL || (q != NULL && memchr(query, '\0', tl - pl - 1))) {
        path[0] = query[0] = '\0';
        return HTTP_HEAD_BAD; /* a NUL inside the target */
    }
    return HTTP_HEAD_GET;
}

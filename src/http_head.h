/* src/http_head.h: reading an HTTP/1.1 request head (RFC 9112 §3) as the metrics listener
 * needs it, without I/O, so that a unit test and a fuzz target reach it: whether the head is
 * complete, the method, and the target split into path and query. Only GET is served. */
#ifndef SIPRING_SRC_HTTP_HEAD_H
#define SIPRING_SRC_HTTP_HEAD_H

#include <stddef.h>

#define HTTP_PATH_MAX 256

enum http_head_result {
    HTTP_HEAD_INCOMPLETE = 0, /* no empty line yet: read more (within the size bound) */
    HTTP_HEAD_GET,            /* a GET: path and query filled */
    HTTP_HEAD_BAD_METHOD,     /* 405 */
    HTTP_HEAD_BAD,            /* 400: no target, or one too long */
};

/* http_head_parse: req[0..len) (need not be NUL-terminated); on HTTP_HEAD_GET, path gets the
 * target up to '?' and query what follows it (both NUL-terminated, "" when absent). */
enum http_head_result http_head_parse(const char *req, size_t len, char path[HTTP_PATH_MAX],
                                      char query[HTTP_PATH_MAX]);

#endif

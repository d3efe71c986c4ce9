/* src/http.h: a small HTTP/1.1 server on a worker's ring for GET /metrics and the JSON status
 * pages (issue 15): no
 * thread, no blocking call. Each connection sends one request (at most HTTP_REQ_MAX bytes of
 * head, within HTTP_TIMEOUT_S) and gets one response, then is closed; HTTP_CLIENTS at once,
 * the next one is closed at accept. The body comes from a render callback, made whole before
 * the first byte goes out. */
#ifndef SIPRING_SRC_HTTP_H
#define SIPRING_SRC_HTTP_H

#include <liburing.h>
#include <stddef.h>
#include <stdint.h>

#include "options.h"

#define HTTP_CLIENTS 8
#define HTTP_REQ_MAX 2048
#define HTTP_TIMEOUT_S 5

struct worker;
struct http_server;

/* http_render: the body for path (query: what followed '?', or "") into out (cap bytes);
 * returns its length, 0 for "no such page" (404), or (size_t)-1 when cap was too small (500).
 * *ctype names its Content-Type. */
typedef size_t (*http_render)(void *ctx, const char *path, const char *query, char *out, size_t cap,
                              const char **ctype);

/* http_new: listens on addr (TCP); NULL after one log line when it cannot. */
struct http_server *http_new(struct worker *w, const struct listen_addr *addr, http_render render,
                             void *ctx);
/* http_start: arms the accept; call once the ring serves. */
void http_start(struct http_server *h);
/* http_on_cqe: a completion whose operation is RING_OP_HTTP. */
void http_on_cqe(struct http_server *h, uint64_t payload, const struct io_uring_cqe *cqe);
void http_free(struct http_server *h);

#endif

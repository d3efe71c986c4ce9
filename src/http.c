/* src/http.c: see http.h. A connection's life is accept -> recv (linked to a timeout) until
 * the head ends -> send until all is out -> close; at most one operation of a connection is in
 * flight, so a slot is reused only once its last completion came (the linked timeout's own
 * completion carries the TIMEOUT phase and is ignored). */
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_head.h"
#include "log.h"
#include "ring.h"
#include "worker.h"

#define BODY_MAX (1u << 20)
#define SLOT_ACCEPT 0xff

enum phase { PH_ACCEPT = 1, PH_RECV, PH_SEND, PH_TIMEOUT };

struct client {
    int fd; /* -1: free */
    size_t len;
    char req[HTTP_REQ_MAX];
    char *resp;
    size_t resp_len, sent;
    struct __kernel_timespec timeout;
};

struct http_server {
    struct worker *w;
    int lfd;
    http_render render;
    void *ctx;
    struct client c[HTTP_CLIENTS];
};

static uint64_t ud(unsigned slot, enum phase ph)
{
    return ring_ud(RING_OP_HTTP, (uint64_t)slot << 8 | ph);
}

struct http_server *http_new(struct worker *w, const struct listen_addr *addr, http_render render,
                             void *ctx)
{
    struct http_server *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        log_error("--metrics: out of memory");
        return NULL;
    }
    h->w = w;
    h->render = render;
    h->ctx = ctx;
    for (int i = 0; i < HTTP_CLIENTS; i++) {
        h->c[i].fd = -1;
    }
    int one = 1;
    h->lfd = socket(addr->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (h->lfd < 0 || setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(h->lfd, (const struct sockaddr *)&addr->addr, addr->addr_len) != 0 ||
        listen(h->lfd, 16) != 0) {
        log_error("--metrics %s: %s", addr->text, strerror(errno));
        if (h->lfd >= 0) {
            close(h->lfd);
        }
        free(h);
        return NULL;
    }
    log_info("metrics on http://%s/metrics", addr->text);
    return h;
}

static void arm_accept(struct http_server *h)
{
    struct io_uring_sqe *sqe = worker_sqe(h->w);
    io_uring_prep_multishot_accept(sqe, h->lfd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, ud(SLOT_ACCEPT, PH_ACCEPT));
}

void http_start(struct http_server *h)
{
    arm_accept(h);
}

static void arm_recv(struct http_server *h, unsigned slot)
{
    struct client *c = &h->c[slot];
    struct io_uring_sqe *sqe = worker_sqe(h->w);
    io_uring_prep_recv(sqe, c->fd, c->req + c->len, sizeof(c->req) - 1 - c->len, 0);
    io_uring_sqe_set_data64(sqe, ud(slot, PH_RECV));
    sqe->flags |= IOSQE_IO_LINK;
    c->timeout = (struct __kernel_timespec){HTTP_TIMEOUT_S, 0};
    sqe = worker_sqe(h->w);
    io_uring_prep_link_timeout(sqe, &c->timeout, 0);
    io_uring_sqe_set_data64(sqe, ud(slot, PH_TIMEOUT));
}

static void arm_send(struct http_server *h, unsigned slot)
{
    struct client *c = &h->c[slot];
    struct io_uring_sqe *sqe = worker_sqe(h->w);
    io_uring_prep_send(sqe, c->fd, c->resp + c->sent, c->resp_len - c->sent, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, ud(slot, PH_SEND));
}

static void drop(struct http_server *h, unsigned slot)
{
    struct client *c = &h->c[slot];
    close(c->fd);
    c->fd = -1;
    free(c->resp);
    c->resp = NULL;
}

static void respond(struct http_server *h, unsigned slot)
{
    struct client *c = &h->c[slot];
    const char *status = "200 OK", *ctype = "text/plain; charset=utf-8";
    char path[HTTP_PATH_MAX], query[HTTP_PATH_MAX];
    char *body = malloc(BODY_MAX);
    size_t blen = 0;
    if (body == NULL) {
        drop(h, slot);
        return;
    }
    switch (http_head_parse(c->req, c->len, path, query)) {
    case HTTP_HEAD_INCOMPLETE:
        status = "431 Request Header Fields Too Large"; /* the buffer is full */
        break;
    case HTTP_HEAD_BAD_METHOD:
        status = "405 Method Not Allowed";
        break;
    case HTTP_HEAD_BAD:
        status = "400 Bad Request";
        break;
    case HTTP_HEAD_GET:
        blen = h->render(h->ctx, path, query, body, BODY_MAX, &ctype);
        if (blen == (size_t)-1) {
            status = "500 Internal Server Error";
            blen = 0;
        } else if (blen == 0) {
            status = "404 Not Found";
        }
        break;
    }
    if (blen == 0) {
        blen = (size_t)snprintf(body, BODY_MAX, "%s\n", status);
        ctype = "text/plain; charset=utf-8";
    }
    char head[256];
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: "
                      "close\r\n\r\n",
                      status, ctype, blen);
    c->resp = malloc((size_t)hl + blen);
    if (c->resp == NULL) {
        free(body);
        drop(h, slot);
        return;
    }
    memcpy(c->resp, head, (size_t)hl);
    memcpy(c->resp + hl, body, blen);
    free(body);
    c->resp_len = (size_t)hl + blen;
    c->sent = 0;
    arm_send(h, slot);
}

void http_on_cqe(struct http_server *h, uint64_t payload, const struct io_uring_cqe *cqe)
{
    unsigned slot = (unsigned)(payload >> 8);
    enum phase ph = (enum phase)(payload & 0xff);
    if (ph == PH_TIMEOUT) {
        return; /* the recv it guards completes on its own (with -ECANCELED if it fired) */
    }
    if (ph == PH_ACCEPT) {
        if (!(cqe->flags & IORING_CQE_F_MORE)) {
            arm_accept(h);
        }
        if (cqe->res < 0) {
            return;
        }
        for (unsigned i = 0; i < HTTP_CLIENTS; i++) {
            if (h->c[i].fd < 0) {
                h->c[i].fd = cqe->res;
                h->c[i].len = 0;
                arm_recv(h, i);
                return;
            }
        }
        close(cqe->res); /* HTTP_CLIENTS busy: a scraper retries at its next interval */
        return;
    }
    if (slot >= HTTP_CLIENTS || h->c[slot].fd < 0) {
        return;
    }
    struct client *c = &h->c[slot];
    if (cqe->res <= 0) {
        drop(h, slot); /* closed, reset, or the time-out fired */
        return;
    }
    if (ph == PH_RECV) {
        c->len += (size_t)cqe->res;
        char path[HTTP_PATH_MAX], query[HTTP_PATH_MAX];
        if (http_head_parse(c->req, c->len, path, query) != HTTP_HEAD_INCOMPLETE ||
            c->len >= sizeof(c->req) - 1) {
            respond(h, slot);
        } else {
            arm_recv(h, slot);
        }
        return;
    }
    c->sent += (size_t)cqe->res;
    if (c->sent < c->resp_len) {
        arm_send(h, slot);
    } else {
        shutdown(c->fd, SHUT_WR);
        drop(h, slot);
    }
}

void http_free(struct http_server *h)
{
    if (h == NULL) {
        return;
    }
    for (unsigned i = 0; i < HTTP_CLIENTS; i++) {
        if (h->c[i].fd >= 0) {
            drop(h, i);
        }
    }
    close(h->lfd);
    free(h);
}

/* tests/proxy_harness.h: what the proxy's unit tests share: a sink that captures every datagram
 * the proxy sends (out[0..nout)), the proxy and store under test, and small helpers. One test
 * file includes it once (its definitions are static). */
#ifndef SIPRING_TESTS_PROXY_HARNESS_H
#define SIPRING_TESTS_PROXY_HARNESS_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "proxy.h"

#define MAX_OUT 64

struct sent {
    struct sip_peer to;
    char data[8192];
    size_t len;
};

static struct sent out[MAX_OUT];
static size_t nout;
static struct sip_proxy *p;
static struct sip_location *loc;
static struct sip_msg m;

static void cap_send(void *ctx, const struct sip_peer *to, const char *name,
                     const struct iovec *iov, size_t n)
{
    (void)name;
    (void)ctx;
    cr_assert_lt(nout, MAX_OUT);
    struct sent *s = &out[nout++];
    s->to = *to;
    s->len = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(s->data + s->len, iov[i].iov_base, iov[i].iov_len);
        s->len += iov[i].iov_len;
    }
}

static struct sip_peer peer(const char *ip, uint16_t port)
{
    struct sip_peer pr;
    cr_assert_eq(sip_peer_from_text(sip_str_make(ip, strlen(ip)), port, &pr), 0);
    return pr;
}

static void feed(const struct sip_peer *from, const char *msg, uint64_t now)
{
    sip_proxy_on_datagram(p, from, msg, strlen(msg), now);
}

/* echo_headers: appends "name: value" for every header of type t of the parsed request m to
 * out[*n..cap), as a UAS copies Via (and Record-Route) into its responses (RFC 3261 §8.2.6.2,
 * §12.1.1). */
static void echo_headers(const struct sip_msg *req, enum sip_hdr_type t, const char *name,
                         char *out, size_t *n, size_t cap)
{
    for (const struct sip_hdr *h = sip_msg_first(req, t); h; h = sip_msg_next(req, h)) {
        *n += (size_t)snprintf(out + *n, cap - *n, "%s: %.*s\r\n", name, (int)h->value.len,
                               h->value.p);
    }
}

static unsigned status_of(const struct sent *s)
{
    return s->len > 12 && memcmp(s->data, "SIP/2.0 ", 8) == 0 ? (unsigned)atoi(s->data + 8) : 0;
}

#endif

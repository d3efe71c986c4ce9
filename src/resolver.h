/* src/resolver.h: sipring's own DNS resolver (RFC 3263 on top of RFC 1035), one per worker, on
 * the worker's ring: the socket, /etc/hosts and the clock around sip/locate.c, which decides
 * (NAPTR -> SRV -> A/AAAA, /etc/hosts for addresses, answers cached for their TTL, failures for
 * 30 s, SRV order by priority then weight, RFC 2782). Implements sip/resolve.h for the proxy;
 * a lookup that has to ask the server parks the request, and resolver_on_cqe tells the proxy
 * (sip_proxy_on_resolved) once a lookup is complete.
 *
 * Queries go over UDP to the first nameserver of /etc/resolv.conf (or --dns-server), one second
 * per try, three tries. No getaddrinfo: nothing blocks the ring. */
#ifndef SIPRING_SRC_RESOLVER_H
#define SIPRING_SRC_RESOLVER_H

#include <liburing.h>
#include <stdint.h>

#include "../sip/resolve.h"

struct resolver;
struct worker;
struct sip_proxy;

/* resolver_new: a resolver for worker w's proxy, asking dns_server (--dns-server, "IP[:PORT]";
 * "": the first nameserver of /etc/resolv.conf). NULL on failure (logged). */
struct resolver *resolver_new(struct worker *w, const char *dns_server, struct sip_proxy *proxy);
void resolver_free(struct resolver *r);
struct sip_resolver *resolver_iface(struct resolver *r);

void resolver_start(struct resolver *r); /* arms the receive */
void resolver_on_cqe(struct resolver *r, const struct io_uring_cqe *cqe);
void resolver_on_timer(struct resolver *r, uint64_t now_ms);

/* resolver_counts: DNS queries sent, names found to have no SIP server, and lookups answered
 * at once (from the cache or /etc/hosts). */
void resolver_counts(const struct resolver *r, uint64_t *queries, uint64_t *failures,
                     uint64_t *immediate);

#endif

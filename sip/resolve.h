/* sip/resolve.h: how the proxy locates the servers of a domain (RFC 3263), as an interface:
 * src/ implements it with its own resolver on the ring (NAPTR, SRV, A/AAAA, /etc/hosts, TTL
 * cache), tests with a table. The proxy never waits: an answer not known yet parks the request
 * until src/ calls sip_proxy_on_resolved. */
#ifndef SIPRING_SIP_RESOLVE_H
#define SIPRING_SIP_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peer.h"

#define SIP_RESOLVE_MAX 4 /* targets tried in turn (fail-over on 503, time-out, no connection) */

struct sip_resolver_ops {
    /* locate: the servers for domain `host` in the order to try them. transport: the one the
     * URI names (transport= or sips:), or -1; port: the URI's, or 0. Returns how many were
     * written to out (with transport and port set), 0 when the answer is not known yet, -1
     * when the domain has no SIP server. */
    int (*locate)(void *self, const char *host, int transport, uint16_t port, struct sip_peer *out,
                  size_t max);
};

struct sip_resolver {
    const struct sip_resolver_ops *ops;
    void *self;
};

#endif

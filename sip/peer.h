/* sip/peer.h: a transport address as the SIP layer sees it: family, IP, port, transport, and
 * for a stream the connection it came on. Plain data, so that sip/ can name where a message goes
 * without touching sockets. */
#ifndef SIPRING_SIP_PEER_H
#define SIPRING_SIP_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "str.h"

enum sip_transport { SIP_TP_UDP = 0, SIP_TP_TCP, SIP_TP_TLS };

struct sip_peer {
    uint8_t family;    /* 4 or 6; 0 = unset */
    uint8_t transport; /* enum sip_transport */
    uint16_t port;     /* host byte order */
    uint32_t conn;     /* the stream connection (src/ names it; 0 = any, open one if needed) */
    uint8_t ip[16];    /* IPv4 in the first 4 bytes */
};

/* sip_transport_name: "UDP", "TCP", "TLS" as in a Via; sip_transport_param: "" , "tcp", "tls"
 * for a URI's transport parameter. */
const char *sip_transport_name(enum sip_transport t);
const char *sip_transport_param(enum sip_transport t);

/* sip_transport_of: the transport a Via's or URI's transport text names; UDP when unknown. */
enum sip_transport sip_transport_of(struct sip_str name);

/* sip_peer_from_text: an IPv4 or IPv6 literal (IPv6 with or without brackets) and a port.
 * Returns 0, or -1 if ip is not a literal. */
int sip_peer_from_text(struct sip_str ip, uint16_t port, struct sip_peer *out);

/* sip_peer_ip_text: the IP as text (no brackets) into out; returns its length. */
size_t sip_peer_ip_text(const struct sip_peer *p, char *out, size_t cap);

/* sip_peer_host_text: the IP for a URI or Via host (IPv6 in brackets); returns its length. */
size_t sip_peer_host_text(const struct sip_peer *p, char *out, size_t cap);

/* sip_peer_eq: same family, IP and port (the transport address; transport and connection are
 * not compared: callers that care look at them). */
bool sip_peer_eq(const struct sip_peer *a, const struct sip_peer *b);

/* sip_peer_same_ip: same family and IP, any port. */
bool sip_peer_same_ip(const struct sip_peer *a, const struct sip_peer *b);

/* sip_peer_is_private: an address nobody outside its own network can reach: RFC 1918, RFC 6598
 * (carrier-grade NAT), IPv4 link-local, IPv6 unique local (RFC 4193) and link-local. */
bool sip_peer_is_private(const struct sip_peer *p);

/* sip_cidr: a network; sip_cidr_parse reads "10.0.0.0/8" or "fc00::/7"; a bare IP is /32 or
 * /128. sip_cidr_match: whether p is inside. */
struct sip_cidr {
    uint8_t family;
    uint8_t bits;
    uint8_t ip[16];
};

int sip_cidr_parse(const char *text, struct sip_cidr *out);
bool sip_cidr_match(const struct sip_cidr *c, const struct sip_peer *p);

/* sip_cidr_any: whether p is in any of nets[0..n). */
bool sip_cidr_any(const struct sip_cidr *nets, size_t n, const struct sip_peer *p);

#endif

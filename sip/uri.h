/* sip/uri.h: SIP, SIPS and tel URIs (RFC 3261 §19.1, §25.1; RFC 3966), parsed into slices.
 *
 * Ownership: every slice of struct sip_uri points into the buffer the URI was parsed from. */
#ifndef SIPRING_SIP_URI_H
#define SIPRING_SIP_URI_H

#include "str.h"

enum sip_scheme {
    SIP_SCHEME_OTHER = 0, /* any absoluteURI: kept as raw, not interpreted */
    SIP_SCHEME_SIP,
    SIP_SCHEME_SIPS,
    SIP_SCHEME_TEL,
};

enum sip_host_kind {
    SIP_HOST_NAME = 0,
    SIP_HOST_IPV4,
    SIP_HOST_IPV6, /* host slice excludes the brackets */
};

struct sip_uri {
    struct sip_str raw;
    enum sip_scheme scheme;
    struct sip_str user;     /* still escaped; for tel: the subscriber number */
    struct sip_str password; /* still escaped */
    struct sip_str host;
    enum sip_host_kind host_kind;
    uint16_t port;
    bool has_port;
    struct sip_str params;  /* everything after the first ';' up to '?' or the end */
    struct sip_str headers; /* after '?', without it */
    /* Known uri-parameters, looked up once. */
    struct sip_str transport;
    struct sip_str maddr;
    struct sip_str user_param;
    struct sip_str ttl;
    struct sip_str method;
    bool has_lr;
};

/* sip_uri_parse: parses a complete URI (no surrounding LWS or brackets) from s into *u.
 * Returns 0, or -1 if s is not a valid SIP-URI, SIPS-URI, tel URI or absoluteURI. */
int sip_uri_parse(struct sip_str s, struct sip_uri *u);

/* sip_uri_param: finds uri-parameter name (case-insensitive) in u->params; *value gets its
 * value (empty for a flag parameter). Returns true if present. */
bool sip_uri_param(const struct sip_uri *u, const char *name, struct sip_str *value);

/* sip_uri_eq: URI equivalence by RFC 3261 §19.1.4. */
bool sip_uri_eq(const struct sip_uri *a, const struct sip_uri *b);

/* sip_ipv4_valid, sip_ipv6_valid: dotted-quad and RFC 4291 text forms (no brackets). */
bool sip_ipv4_valid(struct sip_str s);
bool sip_ipv6_valid(struct sip_str s);

/* sip_host_parse: host [":" port] where host is a hostname, IPv4address or IPv6reference.
 * Fills host/kind/port; returns the number of bytes used, or -1. */
int sip_hostport_parse(struct sip_str s, struct sip_str *host, enum sip_host_kind *kind,
                       uint16_t *port, bool *has_port);

#endif

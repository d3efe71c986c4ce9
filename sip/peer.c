/* sip/peer.c: transport addresses and networks, as data. */
#include "peer.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

int sip_peer_from_text(struct sip_str ip, uint16_t port, struct sip_peer *out)
{
    char buf[64];
    if (ip.len >= 2 && ip.p[0] == '[' && ip.p[ip.len - 1] == ']') {
        ip = sip_str_make(ip.p + 1, ip.len - 2);
    }
    if (ip.len == 0 || ip.len >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, ip.p, ip.len);
    buf[ip.len] = '\0';
    memset(out, 0, sizeof(*out));
    out->port = port;
    if (inet_pton(AF_INET, buf, out->ip) == 1) {
        out->family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, out->ip) == 1) {
        out->family = 6;
        return 0;
    }
    return -1;
}

size_t sip_peer_ip_text(const struct sip_peer *p, char *out, size_t cap)
{
    if (inet_ntop(p->family == 6 ? AF_INET6 : AF_INET, p->ip, out, (socklen_t)cap) == NULL) {
        out[0] = '\0';
    }
    return strlen(out);
}

size_t sip_peer_host_text(const struct sip_peer *p, char *out, size_t cap)
{
    if (p->family != 6) {
        return sip_peer_ip_text(p, out, cap);
    }
    char ip[INET6_ADDRSTRLEN];
    sip_peer_ip_text(p, ip, sizeof(ip));
    int n = snprintf(out, cap, "[%s]", ip);
    return n < 0 ? 0 : (size_t)n;
}

const char *sip_transport_name(enum sip_transport t)
{
    return t == SIP_TP_TLS ? "TLS" : t == SIP_TP_TCP ? "TCP" : "UDP";
}

const char *sip_transport_param(enum sip_transport t)
{
    return t == SIP_TP_TLS ? "tls" : t == SIP_TP_TCP ? "tcp" : "";
}

enum sip_transport sip_transport_of(struct sip_str name)
{
    if (sip_str_ieq_lit(name, "tcp")) {
        return SIP_TP_TCP;
    }
    if (sip_str_ieq_lit(name, "tls")) {
        return SIP_TP_TLS;
    }
    return SIP_TP_UDP;
}

bool sip_peer_eq(const struct sip_peer *a, const struct sip_peer *b)
{
    return a->family == b->family && a->port == b->port &&
           memcmp(a->ip, b->ip, a->family == 6 ? 16 : 4) == 0;
}

int sip_cidr_parse(const char *text, struct sip_cidr *out)
{
    char buf[64];
    const char *slash = strchr(text, '/');
    size_t iplen = slash ? (size_t)(slash - text) : strlen(text);
    if (iplen == 0 || iplen >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, text, iplen);
    buf[iplen] = '\0';
    memset(out, 0, sizeof(*out));
    unsigned max;
    if (inet_pton(AF_INET, buf, out->ip) == 1) {
        out->family = 4;
        max = 32;
    } else if (inet_pton(AF_INET6, buf, out->ip) == 1) {
        out->family = 6;
        max = 128;
    } else {
        return -1;
    }
    unsigned long bits = max;
    if (slash != NULL) {
        char *end;
        bits = strtoul(slash + 1, &end, 10);
        if (*end != '\0' || end == slash + 1 || bits > max) {
            return -1;
        }
    }
    out->bits = (uint8_t)bits;
    return 0;
}

bool sip_cidr_match(const struct sip_cidr *c, const struct sip_peer *p)
{
    if (c->family != p->family) {
        return false;
    }
    unsigned full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->ip, p->ip, full) != 0) {
        return false;
    }
    if (rest == 0) {
        return true;
    }
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (c->ip[full] & mask) == (p->ip[full] & mask);
}

bool sip_peer_same_ip(const struct sip_peer *a, const struct sip_peer *b)
{
    return a->family == b->family && memcmp(a->ip, b->ip, a->family == 6 ? 16 : 4) == 0;
}

bool sip_peer_is_private(const struct sip_peer *p)
{
    const uint8_t *ip = p->ip;
    if (p->family == 4) {
        return ip[0] == 10 || (ip[0] == 172 && (ip[1] & 0xf0) == 16) ||
               (ip[0] == 192 && ip[1] == 168) || (ip[0] == 100 && (ip[1] & 0xc0) == 64) ||
               (ip[0] == 169 && ip[1] == 254);
    }
    return p->family == 6 && ((ip[0] & 0xfe) == 0xfc || (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80));
}

bool sip_cidr_any(const struct sip_cidr *nets, size_t n, const struct sip_peer *p)
{
    for (size_t i = 0; i < n; i++) {
        if (sip_cidr_match(&nets[i], p)) {
            return true;
        }
    }
    return false;
}

/* rtp/addr.h: a transport address as the media layer sees it (no sockets here: src/ converts).
 * An all-zero value means "not known". */
#ifndef SIPRING_RTP_ADDR_H
#define SIPRING_RTP_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct rtp_addr {
    uint8_t family; /* 4 or 6; 0: unset */
    uint8_t ip[16]; /* network order; IPv4 in the first 4 bytes */
    uint16_t port;
};

static inline bool rtp_addr_is_set(const struct rtp_addr *a)
{
    return a->family != 0;
}

static inline bool rtp_addr_same_ip(const struct rtp_addr *a, const struct rtp_addr *b)
{
    return a->family == b->family && memcmp(a->ip, b->ip, a->family == 6 ? 16 : 4) == 0;
}

static inline bool rtp_addr_eq(const struct rtp_addr *a, const struct rtp_addr *b)
{
    return rtp_addr_same_ip(a, b) && a->port == b->port;
}

/* rtp_addr_is_private: an address no one outside its own network can send to: RFC 1918,
 * shared address space (RFC 6598, carrier-grade NAT), link-local, IPv6 unique local (RFC 4193)
 * and link-local. A peer whose SDP names one, from another source address, is behind NAT; a
 * public address that differs from the signaling source is a media server of its own. */
static inline bool rtp_addr_is_private(const struct rtp_addr *a)
{
    const uint8_t *ip = a->ip;
    if (a->family == 4) {
        return ip[0] == 10 || (ip[0] == 172 && (ip[1] & 0xf0) == 16) ||
               (ip[0] == 192 && ip[1] == 168) || (ip[0] == 100 && (ip[1] & 0xc0) == 64) ||
               (ip[0] == 169 && ip[1] == 254);
    }
    return a->family == 6 && ((ip[0] & 0xfe) == 0xfc || (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80));
}

#endif

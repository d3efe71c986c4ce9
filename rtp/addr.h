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

#endif

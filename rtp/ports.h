/* rtp/ports.h: the pool of RTP/RTCP port pairs (even RTP port, RTCP on the next odd one, as
 * RFC 3550 §11 recommends) from --rtp-ports MIN-MAX. Each worker owns its own share of the
 * pairs, so no lock is needed. Freed pairs go to the back of the queue: a port is reused as late
 * as possible, so late packets of an ended call do not reach the next one. The pool owns its
 * queue array; opening sockets on the ports is the caller's business. */
#ifndef SIPRING_RTP_PORTS_H
#define SIPRING_RTP_PORTS_H

#include <stddef.h>
#include <stdint.h>

struct rtp_ports {
    uint16_t *q; /* ring of free even ports */
    uint32_t cap, head, n;
};

/* rtp_ports_init: the pairs (p, p+1), p even, MIN <= p, p+1 <= MAX, whose position in the
 * range modulo shares equals share. Returns 0, or -1 (bad range or out of memory). */
int rtp_ports_init(struct rtp_ports *p, uint16_t min, uint16_t max, unsigned share,
                   unsigned shares);
void rtp_ports_free(struct rtp_ports *p);

/* rtp_ports_get: takes the least recently freed pair; *rtp_port gets its even port. Returns 0,
 * or -1 when every pair is in use. */
int rtp_ports_get(struct rtp_ports *p, uint16_t *rtp_port);

/* rtp_ports_put: gives a pair back (its even port). */
void rtp_ports_put(struct rtp_ports *p, uint16_t rtp_port);

/* rtp_ports_available: pairs free now. */
size_t rtp_ports_available(const struct rtp_ports *p);

#endif

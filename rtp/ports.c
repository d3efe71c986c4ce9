/* rtp/ports.c: see ports.h. */
#include "ports.h"

#include <stdlib.h>
#include <string.h>

int rtp_ports_init(struct rtp_ports *p, uint16_t min, uint16_t max, unsigned share, unsigned shares)
{
    memset(p, 0, sizeof(*p));
    uint32_t first = (min + 1u) & ~1u; /* the first even port */
    if (shares == 0 || share >= shares || first + 1 > max) {
        return -1;
    }
    uint32_t pairs = (max - first + 1) / 2;
    p->cap = pairs / shares + 1;
    p->q = malloc(p->cap * sizeof(*p->q));
    if (p->q == NULL) {
        return -1;
    }
    for (uint32_t i = share; i < pairs; i += shares) {
        p->q[p->n++] = (uint16_t)(first + 2 * i);
    }
    return p->n > 0 ? 0 : -1;
}

void rtp_ports_free(struct rtp_ports *p)
{
    free(p->q);
    memset(p, 0, sizeof(*p));
}

int rtp_ports_get(struct rtp_ports *p, uint16_t *rtp_port)
{
    if (p->n == 0) {
        return -1;
    }
    *rtp_port = p->q[p->head];
    p->head = (p->head + 1) % p->cap;
    p->n--;
    return 0;
}

void rtp_ports_put(struct rtp_ports *p, uint16_t rtp_port)
{
    if (p->n < p->cap) {
        p->q[(p->head + p->n) % p->cap] = rtp_port;
        p->n++;
    }
}

size_t rtp_ports_available(const struct rtp_ports *p)
{
    return p->n;
}

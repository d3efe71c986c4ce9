/* sip/addr_count.h: counts per source address in a fixed table, for the caps of issue 13
 * (transactions, unanswered calls per outside address): a few probes of an open-addressed
 * table, no allocation. A slot whose count is 0 is free for another address; an address
 * that finds neither its slot nor a free one among its probes goes uncounted rather than
 * refused (the table is sized so that takes many more addresses than any cap allows). */
#ifndef SIPRING_SIP_ADDR_COUNT_H
#define SIPRING_SIP_ADDR_COUNT_H

#include <stddef.h>
#include <stdint.h>

#include "peer.h"

#define SIP_ADDR_COUNT_PROBE 8

struct sip_addr_count {
    uint8_t family; /* 0: never used */
    uint8_t ip[16];
    uint32_t n;
};

/* sip_addr_count_take: one more for peer's IP, unless it has max already (then -1). Returns
 * 1 + the slot counted in, or 0 when uncounted. seed varies the hash (an outsider should not
 * be able to aim at one slot's probes). */
int sip_addr_count_take(struct sip_addr_count *table, size_t slots, const struct sip_peer *peer,
                        uint32_t seed, uint32_t max);

/* sip_addr_count_put: one less in the slot take returned (0: nothing). */
void sip_addr_count_put(struct sip_addr_count *table, int slot);

#endif

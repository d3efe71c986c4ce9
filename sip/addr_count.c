/* sip/addr_count.c: see addr_count.h. */
#include "addr_count.h"

#include <string.h>

#include "str.h"

int sip_addr_count_take(struct sip_addr_count *table, size_t slots, const struct sip_peer *peer,
                        uint32_t seed, uint32_t max)
{
    size_t n = peer->family == 6 ? 16 : 4;
    uint32_t h = sip_fnv1a(peer->ip, n, seed);
    struct sip_addr_count *free_slot = NULL;
    for (unsigned k = 0; k < SIP_ADDR_COUNT_PROBE; k++) {
        struct sip_addr_count *e = &table[(h + k) % slots];
        if (e->family == peer->family && memcmp(e->ip, peer->ip, n) == 0) {
            if (e->n >= max) {
                return -1;
            }
            e->n++;
            return (int)(e - table) + 1;
        }
        if (e->n == 0 && free_slot == NULL) {
            free_slot = e;
        }
    }
    if (free_slot == NULL) {
        return 0;
    }
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->family = peer->family;
    memcpy(free_slot->ip, peer->ip, n);
    free_slot->n = 1;
    return (int)(free_slot - table) + 1;
}

void sip_addr_count_put(struct sip_addr_count *table, int slot)
{
    if (slot > 0 && table[slot - 1].n > 0) {
        table[slot - 1].n--;
    }
}

/* sip/wheel.h: a hierarchical timing wheel (4 levels of 64 slots, 1 ms ticks, about 4.6 hours
 * of reach; farther deadlines are parked at the edge and re-filed when reached).
 *
 * Entries are small values (deadline, index, generation); the wheel owns the slot arrays, the
 * caller owns whatever the index names. Cancelling is lazy: the caller checks the generation
 * when an entry fires, so re-arming never has to find the old entry. Adding is O(1); advancing
 * costs one step per non-empty tick, and the next deadline comes from four 64-bit bitmaps. */
#ifndef SIPRING_SIP_WHEEL_H
#define SIPRING_SIP_WHEEL_H

#include <stddef.h>
#include <stdint.h>

#define SIP_WHEEL_LEVELS 4
#define SIP_WHEEL_SLOTS 64

struct sip_wheel_ent {
    uint64_t at_ms;
    uint32_t idx;
    uint32_t gen;
};

struct sip_wheel_slot {
    struct sip_wheel_ent *v;
    uint32_t n, cap;
};

struct sip_wheel {
    uint64_t cur_ms; /* every tick up to and including this one has fired; while count is 0
                      * the owner may move it forward freely (nothing is due) */
    size_t count;
    uint64_t busy[SIP_WHEEL_LEVELS]; /* bit i: slot i of that level holds entries */
    struct sip_wheel_slot slot[SIP_WHEEL_LEVELS][SIP_WHEEL_SLOTS];
    struct sip_wheel_slot due; /* scratch: the entries of the tick being fired */
};

/* sip_wheel_init: an empty wheel whose time starts at now_ms. An all-zero wheel is valid too
 * and starts at 0. */
void sip_wheel_init(struct sip_wheel *w, uint64_t now_ms);

/* sip_wheel_free: releases the slot arrays; the wheel is empty and reusable afterwards. */
void sip_wheel_free(struct sip_wheel *w);

/* sip_wheel_add: files an entry due at at_ms (a past deadline fires at the next tick).
 * Returns 0, or -1 when out of memory (nothing was filed). */
int sip_wheel_add(struct sip_wheel *w, uint64_t at_ms, uint32_t idx, uint32_t gen);

/* sip_wheel_advance: moves time to now_ms and calls fire for every entry due by then, in
 * deadline order by tick. fire may add entries (they land in later ticks). Returns the count
 * fired. */
size_t sip_wheel_advance(struct sip_wheel *w, uint64_t now_ms,
                         void (*fire)(void *ctx, const struct sip_wheel_ent *e), void *ctx);

/* sip_wheel_next: the earliest tick at which advancing has work (a deadline, or an upper slot
 * to re-file, which is never later than the deadlines inside it); 0 when the wheel is empty. */
uint64_t sip_wheel_next(const struct sip_wheel *w);

#endif

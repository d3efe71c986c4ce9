/* sip/wheel.c: hierarchical timing wheel; see wheel.h. Level l spans 64^(l+1) ms: an entry
 * sits in the lowest level whose span covers its distance from now, in the slot of its
 * deadline's bits at that level, and moves down a level when time reaches the slot's start. */
#include "wheel.h"

#include <stdlib.h>
#include <string.h>

#define BITS 6
#define MASK (SIP_WHEEL_SLOTS - 1)

static unsigned shift_of(int level)
{
    return (unsigned)(BITS * level);
}

void sip_wheel_init(struct sip_wheel *w, uint64_t now_ms)
{
    memset(w, 0, sizeof(*w));
    w->cur_ms = now_ms;
}

void sip_wheel_free(struct sip_wheel *w)
{
    for (int l = 0; l < SIP_WHEEL_LEVELS; l++) {
        for (int i = 0; i < SIP_WHEEL_SLOTS; i++) {
            free(w->slot[l][i].v);
        }
    }
    free(w->due.v);
    uint64_t cur = w->cur_ms;
    sip_wheel_init(w, cur);
}

#define SLOT_KEEP 256 /* entries an emptied slot keeps room for */

static int slot_push(struct sip_wheel_slot *s, const struct sip_wheel_ent *e)
{
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 8;
        struct sip_wheel_ent *v = realloc(s->v, (size_t)cap * sizeof(*v));
        if (v == NULL) {
            return -1;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = *e;
    return 0;
}

/* file: places e relative to cur_ms. A deadline not after cur_ms goes to the next tick. */
static int file(struct sip_wheel *w, const struct sip_wheel_ent *e)
{
    uint64_t at = e->at_ms > w->cur_ms ? e->at_ms : w->cur_ms + 1;
    uint64_t delta = at - w->cur_ms;
    int level = 0;
    while (level < SIP_WHEEL_LEVELS - 1 && delta >= (uint64_t)1 << shift_of(level + 1)) {
        level++;
    }
    uint64_t reach = (uint64_t)1 << shift_of(SIP_WHEEL_LEVELS);
    if (delta >= reach) {
        at = w->cur_ms + reach - 1; /* parked at the edge; re-filed with its real deadline */
    }
    unsigned i = (unsigned)(at >> shift_of(level)) & MASK;
    if (slot_push(&w->slot[level][i], e) != 0) {
        return -1;
    }
    w->busy[level] |= (uint64_t)1 << i;
    return 0;
}

int sip_wheel_add(struct sip_wheel *w, uint64_t at_ms, uint32_t idx, uint32_t gen)
{
    struct sip_wheel_ent e = {at_ms, idx, gen};
    if (file(w, &e) != 0) {
        return -1;
    }
    w->count++;
    return 0;
}

/* first_busy_after: offset k in 1..64 of the first busy slot after slot pos, going round. */
static unsigned first_busy_after(uint64_t busy, unsigned pos)
{
    unsigned r = (pos + 1) & MASK;
    uint64_t rot = r ? (busy >> r) | (busy << (64 - r)) : busy;
    return (unsigned)__builtin_ctzll(rot) + 1;
}

uint64_t sip_wheel_next(const struct sip_wheel *w)
{
    if (w->count == 0) {
        return 0;
    }
    uint64_t best = UINT64_MAX;
    for (int l = 0; l < SIP_WHEEL_LEVELS; l++) {
        if (w->busy[l] == 0) {
            continue;
        }
        unsigned s = shift_of(l);
        uint64_t base = w->cur_ms >> s;
        uint64_t t = (base + first_busy_after(w->busy[l], (unsigned)base & MASK)) << s;
        if (t < best) {
            best = t;
        }
    }
    return best;
}

/* take: moves a slot's entries into the due scratch and empties the slot, so that callbacks
 * may add to the wheel while the entries are being handled. */
static int take(struct sip_wheel *w, int level, unsigned i)
{
    struct sip_wheel_slot *s = &w->slot[level][i];
    w->due.n = 0;
    if (s->n > w->due.cap) {
        struct sip_wheel_ent *v = realloc(w->due.v, (size_t)s->n * sizeof(*v));
        if (v == NULL) {
            return -1; /* the entries stay where they are and are retried next advance */
        }
        w->due.v = v;
        w->due.cap = s->n;
    }
    memcpy(w->due.v, s->v, (size_t)s->n * sizeof(*s->v));
    w->due.n = s->n;
    s->n = 0;
    if (s->cap > SLOT_KEEP) {
        /* an emptied slot gives its array back: otherwise each of the 256 slots keeps the most
         * it ever held, and the wheel's memory creeps up to the sum of their peaks under a
         * steady load (issue 17's soak) instead of following what is filed now */
        free(s->v);
        s->v = NULL;
        s->cap = 0;
    }
    w->busy[level] &= ~((uint64_t)1 << i);
    return 0;
}

/* tick: time is now cur_ms. Upper slots starting now are re-filed top down, so that their
 * entries can fall through every level in this one tick; then level 0's slot fires. */
static size_t tick(struct sip_wheel *w, void (*fire)(void *, const struct sip_wheel_ent *),
                   void *ctx)
{
    uint64_t t = w->cur_ms;
    for (int l = SIP_WHEEL_LEVELS - 1; l >= 1; l--) {
        unsigned s = shift_of(l);
        if ((t & (((uint64_t)1 << s) - 1)) != 0) {
            continue;
        }
        unsigned i = (unsigned)(t >> s) & MASK;
        if (!(w->busy[l] & ((uint64_t)1 << i)) || take(w, l, i) != 0) {
            continue;
        }
        for (uint32_t k = 0; k < w->due.n; k++) {
            struct sip_wheel_ent e = w->due.v[k];
            if (e.at_ms <= t) {
                /* due now: into this tick's level-0 slot, fired below */
                unsigned j = (unsigned)t & MASK;
                if (slot_push(&w->slot[0][j], &e) == 0) {
                    w->busy[0] |= (uint64_t)1 << j;
                } else {
                    w->count--;
                }
            } else if (file(w, &e) != 0) {
                w->count--;
            }
        }
    }
    unsigned j = (unsigned)t & MASK;
    if (!(w->busy[0] & ((uint64_t)1 << j)) || take(w, 0, j) != 0) {
        return 0;
    }
    size_t fired = w->due.n;
    w->count -= fired;
    for (uint32_t k = 0; k < fired; k++) {
        fire(ctx, &w->due.v[k]);
    }
    return fired;
}

size_t sip_wheel_advance(struct sip_wheel *w, uint64_t now_ms,
                         void (*fire)(void *ctx, const struct sip_wheel_ent *e), void *ctx)
{
    size_t fired = 0;
    while (w->cur_ms < now_ms) {
        uint64_t next = sip_wheel_next(w);
        if (next == 0 || next > now_ms) {
            w->cur_ms = now_ms; /* nothing to do in between: jump */
            break;
        }
        w->cur_ms = next; /* every tick before next has no work */
        fired += tick(w, fire, ctx);
    }
    return fired;
}

/* tests/test_wheel.c: the timing wheel fires every entry once, never early, and by the tick
 * its deadline names when time advances tick by tick; far deadlines and re-arming from inside
 * a callback work. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "wheel.h"

#define N 5000

struct rec {
    uint64_t now;
    uint64_t at[N];
    uint64_t fired_at[N];
    int fired[N];
    struct sip_wheel *w;
    int rearm_left; /* entries 0..: re-add themselves this many times, 1000 ms later */
};

static void on_fire(void *ctx, const struct sip_wheel_ent *e)
{
    struct rec *r = ctx;
    cr_assert_lt(e->idx, N);
    cr_assert_leq(e->at_ms, r->now, "entry %u due %llu fired before, at %llu", e->idx,
                  (unsigned long long)e->at_ms, (unsigned long long)r->now);
    r->fired[e->idx]++;
    r->fired_at[e->idx] = r->w->cur_ms;
    if (r->rearm_left > 0 && e->idx == 0) {
        r->rearm_left--;
        r->at[0] = e->at_ms + 1000;
        r->fired[0]--;
        cr_assert_eq(sip_wheel_add(r->w, r->at[0], 0, 0), 0);
    }
}

Test(wheel, tick_by_tick_fires_at_the_deadline)
{
    static struct rec r;
    struct sip_wheel w;
    uint64_t start = 1000000007ULL;
    sip_wheel_init(&w, start);
    r.w = &w;
    srand(42);
    for (uint32_t i = 0; i < N; i++) {
        /* a mix of short SIP timers and long ones that cross level boundaries */
        uint64_t d = (i % 3 == 0) ? (uint64_t)(rand() % 64) : (uint64_t)(rand() % 400000);
        r.at[i] = start + d;
        cr_assert_eq(sip_wheel_add(&w, r.at[i], i, 0), 0);
    }
    for (r.now = start + 1; r.now <= start + 400001; r.now++) {
        sip_wheel_advance(&w, r.now, on_fire, &r);
    }
    for (uint32_t i = 0; i < N; i++) {
        cr_assert_eq(r.fired[i], 1, "entry %u fired %d times", i, r.fired[i]);
        uint64_t want = r.at[i] > start ? r.at[i] : start + 1;
        cr_assert_eq(r.fired_at[i], want, "entry %u due %llu fired at %llu", i,
                     (unsigned long long)want, (unsigned long long)r.fired_at[i]);
    }
    cr_assert_eq(w.count, 0);
    cr_assert_eq(sip_wheel_next(&w), 0);
    sip_wheel_free(&w);
}

Test(wheel, big_jumps_fire_everything_due_and_nothing_else)
{
    static struct rec r;
    struct sip_wheel w;
    sip_wheel_init(&w, 0);
    r.w = &w;
    srand(7);
    for (uint32_t i = 0; i < N; i++) {
        /* up to 10 hours: beyond the wheel's 4.6-hour reach */
        r.at[i] = 1 + (uint64_t)rand() % 36000000ULL;
        cr_assert_eq(sip_wheel_add(&w, r.at[i], i, 0), 0);
    }
    r.now = 0;
    while (r.now < 36000001ULL) {
        r.now += 1 + (uint64_t)rand() % 200000;
        sip_wheel_advance(&w, r.now, on_fire, &r);
        for (uint32_t i = 0; i < N; i++) {
            cr_assert_eq(r.fired[i], r.at[i] <= r.now ? 1 : 0, "entry %u due %llu, now %llu", i,
                         (unsigned long long)r.at[i], (unsigned long long)r.now);
        }
        uint64_t next = sip_wheel_next(&w);
        if (w.count > 0) {
            /* next never lies past the earliest deadline: waiting until it misses nothing */
            uint64_t earliest = UINT64_MAX;
            for (uint32_t i = 0; i < N; i++) {
                if (!r.fired[i] && r.at[i] < earliest) {
                    earliest = r.at[i];
                }
            }
            cr_assert_leq(next, earliest);
            cr_assert_gt(next, r.now);
        }
    }
    cr_assert_eq(w.count, 0);
    sip_wheel_free(&w);
}

Test(wheel, callbacks_may_rearm_and_past_deadlines_fire_next_tick)
{
    static struct rec r;
    struct sip_wheel w;
    sip_wheel_init(&w, 500);
    r.w = &w;
    r.rearm_left = 5;
    r.at[0] = 600;
    cr_assert_eq(sip_wheel_add(&w, 600, 0, 0), 0);
    r.at[1] = 100; /* already past */
    cr_assert_eq(sip_wheel_add(&w, 100, 1, 0), 0);
    cr_assert_eq(sip_wheel_next(&w), 501);
    for (r.now = 501; r.now <= 7000; r.now++) {
        sip_wheel_advance(&w, r.now, on_fire, &r);
    }
    cr_assert_eq(r.fired[1], 1);
    cr_assert_eq(r.fired_at[1], 501);
    cr_assert_eq(r.fired[0], 1);
    cr_assert_eq(r.fired_at[0], 5600, "re-armed five times, 1000 ms apart");
    cr_assert_eq(w.count, 0);
    sip_wheel_free(&w);
}

static size_t fired;
static void count_fire(void *ctx, const struct sip_wheel_ent *e)
{
    (void)ctx;
    (void)e;
    fired++;
}

/* issue 17: a slot that held many entries gives its array back once they fired, so the wheel's
 * memory follows what is filed now, not the sum of every slot's peak */
Test(wheel, an_emptied_slot_returns_its_memory)
{
    struct sip_wheel w;
    sip_wheel_init(&w, 0);
    for (uint32_t i = 0; i < 5000; i++) {
        cr_assert_eq(sip_wheel_add(&w, 10, i, 1), 0);
    }
    size_t held = 0;
    for (int l = 0; l < SIP_WHEEL_LEVELS; l++) {
        for (int s = 0; s < SIP_WHEEL_SLOTS; s++) {
            held += w.slot[l][s].cap;
        }
    }
    cr_assert_geq(held, 5000u);
    fired = 0;
    sip_wheel_advance(&w, 20, count_fire, NULL);
    cr_assert_eq(fired, 5000u);
    held = 0;
    for (int l = 0; l < SIP_WHEEL_LEVELS; l++) {
        for (int s = 0; s < SIP_WHEEL_SLOTS; s++) {
            held += w.slot[l][s].cap;
        }
    }
    cr_expect_leq(held, 256u, "the slots kept %zu entries of room", held);
    sip_wheel_free(&w);
}

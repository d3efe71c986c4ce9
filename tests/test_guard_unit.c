/* tests/test_guard_unit.c: the guard of src/guard.c (no I/O: it is handed the source, the
 * first bytes and the time): --deny and --allow per side, the token bucket (--rate-limit per
 * second, a burst of twice that) and its ban for --ban-time, lifted by the first request after
 * it; the inside never rate limited; responses pass unless their source is banned, and one that
 * answered nothing is charged; --max-auth-failures per source; a reload's new settings. */
#include <criterion/criterion.h>
#include <string.h>

#include "../src/guard.h"

static const char REQ[] = "OPTIONS sip:x SIP/2.0\r\n";
static const char RESP[] = "SIP/2.0 200 OK\r\n";

static struct sip_peer ip(const char *text)
{
    struct sip_peer p;
    cr_assert_eq(sip_peer_from_text(sip_str_make(text, strlen(text)), 5060, &p), 0);
    return p;
}

static struct guard_cfg base(void)
{
    struct guard_cfg c;
    memset(&c, 0, sizeof(c));
    sip_cidr_parse("10.0.0.0/8", &c.inside[0]);
    c.inside_count = 1;
    c.rate_limit = 5;
    c.ban_time_s = 2;
    c.max_auth_failures = 3;
    return c;
}

static bool admit(struct guard *g, const char *from, const char *msg, uint64_t now)
{
    struct sip_peer p = ip(from);
    return guard_admit(g, &p, msg, strlen(msg), now);
}

Test(guard_unit, deny_and_allow_by_side)
{
    struct guard_cfg c = base();
    c.rate_limit = 0;
    sip_cidr_parse("10.9.0.0/16", &c.deny[0].net);
    c.deny[0].side = ACL_BOTH;
    c.deny_count = 1;
    sip_cidr_parse("0.0.0.0/0", &c.allow[0].net);
    c.allow[0].side = ACL_INSIDE; /* any inside address */
    sip_cidr_parse("198.51.100.0/24", &c.allow[1].net);
    c.allow[1].side = ACL_OUTSIDE;
    c.allow_count = 2;
    struct guard *g = guard_new(&c, 0);
    cr_expect(admit(g, "10.1.2.3", REQ, 0), "inside: allowed by the inside rule");
    cr_expect(!admit(g, "10.9.1.1", REQ, 0), "denied wins over allowed");
    cr_expect(admit(g, "198.51.100.20", REQ, 0), "the outside network allowed");
    cr_expect(!admit(g, "203.0.113.9", REQ, 0), "any other outside address: not allowed");
    cr_expect(!admit(g, "203.0.113.9", RESP, 0), "not even its responses");
    cr_expect_eq(guard_stats(g)->denied, 3);
    guard_free(g);
}

Test(guard_unit, the_bucket_holds_two_seconds_then_bans_for_the_ban_time)
{
    struct guard_cfg c = base();
    struct guard *g = guard_new(&c, 0);
    int passed = 0;
    for (int i = 0; i < 20; i++) {
        passed += admit(g, "203.0.113.5", REQ, 1000); /* all in the same millisecond */
    }
    cr_expect_eq(passed, 10, "a burst of 2 x --rate-limit 5 (got %d)", passed);
    cr_expect_eq(guard_stats(g)->bans, 1, "banned once, however many more it sends");
    cr_expect(!admit(g, "203.0.113.5", RESP, 1500), "a banned source's responses are dropped");
    cr_expect(!admit(g, "203.0.113.5", REQ, 2999), "still banned before --ban-time 2 s");
    cr_expect(admit(g, "203.0.113.6", REQ, 1500), "another source is not affected");
    cr_expect(admit(g, "203.0.113.5", REQ, 3001), "lifted by the first request after the ban");
    /* after the ban a full bucket: ten more at once, then a new ban */
    passed = 1;
    for (int i = 0; i < 15; i++) {
        passed += admit(g, "203.0.113.5", REQ, 3001);
    }
    cr_expect_eq(passed, 10);
    cr_expect_eq(guard_stats(g)->bans, 2);
    guard_free(g);
}

Test(guard_unit, a_steady_rate_within_the_limit_is_never_banned)
{
    struct guard_cfg c = base();
    struct guard *g = guard_new(&c, 0);
    int passed = 0;
    for (int i = 0; i < 500; i++) { /* 5 per second for 100 s */
        passed += admit(g, "203.0.113.7", REQ, 1000 + (uint64_t)i * 200);
    }
    cr_expect_eq(passed, 500);
    cr_expect_eq(guard_stats(g)->bans, 0);
    guard_free(g);
}

Test(guard_unit, the_inside_is_not_rate_limited_and_responses_are_charged_after_the_fact)
{
    struct guard_cfg c = base();
    struct guard *g = guard_new(&c, 0);
    int passed = 0;
    for (int i = 0; i < 100; i++) {
        passed += admit(g, "10.0.0.5", REQ, 1000);
    }
    cr_expect_eq(passed, 100, "inside: no limit");
    passed = 0;
    for (int i = 0; i < 100; i++) {
        passed += admit(g, "203.0.113.8", RESP, 1000);
    }
    cr_expect_eq(passed, 100, "responses are not limited on arrival");
    struct sip_peer s = ip("203.0.113.8");
    for (int i = 0; i < 10; i++) {
        guard_charge(g, &s, 1000); /* stray responses: each costs a token */
    }
    cr_expect(!admit(g, "203.0.113.8", REQ, 1000), "its bucket is empty: banned");
    struct sip_peer in = ip("10.0.0.5");
    guard_charge(g, &in, 1000);
    cr_expect(admit(g, "10.0.0.5", REQ, 1000), "the inside is never charged");
    guard_free(g);
}

Test(guard_unit, password_guessing_bans_its_source_on_any_side)
{
    struct guard_cfg c = base();
    struct guard *g = guard_new(&c, 0);
    struct sip_peer in = ip("10.0.0.9");
    for (int i = 0; i < 3; i++) {
        guard_auth_failed(g, &in, 1000, true);
        cr_expect(admit(g, "10.0.0.9", REQ, 1000), "%d failures are allowed", i + 1);
    }
    guard_auth_failed(g, &in, 1000, true);
    cr_expect(!admit(g, "10.0.0.9", REQ, 1000), "the fourth bans, the inside too");
    cr_expect_eq(guard_stats(g)->auth_bans, 1);
    cr_expect(admit(g, "10.0.0.9", REQ, 3001), "for --ban-time");
    guard_free(g);
}

Test(guard_unit, a_reload_applies_the_new_rate_and_networks)
{
    struct guard_cfg c = base(), next = base();
    next.rate_limit = 1;
    next.inside_count = 0; /* 10/8 is no longer trusted */
    struct guard *g = guard_new(&c, 0);
    cr_expect(admit(g, "10.0.0.5", REQ, 1000));
    guard_set_cfg(g, &next);
    int passed = 0;
    for (int i = 0; i < 10; i++) {
        passed += admit(g, "10.0.0.5", REQ, 2000);
    }
    cr_expect_eq(passed, 2, "now outside, with a burst of 2 x 1 (got %d)", passed);
    guard_free(g);
}

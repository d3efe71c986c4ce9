/* tests/test_status.c: the JSON status pages (src/status.c): what a UA wrote into its Contact
 * comes out escaped (quotes, backslashes, control characters: RFC 8259 §7), a page that does
 * not fit is refused rather than cut, and the limit and offset of a query are bounded. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../src/metrics.h"
#include "../src/status.h"

Test(status, contacts_are_escaped)
{
    struct sip_binding b;
    memset(&b, 0, sizeof(b));
    snprintf(b.aor, sizeof(b.aor), "alice@example.test");
    snprintf(b.contact, sizeof(b.contact), "sip:a\"b\\c\x01@10.0.0.1");
    cr_assert_eq(sip_peer_from_text(sip_str_make("10.0.0.1", 8), 5060, &b.received), 0);
    b.expires_at_ms = 61000;
    char out[2048];
    size_t n = status_render_registrations(out, sizeof(out), &b, 1, 1, 0, 1000);
    cr_assert_gt(n, 0);
    cr_expect(strstr(out, "\"contact\": \"sip:a\\\"b\\\\c\\u0001@10.0.0.1\"") != NULL, "%s", out);
    cr_expect(strstr(out, "\"flow\": \"udp:10.0.0.1:5060\"") != NULL, "%s", out);
    cr_expect(strstr(out, "\"expires_in\": 60") != NULL, "%s", out);
    cr_expect_eq(status_render_registrations(out, 40, &b, 1, 1, 0, 1000), 0,
                 "too small: refused, not cut");
}

Test(status, page_args_are_bounded)
{
    size_t limit, offset;
    status_page_args("", &limit, &offset);
    cr_expect(limit == 100 && offset == 0);
    status_page_args("limit=5&offset=7", &limit, &offset);
    cr_expect(limit == 5 && offset == 7);
    status_page_args("offset=3&limit=999999", &limit, &offset);
    cr_expect(limit == STATUS_LIMIT_MAX && offset == 3);
    status_page_args("limit=0&junk", &limit, &offset);
    cr_expect_eq(limit, 1);
}

/* An auth ban is in every worker's guard: /bans lists the address once, with the latest end
 * and the drops of all; a rate ban of another address beside it. */
Test(status, bans_merge_across_workers)
{
    static struct metrics_sample w[2];
    memset(w, 0, sizeof(w));
    struct sip_peer a, b;
    cr_assert_eq(sip_peer_from_text(sip_str_make("203.0.113.9", 11), 0, &a), 0);
    cr_assert_eq(sip_peer_from_text(sip_str_make("198.51.100.1", 12), 0, &b), 0);
    for (int i = 0; i < 2; i++) {
        w[i].nbans = 1;
        w[i].bans[0] = (struct guard_ban){.family = 4,
                                          .auth = true,
                                          .until_ms = 10000 + 2000 * (uint64_t)i,
                                          .dropped = 3 + (uint64_t)i};
        memcpy(w[i].bans[0].ip, a.ip, 16);
    }
    w[1].nbans = 2;
    w[1].bans[1] = (struct guard_ban){.family = 4, .until_ms = 4500, .dropped = 9};
    memcpy(w[1].bans[1].ip, b.ip, 16);
    char out[1024];
    size_t n = status_render_bans(out, sizeof(out), w, 2, 2000);
    cr_assert_gt(n, 0);
    cr_expect(strstr(out, "\"total\": 2") != NULL, "%s", out);
    cr_expect(strstr(out, "{\"ip\": \"203.0.113.9\", \"reason\": \"auth_failures\", "
                          "\"seconds_left\": 10, \"dropped\": 7}") != NULL,
              "%s", out);
    cr_expect(strstr(out, "{\"ip\": \"198.51.100.1\", \"reason\": \"rate_limit\", "
                          "\"seconds_left\": 3, \"dropped\": 9}") != NULL,
              "%s", out);
}

/* tests/test_status.c: the JSON status pages (src/status.c): what a UA wrote into its Contact
 * comes out escaped (quotes, backslashes, control characters: RFC 8259 §7), a page that does
 * not fit is refused rather than cut, and the limit and offset of a query are bounded. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

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

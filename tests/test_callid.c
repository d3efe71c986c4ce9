/* tests/test_callid.c: the Call-ID owner hash (RFC 3261 §20.8: Call-IDs compare byte for byte)
 * is equal for a request and everything of its transaction, whatever the header's spelling. */
#include <criterion/criterion.h>
#include <string.h>

#include "callid.h"

static uint32_t h(const char *m)
{
    return sip_callid_hash(m, strlen(m));
}

Test(callid, request_response_and_compact_form_hash_alike)
{
    uint32_t req = h("INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n"
                     "Call-ID: a84b4c76e66710@pc33.atlanta.com\r\nCSeq: 1 INVITE\r\n\r\n");
    uint32_t resp = h("SIP/2.0 200 OK\r\nCSeq: 1 INVITE\r\n"
                      "i  :\t a84b4c76e66710@pc33.atlanta.com  \r\n\r\n");
    uint32_t upper =
        h("ACK sip:bob@example.com SIP/2.0\r\nCALL-ID:a84b4c76e66710@pc33.atlanta.com\r\n\r\n");
    cr_assert_neq(req, 0);
    cr_assert_eq(req, resp);
    cr_assert_eq(req, upper);
}

Test(callid, values_differing_in_case_differ)
{
    cr_assert_neq(h("BYE x SIP/2.0\r\nCall-ID: abc\r\n\r\n"),
                  h("BYE x SIP/2.0\r\nCall-ID: ABC\r\n\r\n"));
}

Test(callid, missing_empty_or_only_in_body_is_zero)
{
    cr_assert_eq(h("OPTIONS x SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n"), 0);
    cr_assert_eq(h("OPTIONS x SIP/2.0\r\nCall-ID:   \r\n\r\n"), 0);
    cr_assert_eq(h("OPTIONS x SIP/2.0\r\nContent-Length: 12\r\n\r\nCall-ID: abc"), 0);
    cr_assert_eq(h("Call-ID: only-a-start-line"), 0);
    cr_assert_eq(h(""), 0);
    /* "i" must be the whole name: "If-Match" and "Identity" are other headers */
    cr_assert_eq(h("OPTIONS x SIP/2.0\r\nIdentity: abc\r\n\r\n"), 0);
}

Test(callid, unterminated_last_line_still_counts)
{
    cr_assert_eq(h("BYE x SIP/2.0\r\nCall-ID: abc"), h("BYE x SIP/2.0\r\nCall-ID: abc\r\n\r\n"));
}

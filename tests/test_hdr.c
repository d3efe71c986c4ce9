/* tests/test_hdr.c: the header name table (RFC 3261 §7.3.3 compact forms, §7.3.1
 * case-insensitive names). */
#include <criterion/criterion.h>
#include <ctype.h>

#include "hdr.h"

Test(hdr, every_name_found_in_any_case_and_compact_form)
{
    for (int t = 1; t < SIP_HDR__COUNT; t++) {
        const struct sip_hdr_def *d = sip_hdr_def_of((enum sip_hdr_type)t);
        size_t len = strlen(d->name);
        char up[64];
        for (size_t i = 0; i < len; i++) {
            up[i] = (char)toupper((unsigned char)d->name[i]);
        }
        cr_expect_eq((int)sip_hdr_lookup(d->name, len), t, "%s", d->name);
        cr_expect_eq((int)sip_hdr_lookup(up, len), t, "%.*s", (int)len, up);
        if (d->compact) {
            char c = d->compact, C = (char)toupper((unsigned char)c);
            cr_expect_eq((int)sip_hdr_lookup(&c, 1), t);
            cr_expect_eq((int)sip_hdr_lookup(&C, 1), t);
        }
    }
    cr_expect_eq(sip_hdr_lookup("X-Whatever", 10), SIP_HDR_OTHER);
    cr_expect_eq(sip_hdr_lookup("C%6Fntact", 9), SIP_HDR_OTHER); /* RFC 4475 esc02 */
    cr_expect_eq(sip_hdr_lookup("q", 1), SIP_HDR_OTHER);
}

/* tests/test_uri.c: URIs (RFC 3261 §19.1) and their comparison (§19.1.4). */
#include <criterion/criterion.h>

#include "uri.h"

static struct sip_uri parse(const char *s)
{
    struct sip_uri u;
    cr_assert_eq(sip_uri_parse(sip_str_make(s, strlen(s)), &u), 0, "%s rejected", s);
    return u;
}

static bool eq(struct sip_str s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

Test(uri, components)
{
    struct sip_uri u = parse("sips:alice:secret@[2001:db8::1]:5061;transport=tls;lr;maddr=h?x=1");
    cr_expect_eq(u.scheme, SIP_SCHEME_SIPS);
    cr_expect(eq(u.user, "alice") && eq(u.password, "secret"));
    cr_expect(eq(u.host, "2001:db8::1") && u.host_kind == SIP_HOST_IPV6);
    cr_expect(u.has_port && u.port == 5061);
    cr_expect(eq(u.transport, "tls") && u.has_lr && eq(u.maddr, "h"));
    cr_expect(eq(u.headers, "x=1"));
    u = parse("tel:+1-201-555-0123;phone-context=example.com");
    cr_expect_eq(u.scheme, SIP_SCHEME_TEL);
    cr_expect(eq(u.user, "+1-201-555-0123"));
    u = parse("sip:192.0.2.4");
    cr_expect_eq(u.host_kind, SIP_HOST_IPV4);
    cr_expect(!u.has_port && u.user.len == 0);
    u = parse("soap.beep://192.0.2.103:3002"); /* RFC 4475 §3.3.? novelsc: absoluteURI */
    cr_expect_eq(u.scheme, SIP_SCHEME_OTHER);
}

Test(uri, invalid)
{
    const char *bad[] = {"sip:",        "sip:user@",          "sip:[2001:db8::1", "sip:host:99999",
                         "sip:host;=v", "sip:host;a=",        "sip:ho st",        "<sip:a@b>",
                         "sip:a@b?x",   "sip:[2001:db8:::1]", "sip:a%4@b",        "nocolon",
                         "tel:abc%"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sip_uri u;
        cr_expect_neq(sip_uri_parse(sip_str_make(bad[i], strlen(bad[i])), &u), 0, "%s accepted",
                      bad[i]);
    }
}

static bool same(const char *a, const char *b)
{
    struct sip_uri ua = parse(a), ub = parse(b);
    return sip_uri_eq(&ua, &ub) && sip_uri_eq(&ub, &ua);
}

/* RFC 3261 §19.1.4: the equivalent and non-equivalent pairs given in the RFC. */
Test(uri, comparison_rfc3261_examples)
{
    cr_expect(same("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"));
    cr_expect(same("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
    cr_expect(same("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"));
    cr_expect(same("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                   "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"));
    cr_expect(same("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                   "sip:alice@atlanta.com?priority=urgent&subject=project%20x"));
    cr_expect(!same("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"));
    cr_expect(!same("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
    cr_expect(!same("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
    cr_expect(!same("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"));
    cr_expect(!same("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"));
    cr_expect(!same("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
    cr_expect(!same("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"));
    cr_expect(!same("sip:alice@atlanta.com", "sips:alice@atlanta.com"));
}

Test(uri, ip_literals)
{
    cr_expect(sip_ipv4_valid(SIP_STR_LIT("192.0.2.255")));
    cr_expect(!sip_ipv4_valid(SIP_STR_LIT("192.0.2.256")));
    cr_expect(!sip_ipv4_valid(SIP_STR_LIT("192.0.2")));
    cr_expect(sip_ipv6_valid(SIP_STR_LIT("::")));
    cr_expect(sip_ipv6_valid(SIP_STR_LIT("::ffff:192.0.2.10")));
    cr_expect(sip_ipv6_valid(SIP_STR_LIT("2001:db8:0:0:0:0:0:1")));
    cr_expect(!sip_ipv6_valid(SIP_STR_LIT("2001:db8:0:0:0:0:0:0:1")));
    cr_expect(!sip_ipv6_valid(SIP_STR_LIT("2001:db8:::1")));
    cr_expect(!sip_ipv6_valid(SIP_STR_LIT("1::2::3")));
    cr_expect(!sip_ipv6_valid(SIP_STR_LIT("12345::")));
}

/* tests/test_dns.c: DNS messages (sip/dns.c): a query as RFC 1035 §4.1 lays it out, and
 * answers with SRV, NAPTR, A and AAAA records, compression, and malformed ones. */
#include <criterion/criterion.h>
#include <string.h>

#include "dns.h"

Test(dns, query_layout)
{
    uint8_t q[300];
    long n = sip_dns_query(q, sizeof(q), 0x1234, "_sip._udp.Example.com.", SIP_DNS_SRV);
    static const uint8_t want[] = {0x12, 0x34, 0x01, 0x00, 0, 1,   0,   0,   0,   0, 0,   0,   4,
                                   '_',  's',  'i',  'p',  4, '_', 'u', 'd', 'p', 7, 'E', 'x', 'a',
                                   'm',  'p',  'l',  'e',  3, 'c', 'o', 'm', 0,   0, 33,  0,   1};
    cr_assert_eq(n, (long)sizeof(want));
    cr_expect_eq(memcmp(q, want, sizeof(want)), 0);
    cr_expect_eq(sip_dns_query(q, sizeof(q), 1, "a..b", SIP_DNS_A), -1, "empty label");
    cr_expect_eq(sip_dns_query(q, 20, 1, "example.com", SIP_DNS_A), -1, "no room");
}

/* a response to the SRV query above: two SRV records (the second's target compressed against
 * the first), and an A record in the additional section */
static size_t srv_response(uint8_t *m)
{
    uint8_t q[300];
    long n = sip_dns_query(q, sizeof(q), 0x1234, "_sip._udp.example.com", SIP_DNS_SRV);
    memcpy(m, q, (size_t)n);
    m[2] = 0x81; /* QR, RD */
    m[3] = 0x80; /* RA, rcode 0 */
    m[7] = 2;    /* answers */
    m[11] = 1;   /* additional */
    size_t o = (size_t)n;
    static const uint8_t rr1[] = {0xc0, 12,  0,   33,  0,    1,    0, 0,   0x0e, 0x10, 0, 18,
                                  0,    10,  0,   60,  0x13, 0xc4, 3, 's', 'i',  'p',  7, 'e',
                                  'x',  'a', 'm', 'p', 'l',  'e',  3, 'c', 'o',  'm',  0};
    /* rdlength: 6 + 17 = 23, fix it */
    memcpy(m + o, rr1, sizeof(rr1));
    m[o + 11] = 23;
    size_t target1 = o + 18;
    o += sizeof(rr1);
    const uint8_t rr2[] = {0xc0, 12,   0,    33,   0,
                           1,    0,    0,    0,    60,
                           0,    12,   0,    20,   0,
                           0,    0x13, 0xc5, 4,    's',
                           'i',  'p',  '2',  0xc0, (uint8_t)(target1 + 4)};
    memcpy(m + o, rr2, sizeof(rr2));
    m[o + 11] = (uint8_t)(sizeof(rr2) - 12);
    o += sizeof(rr2);
    const uint8_t a[] = {0xc0, (uint8_t)target1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 4, 192, 0, 2, 7};
    memcpy(m + o, a, sizeof(a));
    return o + sizeof(a);
}

Test(dns, srv_answer_with_compression)
{
    uint8_t m[512];
    size_t len = srv_response(m);
    struct sip_dns_answer a;
    cr_assert_eq(sip_dns_parse(m, len, &a), 0);
    cr_expect_eq(a.id, 0x1234);
    cr_expect_eq(a.rcode, 0);
    cr_assert_eq(a.count, 3);
    cr_expect_eq(a.rr[0].type, SIP_DNS_SRV);
    cr_expect_eq(a.rr[0].u.srv.priority, 10);
    cr_expect_eq(a.rr[0].u.srv.weight, 60);
    cr_expect_eq(a.rr[0].u.srv.port, 5060);
    cr_expect_str_eq(a.rr[0].u.srv.target, "sip.example.com");
    cr_expect_eq(a.rr[0].ttl, 3600);
    cr_expect_str_eq(a.rr[0].owner, "_sip._udp.example.com");
    cr_expect_str_eq(a.rr[1].u.srv.target, "sip2.example.com");
    cr_expect_eq(a.rr[1].u.srv.port, 5061);
    cr_expect_eq(a.rr[2].type, SIP_DNS_A);
    cr_expect_str_eq(a.rr[2].owner, "sip.example.com");
    cr_expect_eq(memcmp(a.rr[2].u.ip, "\xc0\x00\x02\x07", 4), 0);
}

Test(dns, truncations_and_forward_pointers_are_refused)
{
    uint8_t m[512];
    size_t len = srv_response(m);
    struct sip_dns_answer a;
    for (size_t cut = 0; cut < 40; cut++) {
        cr_expect_eq(sip_dns_parse(m, cut, &a), -1, "cut at %zu", cut);
    }
    cr_expect_eq(sip_dns_parse(m, len - 3, &a), 0, "the whole records before the cut are kept");
    cr_expect_eq(a.count, 2);
    m[39] = 0xc0;
    m[40] = 200; /* the first answer's owner: a pointer forwards */
    cr_expect_eq(sip_dns_parse(m, len, &a), -1);
    uint8_t q[64];
    long n = sip_dns_query(q, sizeof(q), 7, "x", SIP_DNS_A);
    cr_expect_eq(sip_dns_parse(q, (size_t)n, &a), -1, "a query is not a response");
}

Test(dns, naptr)
{
    uint8_t m[512];
    long n = sip_dns_query(m, sizeof(m), 9, "example.com", SIP_DNS_NAPTR);
    m[2] = 0x81;
    m[7] = 1;
    size_t o = (size_t)n;
    const uint8_t rr[] = {0xc0, 12, 0,   35,  0,   1,   0,   0,   0,   30,  0,   0,    0,
                          10,   0,  50,  1,   'S', 7,   'S', 'I', 'P', '+', 'D', '2',  'T',
                          0,    4,  '_', 's', 'i', 'p', 4,   '_', 't', 'c', 'p', 0xc0, 12};
    memcpy(m + o, rr, sizeof(rr));
    m[o + 11] = (uint8_t)(sizeof(rr) - 12);
    struct sip_dns_answer a;
    cr_assert_eq(sip_dns_parse(m, o + sizeof(rr), &a), 0);
    cr_assert_eq(a.count, 1);
    cr_expect_eq(a.rr[0].u.naptr.order, 10);
    cr_expect_eq(a.rr[0].u.naptr.preference, 50);
    cr_expect_str_eq(a.rr[0].u.naptr.flags, "s");
    cr_expect_str_eq(a.rr[0].u.naptr.service, "sip+d2t");
    cr_expect_str_eq(a.rr[0].u.naptr.replacement, "_sip._tcp.example.com");
}

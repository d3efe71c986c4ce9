/* tests/test_locate.c: RFC 3263 server location (sip/locate.c) with a fake nameserver: NAPTR
 * order and preference as 16-bit fields, SRV priority and weights (RFC 2782) measured over many
 * lookups, AAAA when a name has no A, /etc/hosts before DNS, the negative cache, TTLs, retries
 * and giving up, a port or a transport skipping stages, and the limit on lookups at once. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "locate.h"

/* The fake nameserver: answers each question the locator hands out from a table of records
 * (by name and type); a name in no row gets NXDOMAIN. */
struct row {
    const char *name;
    uint16_t type;
    struct sip_dns_rr rr;
};

static struct row zone[32];
static size_t nzone;
static unsigned asked; /* questions answered so far */

static void zone_reset(void)
{
    nzone = 0;
    asked = 0;
}

static struct sip_dns_rr *add(const char *name, uint16_t type, uint32_t ttl)
{
    struct row *r = &zone[nzone++];
    memset(r, 0, sizeof(*r));
    r->name = name;
    r->type = type;
    r->rr.type = type;
    r->rr.ttl = ttl;
    snprintf(r->rr.owner, sizeof(r->rr.owner), "%s", name);
    return &r->rr;
}

static void add_a(const char *name, uint8_t last, uint32_t ttl)
{
    struct sip_dns_rr *rr = add(name, SIP_DNS_A, ttl);
    uint8_t ip[4] = {192, 0, 2, last};
    memcpy(rr->u.ip, ip, 4);
}

static void add_srv(const char *name, uint16_t prio, uint16_t weight, uint16_t port,
                    const char *target)
{
    struct sip_dns_rr *rr = add(name, SIP_DNS_SRV, 300);
    rr->u.srv.priority = prio;
    rr->u.srv.weight = weight;
    rr->u.srv.port = port;
    snprintf(rr->u.srv.target, sizeof(rr->u.srv.target), "%s", target);
}

static void add_naptr(const char *name, uint16_t order, uint16_t pref, const char *service,
                      const char *replacement)
{
    struct sip_dns_rr *rr = add(name, SIP_DNS_NAPTR, 300);
    rr->u.naptr.order = order;
    rr->u.naptr.preference = pref;
    snprintf(rr->u.naptr.flags, sizeof(rr->u.naptr.flags), "s");
    snprintf(rr->u.naptr.service, sizeof(rr->u.naptr.service), "%s", service);
    snprintf(rr->u.naptr.replacement, sizeof(rr->u.naptr.replacement), "%s", replacement);
}

/* serve: hands out and answers every due question; returns how many it answered. */
static unsigned serve(struct sip_locate *l, uint64_t now)
{
    unsigned n = 0;
    struct sip_locate_question q;
    static uint16_t id = 100;
    while (sip_locate_next_question(l, now, &q)) {
        sip_locate_sent(l, q.slot, ++id, now);
        struct sip_dns_answer a;
        memset(&a, 0, sizeof(a));
        a.id = id;
        for (size_t i = 0; i < nzone; i++) {
            if (strcmp(zone[i].name, q.name) == 0 && zone[i].type == q.type &&
                a.count < SIP_DNS_MAX_RR) {
                a.rr[a.count++] = zone[i].rr;
            }
        }
        if (a.count == 0) {
            a.rcode = 3; /* NXDOMAIN */
        }
        sip_locate_on_answer(l, &a, now);
        n++;
        asked++;
    }
    return n;
}

/* find: a lookup run to the end against the zone. */
static int find(struct sip_locate *l, const char *host, int tp, uint16_t port, struct sip_peer *out,
                uint64_t now)
{
    for (int round = 0; round < 20; round++) {
        int n = sip_locate_find(l, host, tp, port, out, SIP_RESOLVE_MAX, now);
        if (n != 0) {
            return n;
        }
        cr_assert(serve(l, now) > 0, "a pending lookup asked nothing");
    }
    cr_assert_fail("lookup of %s does not end", host);
    return -1;
}

static uint8_t last_octet(const struct sip_peer *p)
{
    return p->ip[3];
}

Test(locate, naptr_order_then_preference_as_16_bit_fields)
{
    zone_reset();
    /* right: (1,20) TCP, (1,300) TLS, (256,10) UDP. A key that cut each field to 8 bits
     * (src/resolver.c:323 before issue 14) ranks order 256 as 0 and picks UDP. The service
     * names come lowered from sip/dns.c. */
    add_naptr("example.test", 256, 10, "sip+d2u", "_sip._udp.example.test");
    add_naptr("example.test", 1, 300, "sips+d2t", "_sips._tcp.example.test");
    add_naptr("example.test", 1, 20, "sip+d2t", "_sip._tcp.example.test");
    add_srv("_sip._udp.example.test", 10, 10, 5060, "udp.example.test");
    add_srv("_sip._tcp.example.test", 10, 10, 5070, "tcp.example.test");
    add_srv("_sips._tcp.example.test", 10, 10, 5061, "tls.example.test");
    add_a("udp.example.test", 1, 300);
    add_a("tcp.example.test", 2, 300);
    add_a("tls.example.test", 3, 300);
    struct sip_locate *l = sip_locate_new(1);
    struct sip_peer out[SIP_RESOLVE_MAX];
    int n = find(l, "Example.Test", -1, 0, out, 1000);
    cr_assert_eq(n, 1, "the first NAPTR whose SRV has targets wins (got %d)", n);
    cr_expect_eq(out[0].transport, SIP_TP_TCP, "order 1 preference 20 is first");
    cr_expect_eq(out[0].port, 5070);
    cr_expect_eq(last_octet(&out[0]), 2);
    sip_locate_free(l);
}

Test(locate, srv_priority_first_then_weight_in_proportion)
{
    zone_reset();
    add_srv("_sip._udp.w.test", 20, 100, 5060, "backup.w.test");
    add_srv("_sip._udp.w.test", 10, 90, 5060, "big.w.test");
    add_srv("_sip._udp.w.test", 10, 10, 5060, "small.w.test");
    add_srv("_sip._udp.w.test", 10, 0, 5060, "zero.w.test");
    add_a("backup.w.test", 9, 300);
    add_a("big.w.test", 1, 300);
    add_a("small.w.test", 2, 300);
    add_a("zero.w.test", 3, 300);
    unsigned first[10] = {0};
    enum { RUNS = 2000 };
    for (unsigned run = 0; run < RUNS; run++) {
        struct sip_locate *l = sip_locate_new(run * 2654435761u + 1);
        struct sip_peer out[SIP_RESOLVE_MAX];
        int n = find(l, "w.test", SIP_TP_UDP, 0, out, 1000);
        cr_assert_eq(n, 4);
        cr_assert_eq(last_octet(&out[3]), 9, "priority 20 comes after every priority 10");
        first[last_octet(&out[0])]++;
        sip_locate_free(l);
    }
    /* weights 90, 10, 0 (+1 each): 91/102, 11/102, 1/102 of first places */
    cr_expect(first[1] > RUNS * 0.84 && first[1] < RUNS * 0.94, "weight 90 first %u/%u", first[1],
              RUNS);
    cr_expect(first[2] > RUNS * 0.06 && first[2] < RUNS * 0.16, "weight 10 first %u/%u", first[2],
              RUNS);
    cr_expect(first[3] < RUNS * 0.03, "weight 0 first %u/%u", first[3], RUNS);
    cr_expect_eq(first[9], 0);
}

Test(locate, aaaa_when_a_name_has_no_a_record)
{
    zone_reset();
    add_srv("_sip._udp.six.test", 10, 10, 5080, "v6.six.test");
    struct sip_dns_rr *rr = add("v6.six.test", SIP_DNS_AAAA, 300);
    static const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x42};
    memcpy(rr->u.ip, ip6, 16);
    struct sip_locate *l = sip_locate_new(7);
    struct sip_peer out[SIP_RESOLVE_MAX];
    cr_assert_eq(find(l, "six.test", SIP_TP_UDP, 0, out, 1000), 1);
    cr_expect_eq(out[0].family, 6);
    cr_expect_eq(memcmp(out[0].ip, ip6, 16), 0);
    cr_expect_eq(out[0].port, 5080);
    sip_locate_free(l);
}

Test(locate, hosts_file_names_need_no_question)
{
    zone_reset();
    struct sip_locate *l = sip_locate_new(3);
    static const char hosts[] = "# comment line\n"
                                "127.0.0.1 localhost\n"
                                "192.0.2.77\tPBX.Example.Test pbx # trailing comment\n"
                                "not-an-ip bogus.test\n"
                                "2001:db8::5 v6host\n";
    cr_assert_eq(sip_locate_add_hosts(l, hosts, sizeof(hosts) - 1), 4);
    struct sip_peer out[SIP_RESOLVE_MAX];
    /* a port given: no NAPTR/SRV (RFC 3263 §4.2), and the name is in the table */
    cr_assert_eq(sip_locate_find(l, "pbx.example.test", -1, 5062, out, SIP_RESOLVE_MAX, 1000), 1);
    cr_expect_eq(last_octet(&out[0]), 77);
    cr_expect_eq(out[0].port, 5062);
    cr_assert_eq(sip_locate_find(l, "v6host", SIP_TP_TCP, 5060, out, SIP_RESOLVE_MAX, 1000), 1);
    cr_expect_eq(out[0].family, 6);
    cr_expect_eq(out[0].transport, SIP_TP_TCP);
    struct sip_locate_question q;
    cr_expect(!sip_locate_next_question(l, 1000, &q), "nothing asked for names in the table");
    /* the malformed line's name is not in it: DNS is asked */
    cr_expect_eq(sip_locate_find(l, "bogus.test", -1, 5060, out, SIP_RESOLVE_MAX, 1000), 0);
    cr_expect(sip_locate_next_question(l, 1000, &q) && q.type == SIP_DNS_A);
    sip_locate_free(l);
}

Test(locate, failures_are_cached_for_thirty_seconds_then_asked_again)
{
    zone_reset();
    struct sip_locate *l = sip_locate_new(5);
    struct sip_peer out[SIP_RESOLVE_MAX];
    cr_assert_eq(find(l, "nowhere.test", -1, 0, out, 1000), -1);
    unsigned first = asked;
    cr_expect_eq(first, 6, "NAPTR, three SRV names, then A and AAAA of the host: %u", first);
    char name[SIP_DNS_NAME_MAX];
    cr_expect(sip_locate_failed_name(l, name, sizeof(name)) && strcmp(name, "nowhere.test") == 0);
    cr_expect(!sip_locate_failed_name(l, name, sizeof(name)), "reported once");
    cr_expect_eq(sip_locate_find(l, "nowhere.test", -1, 0, out, SIP_RESOLVE_MAX, 29000), -1,
                 "still known to fail 28 s later");
    cr_expect_eq(serve(l, 29000), 0, "without asking");
    /* the zone gains the name; after the negative TTL it is found */
    add_a("nowhere.test", 5, 60);
    cr_expect_eq(find(l, "nowhere.test", -1, 0, out, 1000 + SIP_LOCATE_NEGATIVE_S * 1000 + 1), 1);
    cr_expect_eq(last_octet(&out[0]), 5);
    sip_locate_free(l);
}

Test(locate, answers_live_for_their_lowest_ttl)
{
    zone_reset();
    add_srv("_sip._udp.ttl.test", 10, 10, 5060, "h.ttl.test");
    add_a("h.ttl.test", 8, 20); /* the lowest TTL of the chain: 20 s */
    struct sip_locate *l = sip_locate_new(9);
    struct sip_peer out[SIP_RESOLVE_MAX];
    cr_assert_eq(find(l, "ttl.test", SIP_TP_UDP, 0, out, 1000), 1);
    unsigned n = asked;
    cr_assert_eq(sip_locate_find(l, "ttl.test", SIP_TP_UDP, 0, out, SIP_RESOLVE_MAX, 20999), 1);
    cr_expect_eq(asked, n, "cached");
    cr_assert_eq(sip_locate_find(l, "ttl.test", SIP_TP_UDP, 0, out, SIP_RESOLVE_MAX, 21001), 0,
                 "expired: looked up again");
    sip_locate_free(l);
}

Test(locate, three_tries_a_second_apart_then_no_server)
{
    zone_reset();
    struct sip_locate *l = sip_locate_new(11);
    struct sip_peer out[SIP_RESOLVE_MAX];
    cr_assert_eq(sip_locate_find(l, "silent.test", SIP_TP_UDP, 5060, out, SIP_RESOLVE_MAX, 0), 0);
    struct sip_locate_question q;
    struct sip_locate_gave_up gave[4];
    size_t ng;
    uint64_t now = 0;
    for (int t = 1; t <= SIP_LOCATE_TRIES; t++) {
        cr_assert(sip_locate_next_question(l, now, &q), "try %d handed out", t);
        cr_expect_eq(q.type, SIP_DNS_A);
        sip_locate_sent(l, q.slot, (uint16_t)(500 + t), now);
        cr_expect(!sip_locate_next_question(l, now, &q), "one question per try");
        cr_expect_eq(sip_locate_next_deadline(l), now + SIP_LOCATE_TRY_MS);
        cr_expect(!sip_locate_on_timer(l, now + SIP_LOCATE_TRY_MS - 1, gave, 4, &ng));
        cr_expect_eq(ng, 0);
        now += SIP_LOCATE_TRY_MS;
        /* giving up on A does not end the lookup: AAAA is next */
        cr_expect(!sip_locate_on_timer(l, now, gave, 4, &ng));
        cr_expect_eq(ng, t == SIP_LOCATE_TRIES ? 1u : 0u);
    }
    cr_assert_eq(ng, 1);
    cr_expect_str_eq(gave[0].name, "silent.test");
    /* the A failure counts as no records: then AAAA is asked */
    cr_assert(sip_locate_next_question(l, now, &q) && q.type == SIP_DNS_AAAA);
    /* an answer under the id of an earlier try is not taken for the new question */
    struct sip_dns_answer late = {.id = 501};
    sip_locate_sent(l, q.slot, 900, now);
    cr_expect(!sip_locate_on_answer(l, &late, now), "a stale id answers nothing");
    for (int t = 1; t < SIP_LOCATE_TRIES; t++) {
        now += SIP_LOCATE_TRY_MS;
        sip_locate_on_timer(l, now, gave, 4, &ng);
        cr_assert(sip_locate_next_question(l, now, &q));
        sip_locate_sent(l, q.slot, (uint16_t)(900 + t), now);
    }
    now += SIP_LOCATE_TRY_MS;
    cr_expect(sip_locate_on_timer(l, now, gave, 4, &ng), "the lookup ends");
    cr_expect_eq(sip_locate_find(l, "silent.test", SIP_TP_UDP, 5060, out, SIP_RESOLVE_MAX, now),
                 -1);
    sip_locate_free(l);
}

Test(locate, a_transport_asks_its_srv_only_and_a_port_asks_none)
{
    zone_reset();
    add_srv("_sips._tcp.t.test", 10, 10, 5061, "tls.t.test");
    add_a("tls.t.test", 4, 300);
    add_a("t.test", 6, 300);
    struct sip_locate *l = sip_locate_new(13);
    struct sip_peer out[SIP_RESOLVE_MAX];
    cr_assert_eq(find(l, "t.test", SIP_TP_TLS, 0, out, 1000), 1);
    cr_expect_eq(asked, 2, "SRV of sips over TCP, then the target's A: %u", asked);
    cr_expect_eq(last_octet(&out[0]), 4);
    cr_expect_eq(out[0].port, 5061);
    cr_assert_eq(find(l, "t.test", SIP_TP_UDP, 5090, out, 1000), 1);
    cr_expect_eq(asked, 3, "a port: the host's A only");
    cr_expect_eq(last_octet(&out[0]), 6);
    cr_expect_eq(out[0].port, 5090);
    sip_locate_free(l);
}

Test(locate, without_a_nameserver_only_hosts_and_literals)
{
    struct sip_locate *l = sip_locate_new(17);
    sip_locate_set_asking(l, false);
    struct sip_peer out[SIP_RESOLVE_MAX];
    cr_expect_eq(sip_locate_find(l, "provider.test", -1, 0, out, SIP_RESOLVE_MAX, 0), -1);
    struct sip_locate_question q;
    cr_expect(!sip_locate_next_question(l, 0, &q));
    sip_locate_free(l);
}

Test(locate, too_many_lookups_at_once_fail_fast)
{
    struct sip_locate *l = sip_locate_new(19);
    struct sip_peer out[SIP_RESOLVE_MAX];
    int pending = 0, refused = 0;
    for (int i = 0; i < 40; i++) {
        char host[32];
        snprintf(host, sizeof(host), "h%d.test", i);
        int n = sip_locate_find(l, host, SIP_TP_UDP, 5060, out, SIP_RESOLVE_MAX, 0);
        pending += n == 0;
        refused += n == -1;
    }
    cr_expect_eq(pending, 32, "32 lookups under way");
    cr_expect_eq(refused, 8, "the rest refused at once, not queued");
    sip_locate_free(l);
}

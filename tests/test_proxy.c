/* tests/test_proxy.c: the sans-I/O proxy with a capturing sink and a fake clock: what goes out,
 * to whom, and when (RFC 3261 §16, §17). */
#include <criterion/criterion.h>
#include <stdio.h>

#include "msg.h"
#include "proxy.h"
#include "resolve.h"
#include "media.h"

#include "proxy_harness.h"
#include "test_mac.h"

static uint32_t pool_size = 64;

static void setup(void)
{
    struct sip_proxy_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.self[0] = peer("192.0.2.1", 5060);
    cfg.self_count = 1;
    snprintf(cfg.advertise, sizeof(cfg.advertise), "192.0.2.1:5060");
    snprintf(cfg.domains[0], sizeof(cfg.domains[0]), "example.com");
    cfg.domain_count = 1;
    sip_cidr_parse("10.0.0.0/8", &cfg.inside[0]);
    cfg.inside_count = 1;
    cfg.timers = sip_timers_default;
    cfg.max_transactions = pool_size;
    cfg.min_expires = 60;
    cfg.max_expires = 3600;
    cfg.default_expires = 3600;
    cfg.timer_c_ms = 181000;
    cfg.nat_keepalive_ms = 10000;
    cfg.keepalive_sender = true;
    cfg.mac = test_mac(42);
    loc = sip_location_mem_new(64);
    p = sip_proxy_new(&cfg, loc,
                      (struct sip_proxy_sink){cap_send, NULL, false, NULL, NULL, NULL, NULL}, 42);
    nout = 0;
}

static void teardown(void)
{
    sip_proxy_free(p);
    sip_location_mem_free(loc);
}

static const struct sip_peer *ua(void)
{
    static struct sip_peer u;
    u = peer("10.0.0.5", 5070);
    return &u;
}

static char reqbuf[4096];
static const char *invite(const char *ruri, const char *branch)
{
    snprintf(reqbuf, sizeof(reqbuf),
             "INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5070;branch=%s\r\n"
             "From: <sip:a@example.com>;tag=fa\r\nTo: <%s>\r\nCall-ID: c1@ua\r\n"
             "CSeq: 7 INVITE\r\nMax-Forwards: 70\r\nContact: <sip:a@10.0.0.5:5070>\r\n"
             "Content-Length: 0\r\n\r\n",
             ruri, branch, ruri);
    return reqbuf;
}

/* Answers the last request sent to `hop` with `status`, as the next hop would. */
static void answer(size_t idx, unsigned status, const char *to_tag, uint64_t now)
{
    cr_assert_gt(sip_msg_parse(&m, out[idx].data, out[idx].len, SIP_PARSE_STREAM, NULL), 0);
    char resp[4096];
    size_t n = (size_t)snprintf(resp, sizeof(resp), "SIP/2.0 %u X\r\n", status);
    echo_headers(&m, SIP_HDR_VIA, "Via", resp, &n, sizeof(resp));
    n += (size_t)snprintf(resp + n, sizeof(resp) - n,
                          "From: <sip:a@example.com>;tag=fa\r\nTo: <sip:b@x>;tag=%s\r\n"
                          "Call-ID: %.*s\r\nCSeq: %u %.*s\r\nContent-Length: 0\r\n\r\n",
                          to_tag, (int)m.call_id.len, m.call_id.p, m.cseq, (int)m.cseq_method.len,
                          m.cseq_method.p);
    sip_proxy_on_datagram(p, &out[idx].to, resp, n, now);
}

/* §16.2 and §17.2.1: 100 at once; a retransmitted INVITE is absorbed and answered with the last
 * provisional, never forwarded again. */
Test(proxy, invite_forwarded_once_retransmission_absorbed, .init = setup, .fini = teardown)
{
    feed(ua(), invite("sip:b@10.0.0.9:5080", "z9hG4bKr1"), 0);
    cr_assert_eq(nout, 2);
    cr_expect_eq(status_of(&out[0]), 100);
    cr_expect(sip_peer_eq(&out[0].to, ua()));
    cr_expect(memcmp(out[1].data, "INVITE sip:b@10.0.0.9:5080 SIP/2.0\r\n", 36) == 0);
    struct sip_peer hop = peer("10.0.0.9", 5080);
    cr_expect(sip_peer_eq(&out[1].to, &hop));
    cr_expect(strstr(out[1].data, "Record-Route: <sip:192.0.2.1:5060;lr;sr=") != NULL);
    feed(ua(), invite("sip:b@10.0.0.9:5080", "z9hG4bKr1"), 100);
    cr_assert_eq(nout, 3);
    cr_expect_eq(status_of(&out[2]), 100, "the retransmission gets the last provisional again");
    cr_expect_eq(sip_proxy_stats(p)->forwarded, 1);
}

/* §17.1.1.2: timer A retransmits the forwarded INVITE, and B (64*T1) ends the branch with a
 * 408 sent upstream (§16.7 step 6 picks the synthesized 408). */
Test(proxy, timer_a_then_b_gives_408, .init = setup, .fini = teardown)
{
    feed(ua(), invite("sip:b@10.0.0.9:5080", "z9hG4bKr2"), 0);
    size_t forwards = 0;
    for (uint64_t t = 0; t <= 32000; t += 10) {
        sip_proxy_on_timer(p, t);
    }
    for (size_t i = 0; i < nout; i++) {
        forwards += memcmp(out[i].data, "INVITE ", 7) == 0;
    }
    cr_expect_eq(forwards, 7, "1 send and 6 retransmissions before timer B");
    cr_expect_eq(status_of(&out[nout - 1]), 408);
    cr_expect(sip_peer_eq(&out[nout - 1].to, ua()));
}

/* §16.7: a provisional goes upstream at once, our Via popped; the final 486 is ACKed by us
 * (hop-by-hop) and forwarded upstream. */
Test(proxy, non_2xx_is_acked_here_and_forwarded, .init = setup, .fini = teardown)
{
    feed(ua(), invite("sip:b@10.0.0.9:5080", "z9hG4bKr3"), 0);
    answer(1, 180, "tb", 10);
    cr_assert_eq(nout, 3);
    cr_expect_eq(status_of(&out[2]), 180);
    cr_expect(strstr(out[2].data, "192.0.2.1") == NULL, "our Via is removed");
    answer(1, 486, "tb", 20);
    cr_assert_eq(nout, 5);
    cr_expect(memcmp(out[3].data, "ACK sip:b@10.0.0.9:5080 SIP/2.0", 31) == 0);
    cr_expect(strstr(out[3].data, ";tag=tb") != NULL, "the ACK carries the response's To tag");
    cr_expect_eq(status_of(&out[4]), 486);
}

/* §16.10: CANCEL is answered 200 here and sent on to the branch, which then ends with 487. */
Test(proxy, cancel, .init = setup, .fini = teardown)
{
    feed(ua(), invite("sip:b@10.0.0.9:5080", "z9hG4bKr4"), 0);
    answer(1, 180, "tb", 10);
    char cancel[1024];
    snprintf(
        cancel, sizeof(cancel),
        "CANCEL sip:b@10.0.0.9:5080 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bKr4\r\n"
        "From: <sip:a@example.com>;tag=fa\r\nTo: <sip:b@10.0.0.9:5080>\r\nCall-ID: c1@ua\r\n"
        "CSeq: 7 CANCEL\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n");
    size_t before = nout;
    feed(ua(), cancel, 20);
    cr_assert_geq(nout, before + 2);
    cr_expect_eq(status_of(&out[before]), 200);
    cr_expect(memcmp(out[before + 1].data, "CANCEL sip:b@10.0.0.9:5080 SIP/2.0", 34) == 0);
    answer(1, 487, "tb", 30);
    cr_expect_eq(status_of(&out[nout - 1]), 487);
    /* A CANCEL for nothing: 481. */
    snprintf(cancel, sizeof(cancel),
             "CANCEL sip:b@10.0.0.9:5080 SIP/2.0\r\nVia: SIP/2.0/UDP "
             "10.0.0.5:5070;branch=z9hG4bKnone\r\n"
             "From: <sip:a@example.com>;tag=fa\r\nTo: <sip:b@10.0.0.9:5080>\r\nCall-ID: c9@ua\r\n"
             "CSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n");
    feed(ua(), cancel, 40);
    cr_expect_eq(status_of(&out[nout - 1]), 481);
}

/* §10.3 and §16.6: two registered contacts are tried in parallel; the first 2xx goes upstream
 * and CANCELs the other branch. */
Test(proxy, register_and_fork, .init = setup, .fini = teardown)
{
    const char *reg =
        "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.7:5060;branch=z9hG4bKg1\r\n"
        "From: <sip:bob@example.com>;tag=r1\r\nTo: <sip:bob@example.com>\r\n"
        "Call-ID: reg1\r\nCSeq: 1 REGISTER\r\n"
        "Contact: <sip:bob@10.0.0.7:5060>;q=0.5, <sip:bob@10.0.0.8:5060>;q=0.9\r\n"
        "Expires: 600\r\nContent-Length: 0\r\n\r\n";
    struct sip_peer b1 = peer("10.0.0.7", 5060), b2 = peer("10.0.0.8", 5060);
    feed(&b1, reg, 0);
    cr_assert_eq(nout, 1);
    cr_expect_eq(status_of(&out[0]), 200);
    cr_expect(strstr(out[0].data, "Contact: <sip:bob@10.0.0.8:5060>;expires=600\r\n") != NULL);
    nout = 0;
    feed(ua(), invite("sip:bob@example.com", "z9hG4bKf1"), 1000);
    cr_assert_eq(nout, 3, "100 and two branches");
    cr_expect(sip_peer_eq(&out[1].to, &b2), "higher q first");
    cr_expect(sip_peer_eq(&out[2].to, &b1));
    cr_expect(memcmp(out[1].data, "INVITE sip:bob@10.0.0.8:5060 SIP/2.0", 36) == 0);
    answer(2, 180, "t1", 1010);
    answer(1, 200, "t2", 1020);
    bool cancelled = false, answered = false;
    for (size_t i = 3; i < nout; i++) {
        cancelled |= memcmp(out[i].data, "CANCEL sip:bob@10.0.0.7:5060", 28) == 0;
        answered |= status_of(&out[i]) == 200 && sip_peer_eq(&out[i].to, ua());
    }
    cr_expect(answered, "the 200 goes upstream");
    cr_expect(cancelled, "the ringing branch is cancelled");
}

/* §10.3 step 6: a too short expiry gets 423 with Min-Expires. */
Test(proxy, register_interval_too_brief, .init = setup, .fini = teardown)
{
    const char *reg =
        "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.7:5060;branch=z9hG4bKg2\r\n"
        "From: <sip:bob@example.com>;tag=r1\r\nTo: <sip:bob@example.com>\r\n"
        "Call-ID: reg2\r\nCSeq: 1 REGISTER\r\nContact: <sip:bob@10.0.0.7>;expires=10\r\n"
        "Content-Length: 0\r\n\r\n";
    struct sip_peer b1 = peer("10.0.0.7", 5060);
    feed(&b1, reg, 0);
    cr_assert_eq(nout, 1);
    cr_expect_eq(status_of(&out[0]), 423);
    cr_expect(strstr(out[0].data, "Min-Expires: 60\r\n") != NULL);
}

/* Never an open relay: a stranger asking for a foreign domain gets 403. */
Test(proxy, not_relaying_for_strangers, .init = setup, .fini = teardown)
{
    struct sip_peer stranger = peer("198.51.100.66", 5060);
    feed(&stranger, invite("sip:victim@203.0.113.9", "z9hG4bKx1"), 0);
    cr_assert_eq(nout, 2);
    cr_expect_eq(status_of(&out[1]), 403);
}

/* §16.4: a strict router put our Record-Route URI into the Request-URI; we restore the real
 * target from the last Route value and remove it. */
Test(proxy, strict_router_fix, .init = setup, .fini = teardown)
{
    const char *req = "BYE sip:192.0.2.1:5060;lr SIP/2.0\r\n"
                      "Via: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bKs1\r\n"
                      "Route: <sip:10.0.0.20;lr>\r\nRoute: <sip:b@10.0.0.9:5080>\r\n"
                      "From: <sip:a@example.com>;tag=fa\r\nTo: <sip:b@x>;tag=tb\r\nCall-ID: s1\r\n"
                      "CSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    feed(ua(), req, 0);
    cr_assert_eq(nout, 1);
    cr_expect(memcmp(out[0].data, "BYE sip:b@10.0.0.9:5080 SIP/2.0\r\n", 33) == 0, "%.*s",
              (int)out[0].len, out[0].data);
    cr_expect(strstr(out[0].data, "Route: <sip:10.0.0.20;lr>\r\n") != NULL);
    cr_expect(strstr(out[0].data, "Route: <sip:b@10.0.0.9:5080>") == NULL);
    struct sip_peer hop = peer("10.0.0.20", 5060);
    cr_expect(sip_peer_eq(&out[0].to, &hop), "the remaining Route is the next hop");
}

/* §16.4 loose routing: our own top Route is removed, the next one is the next hop, and the
 * Request-URI stays. */
Test(proxy, loose_route_popped, .init = setup, .fini = teardown)
{
    const char *req = "BYE sip:b@10.0.0.9:5080 SIP/2.0\r\n"
                      "Via: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bKl1\r\n"
                      "Route: <sip:192.0.2.1:5060;lr>, <sip:10.0.0.20;lr>\r\n"
                      "From: <sip:a@example.com>;tag=fa\r\nTo: <sip:b@x>;tag=tb\r\nCall-ID: l1\r\n"
                      "CSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    feed(ua(), req, 0);
    cr_assert_eq(nout, 1);
    cr_expect(memcmp(out[0].data, "BYE sip:b@10.0.0.9:5080 SIP/2.0\r\n", 33) == 0);
    cr_expect(strstr(out[0].data, "Route: <sip:10.0.0.20;lr>\r\n") != NULL);
    cr_expect(strstr(out[0].data, "192.0.2.1:5060;lr") == NULL, "our Route is gone");
    struct sip_peer hop = peer("10.0.0.20", 5060);
    cr_expect(sip_peer_eq(&out[0].to, &hop));
}

/* §16.6 step 11 and §16.8: timer C (> 3 min) guards a ringing branch: when it fires, the branch
 * is CANCELled and its 487 goes upstream. */
Test(proxy, timer_c_cancels_a_ringing_branch, .init = setup, .fini = teardown)
{
    feed(ua(), invite("sip:b@10.0.0.9:5080", "z9hG4bKc1"), 0);
    answer(1, 180, "tb", 100);
    size_t before = nout;
    sip_proxy_on_timer(p, 180000);
    cr_expect_eq(nout, before, "nothing before timer C");
    sip_proxy_on_timer(p, 100 + 181000);
    cr_assert_eq(nout, before + 1);
    cr_expect(memcmp(out[before].data, "CANCEL sip:b@10.0.0.9:5080 SIP/2.0", 34) == 0);
    answer(1, 487, "tb", 100 + 181010);
    cr_expect_eq(status_of(&out[nout - 1]), 487);
}

/* RFC 3581 §4 and RFC 3261 §18.2.1: a request from behind a NAT (sent-by 192.168.1.2, source
 * 10.0.0.5:40000, rport asked) is forwarded with received and rport filled in on its Via. */
Test(proxy, forwarded_via_gets_received_and_rport, .init = setup, .fini = teardown)
{
    struct sip_peer nat = peer("10.0.0.5", 40000);
    const char *req = "OPTIONS sip:x@10.9.9.9 SIP/2.0\r\n"
                      "Via: SIP/2.0/UDP 192.168.1.2:5060;branch=z9hG4bKnat1;rport\r\n"
                      "From: <sip:a@example.com>;tag=fa\r\nTo: <sip:x@10.9.9.9>\r\n"
                      "Call-ID: nat1@ua\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                      "Content-Length: 0\r\n\r\n";
    feed(&nat, req, 1000);
    cr_assert_eq(nout, 1);
    out[0].data[out[0].len] = '\0';
    cr_assert_not_null(strstr(out[0].data, "Via: SIP/2.0/UDP 192.168.1.2:5060;branch=z9hG4bKnat1;"
                                           "rport=40000;received=10.0.0.5\r\n"),
                       "%s", out[0].data);
    /* A UA whose sent-by is its source and that asks no rport keeps its Via untouched. */
    nout = 0;
    feed(ua(), invite("sip:b@10.9.9.9", "z9hG4bKplain"), 1000);
    cr_assert_geq(nout, 2);
    out[1].data[out[1].len] = '\0';
    cr_assert_not_null(
        strstr(out[1].data, "Via: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bKplain\r\n"), "%s",
        out[1].data);
}

/* Contact masquerading: a phone behind NAT (its Via and Contact say 192.168.1.2, its packets
 * come from the NAT at 10.0.0.5:40000) registers with an outside registrar. The registrar sees a
 * Contact of sipring's; a call from outside to that Contact reaches the phone's own Contact
 * through the NAT binding; an unknown token gets 404. */
Test(proxy, nated_contact_is_masqueraded_and_routed_back, .init = setup, .fini = teardown)
{
    struct sip_peer nat = peer("10.0.0.5", 40000), prov = peer("198.51.100.2", 5060);
    const char *reg = "REGISTER sip:198.51.100.2 SIP/2.0\r\n"
                      "Via: SIP/2.0/UDP 192.168.1.2:5060;branch=z9hG4bKm1;rport\r\n"
                      "From: <sip:phone@198.51.100.2>;tag=r1\r\nTo: <sip:phone@198.51.100.2>\r\n"
                      "Call-ID: masq1\r\nCSeq: 1 REGISTER\r\nMax-Forwards: 70\r\n"
                      "Contact: <sip:phone@192.168.1.2:5060>;expires=300\r\n"
                      "Content-Length: 0\r\n\r\n";
    feed(&nat, reg, 1000);
    cr_assert_eq(nout, 1);
    cr_assert(sip_peer_eq(&out[0].to, &prov));
    out[0].data[out[0].len] = '\0';
    cr_assert_null(strstr(out[0].data, "192.168.1.2:5060>"), "%s", out[0].data);
    const char *c = strstr(out[0].data, "Contact: <sip:sr");
    cr_assert_not_null(c, "%s", out[0].data);
    char token[32];
    cr_assert_eq(sscanf(c, "Contact: <sip:%20[^@]@192.0.2.1:5060>;expires=300", token), 1, "%s", c);
    char inv[1024];
    snprintf(inv, sizeof(inv),
             "INVITE sip:%s@192.0.2.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP "
             "198.51.100.2:5060;branch=z9hG4bKin1\r\n"
             "From: <sip:carrier@198.51.100.2>;tag=c1\r\nTo: <sip:phone@198.51.100.2>\r\n"
             "Call-ID: in1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
             token);
    nout = 0;
    feed(&prov, inv, 2000);
    cr_assert_eq(nout, 2, "100 Trying and the INVITE towards the phone");
    cr_assert(sip_peer_eq(&out[1].to, &nat), "through the phone's NAT binding");
    cr_assert(memcmp(out[1].data, "INVITE sip:phone@192.168.1.2:5060 SIP/2.0\r\n", 43) == 0);
    nout = 0;
    feed(&prov,
         "INVITE sip:sr0123456789abcdef@192.0.2.1:5060 SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 198.51.100.2:5060;branch=z9hG4bKin2\r\n"
         "From: <sip:carrier@198.51.100.2>;tag=c2\r\nTo: <sip:x@198.51.100.2>\r\n"
         "Call-ID: in2\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
         3000);
    cr_assert_eq(status_of(&out[nout - 1]), 404);
}

static size_t count_to(const struct sip_peer *to, const char *prefix, size_t from)
{
    size_t n = 0;
    for (size_t i = from; i < nout; i++) {
        n += sip_peer_eq(&out[i].to, to) && memcmp(out[i].data, prefix, strlen(prefix)) == 0;
    }
    return n;
}

/* NAT keepalives: a UA registered from behind NAT gets an OPTIONS through its NAT binding every
 * interval; an answer keeps it reachable, three silent intervals mark it unreachable (calls get
 * 404 instead of ringing into nothing), and a later answer brings it back. */
Test(proxy, nat_keepalive_marks_silent_uas_unreachable, .init = setup, .fini = teardown)
{
    struct sip_peer nat = peer("10.0.0.5", 40000);
    feed(&nat,
         "REGISTER sip:example.com SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 192.168.1.2:5060;branch=z9hG4bKka1;rport\r\n"
         "From: <sip:carol@example.com>;tag=r1\r\nTo: <sip:carol@example.com>\r\n"
         "Call-ID: ka-reg\r\nCSeq: 1 REGISTER\r\nContact: <sip:carol@192.168.1.2:5060>\r\n"
         "Expires: 3600\r\nContent-Length: 0\r\n\r\n",
         1000);
    cr_assert_eq(status_of(&out[0]), 200);
    sip_proxy_on_timer(p, 1000);
    nout = 0;
    sip_proxy_on_timer(p, 5000);
    cr_assert_eq(nout, 0, "nothing before the interval");
    sip_proxy_on_timer(p, 11000);
    cr_assert_eq(count_to(&nat, "OPTIONS sip:carol@192.168.1.2:5060 SIP/2.0", 0), 1,
                 "an OPTIONS through the NAT binding");
    answer(0, 200, "ka", 11010);
    nout = 0;
    feed(ua(), invite("sip:carol@example.com", "z9hG4bKka2"), 12000);
    cr_assert_eq(count_to(&nat, "INVITE sip:carol@192.168.1.2:5060", 0), 1,
                 "a call reaches the UA through its flow");
    /* silence from now on */
    for (uint64_t t = 21000; t <= 61000; t += 10000) {
        sip_proxy_on_timer(p, t);
    }
    nout = 0;
    feed(ua(), invite("sip:carol@example.com", "z9hG4bKka3"), 62000);
    cr_assert_eq(status_of(&out[nout - 1]), 404, "an unreachable UA is not called");
    nout = 0;
    sip_proxy_on_timer(p, 71000);
    cr_assert_eq(count_to(&nat, "OPTIONS", 0), 1, "still pinged");
    size_t ping = 0;
    while (memcmp(out[ping].data, "OPTIONS", 7) != 0) {
        ping++;
    }
    answer(ping, 200, "ka", 71010);
    nout = 0;
    feed(ua(), invite("sip:carol@example.com", "z9hG4bKka4"), 72000);
    cr_assert_eq(count_to(&nat, "INVITE", 0), 1, "an answer makes it reachable again");
}

/* RFC 3327: a phone that supports Path registers through sipring; its REGISTER gets our Path
 * with the flow token. The registrar keeps the Path (it returns it in the 200), so the next
 * REGISTER keeps the phone's own Contact, and a request routed along the Path reaches the
 * phone's Contact through its NAT binding. */
Test(proxy, path_to_a_registrar_that_keeps_it, .init = setup, .fini = teardown)
{
    struct sip_peer nat = peer("10.0.0.5", 40000), reg = peer("198.51.100.2", 5060);
    char req[1024];
    const char *fmt =
        "REGISTER sip:198.51.100.2 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.2:5060;branch=z9hG4bKp%d;rport\r\n"
        "From: <sip:phone@198.51.100.2>;tag=r1\r\nTo: <sip:phone@198.51.100.2>\r\n"
        "Call-ID: path1\r\nCSeq: %d REGISTER\r\nMax-Forwards: 70\r\nSupported: path\r\n"
        "Contact: <sip:phone@192.168.1.2:5060>;expires=300\r\nContent-Length: 0\r\n\r\n";
    snprintf(req, sizeof(req), fmt, 1, 1);
    feed(&nat, req, 1000);
    cr_assert_eq(nout, 1);
    out[0].data[out[0].len] = '\0';
    char token[32];
    const char *path = strstr(out[0].data, "Path: <sip:sr");
    cr_assert_not_null(path, "%s", out[0].data);
    cr_assert_eq(sscanf(path, "Path: <sip:%20[^@]@192.0.2.1:5060;lr>", token), 1, "%s", path);
    cr_assert_not_null(strstr(out[0].data, "Contact: <sip:sr"),
                       "registrar not known yet: masquerade too");
    /* the registrar's 200 returns the Path it stored */
    cr_assert_gt(sip_msg_parse(&m, out[0].data, out[0].len, SIP_PARSE_STREAM, NULL), 0);
    char resp[2048];
    const struct sip_hdr *v = sip_msg_first(&m, SIP_HDR_VIA);
    const struct sip_hdr *v2 = sip_msg_next(&m, v);
    snprintf(resp, sizeof(resp),
             "SIP/2.0 200 OK\r\nVia: %.*s\r\nVia: %.*s\r\nPath: <sip:%s@192.0.2.1:5060;lr>\r\n"
             "From: <sip:phone@198.51.100.2>;tag=r1\r\nTo: <sip:phone@198.51.100.2>;tag=x\r\n"
             "Call-ID: path1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n",
             (int)v->value.len, v->value.p, (int)v2->value.len, v2->value.p, token);
    nout = 0;
    feed(&reg, resp, 1100);
    cr_assert_eq(nout, 1);
    cr_assert(sip_peer_eq(&out[0].to, &nat));
    snprintf(req, sizeof(req), fmt, 2, 2);
    nout = 0;
    feed(&nat, req, 2000);
    cr_assert_eq(nout, 1);
    out[0].data[out[0].len] = '\0';
    cr_assert_not_null(strstr(out[0].data, "Path: <sip:sr"), "%s", out[0].data);
    cr_assert_not_null(strstr(out[0].data, "Contact: <sip:phone@192.168.1.2:5060>;expires=300"),
                       "a registrar that keeps Path gets the phone's own Contact:\n%s",
                       out[0].data);
    /* an incoming call routed along the Path */
    char inv[1024];
    snprintf(
        inv, sizeof(inv),
        "INVITE sip:phone@192.168.1.2:5060 SIP/2.0\r\nVia: SIP/2.0/UDP "
        "198.51.100.2:5060;branch=z9hG4bKpin\r\n"
        "Route: <sip:%s@192.0.2.1:5060;lr>\r\nFrom: <sip:carrier@198.51.100.2>;tag=c1\r\n"
        "To: <sip:phone@198.51.100.2>\r\nCall-ID: pin1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n",
        token);
    nout = 0;
    feed(&reg, inv, 3000);
    cr_assert_eq(nout, 2, "100 and the INVITE to the phone");
    cr_assert(sip_peer_eq(&out[1].to, &nat), "through the phone's NAT binding");
    cr_assert(memcmp(out[1].data, "INVITE sip:phone@192.168.1.2:5060 SIP/2.0\r\n", 43) == 0);
}

/* Found by fuzz_proxy (corpus/proxy/regress-short-datagram): a datagram of at most four bytes
 * was tested for being a CRLF keepalive with strspn, reading past its end. The buffer here is
 * exactly as long as the datagram, so ASan sees any byte read beyond it. */
Test(proxy, short_datagram_is_not_read_past_its_end, .init = setup, .fini = teardown)
{
    static const char *const shorts[] = {"\r\n\r\n", "\r\n", "\n", "\r", "\rx", "ab", "x"};
    for (size_t i = 0; i < sizeof(shorts) / sizeof(shorts[0]); i++) {
        size_t len = strlen(shorts[i]);
        char *exact = malloc(len);
        memcpy(exact, shorts[i], len);
        sip_proxy_on_datagram(p, ua(), exact, len, 1000);
        free(exact);
    }
    cr_assert_eq(nout, 0, "keepalives and garbage get no answer");
}

/* --- transports (issue 5) --- */

static struct sip_peer tcp_ua(void)
{
    struct sip_peer u = peer("10.0.0.5", 40001);
    u.transport = SIP_TP_TCP;
    u.conn = 0x01010007; /* worker 0, generation 1, slot 7 */
    return u;
}

Test(proxy, stream_in_tls_out_gets_transport_aware_via_and_double_record_route, .init = setup,
     .fini = teardown)
{
    struct sip_peer from = tcp_ua();
    feed(&from, invite("sip:b@198.51.100.7;transport=tls", "z9hG4bKt1"), 1000);
    cr_assert_eq(nout, 2, "100 Trying back, INVITE forward");
    cr_expect_eq(status_of(&out[0]), 100);
    cr_expect_eq(out[0].to.conn, from.conn, "the response goes back on the request's connection");
    cr_expect_eq(out[0].to.transport, SIP_TP_TCP);
    cr_expect_eq(out[1].to.transport, SIP_TP_TLS, "transport=tls names TLS");
    cr_expect_eq(out[1].to.port, 5061, "TLS's default port");
    cr_expect_eq(out[1].to.conn, 0u, "no connection yet: src/ opens one");
    out[1].data[out[1].len] = '\0';
    cr_expect(strstr(out[1].data, "Via: SIP/2.0/TLS 192.0.2.1:5060;branch=") != NULL, "%s",
              out[1].data);
    /* RFC 5658: the transport changed: two Record-Routes, the TLS side's on top */
    const char *rr1 = strstr(out[1].data, "Record-Route: <sip:192.0.2.1:5060;transport=tls;lr;sr=");
    const char *rr2 = strstr(out[1].data, "Record-Route: <sip:192.0.2.1:5060;transport=tcp;lr;sr=");
    cr_expect(rr1 != NULL && rr2 != NULL && rr1 < rr2, "%s", out[1].data);
}

Test(proxy, no_retransmission_over_a_reliable_transport, .init = setup, .fini = teardown)
{
    struct sip_peer from = tcp_ua();
    feed(&from, invite("sip:b@198.51.100.7;transport=tcp", "z9hG4bKt2"), 1000);
    cr_assert_eq(nout, 2);
    for (uint64_t t = 1000; t <= 10000; t += 100) {
        sip_proxy_on_timer(p, t);
    }
    cr_expect_eq(nout, 2, "timer A does not run over TCP (RFC 3261 §17.1.1.2)");
}

Test(proxy, unreachable_next_hop_answers_503_at_once, .init = setup, .fini = teardown)
{
    feed(ua(), invite("sip:b@198.51.100.7;transport=tls", "z9hG4bKt3"), 1000);
    cr_assert_eq(nout, 2);
    struct sip_peer hop = out[1].to;
    sip_proxy_on_unreachable(p, &hop, 1010);
    cr_assert_eq(nout, 3);
    cr_expect_eq(status_of(&out[2]), 503);
    cr_expect(sip_peer_eq(&out[2].to, ua()));
}

/* A resolver with a table, answering "later" until told otherwise. */
static bool dns_ready;
static int fake_locate(void *self, const char *host, int tp, uint16_t port, struct sip_peer *o,
                       size_t max)
{
    (void)self;
    (void)tp;
    (void)port;
    if (strcmp(host, "provider.test") != 0) {
        return -1;
    }
    if (!dns_ready) {
        return 0;
    }
    cr_assert_geq(max, 2);
    o[0] = peer("203.0.113.10", 5070);
    o[1] = peer("203.0.113.11", 5080);
    return 2;
}
static const struct sip_resolver_ops fake_ops = {fake_locate};

Test(proxy, dns_parks_the_request_then_fails_over_to_the_next_server, .init = setup,
     .fini = teardown)
{
    struct sip_resolver r = {&fake_ops, NULL};
    sip_proxy_set_resolver(p, &r);
    dns_ready = false;
    feed(ua(), invite("sip:b@provider.test", "z9hG4bKd1"), 1000);
    cr_assert_eq(nout, 1, "only 100 Trying: the request waits for DNS");
    cr_expect_eq(status_of(&out[0]), 100);
    dns_ready = true;
    sip_proxy_on_resolved(p, 1100);
    cr_assert_eq(nout, 2);
    struct sip_peer first = peer("203.0.113.10", 5070), second = peer("203.0.113.11", 5080);
    cr_expect(sip_peer_eq(&out[1].to, &first), "the first server");
    answer(1, 503, "x", 1200);
    /* the 503 is ACKed hop by hop, and the request goes to the second server */
    size_t fwd = 0;
    for (size_t i = 2; i < nout; i++) {
        if (sip_peer_eq(&out[i].to, &second) && memcmp(out[i].data, "INVITE ", 7) == 0) {
            fwd = i;
        }
        cr_expect_neq(status_of(&out[i]), 503, "no 503 upstream while a server is left");
    }
    cr_expect_gt(fwd, 0, "fail-over to the second server");
    answer(fwd, 503, "y", 1300);
    bool answered = false;
    for (size_t i = fwd + 1; i < nout; i++) {
        answered |= status_of(&out[i]) == 503 && sip_peer_eq(&out[i].to, ua());
    }
    cr_expect(answered, "no server left: the 503 goes upstream");
}

Test(proxy, dns_failure_answers_503, .init = setup, .fini = teardown)
{
    struct sip_resolver r = {&fake_ops, NULL};
    sip_proxy_set_resolver(p, &r);
    feed(ua(), invite("sip:b@nowhere.test", "z9hG4bKd2"), 1000);
    cr_assert_eq(nout, 2);
    cr_expect_eq(status_of(&out[1]), 503);
}

/* --- limits (issue 6) --- */

/* A media relay that refuses every SDP with the code self points to. */
static int refusing_sdp(void *self, const struct sip_media_msg *mm, struct sdp_rewrite *rw)
{
    (void)mm;
    (void)rw;
    return *(const int *)self;
}
static void refusing_end(void *self, struct sip_str call_id)
{
    (void)self;
    (void)call_id;
}
static const struct sip_media_ops refusing_ops = {refusing_sdp, refusing_end, NULL};

Test(proxy, a_call_the_relay_refuses_gets_503_when_full_and_488_by_policy, .init = setup,
     .fini = teardown)
{
    static const struct {
        int code;
        unsigned status;
        const char *header;
    } cases[] = {{SIP_MEDIA_FULL, 503, "Retry-After: 10\r\n"}, {SIP_MEDIA_REFUSED, 488, ""}};
    static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\n"
                              "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sip_media media = {&refusing_ops, (void *)&cases[i].code};
        sip_proxy_set_media(p, &media);
        char req[2048];
        snprintf(req, sizeof(req),
                 "INVITE sip:b@198.51.100.7 SIP/2.0\r\nVia: SIP/2.0/UDP "
                 "10.0.0.5:5070;branch=z9hG4bKmf%zu\r\n"
                 "From: <sip:a@example.com>;tag=fa\r\nTo: <sip:b@198.51.100.7>\r\nCall-ID: "
                 "full%zu@ua\r\n"
                 "CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\n"
                 "Content-Length: %zu\r\n\r\n%s",
                 i, i, sizeof(sdp) - 1, sdp);
        nout = 0;
        feed(ua(), req, 1000 + i);
        cr_assert_eq(nout, 2, "100 Trying and the refusal; nothing forwarded (case %zu)", i);
        cr_expect_eq(status_of(&out[1]), cases[i].status);
        out[1].data[out[1].len] = '\0';
        cr_expect(strstr(out[1].data, cases[i].header) != NULL, "%s", out[1].data);
    }
}

/* --- trunk mode (issue 6) --- */

static long fake_answer(void *self, const struct sip_digest *ch, struct sip_str method,
                        struct sip_str uri, char *out, size_t cap)
{
    (void)self;
    int n = snprintf(out, cap, "Digest fake=\"%.*s %.*s %.*s\"", (int)method.len, method.p,
                     (int)uri.len, uri.p, (int)ch->nonce.len, ch->nonce.p);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}
static const struct sip_credentials_ops fake_cred_ops = {fake_answer};

static void trunk_setup(void)
{
    setup();
    sip_proxy_free(p);
    struct sip_proxy_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.self[0] = peer("192.0.2.1", 5060);
    cfg.self_count = 1;
    snprintf(cfg.advertise, sizeof(cfg.advertise), "192.0.2.1:5060");
    sip_cidr_parse("10.0.0.0/8", &cfg.inside[0]);
    cfg.inside_count = 1;
    snprintf(cfg.upstream, sizeof(cfg.upstream), "sip:203.0.113.50:5060");
    cfg.timers = sip_timers_default;
    cfg.max_transactions = 64;
    cfg.timer_c_ms = 181000;
    cfg.mac = test_mac(42);
    p = sip_proxy_new(&cfg, loc,
                      (struct sip_proxy_sink){cap_send, NULL, false, NULL, NULL, NULL, NULL}, 42);
    static struct sip_credentials cred = {&fake_cred_ops, NULL};
    struct sip_proxy_trunk_cfg tc = {.user = "t1", .expires_s = 600};
    sip_proxy_set_trunk(p, &tc, &cred);
}

/* a 407 as the upstream sends it, for the request out[idx] */
static void challenge(size_t idx, const struct sip_peer *from, uint64_t now)
{
    cr_assert_gt(sip_msg_parse(&m, out[idx].data, out[idx].len, SIP_PARSE_STREAM, NULL), 0);
    char resp[4096];
    size_t n =
        (size_t)snprintf(resp, sizeof(resp), "SIP/2.0 407 Proxy Authentication Required\r\n");
    echo_headers(&m, SIP_HDR_VIA, "Via", resp, &n, sizeof(resp));
    n += (size_t)snprintf(
        resp + n, sizeof(resp) - n,
        "From: <sip:a@example.com>;tag=fa\r\nTo: <sip:b@x>;tag=prov\r\n"
        "Call-ID: %.*s\r\nCSeq: %u INVITE\r\n"
        "Proxy-Authenticate: Digest realm=\"prov\", nonce=\"n%zu\", qop=\"auth\"\r\n"
        "Content-Length: 0\r\n\r\n",
        (int)m.call_id.len, m.call_id.p, m.cseq, idx);
    sip_proxy_on_datagram(p, from, resp, n, now);
}

static const struct sent *last_to(const struct sip_peer *to, size_t from_idx, const char *start)
{
    const struct sent *found = NULL;
    for (size_t i = from_idx; i < nout; i++) {
        if (sip_peer_eq(&out[i].to, to) && strncmp(out[i].data, start, strlen(start)) == 0) {
            found = &out[i];
        }
    }
    return found;
}

Test(proxy, trunk_answers_the_upstreams_challenge_with_cseq_raised_and_hidden_from_the_ua,
     .init = trunk_setup, .fini = teardown)
{
    struct sip_peer up = peer("203.0.113.50", 5060);
    feed(ua(), invite("sip:b@elsewhere.test", "z9hG4bKtk1"), 1000);
    cr_assert_eq(nout, 2);
    cr_assert(sip_peer_eq(&out[1].to, &up), "to the upstream");
    size_t mark = nout;
    challenge(1, &up, 1100);
    out[nout - 1].data[out[nout - 1].len] = '\0';
    const struct sent *ack = last_to(&up, mark, "ACK ");
    const struct sent *again = last_to(&up, mark, "INVITE ");
    cr_assert_not_null(ack, "the 407 is ACKed hop by hop");
    cr_expect_not_null(strstr(ack->data, "CSeq: 7 ACK\r\n"));
    cr_assert_not_null(again, "the INVITE is sent again");
    ((struct sent *)again)->data[again->len] = '\0';
    cr_expect_not_null(strstr(again->data, "CSeq: 8 INVITE\r\n"), "%s", again->data);
    cr_expect_not_null(
        strstr(again->data,
               "Proxy-Authorization: Digest fake=\"INVITE sip:b@elsewhere.test n1\"\r\n"),
        "%s", again->data);
    for (size_t i = mark; i < nout; i++) {
        cr_expect(!sip_peer_eq(&out[i].to, ua()), "the UA never sees the 407");
    }
    cr_expect_eq(sip_proxy_stats(p)->trunk_auth, 1);
    /* the 200 goes to the UA with the CSeq it sent */
    size_t idx = (size_t)(again - out);
    mark = nout;
    answer(idx, 200, "b1", 1200);
    const struct sent *ok = last_to(ua(), mark, "SIP/2.0 200");
    cr_assert_not_null(ok);
    ((struct sent *)ok)->data[ok->len] = '\0';
    cr_expect_not_null(strstr(ok->data, "CSeq: 7 INVITE\r\n"), "%s", ok->data);
    /* the UA's ACK and BYE follow the shift */
    mark = nout;
    feed(ua(),
         "ACK sip:b@elsewhere.test SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bKtka\r\n"
         "From: <sip:a@example.com>;tag=fa\r\nTo: <sip:b@x>;tag=b1\r\nCall-ID: c1@ua\r\n"
         "CSeq: 7 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
         1300);
    const struct sent *ack2 = last_to(&up, mark, "ACK ");
    cr_assert_not_null(ack2);
    ((struct sent *)ack2)->data[ack2->len] = '\0';
    cr_expect_not_null(strstr(ack2->data, "CSeq: 8 ACK\r\n"), "%s", ack2->data);
    mark = nout;
    feed(ua(),
         "BYE sip:b@elsewhere.test SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bKtkb\r\n"
         "From: <sip:a@example.com>;tag=fa\r\nTo: <sip:b@x>;tag=b1\r\nCall-ID: c1@ua\r\n"
         "CSeq: 8 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
         1400);
    const struct sent *bye = last_to(&up, mark, "BYE ");
    cr_assert_not_null(bye);
    ((struct sent *)bye)->data[bye->len] = '\0';
    cr_expect_not_null(strstr(bye->data, "CSeq: 9 BYE\r\n"), "%s", bye->data);
    mark = nout;
    answer((size_t)(bye - out), 200, "b1", 1500);
    const struct sent *bye_ok = last_to(ua(), mark, "SIP/2.0 200");
    cr_assert_not_null(bye_ok);
    ((struct sent *)bye_ok)->data[bye_ok->len] = '\0';
    cr_expect_not_null(strstr(bye_ok->data, "CSeq: 8 BYE\r\n"), "%s", bye_ok->data);
}

Test(proxy, trunk_passes_up_a_second_challenge_and_one_from_elsewhere, .init = trunk_setup,
     .fini = teardown)
{
    struct sip_peer up = peer("203.0.113.50", 5060);
    feed(ua(), invite("sip:b@elsewhere.test", "z9hG4bKtk2"), 1000);
    challenge(1, &up, 1100);
    const struct sent *again = last_to(&up, 2, "INVITE ");
    cr_assert_not_null(again);
    size_t mark = nout;
    challenge((size_t)(again - out), &up, 1200);
    const struct sent *up407 = last_to(ua(), mark, "SIP/2.0 407");
    cr_assert_not_null(up407, "wrong credentials: the UA gets the upstream's second 407");
    ((struct sent *)up407)->data[up407->len] = '\0';
    cr_expect_not_null(strstr(up407->data, "CSeq: 7 INVITE\r\n"), "%s", up407->data);
    /* a request routed elsewhere (a Route to another host): its challenge is not ours */
    nout = 0;
    snprintf(
        reqbuf, sizeof(reqbuf),
        "INVITE sip:b@elsewhere.test SIP/2.0\r\nVia: SIP/2.0/UDP "
        "10.0.0.5:5070;branch=z9hG4bKtk3\r\n"
        "Route: <sip:198.51.100.7;lr>\r\nFrom: <sip:a@example.com>;tag=fb\r\n"
        "To: <sip:b@elsewhere.test>\r\nCall-ID: c2@ua\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n");
    feed(ua(), reqbuf, 2000);
    struct sip_peer other = peer("198.51.100.7", 5060);
    cr_assert_eq(nout, 2);
    cr_assert(sip_peer_eq(&out[1].to, &other));
    challenge(1, &other, 2100);
    cr_expect_not_null(last_to(ua(), 2, "SIP/2.0 407"),
                       "passed to the UA: sipring's password is not offered to strangers");
    cr_expect_null(last_to(&other, 2, "INVITE "));
}

/* A new request from the outside with a Route to sipring preloaded is not relayed to a
 * Request-URI elsewhere (no open relay); in a record-routed dialog it is. */
Test(proxy, no_open_relay_through_a_preloaded_route_from_outside, .init = setup, .fini = teardown)
{
    struct sip_peer outsider = peer("198.51.100.66", 5060);
    static const char req[] =
        "INVITE sip:+19005550100@premium.example.net SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 198.51.100.66:5060;branch=z9hG4bKfraud\r\n"
        "Route: <sip:192.0.2.1:5060;lr>\r\nFrom: <sip:x@198.51.100.66>;tag=x\r\n"
        "To: <sip:+19005550100@premium.example.net>\r\nCall-ID: fraud@x\r\nCSeq: 1 INVITE\r\n"
        "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    feed(&outsider, req, 1000);
    cr_assert_eq(nout, 2);
    cr_expect_eq(status_of(&out[1]), 403);
    nout = 0;
    static const char in_dialog[] =
        "BYE sip:b@10.0.0.9:5080 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 198.51.100.66:5060;branch=z9hG4bKdlg\r\n"
        "Route: <sip:192.0.2.1:5060;lr>\r\nFrom: <sip:x@198.51.100.66>;tag=x\r\n"
        "To: <sip:b@example.com>;tag=b\r\nCall-ID: dlg@x\r\nCSeq: 2 BYE\r\n"
        "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    feed(&outsider, in_dialog, 2000);
    cr_assert_eq(nout, 1);
    cr_expect_eq(status_of(&out[0]), 403, "our Route and a To tag prove no dialog (test_trust.c)");
}

/* a response to the REGISTER out[idx], as the upstream registrar sends it */
static void reg_answer(size_t idx, const char *status_line, const char *extra, uint64_t now)
{
    cr_assert_gt(sip_msg_parse(&m, out[idx].data, out[idx].len, SIP_PARSE_STREAM, NULL), 0);
    const struct sip_hdr *via = sip_msg_first(&m, SIP_HDR_VIA);
    char resp[4096];
    int n = snprintf(resp, sizeof(resp),
                     "%s\r\nVia: %.*s\r\nFrom: <sip:t1@203.0.113.50>;tag=r\r\n"
                     "To: <sip:t1@203.0.113.50>;tag=reg\r\nCall-ID: %.*s\r\nCSeq: %u REGISTER\r\n"
                     "%sContent-Length: 0\r\n\r\n",
                     status_line, (int)via->value.len, via->value.p, (int)m.call_id.len,
                     m.call_id.p, m.cseq, extra);
    struct sip_peer up = peer("203.0.113.50", 5060);
    sip_proxy_on_datagram(p, &up, resp, (size_t)n, now);
}

Test(proxy, trunk_registers_answering_401_and_423_then_refreshes, .init = trunk_setup,
     .fini = teardown)
{
    static struct sip_credentials cred = {&fake_cred_ops, NULL};
    struct sip_proxy_trunk_cfg tc = {
        .user = "t1", .call_id = "trunk-x", .expires_s = 60, .do_register = true};
    sip_proxy_set_trunk(p, &tc, &cred);
    sip_proxy_on_timer(p, 1000);
    cr_assert_eq(nout, 1, "the first REGISTER");
    out[0].data[out[0].len] = '\0';
    cr_expect_not_null(strstr(out[0].data, "REGISTER sip:203.0.113.50 SIP/2.0\r\n"), "%s",
                       out[0].data);
    cr_expect_not_null(strstr(out[0].data, "Expires: 60\r\n"));
    cr_expect_null(strstr(out[0].data, "Authorization"));
    reg_answer(0, "SIP/2.0 401 Unauthorized",
               "WWW-Authenticate: Digest realm=\"prov\", nonce=\"abc\", qop=\"auth\"\r\n", 1100);
    cr_assert_eq(nout, 2, "sent again with credentials");
    out[1].data[out[1].len] = '\0';
    cr_expect_not_null(
        strstr(out[1].data, "Authorization: Digest fake=\"REGISTER sip:203.0.113.50 abc\"\r\n"),
        "%s", out[1].data);
    cr_expect_not_null(strstr(out[1].data, "CSeq: 2 REGISTER\r\n"));
    reg_answer(1, "SIP/2.0 423 Interval Too Brief", "Min-Expires: 120\r\n", 1200);
    cr_assert_eq(nout, 3, "asked again for the registrar's minimum");
    out[2].data[out[2].len] = '\0';
    cr_expect_not_null(strstr(out[2].data, "Expires: 120\r\n"), "%s", out[2].data);
    reg_answer(2, "SIP/2.0 200 OK", "Contact: <sip:t1@192.0.2.1:5060>;expires=120\r\n", 1300);
    nout = 0;
    sip_proxy_on_timer(p, 1300 + 80000);
    cr_expect_eq(nout, 0, "no refresh before 3/4 of 120 s");
    sip_proxy_on_timer(p, 1300 + 91000);
    cr_assert_eq(nout, 1, "the refresh");
    out[0].data[out[0].len] = '\0';
    cr_expect_not_null(strstr(out[0].data, "REGISTER sip:203.0.113.50 SIP/2.0\r\n"));
    cr_expect_null(strstr(out[0].data, "Authorization"), "a refresh starts without credentials");
}

static void register_as(const struct sip_peer *from, const char *call_id, unsigned cseq,
                        const char *contacts, const char *expires, uint64_t now)
{
    char reg[1024];
    snprintf(reg, sizeof(reg),
             "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP "
             "10.0.0.7:5060;branch=z9hG4bK%s%u.%llu\r\n"
             "From: <sip:bob@example.com>;tag=r1\r\nTo: <sip:bob@example.com>\r\n"
             "Call-ID: %s\r\nCSeq: %u REGISTER\r\nContact: %s\r\n%sContent-Length: 0\r\n\r\n",
             call_id, cseq, (unsigned long long)now, call_id, cseq, contacts, expires);
    nout = 0;
    feed(from, reg, now);
}

/* §16.7 step 5 (a 6xx): "the proxy SHOULD cancel all client pending transactions"; the 6xx
 * goes upstream once the CANCELled branch has its 487. */
Test(proxy, a_6xx_cancels_the_other_branches, .init = setup, .fini = teardown)
{
    struct sip_peer b1 = peer("10.0.0.7", 5060);
    register_as(&b1, "reg6", 1, "<sip:bob@10.0.0.7:5060>;q=0.5, <sip:bob@10.0.0.8:5060>;q=0.9",
                "Expires: 600\r\n", 0);
    cr_assert_eq(status_of(&out[0]), 200);
    nout = 0;
    feed(ua(), invite("sip:bob@example.com", "z9hG4bKsix"), 1000);
    cr_assert_eq(nout, 3, "100 and two branches");
    answer(2, 180, "t1", 1010);
    size_t before = nout;
    answer(1, 603, "t2", 1020);
    bool cancelled = false, early_603 = false;
    for (size_t i = before; i < nout; i++) {
        cancelled |= memcmp(out[i].data, "CANCEL sip:bob@10.0.0.7:5060", 28) == 0;
        early_603 |= status_of(&out[i]) == 603 && sip_peer_eq(&out[i].to, ua());
    }
    cr_expect(cancelled, "the ringing branch is cancelled");
    cr_expect(!early_603, "the 6xx waits for the other branch's final response");
    before = nout;
    answer(2, 487, "t1", 1030);
    bool got_603 = false;
    for (size_t i = before; i < nout; i++) {
        got_603 |= status_of(&out[i]) == 603 && sip_peer_eq(&out[i].to, ua());
    }
    cr_expect(got_603, "the 6xx is the best response (§16.7 step 6)");
}

/* §10.3 step 6: "*" removes every binding, only alone and with Expires: 0 (else 400). */
Test(proxy, register_star_removes_every_binding, .init = setup, .fini = teardown)
{
    struct sip_peer b1 = peer("10.0.0.7", 5060);
    register_as(&b1, "star", 1, "<sip:bob@10.0.0.7:5060>, <sip:bob@10.0.0.8:5060>",
                "Expires: 600\r\n", 0);
    cr_assert_eq(status_of(&out[0]), 200);
    register_as(&b1, "star", 2, "*", "Expires: 60\r\n", 100);
    cr_expect_eq(status_of(&out[0]), 400, "* needs Expires: 0");
    register_as(&b1, "star", 3, "*, <sip:bob@10.0.0.9>", "Expires: 0\r\n", 200);
    cr_expect_eq(status_of(&out[0]), 400, "* must be alone");
    struct sip_binding bs[4];
    cr_expect_eq(loc->ops->lookup(loc->self, "bob@example.com", 300, bs, 4), 2);
    register_as(&b1, "star", 4, "*", "Expires: 0\r\n", 400);
    cr_expect_eq(status_of(&out[0]), 200);
    cr_expect_eq(loc->ops->lookup(loc->self, "bob@example.com", 500, bs, 4), 0, "all removed");
}

/* §10.3 step 7: the same Call-ID with a CSeq not higher than the binding's is out of order:
 * refused (500), the binding stays as it was. */
Test(proxy, register_out_of_order_cseq_is_refused, .init = setup, .fini = teardown)
{
    struct sip_peer b1 = peer("10.0.0.7", 5060);
    register_as(&b1, "ooo", 5, "<sip:bob@10.0.0.7:5060>", "Expires: 600\r\n", 0);
    cr_assert_eq(status_of(&out[0]), 200);
    register_as(&b1, "ooo", 5, "<sip:bob@10.0.0.7:5060>", "Expires: 0\r\n", 100);
    cr_expect_eq(status_of(&out[0]), 500, "the same CSeq again");
    register_as(&b1, "ooo", 4, "<sip:bob@10.0.0.7:5060>", "Expires: 0\r\n", 200);
    cr_expect_eq(status_of(&out[0]), 500, "a lower CSeq");
    struct sip_binding b;
    cr_expect_eq(loc->ops->lookup(loc->self, "bob@example.com", 300, &b, 1), 1, "still bound");
    register_as(&b1, "ooo", 6, "<sip:bob@10.0.0.7:5060>", "Expires: 0\r\n", 400);
    cr_expect_eq(status_of(&out[0]), 200, "a higher CSeq is in order");
    cr_expect_eq(loc->ops->lookup(loc->self, "bob@example.com", 500, &b, 1), 0);
}

/* --- SDP through every message that can carry it (issue 14: a claim without a test) --- */

/* A relay that records each SDP it is shown and rewrites it to 192.0.2.99 and a port per call
 * of sdp(): 30000, 30002, ... */
struct sdp_seen {
    bool is_request, is_ack_or_prack, sender_inside;
};
static struct sdp_seen seen[16];
static size_t nseen;

static int recording_sdp(void *self, const struct sip_media_msg *mm, struct sdp_rewrite *rw)
{
    (void)self;
    cr_assert_lt(nseen, 16);
    seen[nseen] = (struct sdp_seen){mm->is_request, mm->is_ack_or_prack, mm->sender_inside};
    rw->addr = "192.0.2.99";
    for (size_t i = 0; i < mm->sdp->media_count; i++) {
        rw->port[i] = (uint16_t)(30000 + 2 * nseen);
    }
    nseen++;
    return 0;
}
static const struct sip_media_ops recording_ops = {recording_sdp, refusing_end, NULL};

static const char inside_sdp[] = "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\n"
                                 "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
static const char outside_sdp[] = "v=0\r\no=- 2 2 IN IP4 198.51.100.7\r\ns=-\r\n"
                                  "c=IN IP4 198.51.100.7\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n";

/* a request from the inside phone in call `cid`@ua: initial (no To tag) or in the dialog, with
 * the body given ("" for none) */
static void phone_request(const char *cid, const char *method, unsigned cseq,
                          const char *cseq_method, bool in_dialog, const char *extra,
                          const char *body, uint64_t now)
{
    snprintf(reqbuf, sizeof(reqbuf),
             "%s sip:b@198.51.100.7 SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bKsd%s%s%u\r\n"
             "From: <sip:a@example.com>;tag=fa\r\nTo: <sip:b@198.51.100.7>%s\r\n"
             "Call-ID: %s@ua\r\nCSeq: %u %s\r\nMax-Forwards: 70\r\n"
             "Contact: <sip:a@10.0.0.5:5070>\r\n%s%s"
             "Content-Length: %zu\r\n\r\n%s",
             method, cid, method, cseq, in_dialog ? ";tag=tb" : "", cid, cseq, cseq_method, extra,
             body[0] ? "Content-Type: application/sdp\r\n" : "", strlen(body), body);
    feed(ua(), reqbuf, now);
}

/* the callee's response to out[idx], with the body given ("" for none) */
static void callee_answers(size_t idx, unsigned status, const char *extra, const char *body,
                           uint64_t now)
{
    cr_assert_gt(sip_msg_parse(&m, out[idx].data, out[idx].len, SIP_PARSE_STREAM, NULL), 0);
    char resp[4096];
    size_t n = (size_t)snprintf(resp, sizeof(resp), "SIP/2.0 %u X\r\n", status);
    echo_headers(&m, SIP_HDR_VIA, "Via", resp, &n, sizeof(resp));
    echo_headers(&m, SIP_HDR_RECORD_ROUTE, "Record-Route", resp, &n, sizeof(resp));
    n += (size_t)snprintf(resp + n, sizeof(resp) - n,
                          "From: <sip:a@example.com>;tag=fa\r\nTo: <sip:b@198.51.100.7>;tag=tb\r\n"
                          "Call-ID: %.*s\r\nCSeq: %u %.*s\r\nContact: <sip:b@198.51.100.7>\r\n%s%s"
                          "Content-Length: %zu\r\n\r\n%s",
                          (int)m.call_id.len, m.call_id.p, m.cseq, (int)m.cseq_method.len,
                          m.cseq_method.p, extra,
                          body[0] ? "Content-Type: application/sdp\r\n" : "", strlen(body), body);
    sip_proxy_on_datagram(p, &out[idx].to, resp, n, now);
}

/* rewritten: out[idx] (a message the proxy sent) carries the relay's address and this port,
 * and none of the sender's own addresses */
static bool rewritten(size_t idx, unsigned port)
{
    char want[64];
    out[idx].data[out[idx].len] = '\0';
    snprintf(want, sizeof(want), "m=audio %u ", port);
    return strstr(out[idx].data, "c=IN IP4 192.0.2.99\r\n") != NULL &&
           strstr(out[idx].data, want) != NULL &&
           strstr(out[idx].data, "IN IP4 10.0.0.5") == NULL &&
           strstr(out[idx].data, "IN IP4 198.51.100.7") == NULL;
}

static size_t last_sent(const char *start)
{
    for (size_t i = nout; i-- > 0;) {
        if (strncmp(out[i].data, start, strlen(start)) == 0) {
            return i;
        }
    }
    for (size_t i = 0; i < nout; i++) {
        out[i].data[out[i].len] = '\0';
        fprintf(stderr, "out[%zu]: %.200s\n", i, out[i].data);
    }
    cr_assert_fail("nothing sent starting with %s", start);
    return 0;
}

/* RFC 3264 offer/answer in INVITE and 183 (RFC 3262 early media), a new offer in PRACK and
 * one in UPDATE (RFC 3311) answered in their 200s; then a call with the offer in the 2xx and
 * the answer in the ACK: each body reaches the relay, flagged for what can carry it, and
 * leaves rewritten. */
Test(proxy, sdp_in_invite_18x_prack_update_2xx_and_ack_is_rewritten, .init = setup,
     .fini = teardown)
{
    struct sip_media media = {&recording_ops, NULL};
    sip_proxy_set_media(p, &media);
    nseen = 0;
    phone_request("sdp", "INVITE", 1, "INVITE", false, "", inside_sdp, 1000);
    size_t inv = last_sent("INVITE ");
    cr_assert_eq(nseen, 1);
    cr_expect(seen[0].is_request && !seen[0].is_ack_or_prack && seen[0].sender_inside);
    cr_expect(rewritten(inv, 30000), "INVITE: %s", out[inv].data);
    callee_answers(inv, 183, "Require: 100rel\r\nRSeq: 1\r\n", outside_sdp, 1100);
    size_t r = last_sent("SIP/2.0 183");
    cr_assert_eq(nseen, 2);
    cr_expect(!seen[1].is_request && !seen[1].sender_inside);
    cr_expect(rewritten(r, 30002), "183: %s", out[r].data);
    phone_request("sdp", "PRACK", 2, "PRACK", true, "RAck: 1 1 INVITE\r\n", inside_sdp, 1200);
    r = last_sent("PRACK ");
    cr_assert_eq(nseen, 3);
    cr_expect(seen[2].is_request && seen[2].is_ack_or_prack);
    cr_expect(rewritten(r, 30004), "PRACK: %s", out[r].data);
    phone_request("sdp", "UPDATE", 3, "UPDATE", true, "", inside_sdp, 1300);
    r = last_sent("UPDATE ");
    cr_assert_eq(nseen, 4);
    cr_expect(seen[3].is_request && !seen[3].is_ack_or_prack);
    cr_expect(rewritten(r, 30006), "UPDATE: %s", out[r].data);
    callee_answers(r, 200, "", outside_sdp, 1350);
    r = last_sent("SIP/2.0 200");
    cr_assert_eq(nseen, 5);
    cr_expect(rewritten(r, 30008), "200 to UPDATE: %s", out[r].data);

    /* late offer: INVITE without SDP, the offer in the 200, the answer in the ACK */
    nseen = 0;
    phone_request("late", "INVITE", 1, "INVITE", false, "", "", 2000);
    inv = last_sent("INVITE ");
    cr_expect_eq(nseen, 0, "no body, nothing for the relay");
    callee_answers(inv, 200, "", outside_sdp, 2100);
    r = last_sent("SIP/2.0 200");
    cr_assert_eq(nseen, 1);
    cr_expect(rewritten(r, 30000), "200 with the offer: %s", out[r].data);
    phone_request("late", "ACK", 1, "ACK", true, "", inside_sdp, 2200);
    r = last_sent("ACK ");
    cr_assert_eq(nseen, 2, "the ACK's answer reaches the relay");
    cr_expect(seen[1].is_request && seen[1].is_ack_or_prack && seen[1].sender_inside);
    cr_expect(rewritten(r, 30002), "ACK: %s", out[r].data);
}

/* --- an exhausted pool (issue 17, item 5) --- */

static const char *numbered(const char *method, unsigned i, bool in_dialog)
{
    snprintf(
        reqbuf, sizeof(reqbuf),
        "%s sip:b@198.51.100.7 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bKpool%s%u\r\n"
        "From: <sip:a@example.com>;tag=fa\r\nTo: <sip:b@198.51.100.7>%s\r\n"
        "Call-ID: pool%u@ua\r\nCSeq: 2 %s\r\nMax-Forwards: 70\r\n"
        "Contact: <sip:a@10.0.0.5:5070>\r\nContent-Length: 0\r\n\r\n",
        method, method, i, in_dialog ? ";tag=tb" : "", i, method);
    return reqbuf;
}

/* send_numbered: n requests `method` 0..n-1 from the phone; counts those forwarded and those
 * refused with 503 (out[] holds the last one's output) */
static void send_numbered(const char *method, unsigned n, bool in_dialog, uint64_t now,
                          unsigned *forwarded, unsigned *refused)
{
    size_t mlen = strlen(method);
    for (unsigned i = 0; i < n; i++) {
        nout = 0;
        feed(ua(), numbered(method, i, in_dialog), now);
        for (size_t k = 0; k < nout; k++) {
            *forwarded += strncmp(out[k].data, method, mlen) == 0 && out[k].data[mlen] == ' ';
            *refused += status_of(&out[k]) == 503;
        }
    }
}

/* The pool (64 here) keeps its last tenth for calls already up: new INVITEs get 503 first,
 * BYEs still go through; the ACK of a stateless 503 is absorbed, not forwarded as a 2xx ACK
 * would be; the refusals are counted. */
Test(proxy, a_full_pool_refuses_new_calls_first_and_absorbs_the_ack_of_its_503, .init = setup,
     .fini = teardown)
{
    unsigned forwarded = 0, refused = 0;
    send_numbered("INVITE", 70, false, 1000, &forwarded, &refused);
    cr_expect_eq(forwarded, 58, "64 less a reserve of 6 for calls in progress (got %u)", forwarded);
    cr_expect_eq(refused, 12);
    /* the UA ACKs the last 503 with that response's To tag, hop by hop (§17.1.1.3) */
    cr_assert_eq(sip_msg_parse(&m, out[nout - 1].data, out[nout - 1].len, SIP_PARSE_STREAM, NULL),
                 (long)out[nout - 1].len);
    struct sip_str tag = m.addr[m.to].tag;
    cr_expect_eq(tag.len, 16, "a MAC tag, not a constant");
    char ack[1024];
    snprintf(ack, sizeof(ack),
             "ACK sip:b@198.51.100.7 SIP/2.0\r\nVia: SIP/2.0/UDP "
             "10.0.0.5:5070;branch=z9hG4bKpoolINVITE69\r\n"
             "From: <sip:a@example.com>;tag=fa\r\nTo: <sip:b@198.51.100.7>;tag=%.*s\r\n"
             "Call-ID: pool69@ua\r\nCSeq: 2 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
             (int)tag.len, tag.p);
    nout = 0;
    feed(ua(), ack, 1001);
    cr_expect_eq(nout, 0, "the ACK of our own 503 goes nowhere");
    /* calls in progress can still be hung up: the reserve takes six BYEs, then all is full */
    forwarded = refused = 0;
    send_numbered("BYE", 8, true, 1002, &forwarded, &refused);
    cr_expect_eq(forwarded, 6, "BYEs get the reserve (got %u)", forwarded);
    cr_expect_eq(refused, 2, "and only a pool that is really full refuses them");
    cr_expect_eq(sip_proxy_stats(p)->txn_refused, 14);
}

/* issue 17, item 5: a transaction that has sent its final response keeps only what it may
 * still send: its final (for retransmitted requests or 2xx) and, for an INVITE branch answered
 * with a failure, its request (the ACK of each retransmitted failure is built from it). */
Test(proxy, an_answered_transaction_keeps_only_what_it_may_send_again, .init = setup,
     .fini = teardown)
{
    feed(ua(), invite("sip:b@10.0.0.9:5080", "z9hG4bKtrim1"), 0);
    answer(1, 180, "tb", 10);
    size_t before = sip_proxy_kept_bytes(p);
    cr_assert_gt(before, out[1].len, "the request as received and as forwarded are kept");
    answer(1, 200, "tb", 20);
    size_t ok_len = out[nout - 1].len;
    cr_expect_eq(status_of(&out[nout - 1]), 200);
    cr_expect_eq(sip_proxy_kept_bytes(p), ok_len, "after the 2xx: only the 2xx sent up");
    size_t n0 = nout;
    answer(1, 200, "tb", 500); /* the UAS retransmits its 2xx until the ACK comes */
    cr_assert_eq(nout, n0 + 1);
    cr_expect_eq(out[nout - 1].len, ok_len, "the retransmission goes up as the same bytes");

    feed(ua(), invite("sip:c@10.0.0.9:5080", "z9hG4bKtrim2"), 1000);
    size_t inv = nout - 1;
    size_t fwd_len = out[inv].len;
    answer(inv, 486, "tc", 1010);
    cr_assert(memcmp(out[inv + 1].data, "ACK ", 4) == 0, "the 486 is ACKed here");
    size_t busy_len = out[nout - 1].len;
    cr_expect_eq(status_of(&out[nout - 1]), 486);
    cr_expect_eq(sip_proxy_kept_bytes(p), ok_len + busy_len + fwd_len,
                 "the 486 sent up, and the INVITE as forwarded for the ACKs to come");
    n0 = nout;
    answer(inv, 486, "tc", 1500); /* retransmitted: ACKed again from the kept request */
    cr_assert_eq(nout, n0 + 1);
    cr_expect(memcmp(out[nout - 1].data, "ACK sip:c@10.0.0.9:5080 SIP/2.0", 31) == 0, "%s",
              out[nout - 1].data);
}

static void big_pool_setup(void)
{
    pool_size = 5000;
    setup();
    pool_size = 64;
}

/* issue 17: the pool grows in chunks of 4,096 as the load reaches them, up to the cap: a
 * transaction in the second chunk is found again by the branch of its response, and the cap
 * (with its reserve for calls in progress) still holds. */
Test(proxy, the_pool_grows_in_chunks_up_to_its_cap, .init = big_pool_setup, .fini = teardown)
{
    static char late[8192];
    size_t late_len = 0, forwarded = 0, refused = 0;
    for (int i = 0; i < 4600; i++) {
        char br[32];
        snprintf(br, sizeof(br), "z9hG4bKchunk%d", i);
        nout = 0;
        feed(ua(), invite("sip:b@10.0.0.9:5080", br), (uint64_t)i);
        bool fwd = nout == 2 && memcmp(out[1].data, "INVITE ", 7) == 0;
        forwarded += fwd;
        refused += nout == 1 && status_of(&out[0]) == 503;
        if (i == 4400 && fwd) {
            memcpy(late, out[1].data, out[1].len);
            late_len = out[1].len;
        }
    }
    cr_expect_eq(forwarded, 4500u, "up to the cap less its tenth kept for calls in progress");
    cr_expect_eq(refused, 100u);
    cr_assert_gt(late_len, 0u, "the 4,401st was forwarded (second chunk)");
    nout = 0;
    memcpy(out[0].data, late, late_len);
    out[0].len = late_len;
    out[0].to = peer("10.0.0.9", 5080);
    nout = 1;
    answer(0, 200, "tb", 5000);
    cr_assert_eq(nout, 2);
    cr_expect_eq(status_of(&out[1]), 200, "its 200 found the transaction and went up");
    cr_expect(sip_peer_eq(&out[1].to, ua()));
}

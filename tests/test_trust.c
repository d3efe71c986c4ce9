/* tests/test_trust.c: issue 13's trust model, one test per class of attack: what a stranger on
 * the outside can write into a request or response, and what sipring does with it. A header
 * from the outside is a claim; sipring relays only what it can prove belongs to state it made.
 *
 *   LAN phone 10.0.0.5 -- 10.0.0.1 sipring 192.0.2.1 -- provider 198.51.100.7
 *                                                    \-- attackers 198.51.100.100-149
 *                                                    \-- toll host 203.0.113.66 */
#include "proxy_harness.h"
#include "test_mac.h"

static struct sip_peer lan, prov, toll, inside_host;
static int strays;

static void count_stray(void *ctx, const struct sip_peer *from)
{
    (void)ctx;
    (void)from;
    strays++;
}

/* A stand-in for the digest checker: "good" credentials verify, any others fail, none get a
 * challenge. */
static enum sip_auth_result fake_check(void *self, const struct sip_msg *msg, bool proxy_auth,
                                       const char *realm, uint64_t now, char *o, size_t cap)
{
    (void)self;
    (void)realm;
    (void)now;
    const struct sip_hdr *h =
        sip_msg_first(msg, proxy_auth ? SIP_HDR_PROXY_AUTHORIZATION : SIP_HDR_AUTHORIZATION);
    snprintf(o, cap, "%s: Digest realm=\"edge.test\", nonce=\"n\"\r\n",
             proxy_auth ? "Proxy-Authenticate" : "WWW-Authenticate");
    if (h == NULL) {
        return SIP_AUTH_CHALLENGE;
    }
    return memmem(h->value.p, h->value.len, "good", 4) ? SIP_AUTH_OK : SIP_AUTH_FAILED;
}
static const struct sip_auth_ops fake_auth_ops = {fake_check};
static struct sip_auth fake_auth = {&fake_auth_ops, NULL};

static struct sip_proxy_cfg cfg;

static void trust_setup(void)
{
    memset(&cfg, 0, sizeof(cfg));
    cfg.self[0] = peer("10.0.0.1", 5060);
    cfg.self[1] = peer("192.0.2.1", 5060);
    cfg.self_count = 2;
    snprintf(cfg.advertise, sizeof(cfg.advertise), "10.0.0.1:5060");
    snprintf(cfg.public_advertise, sizeof(cfg.public_advertise), "192.0.2.1:5060");
    snprintf(cfg.domains[0], sizeof(cfg.domains[0]), "edge.test");
    cfg.domain_count = 1;
    sip_cidr_parse("10.0.0.0/8", &cfg.inside[0]);
    cfg.inside_count = 1;
    cfg.timers = sip_timers_default;
    cfg.max_transactions = 512;
    cfg.min_expires = 60;
    cfg.max_expires = 3600;
    cfg.default_expires = 3600;
    cfg.mac = test_mac(0x7105);
    cfg.source_txn_max = 1000;
    loc = sip_location_mem_new(8); /* small: a store anyone could fill would fill at once */
    p = sip_proxy_new(&cfg, loc,
                      (struct sip_proxy_sink){cap_send, NULL, false, NULL, NULL, count_stray, NULL},
                      9);
    cr_assert_not_null(p);
    nout = 0;
    strays = 0;
    lan = peer("10.0.0.5", 5060);
    prov = peer("198.51.100.7", 5060);
    toll = peer("203.0.113.66", 5060);
    inside_host = peer("10.0.0.9", 5060);
}

static void trust_teardown(void)
{
    sip_proxy_free(p);
    sip_location_mem_free(loc);
}

static char *text(size_t i)
{
    out[i].data[out[i].len] = '\0';
    return out[i].data;
}

/* how many datagrams went to to's IP (any port) */
static size_t sent_to_ip(const struct sip_peer *to)
{
    size_t n = 0;
    for (size_t i = 0; i < nout; i++) {
        n += sip_peer_same_ip(&out[i].to, to);
    }
    return n;
}

static long find_sent(const struct sip_peer *to, const char *start)
{
    for (size_t i = 0; i < nout; i++) {
        if (sip_peer_eq(&out[i].to, to) && strncmp(out[i].data, start, strlen(start)) == 0) {
            return (long)i;
        }
    }
    return -1;
}

static struct sip_peer attacker(unsigned k, uint8_t transport)
{
    char ip[32];
    snprintf(ip, sizeof(ip), "198.51.100.%u", 100 + k % 50);
    struct sip_peer a = peer(ip, (uint16_t)(5060 + k));
    a.transport = transport;
    return a;
}

static char req[8192];
static const char *request(const char *method, const char *ruri, const char *routes,
                           const char *to_tag, const char *call_id, const struct sip_peer *from,
                           const char *extra)
{
    char ip[64];
    sip_peer_ip_text(from, ip, sizeof(ip));
    snprintf(req, sizeof(req),
             "%s %s SIP/2.0\r\nVia: SIP/2.0/%s %s:%u;branch=z9hG4bK%s%s%u\r\n%s%s%s"
             "Max-Forwards: 70\r\nFrom: <sip:x@%s>;tag=x\r\nTo: <sip:victim@edge.test>%s%s\r\n"
             "Call-ID: %s\r\nCSeq: 1 %s\r\nContact: <sip:x@%s:%u>\r\n%sContent-Length: 0\r\n\r\n",
             method, ruri, sip_transport_name(from->transport), ip, from->port, method, call_id,
             (unsigned)nout, routes[0] ? "Route: " : "", routes, routes[0] ? "\r\n" : "", ip,
             to_tag[0] ? ";tag=" : "", to_tag, call_id, method, ip, from->port, extra);
    return req;
}

/* Class 1: the strict-router fix of RFC 3261 §16.4 applies only to a Request-URI that is a
 * Record-Route of ours with its proof; a stranger's "METHOD sip:<sipring>" with Routes to a
 * toll number (or an inside host) reaches nobody, whatever the method, transport or address
 * form. */
Test(trust, strict_route_from_a_stranger_reaches_nobody, .init = trust_setup,
     .fini = trust_teardown)
{
    static const char *const methods[] = {"INVITE",   "OPTIONS",   "MESSAGE",
                                          "REGISTER", "SUBSCRIBE", "REFER"};
    static const char *const ruris[] = {"sip:192.0.2.1", "sip:192.0.2.1:5060;lr", "sips:192.0.2.1",
                                        "sip:10.0.0.1:5060", "sip:edge.test"};
    static const char *const routes[] = {
        "<sip:+19005550100@203.0.113.66>", "<sip:192.0.2.1;lr>, <sip:+19005550100@203.0.113.66>",
        "<sip:10.0.0.9>", "<sip:192.0.2.1;lr;sr=000000000000.000000000000>, <sip:203.0.113.66>"};
    unsigned k = 0;
    for (size_t mi = 0; mi < sizeof(methods) / sizeof(methods[0]); mi++) {
        for (size_t ri = 0; ri < sizeof(ruris) / sizeof(ruris[0]); ri++) {
            for (size_t ro = 0; ro < sizeof(routes) / sizeof(routes[0]); ro++, k++) {
                struct sip_peer a = attacker(k, (uint8_t)(k % 3));
                char cid[32];
                snprintf(cid, sizeof(cid), "s%u", k);
                nout = 0;
                feed(&a, request(methods[mi], ruris[ri], routes[ro], k % 2 ? "t" : "", cid, &a, ""),
                     1000 + k);
                cr_expect_eq(sent_to_ip(&toll), 0, "%s %s Route %s reached the toll host",
                             methods[mi], ruris[ri], routes[ro]);
                cr_expect_eq(sent_to_ip(&inside_host), 0, "%s %s Route %s reached the inside",
                             methods[mi], ruris[ri], routes[ro]);
                cr_expect_eq(sent_to_ip(&lan), 0);
            }
        }
    }
    cr_expect_gt(sip_proxy_stats(p)->not_relayed, 0);
}

/* Class 1: "our Route and a To tag" is no proof of a dialog: anyone can write both. In-dialog
 * methods, and an ACK (which needs no To tag to be relayed statelessly), with our Route in
 * every form and any Request-URI, reach neither the toll host nor the inside. */
Test(trust, our_route_and_a_to_tag_relay_nothing, .init = trust_setup, .fini = trust_teardown)
{
    static const char *const methods[] = {"BYE",  "INVITE", "REFER", "ACK",
                                          "INFO", "NOTIFY", "UPDATE"};
    static const char *const ruris[] = {"sip:+19005550100@203.0.113.66", "sip:b@10.0.0.9",
                                        "sip:b@203.0.113.66;transport=tcp"};
    static const char *const routes[] = {
        "<sip:192.0.2.1;lr>", "<sip:192.0.2.1:5060;lr>, <sip:10.0.0.1;lr>", "<sip:edge.test;lr>",
        "<sip:192.0.2.1;lr>, <sip:203.0.113.66;lr>",
        "<sip:192.0.2.1;lr;sr=123456789abc.123456789abc>"};
    unsigned k = 0;
    for (size_t mi = 0; mi < sizeof(methods) / sizeof(methods[0]); mi++) {
        for (size_t ri = 0; ri < sizeof(ruris) / sizeof(ruris[0]); ri++) {
            for (size_t ro = 0; ro < sizeof(routes) / sizeof(routes[0]); ro++, k++) {
                struct sip_peer a = attacker(k, SIP_TP_UDP);
                char cid[32];
                snprintf(cid, sizeof(cid), "d%u", k);
                nout = 0;
                feed(&a, request(methods[mi], ruris[ri], routes[ro], "b", cid, &a, ""), 1000 + k);
                cr_expect_eq(sent_to_ip(&toll) + sent_to_ip(&inside_host), 0,
                             "%s %s Route %s relayed", methods[mi], ruris[ri], routes[ro]);
            }
        }
    }
}

/* the LAN phone calls the provider; returns the INVITE sipring forwarded (its index) */
static size_t lan_call(const char *call_id)
{
    nout = 0;
    feed(&lan, request("INVITE", "sip:bob@198.51.100.7", "", "", call_id, &lan, ""), 1000);
    long i = find_sent(&prov, "INVITE sip:bob@198.51.100.7 ");
    cr_assert_geq(i, 0);
    return (size_t)i;
}

/* the Record-Route values of out[i], comma-joined in their order */
static void record_routes(size_t i, char *o, size_t cap)
{
    cr_assert_gt(sip_msg_parse(&m, out[i].data, out[i].len, SIP_PARSE_DGRAM, NULL), 0);
    size_t used = 0;
    o[0] = '\0';
    for (const struct sip_hdr *h = sip_msg_first(&m, SIP_HDR_RECORD_ROUTE); h;
         h = sip_msg_next(&m, h)) {
        used += (size_t)snprintf(o + used, cap - used, "%s%.*s", used ? ", " : "",
                                 (int)h->value.len, h->value.p);
    }
}

/* Class 1: a proof is bound to its dialog (Call-ID, the caller's tag) and direction: the
 * provider's Routes from a real call take its requests to the LAN phone, and nowhere else --
 * not to a toll host, not to another inside host, not in another Call-ID. */
Test(trust, a_proof_serves_its_own_dialog_and_direction_only, .init = trust_setup,
     .fini = trust_teardown)
{
    size_t inv = lan_call("pf1");
    char rr[1024];
    record_routes(inv, rr, sizeof(rr));
    cr_assert(strstr(rr, ";sr=") != NULL, "%s", rr);
    /* the provider's in-dialog requests carry the Record-Routes in their order (§12.1.2);
     * its request to the LAN phone's own Contact is relayed */
    char r2[8192];
    snprintf(
        r2, sizeof(r2),
        "BYE sip:x@10.0.0.5:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKp1\r\n"
        "Route: %s\r\nMax-Forwards: 70\r\nFrom: <sip:victim@edge.test>;tag=bo\r\n"
        "To: <sip:x@10.0.0.5>;tag=x\r\nCall-ID: pf1\r\nCSeq: 5 BYE\r\nContent-Length: 0\r\n\r\n",
        rr);
    nout = 0;
    feed(&prov, r2, 2000);
    cr_expect_eq(sent_to_ip(&lan), 1, "along the dialog to the phone");
    struct {
        const char *ruri, *call_id;
        const struct sip_peer *victim;
    } bad[] = {{"sip:+19005550100@203.0.113.66", "pf1", &toll},
               {"sip:b@10.0.0.9", "pf1", &inside_host},
               {"sip:x@10.0.0.5:5060", "other", &lan}};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        snprintf(
            r2, sizeof(r2),
            "BYE %s SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKb%zu\r\n"
            "Route: %s\r\nMax-Forwards: 70\r\nFrom: <sip:victim@edge.test>;tag=bo\r\n"
            "To: <sip:x@10.0.0.5>;tag=x\r\nCall-ID: %s\r\nCSeq: 6 BYE\r\nContent-Length: 0\r\n\r\n",
            bad[k].ruri, k, rr, bad[k].call_id);
        nout = 0;
        feed(&prov, r2, 3000 + k);
        cr_expect_eq(sent_to_ip(bad[k].victim), 0, "case %zu relayed", k);
        cr_expect_geq(find_sent(&prov, "SIP/2.0 403"), 0, "case %zu: %s", k, nout ? text(0) : "");
    }
}

/* Class 2: with users, every REGISTER to a served domain is challenged, whatever Route it
 * carries: a Route to sipring is no way around the registrar's check. */
Test(trust, register_with_a_route_is_challenged, .init = trust_setup, .fini = trust_teardown)
{
    sip_proxy_set_auth(p, &fake_auth);
    static const char *const routes[] = {"", "<sip:192.0.2.1;lr>", "<sip:10.0.0.1;lr>",
                                         "<sip:edge.test;lr>"};
    static const char *const contacts[] = {"", "Expires: 0\r\n"};
    for (size_t k = 0; k < 4; k++) {
        struct sip_peer a = attacker((unsigned)k, SIP_TP_UDP);
        nout = 0;
        feed(&a, request("REGISTER", "sip:edge.test", routes[k], "", "rg", &a, contacts[k % 2]),
             1000 + k);
        cr_assert_eq(nout, 1);
        cr_expect_eq(status_of(&out[0]), 401, "Route %s: %s", routes[k], text(0));
    }
    struct sip_binding b;
    cr_expect_eq(loc->ops->lookup(loc->self, "victim@edge.test", 2000, &b, 1), 0);
}

/* Class 2: without users, the registrar is the inside's: a REGISTER from the outside gets 403
 * and binds nothing, unless the operator opened it (--open-registrar). */
Test(trust, without_users_only_the_inside_registers, .init = trust_setup, .fini = trust_teardown)
{
    struct sip_peer a = attacker(1, SIP_TP_UDP);
    feed(&a, request("REGISTER", "sip:edge.test", "", "", "r1", &a, ""), 1000);
    cr_assert_eq(nout, 1);
    cr_expect_eq(status_of(&out[0]), 403);
    struct sip_binding b;
    cr_expect_eq(loc->ops->lookup(loc->self, "victim@edge.test", 2000, &b, 1), 0);
    nout = 0;
    feed(&lan, request("REGISTER", "sip:edge.test", "", "", "r2", &lan, ""), 1100);
    cr_expect_eq(status_of(&out[0]), 200);
    cfg.open_registrar = true;
    sip_proxy_reconfigure(p, &cfg, false);
    nout = 0;
    feed(&a, request("REGISTER", "sip:edge.test", "", "", "r3", &a, ""), 1200);
    cr_expect_eq(status_of(&out[0]), 200, "opened explicitly");
}

/* Class 3: with users, a request from the inside that leaves a dialog sipring did not
 * record-route is challenged, To tag or not; one along a real dialog is not. */
Test(trust, inside_requests_out_of_dialog_are_challenged, .init = trust_setup,
     .fini = trust_teardown)
{
    sip_proxy_set_auth(p, &fake_auth);
    static const char *const methods[] = {"INVITE", "MESSAGE", "REFER", "BYE", "OPTIONS"};
    for (size_t k = 0; k < sizeof(methods) / sizeof(methods[0]); k++) {
        char cid[16];
        snprintf(cid, sizeof(cid), "in%zu", k);
        nout = 0;
        feed(&lan,
             request(methods[k], "sip:+19005550100@198.51.100.7", "<sip:10.0.0.1;lr>", "made-up",
                     cid, &lan, ""),
             1000 + k);
        cr_expect_eq(sent_to_ip(&prov), 0, "%s with a made-up To tag went out", methods[k]);
        cr_expect_geq(find_sent(&lan, "SIP/2.0 407"), 0, "%s", methods[k]);
    }
    /* a real call: authenticated INVITE, then the BYE along its Record-Routes */
    nout = 0;
    feed(&lan,
         request("INVITE", "sip:bob@198.51.100.7", "", "", "real", &lan,
                 "Proxy-Authorization: Digest good\r\n"),
         2000);
    long inv = find_sent(&prov, "INVITE ");
    cr_assert_geq(inv, 0);
    char rr[1024], routes[1100];
    record_routes((size_t)inv, rr, sizeof(rr));
    /* the caller's route set is the 2xx's Record-Routes reversed (§12.1.2): ours are two, the
     * inside one last in the INVITE, first in the caller's set */
    const char *comma = strstr(rr, ", ");
    cr_assert_not_null(comma);
    snprintf(routes, sizeof(routes), "%s, %.*s", comma + 2, (int)(comma - rr), rr);
    nout = 0;
    feed(&lan, request("BYE", "sip:bob@198.51.100.7", routes, "bo", "real", &lan, ""), 3000);
    cr_expect_eq(sent_to_ip(&prov), 1, "the BYE of the real call goes out unchallenged: %s",
                 nout ? text(0) : "");
}

/* the 200 the provider sends for the INVITE out[i] (its Vias, our branch on top) */
static size_t provider_200(size_t i, char *resp, size_t cap)
{
    cr_assert_gt(sip_msg_parse(&m, out[i].data, out[i].len, SIP_PARSE_DGRAM, NULL), 0);
    size_t n = (size_t)snprintf(resp, cap, "SIP/2.0 200 OK\r\n");
    echo_headers(&m, SIP_HDR_VIA, "Via", resp, &n, cap);
    n += (size_t)snprintf(resp + n, cap - n,
                          "From: <sip:x@10.0.0.5>;tag=x\r\nTo: <sip:bob@198.51.100.7>;tag=bo\r\n"
                          "Call-ID: %.*s\r\nCSeq: 1 INVITE\r\nContact: <sip:bob@198.51.100.7>\r\n"
                          "Content-Length: 0\r\n\r\n",
                          (int)m.call_id.len, m.call_id.p);
    return n;
}

/* Class 4: a 2xx is forwarded without a transaction only when its top Via is a branch sipring
 * made for a request from the address its second Via names. A forged one -- our address on
 * top, any host below -- goes nowhere and counts against its sender; a real retransmission
 * after the transaction ended still reaches the caller. */
Test(trust, forged_responses_go_nowhere, .init = trust_setup, .fini = trust_teardown)
{
    static const char *const second[] = {"10.0.0.9:5060", "203.0.113.66:5060",
                                         "10.0.0.5:5060;received=10.0.0.9;rport=5060"};
    for (size_t k = 0; k < 3; k++) {
        char resp[2048];
        int n =
            snprintf(resp, sizeof(resp),
                     "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1.0.0.0000"
                     "01.0123456789ab-00000000\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKv\r\n"
                     "From: <sip:a@x>;tag=a\r\nTo: <sip:b@y>;tag=b\r\nCall-ID: forged%zu\r\n"
                     "CSeq: 1 INVITE\r\nContact: <sip:b@203.0.113.66>\r\nContent-Length: 0\r\n\r\n",
                     second[k], k);
        nout = 0;
        struct sip_peer a = attacker((unsigned)k, SIP_TP_UDP);
        sip_proxy_on_datagram(p, &a, resp, (size_t)n, 1000 + k);
        cr_expect_eq(nout, 0, "a forged 2xx was forwarded: %s", nout ? text(0) : "");
    }
    cr_expect_eq(strays, 3, "each counted against its sender");
    /* the real thing: the provider answers, and retransmits after the transaction is gone */
    size_t inv = lan_call("real2xx");
    char resp[4096];
    size_t n = provider_200(inv, resp, sizeof(resp));
    nout = 0;
    sip_proxy_on_datagram(p, &prov, resp, n, 1100);
    cr_expect_eq(sent_to_ip(&lan), 1);
    for (uint64_t t = 1200; t < 80000; t += 1000) {
        sip_proxy_on_timer(p, t);
    }
    cr_assert_eq(sip_proxy_active(p), 0);
    nout = 0;
    sip_proxy_on_datagram(p, &prov, resp, n, 80000);
    cr_expect_eq(sent_to_ip(&lan), 1, "the retransmitted 2xx still reaches the caller");
    /* the same 2xx with its second Via pointed elsewhere does not */
    char *v2 = strstr(resp, "Via: SIP/2.0/UDP 10.0.0.5:5060");
    cr_assert_not_null(v2);
    memcpy(v2 + 17, "10.0.0.9", 8);
    nout = 0;
    sip_proxy_on_datagram(p, &prov, resp, n, 80100);
    cr_expect_eq(nout, 0, "redirected: %s", nout ? text(0) : "");
}

/* Class 5: Contacts from the outside leave no state: fifty outside addresses each claiming a
 * private Contact (OPTIONS to a registered user) fill nothing, and the phone behind a stateless
 * token is still reached through it. The store here holds 8 bindings. */
Test(trust, outside_contacts_fill_no_store, .init = trust_setup, .fini = trust_teardown)
{
    feed(&lan, request("REGISTER", "sip:edge.test", "", "", "reg", &lan, ""), 500);
    cr_assert_eq(status_of(&out[0]), 200);
    for (unsigned k = 0; k < 50; k++) {
        struct sip_peer a = attacker(k, SIP_TP_UDP);
        char r[2048], cid[16];
        snprintf(cid, sizeof(cid), "o%u", k);
        snprintf(r, sizeof(r),
                 "OPTIONS sip:victim@edge.test SIP/2.0\r\nVia: SIP/2.0/UDP "
                 "192.168.9.%u:5060;branch=z9hG4bKo%u\r\n"
                 "Max-Forwards: 70\r\nFrom: <sip:x@y>;tag=x%u\r\nTo: <sip:victim@edge.test>\r\n"
                 "Call-ID: %s\r\nCSeq: 1 OPTIONS\r\nContact: <sip:x@192.168.9.%u:5060>\r\n"
                 "Content-Length: 0\r\n\r\n",
                 k, k, k, cid, k);
        nout = 0;
        feed(&a, r, 1000 + k);
        long fwd = find_sent(&lan, "OPTIONS ");
        cr_assert_geq(fwd, 0);
        cr_expect(strstr(text((size_t)fwd), "Contact: <sip:st") != NULL, "%s", text((size_t)fwd));
    }
    /* the store still has room: another phone registers */
    struct sip_peer lan2 = peer("10.0.0.6", 5060);
    nout = 0;
    feed(&lan2, request("REGISTER", "sip:edge.test", "", "", "reg2", &lan2, ""), 2000);
    cr_expect_eq(status_of(&out[0]), 200, "%s", text(0));
    /* the token of the last one takes a request back to that outside address */
    char tok[400];
    nout = 0;
    char r[2048];
    snprintf(r, sizeof(r),
             "OPTIONS sip:victim@edge.test SIP/2.0\r\nVia: SIP/2.0/UDP "
             "192.168.9.7:5060;branch=z9hG4bKback\r\n"
             "Max-Forwards: 70\r\nFrom: <sip:x@y>;tag=xb\r\nTo: <sip:victim@edge.test>\r\n"
             "Call-ID: back\r\nCSeq: 1 OPTIONS\r\nContact: <sip:x@192.168.9.7:5060>\r\n"
             "Content-Length: 0\r\n\r\n");
    struct sip_peer a7 = attacker(7, SIP_TP_UDP);
    feed(&a7, r, 3000);
    long fwd = find_sent(&lan, "OPTIONS ");
    cr_assert_geq(fwd, 0);
    const char *c = strstr(text((size_t)fwd), "Contact: <sip:");
    cr_assert_eq(sscanf(c, "Contact: <sip:%399[^@]@", tok), 1);
    char back[2048];
    snprintf(
        back, sizeof(back),
        "MESSAGE sip:%s@10.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKm\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:victim@edge.test>;tag=v\r\nTo: <sip:x@y>;tag=xb\r\n"
        "Call-ID: back\r\nCSeq: 2 MESSAGE\r\nContent-Length: 0\r\n\r\n",
        tok);
    nout = 0;
    feed(&lan, back, 3100);
    cr_expect_geq(find_sent(&a7, "MESSAGE sip:x@192.168.9.7:5060 SIP/2.0"), 0,
                  "the stateless token leads back: %s", nout ? text(0) : "");
    /* one character changed: it names nothing */
    size_t at = strlen("MESSAGE sip:") + 5;
    back[at] = back[at] == 'A' ? 'B' : 'A';
    nout = 0;
    feed(&lan, back, 3200);
    cr_expect_eq(sent_to_ip(&a7), 0, "a forged token reached %s", nout ? text(0) : "");
}

/* Class 5: one outside address holds at most its share of the transactions; others go on. */
Test(trust, transactions_are_capped_per_source, .init = trust_setup, .fini = trust_teardown)
{
    cfg.source_txn_max = 5;
    sip_proxy_reconfigure(p, &cfg, false);
    feed(&lan, request("REGISTER", "sip:edge.test", "", "", "reg", &lan, ""), 500);
    struct sip_peer a = attacker(3, SIP_TP_UDP);
    unsigned refused = 0;
    for (unsigned k = 0; k < 8; k++) {
        char cid[16];
        snprintf(cid, sizeof(cid), "cap%u", k);
        nout = 0;
        feed(&a, request("INVITE", "sip:victim@edge.test", "", "", cid, &a, ""), 1000 + k);
        refused += find_sent(&a, "SIP/2.0 503") >= 0;
    }
    cr_expect_eq(refused, 3, "the 6th to 8th get 503");
    cr_expect_eq(sip_proxy_stats(p)->source_capped, 3);
    struct sip_peer other = attacker(4, SIP_TP_UDP);
    nout = 0;
    feed(&other, request("INVITE", "sip:victim@edge.test", "", "", "cap-other", &other, ""), 2000);
    cr_expect_eq(sent_to_ip(&lan), 1, "another source is not held up");
}

/* Class 2 and 5: one address of record holds at most 10 contacts, so that even a client with
 * valid credentials cannot fill the store or push the real phone out of the fork. */
Test(trust, contacts_per_aor_are_capped, .init = trust_setup, .fini = trust_teardown)
{
    sip_proxy_free(p);
    sip_location_mem_free(loc);
    loc = sip_location_mem_new(64);
    p = sip_proxy_new(&cfg, loc,
                      (struct sip_proxy_sink){cap_send, NULL, false, NULL, NULL, NULL, NULL}, 9);
    for (unsigned k = 0; k < 12; k++) {
        char contact[64], cid[16];
        snprintf(contact, sizeof(contact), "Contact: <sip:x@10.0.0.%u:5060>", 20 + k);
        snprintf(cid, sizeof(cid), "many%u", k);
        nout = 0;
        struct sip_peer ph = peer("10.0.0.5", (uint16_t)(6000 + k));
        char *r = (char *)request("REGISTER", "sip:edge.test", "", "", cid, &ph, "");
        char *c = strstr(r, "Contact: <sip:x@10.0.0.5:");
        cr_assert_not_null(c);
        char *eol = strstr(c, "\r\n");
        char rest[4096];
        snprintf(rest, sizeof(rest), "%s", eol);
        snprintf(c, sizeof(req) - (size_t)(c - req), "%s%s", contact, rest);
        feed(&ph, r, 1000 + k);
        cr_assert_eq(nout, 1);
        cr_expect_eq(status_of(&out[0]), k < 10 ? 200u : 403u, "contact %u: %s", k, text(0));
    }
    /* refreshing one it has is still fine */
    nout = 0;
    struct sip_peer ph = peer("10.0.0.5", 6000);
    char *r = (char *)request("REGISTER", "sip:edge.test", "", "", "many0", &ph, "");
    char *c = strstr(r, "Contact: <sip:x@10.0.0.5:");
    char rest[4096];
    snprintf(rest, sizeof(rest), "%s", strstr(c, "\r\n"));
    snprintf(c, sizeof(req) - (size_t)(c - req), "Contact: <sip:x@10.0.0.20:5060>%s", rest);
    r = strstr(req, "CSeq: 1 ");
    r[6] = '2';
    feed(&ph, req, 2000);
    cr_expect_eq(status_of(&out[0]), 200, "%s", text(0));
}

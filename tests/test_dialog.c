/* tests/test_dialog.c: dialogs through the edge as real phones and a record-routing provider
 * make them (issue 12): which Contact is masqueraded, how a token in a Request-URI is
 * translated back, in-dialog requests along the route set of RFC 3261 §12 with the double
 * Record-Route of RFC 5658, 2xx retransmissions after the call ended, kept copies of bodiless
 * datagrams, and 505 for another SIP version.
 *
 *   LAN phone 192.168.1.20 -- NAT 10.0.0.2 -- 10.0.0.1 sipring 192.0.2.1 -- provider 198.51.100.7
 *                                                                       \-- remote 203.0.113.9 */
#include "media.h"
#include "resolve.h"

#include "proxy_harness.h"
#include "test_mac.h"

static struct sip_peer nat, prov;

/* the records of ended calls the proxy handed to its sink (sip/calls.h) */
static struct sip_call_record recs[8];
static size_t nrecs;

static void capture_record(void *ctx, const struct sip_call_record *r)
{
    (void)ctx;
    cr_assert_lt(nrecs, 8);
    recs[nrecs++] = *r;
}

static void edge_setup(void)
{
    struct sip_proxy_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.self[0] = peer("10.0.0.1", 5060);
    cfg.self[1] = peer("192.0.2.1", 5060);
    cfg.self_count = 2;
    snprintf(cfg.advertise, sizeof(cfg.advertise), "10.0.0.1:5060");
    snprintf(cfg.public_advertise, sizeof(cfg.public_advertise), "192.0.2.1:5060");
    snprintf(cfg.domains[0], sizeof(cfg.domains[0]), "edge.test");
    cfg.domain_count = 1;
    sip_cidr_parse("10.0.0.0/8", &cfg.inside[0]);
    sip_cidr_parse("192.168.0.0/16", &cfg.inside[1]);
    cfg.inside_count = 2;
    cfg.timers = sip_timers_default;
    cfg.max_transactions = 64;
    cfg.min_expires = 60;
    cfg.max_expires = 3600;
    cfg.default_expires = 3600;
    cfg.mac = test_mac(0x5eed);
    cfg.nat_keepalive_ms = 10000;
    cfg.keepalive_sender = true;
    cfg.tcp_port = 5060;
    loc = sip_location_mem_new(64);
    p = sip_proxy_new(
        &cfg, loc, (struct sip_proxy_sink){cap_send, NULL, false, NULL, NULL, NULL, capture_record},
        7);
    nout = 0;
    nrecs = 0;
    nat = peer("10.0.0.2", 40000);
    prov = peer("198.51.100.7", 5060);
}

static void edge_teardown(void)
{
    sip_proxy_free(p);
    sip_location_mem_free(loc);
}

static char *text(size_t i)
{
    out[i].data[out[i].len] = '\0';
    return out[i].data;
}

/* the index of the first datagram from `from` on sent to `to` starting with `start`, or -1 */
static long find_sent(const struct sip_peer *to, const char *start, size_t from)
{
    for (size_t i = from; i < nout; i++) {
        if (sip_peer_eq(&out[i].to, to) && strncmp(out[i].data, start, strlen(start)) == 0) {
            return (long)i;
        }
    }
    return -1;
}

static const char sdp_lan[] =
    "v=0\r\no=- 1 1 IN IP4 192.168.1.20\r\ns=-\r\nc=IN IP4 192.168.1.20\r\n"
    "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
static const char sdp_far[] = "v=0\r\no=- 2 2 IN IP4 203.0.113.9\r\ns=-\r\nc=IN IP4 203.0.113.9\r\n"
                              "t=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";

/* The LAN phone calls bob at the provider with sipring as its outbound proxy (a preloaded
 * Route to sipring's inside address, as baresip and linphone send it). Returns the index of
 * the INVITE sipring sent to the provider. */
static size_t lan_invite(const char *call_id, bool with_sdp, uint64_t now)
{
    char req[4096];
    snprintf(req, sizeof(req),
             "INVITE sip:bob@198.51.100.7 SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-%s;rport\r\n"
             "Route: <sip:10.0.0.1:5060;lr>\r\nMax-Forwards: 70\r\n"
             "From: <sip:alice@198.51.100.7>;tag=al\r\nTo: <sip:bob@198.51.100.7>\r\n"
             "Call-ID: %s\r\nCSeq: 10 INVITE\r\nContact: <sip:alice@192.168.1.20:5060>\r\n"
             "%sContent-Length: %zu\r\n\r\n%s",
             call_id, call_id, with_sdp ? "Content-Type: application/sdp\r\n" : "",
             with_sdp ? sizeof(sdp_lan) - 1 : 0, with_sdp ? sdp_lan : "");
    nout = 0;
    feed(&nat, req, now);
    long i = find_sent(&prov, "INVITE sip:bob@198.51.100.7 ", 0);
    cr_assert_geq(i, 0, "the INVITE reaches the provider");
    return (size_t)i;
}

/* The provider's 200 to the INVITE out[idx]: its own Record-Route above ours (it
 * record-routes, as providers do), and the far phone's Contact. */
static void provider_resp(size_t idx, const char *status_line, const char *rr_top,
                          const char *contact, const char *sdp, uint64_t now)
{
    cr_assert_gt(sip_msg_parse(&m, out[idx].data, out[idx].len, SIP_PARSE_DGRAM, NULL), 0);
    char resp[8192];
    size_t n = (size_t)snprintf(resp, sizeof(resp), "%s\r\n", status_line);
    echo_headers(&m, SIP_HDR_VIA, "Via", resp, &n, sizeof(resp));
    if (rr_top != NULL) {
        n += (size_t)snprintf(resp + n, sizeof(resp) - n, "Record-Route: %s\r\n", rr_top);
    }
    echo_headers(&m, SIP_HDR_RECORD_ROUTE, "Record-Route", resp, &n, sizeof(resp));
    n += (size_t)snprintf(resp + n, sizeof(resp) - n,
                          "From: <sip:alice@198.51.100.7>;tag=al\r\n"
                          "To: <sip:bob@198.51.100.7>;tag=bo\r\nCall-ID: %.*s\r\n"
                          "CSeq: 10 INVITE\r\nContact: %s\r\n%sContent-Length: %zu\r\n\r\n%s",
                          (int)m.call_id.len, m.call_id.p, contact,
                          sdp ? "Content-Type: application/sdp\r\n" : "", sdp ? strlen(sdp) : 0,
                          sdp ? sdp : "");
    sip_proxy_on_datagram(p, &prov, resp, n, now);
}

static void provider_200(size_t idx, const char *rr_top, const char *contact, const char *sdp,
                         uint64_t now)
{
    provider_resp(idx, "SIP/2.0 200 OK", rr_top, contact, sdp, now);
}

/* An in-dialog request from the LAN phone along its route set (RFC 3261 §12.2.1.1: the 2xx's
 * Record-Routes reversed) to the remote target. */
static void lan_in_dialog(const char *method, const char *ruri, const char *routes,
                          const char *call_id, unsigned cseq, uint64_t now)
{
    char req[4096];
    snprintf(req, sizeof(req),
             "%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-%s-%s;rport\r\n"
             "Route: %s\r\nMax-Forwards: 70\r\nFrom: <sip:alice@198.51.100.7>;tag=al\r\n"
             "To: <sip:bob@198.51.100.7>;tag=bo\r\nCall-ID: %s\r\nCSeq: %u %s\r\n"
             "Content-Length: 0\r\n\r\n",
             method, ruri, method, call_id, routes, call_id, cseq, method);
    nout = 0;
    feed(&nat, req, now);
}

#define TOK_MAX 400
#define OUR_ROUTES "<sip:10.0.0.1:5060;lr>, <sip:192.0.2.1:5060;lr>"

/* RFC 3261 §12.1.2, §16.12; RFC 5658: behind a record-routing provider the far phone's
 * Contact is reached through the provider, so sipring leaves it alone; ACK and BYE follow the
 * route set to the provider with the far Contact as Request-URI, and the BYE's 200 comes back. */
Test(dialog, lan_call_through_a_record_routing_provider, .init = edge_setup, .fini = edge_teardown)
{
    static const char *const far[] = {"<sip:bob@203.0.113.9:5070>", "<sip:bob@192.168.50.9:5070>"};
    for (size_t k = 0; k < 2; k++) {
        char cid[16];
        snprintf(cid, sizeof(cid), "rr%zu", k);
        size_t inv = lan_invite(cid, false, 1000 + k * 100000);
        char *fwd = text(inv);
        const char *rr_out = strstr(fwd, "Record-Route: <sip:192.0.2.1:5060;lr;sr=");
        const char *rr_in = strstr(fwd, "Record-Route: <sip:10.0.0.1:5060;lr;sr=");
        cr_expect(rr_out != NULL && rr_in != NULL && rr_out < rr_in,
                  "double Record-Route with our proof, the provider's side on top: %s", fwd);
        cr_expect(strstr(fwd, "Contact: <sip:sr") != NULL, "the LAN Contact is masqueraded");
        cr_expect(strstr(fwd, "192.168.1.20") == NULL || strstr(fwd, "Via: SIP/2.0/UDP 192.168"),
                  "no LAN address but in the phone's own Via");
        provider_200(inv, "<sip:198.51.100.7;lr>", far[k], NULL, 2000 + k * 100000);
        long ok = find_sent(&nat, "SIP/2.0 200", 0);
        cr_assert_geq(ok, 0, "the 200 reaches the phone");
        char want[80];
        snprintf(want, sizeof(want), "Contact: %s\r\n", far[k]);
        cr_expect(strstr(text((size_t)ok), want) != NULL,
                  "the far Contact reaches the phone as the provider sent it: %s",
                  text((size_t)ok));
        const char *routes = OUR_ROUTES ", <sip:198.51.100.7;lr>";
        char ruri[64];
        snprintf(ruri, sizeof(ruri), "%.*s", (int)strlen(far[k]) - 2, far[k] + 1);
        lan_in_dialog("ACK", ruri, routes, cid, 10, 3000 + k * 100000);
        long ack = find_sent(&prov, "ACK ", 0);
        cr_assert_geq(ack, 0, "the ACK goes to the provider (%zu sent)", nout);
        char line[96];
        snprintf(line, sizeof(line), "ACK %s SIP/2.0\r\n", ruri);
        cr_expect(strncmp(text((size_t)ack), line, strlen(line)) == 0, "%s", text((size_t)ack));
        cr_expect(strstr(text((size_t)ack), "Route: <sip:198.51.100.7;lr>\r\n") != NULL &&
                      strstr(text((size_t)ack), "10.0.0.1:5060;lr") == NULL,
                  "our Routes popped, the provider's kept: %s", text((size_t)ack));
        lan_in_dialog("BYE", ruri, routes, cid, 11, 4000 + k * 100000);
        long bye = find_sent(&prov, "BYE ", 0);
        cr_assert_geq(bye, 0, "the BYE goes to the provider");
        snprintf(line, sizeof(line), "BYE %s SIP/2.0\r\n", ruri);
        cr_expect(strncmp(text((size_t)bye), line, strlen(line)) == 0, "%s", text((size_t)bye));
        /* the provider's 200 to the BYE */
        cr_assert_gt(sip_msg_parse(&m, out[bye].data, out[bye].len, SIP_PARSE_DGRAM, NULL), 0);
        char resp[2048];
        const struct sip_hdr *v1 = sip_msg_first(&m, SIP_HDR_VIA);
        const struct sip_hdr *v2 = sip_msg_next(&m, v1);
        int n = snprintf(
            resp, sizeof(resp),
            "SIP/2.0 200 OK\r\nVia: %.*s\r\nVia: %.*s\r\n"
            "From: <sip:alice@198.51.100.7>;tag=al\r\nTo: <sip:bob@198.51.100.7>;tag=bo\r\n"
            "Call-ID: %s\r\nCSeq: 11 BYE\r\nContent-Length: 0\r\n\r\n",
            (int)v1->value.len, v1->value.p, (int)v2->value.len, v2->value.p, cid);
        nout = 0;
        sip_proxy_on_datagram(p, &prov, resp, (size_t)n, 4100 + k * 100000);
        cr_expect_geq(find_sent(&nat, "SIP/2.0 200", 0), 0, "the BYE's 200 comes back");
    }
}

/* Extracts the token of the masqueraded Contact in out[i] ("sr" + 16 hex for a stored one,
 * "st" + base64url for one that stands for a Contact from the outside). */
static void token_of(size_t i, const char *host, char tok[TOK_MAX])
{
    char pat[64];
    snprintf(pat, sizeof(pat), "Contact: <sip:%%%d[^@]@%s", TOK_MAX - 1, host);
    const char *c = strstr(text(i), "Contact: <sip:s");
    cr_assert_not_null(c, "%s", text(i));
    cr_assert_eq(sscanf(c, pat, tok), 1, "%s", c);
}

/* A LAN -> provider dialog set up (INVITE, the provider's record-routed 200): tok gets the
 * token that stands for the LAN phone's Contact. */
static void dialog_up(const char *call_id, char tok[TOK_MAX])
{
    size_t inv = lan_invite(call_id, false, 1000);
    token_of(inv, "192.0.2.1:5060>", tok);
    provider_200(inv, "<sip:198.51.100.7;lr>", "<sip:bob@203.0.113.9:5070>", NULL, 1100);
}

/* An in-dialog request from the provider to the LAN phone's token along our two Routes and
 * `more` after them. */
static void provider_in_dialog(const char *method, const char *tok, const char *call_id,
                               const char *more, size_t n, uint64_t now)
{
    char req[2048];
    snprintf(req, sizeof(req),
             "%s sip:%s@192.0.2.1:5060 SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK%s%zu\r\n"
             "Route: <sip:192.0.2.1:5060;lr>, <sip:10.0.0.1:5060;lr>%s\r\nMax-Forwards: 70\r\n"
             "From: <sip:bob@198.51.100.7>;tag=bo\r\nTo: <sip:alice@198.51.100.7>;tag=al\r\n"
             "Call-ID: %s\r\nCSeq: %zu %s\r\nContent-Length: 0\r\n\r\n",
             method, tok, method, n, more, call_id, 20 + n, method);
    nout = 0;
    feed(&prov, req, now);
}

/* RFC 3261 §12.2.1.1 makes a masqueraded Contact the Request-URI of every request in the
 * dialog: sipring translates its token back whatever Routes remain after its own; the request
 * follows those Routes (§16.12), or the UA's flow when none is left. Routes that lead from the
 * outside anywhere but towards the token's UA are refused. */
Test(dialog, token_is_translated_whatever_routes_remain, .init = edge_setup, .fini = edge_teardown)
{
    char tok[TOK_MAX];
    dialog_up("tok", tok);
    struct {
        const char *extra_route;
        const char *hop_ip;
        uint16_t hop_port;
    } cases[] = {{"", "10.0.0.2", 40000}, {", <sip:10.0.0.9:5080;lr>", "10.0.0.9", 5080}};
    for (size_t k = 0; k < 2; k++) {
        provider_in_dialog("INFO", tok, "tok", cases[k].extra_route, k, 2000 + k);
        struct sip_peer hop = peer(cases[k].hop_ip, cases[k].hop_port);
        long i = find_sent(&hop, "INFO sip:alice@192.168.1.20:5060 SIP/2.0\r\n", 0);
        cr_expect_geq(i, 0, "case %zu: translated back, to %s (%zu sent: %s)", k, cases[k].hop_ip,
                      nout, nout ? text(0) : "");
    }
    /* from the outside, Routes after ours that lead elsewhere make no relay */
    char req[2048];
    snprintf(req, sizeof(req),
             "INFO sip:%s@192.0.2.1:5060 SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 198.51.100.66;branch=z9hG4bKtoll\r\n"
             "Route: <sip:192.0.2.1:5060;lr>, <sip:203.0.113.66;lr>\r\nMax-Forwards: 70\r\n"
             "From: <sip:x@198.51.100.66>;tag=x\r\nTo: <sip:alice@198.51.100.7>;tag=al\r\n"
             "Call-ID: toll\r\nCSeq: 1 INFO\r\nContent-Length: 0\r\n\r\n",
             tok);
    nout = 0;
    struct sip_peer evil = peer("198.51.100.66", 5060), toll = peer("203.0.113.66", 5060);
    feed(&evil, req, 3000);
    cr_expect_eq(find_sent(&toll, "", 0), -1, "nothing reaches the toll host");
    cr_expect_geq(find_sent(&evil, "SIP/2.0 403", 0), 0);
}

/* A far UA that talks to sipring directly from behind its own NAT (private Contact, no
 * Record-Route of anyone else) is masqueraded towards the LAN; the LAN phone's ACK and BYE
 * carry that token and, here, a further Route: translated all the same. */
Test(dialog, far_ua_behind_nat_is_masqueraded_and_translated_with_routes_left, .init = edge_setup,
     .fini = edge_teardown)
{
    size_t inv = lan_invite("far", false, 1000);
    provider_200(inv, NULL, "<sip:bob@192.168.50.9:5070>", NULL, 1100);
    long ok = find_sent(&nat, "SIP/2.0 200", 0);
    cr_assert_geq(ok, 0);
    char tok[TOK_MAX];
    token_of((size_t)ok, "10.0.0.1:5060>", tok);
    char ruri[TOK_MAX + 32];
    snprintf(ruri, sizeof(ruri), "sip:%s@10.0.0.1:5060", tok);
    lan_in_dialog("ACK", ruri, OUR_ROUTES ", <sip:198.51.100.7;lr>", "far", 10, 1200);
    long ack = find_sent(&prov, "ACK sip:bob@192.168.50.9:5070 SIP/2.0\r\n", 0);
    cr_expect_geq(ack, 0, "the token is translated though a Route remains (%zu: %s)", nout,
                  nout ? text(0) : "");
    lan_in_dialog("BYE", ruri, OUR_ROUTES, "far", 11, 1300);
    cr_expect_geq(find_sent(&prov, "BYE sip:bob@192.168.50.9:5070 SIP/2.0\r\n", 0), 0,
                  "without Routes left, down the flow the 200 came from");
}

/* A relay that counts sessions: sdp() opens one if allowed, end() closes it. */
static int sessions_opened, sdp_calls;
static bool session_open;
static int counting_sdp(void *self, const struct sip_media_msg *mm, struct sdp_rewrite *rw)
{
    (void)self;
    (void)rw;
    sdp_calls++;
    if (!session_open) {
        if (!mm->may_create) {
            return SIP_MEDIA_NO_CALL;
        }
        session_open = true;
        sessions_opened++;
    }
    return -1;
}
static void counting_end(void *self, struct sip_str call_id)
{
    (void)self;
    (void)call_id;
    session_open = false;
}
static const struct sip_media_ops counting_ops = {counting_sdp, counting_end, NULL};

/* RFC 3261 §13.3.1.4: the far side retransmits its 2xx until it sees the ACK, also after a
 * BYE. Within the transaction the retransmission goes up as the same bytes, and the relay is
 * not asked again; once the transaction is gone, a 2xx may update a running call only. */
Test(dialog, retransmitted_2xx_after_bye_opens_no_ports, .init = edge_setup, .fini = edge_teardown)
{
    struct sip_media media = {&counting_ops, NULL};
    sip_proxy_set_media(p, &media);
    sessions_opened = sdp_calls = 0;
    session_open = false;
    size_t inv = lan_invite("rtx", true, 1000);
    cr_expect_eq(sessions_opened, 1);
    char inv_copy[8192];
    size_t inv_len = out[inv].len;
    memcpy(inv_copy, out[inv].data, inv_len);
    provider_200(inv, "<sip:198.51.100.7;lr>", "<sip:bob@203.0.113.9:5070>", sdp_far, 1100);
    long ok = find_sent(&nat, "SIP/2.0 200", 0);
    cr_assert_geq(ok, 0);
    char first[8192];
    size_t first_len = out[ok].len;
    memcpy(first, out[ok].data, first_len);
    lan_in_dialog("BYE", "sip:bob@203.0.113.9:5070", OUR_ROUTES ", <sip:198.51.100.7;lr>", "rtx",
                  11, 1200);
    cr_expect(!session_open, "the BYE ends the call's media");
    int calls = sdp_calls;
    memcpy(out[0].data, inv_copy, inv_len);
    out[0].len = inv_len;
    out[0].to = prov;
    nout = 1;
    provider_200(0, "<sip:198.51.100.7;lr>", "<sip:bob@203.0.113.9:5070>", sdp_far, 1700);
    long again = find_sent(&nat, "SIP/2.0 200", 1);
    cr_assert_geq(again, 0, "the retransmission still reaches the phone");
    cr_expect_eq(out[again].len, first_len);
    cr_expect(memcmp(out[again].data, first, first_len) == 0, "the same bytes as the first time");
    cr_expect_eq(sdp_calls, calls, "the relay is not asked again");
    cr_expect_eq(sessions_opened, 1);
    /* long after: every transaction is gone */
    for (uint64_t t = 2000; t <= 100000; t += 500) {
        nout = 0; /* keepalives to the phone's binding go out meanwhile */
        sip_proxy_on_timer(p, t);
    }
    cr_expect_eq(sip_proxy_active(p), 0);
    nout = 1;
    provider_200(0, "<sip:198.51.100.7;lr>", "<sip:bob@203.0.113.9:5070>", sdp_far, 101000);
    cr_expect_eq(find_sent(&nat, "SIP/2.0 200", 1), -1,
                 "a 2xx that outlived its transaction and its call is dropped");
    cr_expect_eq(sessions_opened, 1, "and opens no session");
    sip_proxy_set_media(p, NULL);
}

static bool dns_ready;
static int later_locate(void *self, const char *host, int tp, uint16_t port, struct sip_peer *o,
                        size_t max)
{
    (void)self;
    (void)tp;
    (void)port;
    (void)max;
    if (strcmp(host, "provider.test") != 0) {
        return -1;
    }
    if (!dns_ready) {
        return 0;
    }
    o[0] = peer("198.51.100.7", 5060);
    return 1;
}
static const struct sip_resolver_ops later_ops = {later_locate};

/* RFC 3261 §18.3: over UDP, Content-Length may be left out (liblinphone's REGISTER). The copy
 * kept while DNS answers is read again as the datagram it was. */
Test(dialog, bodiless_udp_request_without_content_length_survives_a_dns_wait, .init = edge_setup,
     .fini = edge_teardown)
{
    struct sip_resolver r = {&later_ops, NULL};
    sip_proxy_set_resolver(p, &r);
    dns_ready = false;
    feed(&nat,
         "REGISTER sip:provider.test SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bKnocl;rport\r\n"
         "Max-Forwards: 70\r\nFrom: <sip:alice@provider.test>;tag=r\r\n"
         "To: <sip:alice@provider.test>\r\nCall-ID: nocl\r\nCSeq: 1 REGISTER\r\n"
         "Contact: <sip:alice@192.168.1.20:5060>\r\n\r\n",
         1000);
    cr_assert_eq(nout, 0, "parked: nothing sent yet");
    dns_ready = true;
    sip_proxy_on_resolved(p, 1100);
    cr_expect_geq(find_sent(&prov, "REGISTER sip:provider.test SIP/2.0\r\n", 0), 0,
                  "forwarded once the answer is there (%zu sent)", nout);
    sip_proxy_set_resolver(p, NULL);
}

/* RFC 4475 §3.1.2.16, RFC 3261 §8.2: a request in another SIP version gets 505. */
Test(dialog, unknown_sip_version_gets_505, .init = edge_setup, .fini = edge_teardown)
{
    feed(&nat,
         "OPTIONS sip:t.watson@10.0.0.1 SIP/7.0\r\n"
         "Via: SIP/7.0/UDP 192.168.1.20;branch=z9hG4bKkmzaaq897;rport\r\n"
         "Max-Forwards: 70\r\nFrom: A. Bell <sip:a.g.bell@10.0.0.1>;tag=qweoiqpe\r\n"
         "To: T. Watson <sip:t.watson@10.0.0.1>\r\nCall-ID: 23431.w@10.0.0.5\r\n"
         "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
         1000);
    cr_assert_eq(nout, 1);
    cr_expect_eq(status_of(&out[0]), 505, "%s", text(0));
    cr_expect(sip_peer_eq(&out[0].to, &nat));
    cr_expect(strstr(text(0), "Call-ID: 23431.w@10.0.0.5\r\n") != NULL);
}

/* A phone on the LAN registered with sipring over TCP (conn 7), with or without RFC 5626
 * outbound on its Contact. */
static struct sip_peer tcp_phone(void)
{
    struct sip_peer t = peer("10.0.0.2", 40001);
    t.transport = SIP_TP_TCP;
    t.conn = 7;
    return t;
}

static void register_tcp(bool outbound, uint64_t now)
{
    struct sip_peer t = tcp_phone();
    char req[2048];
    snprintf(req, sizeof(req),
             "REGISTER sip:edge.test SIP/2.0\r\n"
             "Via: SIP/2.0/TCP 192.168.1.30:5060;branch=z9hG4bKtcpreg%d\r\n"
             "Max-Forwards: 70\r\nFrom: <sip:tina@edge.test>;tag=t\r\nTo: <sip:tina@edge.test>\r\n"
             "Call-ID: tcpreg\r\nCSeq: %d REGISTER\r\nSupported: outbound, path\r\n"
             "Contact: <sip:tina@192.168.1.30:5060;transport=tcp>%s\r\n"
             "Expires: 600\r\nContent-Length: 0\r\n\r\n",
             outbound, 1 + outbound,
             outbound
                 ? ";reg-id=1;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\""
                 : "");
    nout = 0;
    feed(&t, req, now);
    cr_assert_eq(nout, 1);
    cr_assert_eq(status_of(&out[0]), 200, "%s", text(0));
}

static void call_tina(const char *branch, uint64_t now)
{
    char req[2048];
    snprintf(
        req, sizeof(req),
        "INVITE sip:tina@edge.test SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.7;branch=%s\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:bob@198.51.100.7>;tag=b\r\nTo: <sip:tina@edge.test>\r\n"
        "Call-ID: %s\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
        branch, branch);
    nout = 0;
    feed(&prov, req, now);
}

/* RFC 5626 §5.3: a request for a UA whose only flow (its TCP connection) has closed is not
 * sent down a new connection (a NAT in front of the UA would not let it in): 430 Flow Failed
 * where it registered with outbound, 480 otherwise. */
Test(dialog, closed_flow_gets_430_with_outbound_and_480_without, .init = edge_setup,
     .fini = edge_teardown)
{
    struct sip_peer t = tcp_phone();
    for (int outbound = 0; outbound < 2; outbound++) {
        register_tcp(outbound, 1000 + (uint64_t)outbound * 10000);
        char br[32];
        snprintf(br, sizeof(br), "z9hG4bKtina%d", outbound);
        call_tina(br, 2000 + (uint64_t)outbound * 10000);
        long fwd = find_sent(&t, "INVITE sip:tina@192.168.1.30:5060;transport=tcp ", 0);
        cr_assert_geq(fwd, 0, "while the flow is up, the call goes down it");
        cr_expect_eq(out[fwd].to.conn, 7, "on the connection it registered over");
        sip_proxy_on_flow_closed(p, &t);
        snprintf(br, sizeof(br), "z9hG4bKtina%dx", outbound);
        call_tina(br, 3000 + (uint64_t)outbound * 10000);
        cr_expect_eq(find_sent(&t, "INVITE", 0), -1, "nothing down a closed flow");
        long ans = find_sent(&prov, outbound ? "SIP/2.0 430 " : "SIP/2.0 480 ", 0);
        cr_expect_geq(ans, 0, "outbound %d: %s", outbound, nout > 1 ? text(nout - 1) : "");
    }
}

/* RFC 5626 §4.4.1: a UA on a stream that registered with outbound gets double-CRLF pings on
 * its connection; once the flow closed, no keepalive tries to open another. */
Test(dialog, stream_keepalives_are_crlf_pings_and_stop_with_the_flow, .init = edge_setup,
     .fini = edge_teardown)
{
    struct sip_peer t = tcp_phone();
    register_tcp(true, 1000);
    size_t pings = 0;
    for (uint64_t now = 2000; now <= 42000; now += 1000) {
        nout = 0;
        sip_proxy_on_timer(p, now);
        for (size_t i = 0; i < nout; i++) {
            if (sip_peer_eq(&out[i].to, &t)) {
                cr_expect(out[i].len == 4 && memcmp(out[i].data, "\r\n\r\n", 4) == 0,
                          "a CRLF ping");
                cr_expect_eq(out[i].to.conn, 7);
                pings++;
            }
        }
    }
    cr_expect_geq(pings, 3, "a ping every 10 s (%zu in 40 s)", pings);
    /* pings prove nothing by themselves: the binding stays reachable while its connection is */
    call_tina("z9hG4bKalive", 43000);
    cr_expect_geq(find_sent(&t, "INVITE", 0), 0, "still reached after 40 s of pings");
    sip_proxy_on_flow_closed(p, &t);
    size_t after = 0;
    for (uint64_t now = 44000; now <= 80000; now += 1000) {
        nout = 0;
        sip_proxy_on_timer(p, now);
        for (size_t i = 0; i < nout; i++) {
            after += sip_peer_eq(&out[i].to, &t);
        }
    }
    cr_expect_eq(after, 0, "no keepalive towards a closed flow");
}

/* RFC 3261 §18.1.1: a request over 1300 bytes goes over TCP where UDP was the transport
 * (sipring listens on TCP); when the next hop takes no connection, over UDP after all. A UA's
 * own flow keeps its transport. */
Test(dialog, large_request_goes_over_tcp_then_udp_when_refused, .init = edge_setup,
     .fini = edge_teardown)
{
    char filler[1200];
    memset(filler, 'x', sizeof(filler) - 1);
    filler[sizeof(filler) - 1] = '\0';
    char req[4096];
    snprintf(req, sizeof(req),
             "MESSAGE sip:bob@198.51.100.7 SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bKbig;rport\r\n"
             "Max-Forwards: 70\r\nFrom: <sip:alice@198.51.100.7>;tag=al\r\n"
             "To: <sip:bob@198.51.100.7>\r\nCall-ID: big\r\nCSeq: 1 MESSAGE\r\n"
             "X-Filler: %s\r\nContent-Length: 0\r\n\r\n",
             filler);
    nout = 0;
    feed(&nat, req, 1000);
    struct sip_peer tcp = prov;
    tcp.transport = SIP_TP_TCP;
    cr_assert_eq(nout, 1, "%zu sent", nout);
    cr_expect(sip_peer_eq(&out[0].to, &prov) && out[0].to.transport == SIP_TP_TCP,
              "over TCP to the same address");
    cr_expect(strstr(text(0), "Via: SIP/2.0/TCP 192.0.2.1:5060;branch=") != NULL, "%.200s",
              text(0));
    sip_proxy_on_unreachable(p, &tcp, 1100);
    long udp = find_sent(&prov, "MESSAGE sip:bob@198.51.100.7 ", 1);
    cr_assert_geq(udp, 0, "sent again (%zu sent)", nout);
    cr_expect_eq(out[udp].to.transport, SIP_TP_UDP, "over UDP after all");
    cr_expect(strstr(text((size_t)udp), "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=") != NULL);
    cr_expect_eq(find_sent(&nat, "SIP/2.0 503", 0), -1, "no 503 for the refused connection");
}

/* RFC 3261 §12.2: every in-dialog request, whichever side sends it, follows the route set:
 * from the LAN to the provider with the far Contact as Request-URI, from the provider to the
 * LAN phone with sipring's token translated back (RFC 3311 UPDATE, RFC 3262 PRACK, RFC 6086
 * INFO, RFC 3515 REFER, RFC 6665 NOTIFY). */
Test(dialog, every_in_dialog_method_follows_the_route_set_both_ways, .init = edge_setup,
     .fini = edge_teardown)
{
    char tok[TOK_MAX];
    dialog_up("meth", tok);
    static const char *const methods[] = {"UPDATE", "PRACK", "INFO", "REFER", "NOTIFY"};
    for (size_t k = 0; k < sizeof(methods) / sizeof(methods[0]); k++) {
        const char *mt = methods[k];
        lan_in_dialog(mt, "sip:bob@203.0.113.9:5070", OUR_ROUTES ", <sip:198.51.100.7;lr>", "meth",
                      20 + (unsigned)k, 2000 + k * 10);
        char line[80];
        snprintf(line, sizeof(line), "%s sip:bob@203.0.113.9:5070 SIP/2.0\r\n", mt);
        cr_expect_geq(find_sent(&prov, line, 0), 0, "%s from the LAN reaches the provider", mt);
        provider_in_dialog(mt, tok, "meth", "", k, 3000 + k * 10);
        snprintf(line, sizeof(line), "%s sip:alice@192.168.1.20:5060 SIP/2.0\r\n", mt);
        cr_expect_geq(find_sent(&nat, line, 0), 0, "%s from the provider reaches the phone", mt);
    }
}

/* Media anchoring follows a call that never gets answered: the INVITE's offer and the 183's
 * early answer go through the relay, and a CANCEL (the 487 that ends the INVITE) releases the
 * call's ports at once (RFC 3261 §9.1, §16.10). */
static int answers_seen, offers_seen, ends_seen;
static int recording_sdp(void *self, const struct sip_media_msg *mm, struct sdp_rewrite *rw)
{
    (void)self;
    (void)rw;
    if (mm->is_request) {
        offers_seen++;
    } else {
        answers_seen++;
    }
    return -1;
}
static void recording_end(void *self, struct sip_str call_id)
{
    (void)self;
    cr_expect(sip_str_eq(call_id, SIP_STR_LIT("cxl")), "the cancelled call's Call-ID");
    ends_seen++;
}
static const struct sip_media_ops recording_ops = {recording_sdp, recording_end, NULL};

Test(dialog, early_media_goes_through_the_relay_and_cancel_releases_it, .init = edge_setup,
     .fini = edge_teardown)
{
    struct sip_media media = {&recording_ops, NULL};
    sip_proxy_set_media(p, &media);
    answers_seen = offers_seen = ends_seen = 0;
    size_t inv = lan_invite("cxl", true, 1000);
    cr_expect_eq(offers_seen, 1, "the offer");
    char inv_copy[8192];
    size_t inv_len = out[inv].len;
    memcpy(inv_copy, out[inv].data, inv_len);
    provider_resp(inv, "SIP/2.0 183 Session Progress", "<sip:198.51.100.7;lr>",
                  "<sip:bob@203.0.113.9:5070>", sdp_far, 1100);
    cr_expect_eq(answers_seen, 1, "the 183's early answer");
    cr_expect_geq(find_sent(&nat, "SIP/2.0 183", 0), 0, "the 183 reaches the phone");
    cr_expect_eq(ends_seen, 0);
    char cancel[1024];
    snprintf(cancel, sizeof(cancel),
             "CANCEL sip:bob@198.51.100.7 SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-cxl;rport\r\nMax-Forwards: 70\r\n"
             "From: <sip:alice@198.51.100.7>;tag=al\r\nTo: <sip:bob@198.51.100.7>\r\n"
             "Call-ID: cxl\r\nCSeq: 10 CANCEL\r\nContent-Length: 0\r\n\r\n");
    nout = 0;
    feed(&nat, cancel, 1200);
    cr_expect_geq(find_sent(&nat, "SIP/2.0 200", 0), 0, "the CANCEL is answered");
    cr_expect_geq(find_sent(&prov, "CANCEL ", 0), 0, "and sent on to the provider");
    memcpy(out[0].data, inv_copy, inv_len);
    out[0].len = inv_len;
    out[0].to = prov;
    nout = 1;
    provider_resp(0, "SIP/2.0 487 Request Terminated", NULL, "<sip:bob@203.0.113.9:5070>", NULL,
                  1300);
    cr_expect_geq(find_sent(&nat, "SIP/2.0 487", 1), 0, "the 487 reaches the phone");
    cr_expect_eq(ends_seen, 1, "the relay is told the call is over: its ports go");
    sip_proxy_set_media(p, NULL);
}

/* issue 15: a call is listed from its INVITE to its end and leaves one record: who called whom
 * on which side, when it rang and was answered, who hung up; a challenge is not an end; a
 * failure is the INVITE's status. */
Test(calls, answered_call_is_listed_then_recorded_with_who_hung_up, .init = edge_setup,
     .fini = edge_teardown)
{
    size_t inv = lan_invite("rec1", false, 1000);
    const struct sip_calls *calls = sip_proxy_calls(p);
    cr_assert_eq(calls->open, 1u, "listed from its INVITE");
    provider_resp(inv, "SIP/2.0 180 Ringing", "<sip:198.51.100.7;lr>", "<sip:bob@203.0.113.9>",
                  NULL, 1250);
    provider_200(inv, "<sip:198.51.100.7;lr>", "<sip:bob@203.0.113.9>", NULL, 1400);
    const struct sip_call *c = NULL;
    for (uint32_t i = 0; i < calls->used_hw; i++) {
        c = calls->c[i].used ? &calls->c[i] : c;
    }
    cr_assert_not_null(c);
    cr_expect_eq(c->state, SIP_CALL_ANSWERED);
    cr_expect_eq(c->status, 200);
    cr_expect_str_eq(c->from, "alice@198.51.100.7");
    cr_expect_str_eq(c->to, "bob@198.51.100.7");
    cr_expect(c->caller_inside && !c->callee_inside, "caller inside, callee outside");
    cr_expect_eq(c->ring_ms - c->start_ms, 250u);
    cr_expect_eq(c->answer_ms - c->start_ms, 400u);
    cr_expect_eq(nrecs, 0u, "no record while it runs");
    /* the LAN phone hangs up, along the route set */
    lan_in_dialog("BYE", "sip:bob@203.0.113.9", OUR_ROUTES ", <sip:198.51.100.7;lr>", "rec1", 11,
                  61400);
    cr_assert_eq(nrecs, 1u, "one record at the end");
    cr_expect_eq(calls->open, 0u, "and no longer listed");
    const struct sip_call *r = &recs[0].call;
    cr_expect_eq(r->state, SIP_CALL_ENDED);
    cr_expect_eq(r->end, SIP_CALL_END_CALLER, "the BYE carried the caller's tag");
    cr_expect_eq(r->status, 200);
    cr_expect_eq(r->end_ms - r->answer_ms, 60000u, "a minute's call");
    cr_expect_eq(recs[0].nstreams, 0u, "no relay here: no streams");
}

Test(calls, a_challenge_is_not_an_end_and_a_failure_keeps_its_status, .init = edge_setup,
     .fini = edge_teardown)
{
    size_t inv = lan_invite("rec2", false, 1000);
    provider_resp(inv, "SIP/2.0 407 Proxy Authentication Required", NULL, "<sip:bob@203.0.113.9>",
                  NULL, 1100);
    cr_expect_eq(nrecs, 0u, "a 407 makes no record: the INVITE comes again with credentials");
    cr_expect_eq(sip_proxy_calls(p)->open, 0u);
    inv = lan_invite("rec3", false, 2000);
    provider_resp(inv, "SIP/2.0 486 Busy Here", NULL, "<sip:bob@203.0.113.9>", NULL, 2300);
    cr_assert_eq(nrecs, 1u);
    cr_expect_eq(recs[0].call.end, SIP_CALL_END_FAILED);
    cr_expect_eq(recs[0].call.status, 486);
    cr_expect_eq(recs[0].call.end_ms - recs[0].call.start_ms, 300u);
    cr_expect_eq(recs[0].call.answer_ms, 0u);
}

Test(calls, table_reuses_slots_and_counts_what_it_cannot_hold)
{
    struct sip_calls *t = malloc(sizeof(*t));
    cr_assert_eq(sip_calls_init(t, 2), 0);
    bool fresh;
    struct sip_call *a = sip_calls_open(t, SIP_STR_LIT("a"), 1, &fresh);
    cr_assert(a && fresh);
    cr_assert_eq(sip_calls_open(t, SIP_STR_LIT("a"), 2, &fresh), a);
    cr_assert(!fresh, "the same Call-ID is the same call");
    struct sip_call *b = sip_calls_open(t, SIP_STR_LIT("b"), 3, &fresh);
    cr_assert(b && fresh);
    cr_assert_null(sip_calls_open(t, SIP_STR_LIT("c"), 4, &fresh), "full");
    cr_assert_eq(t->untracked, 1u);
    uint32_t idx = (uint32_t)(a - t->c), gen = a->gen;
    sip_calls_close(t, a);
    cr_assert_null(sip_calls_find(t, SIP_STR_LIT("a")));
    cr_assert_null(sip_calls_by_index(t, idx, gen), "a closed call's index is dead");
    struct sip_call *c = sip_calls_open(t, SIP_STR_LIT("c"), 5, &fresh);
    cr_assert_eq(c, &t->c[idx], "the slot is reused");
    cr_assert_null(sip_calls_by_index(t, idx, gen), "under a new generation");
    cr_assert_eq(sip_calls_find(t, SIP_STR_LIT("b")), b);
    char long_id[SIP_CALL_ID_MAX + 1];
    memset(long_id, 'x', sizeof(long_id));
    cr_assert_null(sip_calls_open(t, sip_str_make(long_id, sizeof(long_id)), 6, &fresh));
    char party[8];
    sip_calls_set_party(party, sizeof(party), SIP_STR_LIT("alice"), SIP_STR_LIT("example.test"));
    cr_assert_str_eq(party, "alice@e", "cut to its room");
    sip_calls_set_party(party, sizeof(party), SIP_STR_NULL, SIP_STR_LIT("host"));
    cr_assert_str_eq(party, "host");
    sip_calls_free(t);
    free(t);
}

/* tests/test_msg.c: the message parser against RFC 4475 §3.1.1/§3.1.2 and RFC 5118 §4, field by
 * field where the RFC says what a parser must see. */
#include <criterion/criterion.h>

#include "corpus_util.h"
#include "msg.h"

static struct sip_msg m;

static int parse_file(const char *rel, enum sip_parse_mode mode)
{
    size_t len = 0;
    char *buf = corpus_read(rel, &len);
    cr_assert_not_null(buf, "corpus file %s missing", rel);
    struct guarded g = guarded_copy(buf, len);
    free(buf);
    int rc = sip_msg_parse(&m, g.data, len, mode, NULL);
    /* m keeps slices into g: tests that look at fields use parse_keep() instead. */
    guarded_free(g);
    return rc;
}

static char *kept;
static int parse_keep(const char *rel)
{
    size_t len = 0;
    free(kept);
    kept = corpus_read(rel, &len);
    cr_assert_not_null(kept);
    return sip_msg_parse(&m, kept, len, SIP_PARSE_DGRAM, NULL);
}

static bool eq(struct sip_str s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

/* RFC 4475 §3.1.1: "all elements should treat this as a well-formed request" for each. */
Test(msg, rfc4475_and_5118_valid_messages_parse)
{
    char names[64][128];
    size_t n = corpus_list("sip/valid", names, 64);
    cr_assert_geq(n, 23);
    cr_assert_lt(n, 64, "more files than this list holds: none may go untested");
    for (size_t i = 0; i < n; i++) {
        int rc = parse_file(names[i], SIP_PARSE_DGRAM);
        cr_expect_gt(rc, 0, "%s: rejected: %s at %zu", names[i], sip_err_phrase(m.err), m.err_off);
    }
}

/* RFC 4475 §3.1.2: each invalid message is refused, for the reason the RFC names. */
Test(msg, rfc4475_and_5118_invalid_messages_rejected_with_reason)
{
    static const struct {
        const char *file;
        enum sip_err err;
    } cases[] = {
        {"sip/invalid/rfc4475-badinv01.sip", SIP_ERR_VIA},
        {"sip/invalid/rfc4475-clerr.sip", SIP_ERR_BODY_TRUNCATED},
        {"sip/invalid/rfc4475-ncl.sip", SIP_ERR_CONTENT_LENGTH},
        {"sip/invalid/rfc4475-scalar02.sip", SIP_ERR_CSEQ},
        {"sip/invalid/rfc4475-scalarlg.sip", SIP_ERR_CSEQ},
        {"sip/invalid/rfc4475-quotbal.sip", SIP_ERR_TO},
        {"sip/invalid/rfc4475-ltgtruri.sip", SIP_ERR_REQUEST_URI},
        {"sip/invalid/rfc4475-lwsruri.sip", SIP_ERR_REQUEST_URI},
        {"sip/invalid/rfc4475-lwsstart.sip", SIP_ERR_REQUEST_URI},
        {"sip/invalid/rfc4475-trws.sip", SIP_ERR_START_LINE},
        {"sip/invalid/rfc4475-escruri.sip", SIP_ERR_REQUEST_URI},
        {"sip/invalid/rfc4475-baddate.sip", SIP_ERR_DATE},
        {"sip/invalid/rfc4475-regbadct.sip", SIP_ERR_CONTACT},
        {"sip/invalid/rfc4475-badaspec.sip", SIP_ERR_TO},
        {"sip/invalid/rfc4475-baddn.sip", SIP_ERR_FROM},
        {"sip/invalid/rfc4475-badvers.sip", SIP_ERR_VERSION},
        {"sip/invalid/rfc4475-mismatch01.sip", SIP_ERR_CSEQ_METHOD},
        {"sip/invalid/rfc4475-mismatch02.sip", SIP_ERR_CSEQ_METHOD},
        {"sip/invalid/rfc4475-bigcode.sip", SIP_ERR_STATUS_CODE},
        {"sip/invalid/rfc5118-ipv6-bad.sip", SIP_ERR_REQUEST_URI},
        {"sip/invalid/rfc5118-ipv6-bug-abnf-3-colons.sip", SIP_ERR_REQUEST_URI},
    };
    char names[64][128];
    cr_assert_eq(corpus_list("sip/invalid", names, 64), sizeof(cases) / sizeof(cases[0]),
                 "every invalid corpus file has an expected reason here");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cr_expect_eq(parse_file(cases[i].file, SIP_PARSE_DGRAM), SIP_EBAD, "%s accepted",
                     cases[i].file);
        cr_expect_eq(m.err, cases[i].err, "%s: got '%s'", cases[i].file, sip_err_phrase(m.err));
    }
    /* §3.1.2.16: "The element should respond to the request with a 505". */
    cr_expect_eq(sip_err_status(SIP_ERR_VERSION), 505);
}

/* RFC 4475 §3.1.1.1 wsinv: folding, LWS around separators, compact and long forms mixed. */
Test(msg, wsinv_fields)
{
    cr_assert_gt(parse_keep("sip/valid/rfc4475-wsinv.sip"), 0);
    cr_expect(m.is_request && m.method_id == SIP_METHOD_INVITE);
    cr_expect(eq(m.ruri.user, "vivekg") && eq(m.ruri.host, "chair-dnrc.example.com"));
    cr_expect_eq(m.max_forwards, 68);
    cr_expect_eq(m.cseq, 9);
    cr_expect(eq(m.cseq_method, "INVITE"));
    cr_expect(eq(m.call_id, "wsinv.ndaksdj@192.0.2.1"));
    cr_expect_eq(m.via_count, 3);
    cr_expect(eq(m.via[0].host, "192.0.2.2") && eq(m.via[0].branch, "390skdjuw"));
    cr_expect(eq(m.via[1].transport, "TCP") && eq(m.via[1].host, "spindle.example.com"));
    cr_expect(eq(m.via[1].branch, "z9hG4bK9ikj8"));
    cr_expect(eq(m.via[2].host, "192.168.255.111") && eq(m.via[2].branch, "z9hG4bK30239"));
    cr_expect(eq(m.addr[m.to].tag, "1918181833n"));
    cr_expect(eq(m.addr[m.from].tag, "98asjd8"));
    cr_expect(eq(m.addr[m.from].display, "J Rosenberg \\\\\\\""));
    const struct sip_hdr *c = sip_msg_first(&m, SIP_HDR_CONTACT);
    cr_assert_not_null(c);
    cr_expect_eq(m.addr[c->item].q_milli, 330);
    cr_expect(eq(m.addr[c->item].display, "Quoted string \\\"\\\""));
    const struct sip_hdr *u = sip_msg_find_other(&m, "UnknownHeaderWithUnusualValue");
    cr_assert_not_null(u);
    cr_expect(eq(u->value, ";;,,;;,;"));
    const struct sip_hdr *r = sip_msg_first(&m, SIP_HDR_ROUTE);
    cr_assert_not_null(r);
    cr_expect(m.addr[r->item].uri.has_lr);
    cr_expect_eq(m.count[SIP_HDR_SUBJECT], 1);
    cr_expect_eq(m.body.len, 150);
}

/* §3.1.1.2 intmeth: unusual but legal characters in method, Request-URI, branch, Call-ID. */
Test(msg, intmeth_fields)
{
    cr_assert_gt(parse_keep("sip/valid/rfc4475-intmeth.sip"), 0);
    cr_expect_eq(m.method_id, SIP_METHOD_UNKNOWN);
    cr_expect(eq(m.method, "!interesting-Method0123456789_*+`.%indeed'~"));
    cr_expect(eq(m.ruri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"));
    cr_expect(eq(m.ruri.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"));
    cr_expect(eq(m.via[0].branch, "z9hG4bK-.!%66*_+`'~"));
    cr_expect(eq(m.call_id, "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"));
    cr_expect(eq(m.addr[m.from].tag, "_token~1'+`*%!-."));
    cr_expect_eq(m.max_forwards, 255);
}

/* §3.1.1.7 longreq: 34 Vias in every spelling of the name, long parameter values. */
Test(msg, longreq_fields)
{
    cr_assert_gt(parse_keep("sip/valid/rfc4475-longreq.sip"), 0);
    cr_expect_eq(m.via_count, 34);
    cr_expect(eq(m.via[0].host, "sip33.example.com"));
    cr_expect(eq(m.via[33].received, "192.0.2.5"));
    cr_expect_eq(m.addr[m.to].uri.port, 6000);
    cr_expect_eq(m.addr[m.from].tag.len, 155);
}

/* §3.1.1.8 dblreq: octets after Content-Length in a datagram are ignored (RFC 3261 §18.3). */
Test(msg, dblreq_trailing_octets_ignored)
{
    size_t len = 0;
    free(kept);
    kept = corpus_read("sip/valid/rfc4475-dblreq.sip", &len);
    int rc = sip_msg_parse(&m, kept, len, SIP_PARSE_DGRAM, NULL);
    cr_assert_gt(rc, 0);
    cr_expect_lt((size_t)rc, len);
    cr_expect_eq(m.method_id, SIP_METHOD_REGISTER);
    cr_expect_eq(m.body.len, 0);
}

/* §3.1.1.9 semiuri: the user part is "user;par=u%40example.net". */
Test(msg, semiuri_user_part)
{
    cr_assert_gt(parse_keep("sip/valid/rfc4475-semiuri.sip"), 0);
    cr_expect(eq(m.ruri.user, "user;par=u%40example.net"));
    cr_expect(eq(m.ruri.host, "example.com"));
}

/* §3.1.1.13 noreason: an empty reason phrase. */
Test(msg, noreason_empty_phrase)
{
    cr_assert_gt(parse_keep("sip/valid/rfc4475-noreason.sip"), 0);
    cr_expect(!m.is_request);
    cr_expect_eq(m.status, 100);
    cr_expect_eq(m.reason.len, 0);
}

/* RFC 5118 §4.4, §4.5: IPv6 references with ports, received with and without brackets. */
Test(msg, ipv6_fields)
{
    cr_assert_gt(parse_keep("sip/valid/rfc5118-port-unambiguous.sip"), 0);
    cr_expect_eq(m.ruri.host_kind, SIP_HOST_IPV6);
    cr_expect(eq(m.ruri.host, "2001:db8::10"));
    cr_expect(m.ruri.has_port && m.ruri.port == 5070);
    cr_assert_gt(parse_keep("sip/valid/rfc5118-port-ambiguous.sip"), 0);
    cr_expect(eq(m.ruri.host, "2001:db8::10:5070") && !m.ruri.has_port);
    cr_assert_gt(parse_keep("sip/valid/rfc5118-mult-ip-in-header.sip"), 0);
    cr_expect(eq(m.via[0].host, "2001:db8::9:1") && m.via[0].port == 6050);
    cr_expect(eq(m.via[2].received, "192.0.2.200"));
}

/* RFC 3581 §3: rport with no value is recorded as requested. */
Test(msg, rport_without_value)
{
    cr_assert_gt(parse_keep("sip/bench/register.sip"), 0);
    cr_expect(m.via[0].has_rport && m.via[0].rport_value.len == 0);
    cr_expect_eq(m.addr[sip_msg_first(&m, SIP_HDR_CONTACT)->item].expires, 3600);
}

/* Stream framing (RFC 3261 §18.3): every prefix is incomplete, the whole is one message, and two
 * messages back to back parse one after the other. */
Test(msg, stream_split_at_every_byte)
{
    const char *files[] = {"sip/bench/invite.sip", "sip/bench/ok-rr.sip",
                           "sip/valid/rfc4475-wsinv.sip", "sip/valid/rfc4475-esc01.sip"};
    for (size_t f = 0; f < 4; f++) {
        size_t len = 0;
        char *buf = corpus_read(files[f], &len);
        for (size_t cut = 0; cut < len; cut++) {
            struct guarded g = guarded_copy(buf, cut);
            int rc = sip_msg_parse(&m, g.data, cut, SIP_PARSE_STREAM, NULL);
            guarded_free(g);
            cr_assert_eq(rc, SIP_AGAIN, "%s cut at %zu: %d (%s)", files[f], cut, rc,
                         sip_err_phrase(m.err));
        }
        char *two = malloc(2 * len);
        memcpy(two, buf, len);
        memcpy(two + len, buf, len);
        cr_assert_eq(sip_msg_parse(&m, two, 2 * len, SIP_PARSE_STREAM, NULL), (int)len);
        cr_assert_eq(sip_msg_parse(&m, two + len, len, SIP_PARSE_STREAM, NULL), (int)len);
        free(two);
        free(buf);
    }
}

/* A stream message needs Content-Length (RFC 3261 §20.14: "MUST be used with stream-oriented
 * transports"). */
Test(msg, stream_requires_content_length)
{
    const char *msg = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
                      "From: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\n"
                      "CSeq: 1 OPTIONS\r\n\r\n";
    cr_expect_eq(sip_msg_parse(&m, msg, strlen(msg), SIP_PARSE_STREAM, NULL), SIP_EBAD);
    cr_expect_eq(m.err, SIP_ERR_NO_CONTENT_LENGTH);
    cr_expect_gt(sip_msg_parse(&m, msg, strlen(msg), SIP_PARSE_DGRAM, NULL), 0);
}

/* Limits: size (513), header count and Via count each have their own code. */
Test(msg, limits)
{
    size_t len = 0;
    char *buf = corpus_read("sip/valid/rfc4475-longreq.sip", &len);
    struct sip_limits lim = {1024, SIP_MAX_HEADERS, SIP_MAX_VIA};
    cr_expect_eq(sip_msg_parse(&m, buf, len, SIP_PARSE_DGRAM, &lim), SIP_EBAD);
    cr_expect_eq(m.err, SIP_ERR_TOO_BIG);
    cr_expect_eq(sip_err_status(m.err), 513);
    lim = (struct sip_limits){65535, SIP_MAX_HEADERS, 10};
    cr_expect_eq(sip_msg_parse(&m, buf, len, SIP_PARSE_DGRAM, &lim), SIP_EBAD);
    cr_expect_eq(m.err, SIP_ERR_TOO_MANY_VIAS);
    lim = (struct sip_limits){65535, 20, SIP_MAX_VIA};
    cr_expect_eq(sip_msg_parse(&m, buf, len, SIP_PARSE_DGRAM, &lim), SIP_EBAD);
    cr_expect_eq(m.err, SIP_ERR_TOO_MANY_HEADERS);
    free(buf);
}

/* RFC 4475 §3.3.7 mcl01 and §3.3.9 multi01: duplicated single-valued headers are refused. */
Test(msg, duplicate_singletons)
{
    const char *msg = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                      "From: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCall-ID: d\r\n"
                      "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    cr_expect_eq(sip_msg_parse(&m, msg, strlen(msg), SIP_PARSE_DGRAM, NULL), SIP_EBAD);
    cr_expect_eq(m.err, SIP_ERR_DUPLICATE_HEADER);
}

/* tests/test_build.c: the iovec builder (RFC 3261 §16.6 edits, §16.7 step 3 Via removal). The
 * built message is flattened and parsed again, so every edit is checked by the real parser. */
#include <criterion/criterion.h>

#include "build.h"
#include "corpus_util.h"
#include "reply.h"

static struct sip_msg in, out;
static char flat[70000];

static bool eq(struct sip_str s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

static long finish_and_reparse(struct sip_build *b)
{
    long n = sip_build_finish(b);
    cr_assert_gt(n, 0);
    cr_assert_eq(sip_build_flatten(b->iov, b->iov_n, flat, sizeof(flat)), n);
    cr_assert_eq(sip_msg_parse(&out, flat, (size_t)n, SIP_PARSE_STREAM, NULL), n,
                 "rebuilt message does not parse: %s\n%.*s", sip_err_phrase(out.err), (int)n, flat);
    return n;
}

Test(build, untouched_message_is_byte_identical)
{
    size_t len = 0;
    char *buf = corpus_read("sip/bench/ok-rr.sip", &len);
    cr_assert_eq(sip_msg_parse(&in, buf, len, SIP_PARSE_DGRAM, NULL), (int)len);
    struct iovec iov[64];
    char scratch[512];
    struct sip_build b;
    sip_build_init(&b, &in, iov, 64, scratch, sizeof(scratch));
    long n = finish_and_reparse(&b);
    cr_expect_eq((size_t)n, len);
    cr_expect(memcmp(flat, buf, len) == 0);
    cr_expect_leq(b.iov_n, 3, "untouched bytes are referenced in few iovecs, got %zu", b.iov_n);
    free(buf);
}

Test(build, proxy_request_edits)
{
    size_t len = 0;
    char *buf = corpus_read("sip/bench/invite.sip", &len);
    cr_assert_gt(sip_msg_parse(&in, buf, len, SIP_PARSE_DGRAM, NULL), 0);
    struct iovec iov[64];
    char scratch[1024];
    struct sip_build b;
    sip_build_init(&b, &in, iov, 64, scratch, sizeof(scratch));
    sip_build_prepend(&b, sip_build_fmt(&b, "Record-Route: <sip:%s;lr>\r\n", "203.0.113.5"));
    sip_build_prepend(&b, SIP_STR_LIT("Via: SIP/2.0/UDP 203.0.113.5;branch=z9hG4bKnew1\r\n"));
    sip_build_replace(&b, sip_msg_first(&in, SIP_HDR_MAX_FORWARDS),
                      sip_build_fmt(&b, "Max-Forwards: %d\r\n", in.max_forwards - 1));
    sip_build_replace(&b, sip_msg_first(&in, SIP_HDR_CONTACT),
                      SIP_STR_LIT("Contact: <sip:alice@203.0.113.5:5060>\r\n"));
    const char *sdp = "v=0\r\no=- 1 1 IN IP4 203.0.113.5\r\ns=-\r\nc=IN IP4 203.0.113.5\r\n"
                      "t=0 0\r\nm=audio 30000 RTP/AVP 0\r\n";
    sip_build_body(&b, sip_str_make(sdp, strlen(sdp)));
    finish_and_reparse(&b);
    cr_expect_eq(out.via_count, 2);
    cr_expect(eq(out.via[0].branch, "z9hG4bKnew1"));
    cr_expect(
        eq(out.via[1].branch, in.via[0].branch.p ? "z9hG4bK-524287-1---77d1e3a9c0b2f4e5" : ""));
    cr_expect_eq(out.max_forwards, 69);
    cr_expect(eq(out.addr[sip_msg_first(&out, SIP_HDR_CONTACT)->item].uri.host, "203.0.113.5"));
    cr_expect(out.addr[sip_msg_first(&out, SIP_HDR_RECORD_ROUTE)->item].uri.has_lr);
    cr_expect_eq(out.content_length, strlen(sdp));
    cr_expect_eq(out.count[SIP_HDR_CONTENT_LENGTH], 1);
    cr_expect(eq(out.body, sdp));
    cr_expect(eq(out.call_id, "NjA1YTQ2ZTc4YjBiNGJmNmFhODJlNmRkMjE0YjE0NzU"));
    free(buf);
}

/* RFC 3261 §16.7 step 3: "The proxy removes the topmost Via header field value". Here the top
 * value shares its line with another, which must survive. */
Test(build, pop_via_from_a_shared_line)
{
    const char *msg = "SIP/2.0 180 Ringing\r\n"
                      "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1, "
                      "SIP/2.0/UDP p2.example.com;branch=z9hG4bKp2\r\n"
                      "Via: SIP/2.0/UDP ua.example.com;branch=z9hG4bKua\r\n"
                      "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\n"
                      "Call-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    cr_assert_gt(sip_msg_parse(&in, msg, strlen(msg), SIP_PARSE_DGRAM, NULL), 0);
    struct iovec iov[32];
    char scratch[256];
    struct sip_build b;
    sip_build_init(&b, &in, iov, 32, scratch, sizeof(scratch));
    sip_build_pop_via(&b);
    finish_and_reparse(&b);
    cr_assert_eq(out.via_count, 2);
    cr_expect(eq(out.via[0].host, "p2.example.com"));
    cr_expect(eq(out.via[1].host, "ua.example.com"));
}

Test(build, overflow_is_an_error_not_a_truncation)
{
    size_t len = 0;
    char *buf = corpus_read("sip/bench/register.sip", &len);
    cr_assert_gt(sip_msg_parse(&in, buf, len, SIP_PARSE_DGRAM, NULL), 0);
    struct iovec iov[2];
    char scratch[8];
    struct sip_build b;
    sip_build_init(&b, &in, iov, 2, scratch, sizeof(scratch));
    sip_build_prepend(&b, sip_build_fmt(&b, "Via: %s\r\n", "SIP/2.0/UDP too.long.for.scratch"));
    cr_expect_eq(sip_build_finish(&b), -1);
    free(buf);
}

/* RFC 3261 §8.2.6.2 and RFC 3581 §4: a local reply copies Via/From/To/Call-ID/CSeq, adds a To
 * tag, received, and fills in the requested rport. */
Test(reply, copies_dialog_fields_and_fills_rport)
{
    size_t len = 0;
    char *buf = corpus_read("sip/bench/register.sip", &len);
    cr_assert_gt(sip_msg_parse(&in, buf, len, SIP_PARSE_DGRAM, NULL), 0);
    struct sip_reply r = {.status = 200,
                          .phrase = "OK",
                          .to_tag = SIP_STR_LIT("abc"),
                          .received = SIP_STR_LIT("198.51.100.7"),
                          .rport = 40112};
    long n = sip_reply_build(&in, &r, flat, sizeof(flat));
    cr_assert_gt(n, 0);
    cr_assert_eq(sip_msg_parse(&out, flat, (size_t)n, SIP_PARSE_STREAM, NULL), n);
    cr_expect(!out.is_request && out.status == 200);
    cr_expect(eq(out.via[0].rport_value, "40112"));
    cr_expect(eq(out.via[0].received, "198.51.100.7"));
    cr_expect(eq(out.via[0].branch, "z9hG4bK-524287-1---a3c1b9e6d1f0a2b3"));
    cr_expect(eq(out.addr[out.to].tag, "abc"));
    cr_expect(eq(out.addr[out.from].tag, "9f2b6d1e"));
    cr_expect(out.cseq == 2 && eq(out.cseq_method, "REGISTER"));
    cr_expect_eq(sip_reply_build(&in, &r, flat, 40), -1);
    free(buf);
}

/* Every input a fuzzer found a bug with (corpus/sip/regress) still parses, and the reply
 * sipring builds to it parses again. fuzz_sip found two: a top Via with 32 parameters (among
 * them several received) got a 33rd, received; a To with 32 parameters and no tag got the tag
 * as a 33rd. Either reply no longer parsed. */
Test(reply, every_regression_input_gets_a_reply_that_parses)
{
    static char names[64][128];
    size_t count = corpus_list("sip/regress", names, 64);
    cr_assert_geq(count, 2, "the regression inputs are there");
    for (size_t i = 0; i < count; i++) {
        size_t len = 0;
        char *buf = corpus_read(names[i], &len);
        cr_assert_gt(sip_msg_parse(&in, buf, len, SIP_PARSE_DGRAM, NULL), 0, "%s", names[i]);
        struct sip_reply r = {.status = 200,
                              .phrase = "OK",
                              .to_tag = SIP_STR_LIT("t"),
                              .received = SIP_STR_LIT("192.0.2.1"),
                              .rport = 5060};
        long n = sip_reply_build(&in, &r, flat, sizeof(flat));
        cr_assert_gt(n, 0, "%s", names[i]);
        cr_expect_eq(sip_msg_parse(&out, flat, (size_t)n, SIP_PARSE_STREAM, NULL), n, "%s",
                     names[i]);
        free(buf);
    }
}

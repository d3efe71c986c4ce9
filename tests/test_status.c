/* tests/test_status.c: the JSON status pages (src/status.c): what a UA wrote into its Contact
 * comes out escaped (quotes, backslashes, control characters: RFC 8259 §7), a page that does
 * not fit is refused rather than cut, and the limit and offset of a query are bounded. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../src/metrics.h"
#include "../src/status.h"
#include "../src/call_record.h"

Test(status, contacts_are_escaped)
{
    struct sip_binding b;
    memset(&b, 0, sizeof(b));
    snprintf(b.aor, sizeof(b.aor), "alice@example.test");
    snprintf(b.contact, sizeof(b.contact), "sip:a\"b\\c\x01@10.0.0.1");
    cr_assert_eq(sip_peer_from_text(sip_str_make("10.0.0.1", 8), 5060, &b.received), 0);
    b.expires_at_ms = 61000;
    char out[2048];
    size_t n = status_render_registrations(out, sizeof(out), &b, 1, 1, 0, 1000);
    cr_assert_gt(n, 0);
    cr_expect(strstr(out, "\"contact\": \"sip:a\\\"b\\\\c\\u0001@10.0.0.1\"") != NULL, "%s", out);
    cr_expect(strstr(out, "\"flow\": \"udp:10.0.0.1:5060\"") != NULL, "%s", out);
    cr_expect(strstr(out, "\"expires_in\": 60") != NULL, "%s", out);
    cr_expect_eq(status_render_registrations(out, 40, &b, 1, 1, 0, 1000), 0,
                 "too small: refused, not cut");
}

Test(status, page_args_are_bounded)
{
    size_t limit, offset;
    status_page_args("", &limit, &offset);
    cr_expect(limit == 100 && offset == 0);
    status_page_args("limit=5&offset=7", &limit, &offset);
    cr_expect(limit == 5 && offset == 7);
    status_page_args("offset=3&limit=999999", &limit, &offset);
    cr_expect(limit == STATUS_LIMIT_MAX && offset == 3);
    status_page_args("limit=0&junk", &limit, &offset);
    cr_expect_eq(limit, 1);
}

/* An auth ban is in every worker's guard: /bans lists the address once, with the latest end
 * and the drops of all; a rate ban of another address beside it. */
Test(status, bans_merge_across_workers)
{
    static struct metrics_sample w[2];
    memset(w, 0, sizeof(w));
    struct sip_peer a, b;
    cr_assert_eq(sip_peer_from_text(sip_str_make("203.0.113.9", 11), 0, &a), 0);
    cr_assert_eq(sip_peer_from_text(sip_str_make("198.51.100.1", 12), 0, &b), 0);
    for (int i = 0; i < 2; i++) {
        w[i].nbans = 1;
        w[i].bans[0] = (struct guard_ban){.family = 4,
                                          .auth = true,
                                          .until_ms = 10000 + 2000 * (uint64_t)i,
                                          .dropped = 3 + (uint64_t)i};
        memcpy(w[i].bans[0].ip, a.ip, 16);
    }
    w[1].nbans = 2;
    w[1].bans[1] = (struct guard_ban){.family = 4, .until_ms = 4500, .dropped = 9};
    memcpy(w[1].bans[1].ip, b.ip, 16);
    char out[1024];
    size_t n = status_render_bans(out, sizeof(out), w, 2, 2000);
    cr_assert_gt(n, 0);
    cr_expect(strstr(out, "\"total\": 2") != NULL, "%s", out);
    cr_expect(strstr(out, "{\"ip\": \"203.0.113.9\", \"reason\": \"auth_failures\", "
                          "\"seconds_left\": 10, \"dropped\": 7}") != NULL,
              "%s", out);
    cr_expect(strstr(out, "{\"ip\": \"198.51.100.1\", \"reason\": \"rate_limit\", "
                          "\"seconds_left\": 3, \"dropped\": 9}") != NULL,
              "%s", out);
}

/* src/call_record.c: a record as JSON (escaped, nulls for what RTCP never said, wall-clock
 * times from monotonic ones) and as one log line whatever a peer wrote. */
static struct sip_call_record sample_record(void)
{
    struct sip_call_record r;
    memset(&r, 0, sizeof(r));
    struct sip_call *c = &r.call;
    memcpy(c->call_id, "a\"b", 3);
    c->call_id_len = 3;
    snprintf(c->from, sizeof(c->from), "al\x01ice@example.test");
    snprintf(c->to, sizeof(c->to), "bob@example.test");
    c->caller_inside = true;
    c->start_ms = 10000;
    c->ring_ms = 10200;
    c->answer_ms = 10500;
    c->status = 200;
    c->state = SIP_CALL_ANSWERED;
    r.nstreams = 1;
    snprintf(r.stream[0].codec, sizeof(r.stream[0].codec), "PCMA/8000");
    r.stream[0].dir[0] = (struct sip_call_dir){.packets = 50, .bytes = 8600};
    r.stream[0].dir[1] = (struct sip_call_dir){.packets = 49,
                                               .bytes = 8428,
                                               .quality_known = true,
                                               .loss_pct = 2,
                                               .jitter_ms = 12.5,
                                               .r_factor = 80,
                                               .mos = 4.02};
    r.stream[0].rtt_known = true;
    r.stream[0].rtt_ms = 42;
    return r;
}

Test(call_record, json_of_a_running_and_an_ended_call)
{
    struct sip_call_record r = sample_record();
    /* monotonic 20000 is 2026-12-01T12:00:00.000Z */
    struct call_clock clock = {20000, 1796126400000ull};
    char buf[4096];
    struct textbuf o = {buf, sizeof(buf), 0, false};
    call_record_json(&o, &r, &clock);
    cr_assert_gt(textbuf_len(&o), 0);
    cr_expect(strstr(buf, "\"call_id\": \"a\\\"b\"") != NULL, "%s", buf);
    cr_expect(strstr(buf, "\"from\": \"al\\u0001ice@example.test\"") != NULL, "%s", buf);
    cr_expect(strstr(buf, "\"start\": \"2026-12-01T11:59:50.000Z\"") != NULL, "%s", buf);
    cr_expect(strstr(buf, "\"state\": \"answered\"") && strstr(buf, "\"ring_ms\": 200") &&
                  strstr(buf, "\"setup_ms\": 500") && strstr(buf, "\"duration_s\": 9.500"),
              "%s", buf);
    cr_expect(strstr(buf, "\"end\"") == NULL, "a running call has no end: %s", buf);
    cr_expect(strstr(buf, "\"caller_to_callee\": {\"packets\": 50, \"bytes\": 8600, "
                          "\"loss_pct\": null") != NULL,
              "%s", buf);
    cr_expect(strstr(buf, "\"loss_pct\": 2.00, \"jitter_ms\": 12.5, \"r_factor\": 80.0, "
                          "\"mos\": 4.02") != NULL,
              "%s", buf);
    cr_expect(strstr(buf, "\"rtt_ms\": 42") != NULL, "%s", buf);
    r.call.state = SIP_CALL_ENDED;
    r.call.end = SIP_CALL_END_CALLEE;
    r.call.end_ms = 70500;
    o = (struct textbuf){buf, sizeof(buf), 0, false};
    call_record_json(&o, &r, &clock);
    cr_expect(strstr(buf, "\"duration_s\": 60.000") && strstr(buf, "\"ended_by\": \"callee\""),
              "%s", buf);
    o = (struct textbuf){buf, 100, 0, false};
    call_record_json(&o, &r, &clock);
    cr_expect_eq(textbuf_len(&o), 0u, "too small: refused whole");
}

Test(call_record, log_line_stays_one_printable_line)
{
    struct sip_call_record r = sample_record();
    r.call.state = SIP_CALL_ENDED;
    r.call.end = SIP_CALL_END_MEDIA_TIMEOUT;
    r.call.end_ms = 40500;
    r.call.to[3] = '\n';
    char line[1024];
    call_record_line(line, sizeof(line), &r);
    cr_expect(strchr(line, '\n') == NULL && strchr(line, '\x01') == NULL, "%s", line);
    cr_expect(strstr(line,
                     "from al?ice@example.test (inside) to bob?example.test (outside), "
                     "status 200, setup 0.500 s, duration 30.000 s, end: media timeout") != NULL,
              "%s", line);
    cr_expect(strstr(line, "stream 0 PCMA/8000 RTP rtt 42 ms:") != NULL, "%s", line);
    cr_expect(strstr(line, "callee->caller 49 packets 8428 bytes loss 2.0% jitter 12.5 ms R 80.0 "
                           "MOS 4.02;") != NULL,
              "%s", line);
    char small[40];
    call_record_line(small, sizeof(small), &r);
    cr_expect_eq(strlen(small), sizeof(small) - 1, "cut, still terminated");
}

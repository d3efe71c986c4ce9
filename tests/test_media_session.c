/* tests/test_media_session.c: the relay's session table (src/media_session.c, no sockets):
 * which leg an SDP comes from (by tag and direction, for offers in requests and answer-first
 * calls), the caps on unanswered calls per outside source and per callee and their release
 * once the other side answers, a full table, NO_CALL for a late 2xx, streams from the pool,
 * and a close that hands back every port and stream. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../src/media_session.h"

static struct msess_table t;

static void setup(void)
{
    cr_assert_eq(msess_table_init(&t, 8), 0);
}

static void teardown(void)
{
    msess_table_free(&t);
}

static struct sip_peer ip(const char *text)
{
    struct sip_peer p;
    cr_assert_eq(sip_peer_from_text(sip_str_make(text, strlen(text)), 5060, &p), 0);
    return p;
}

static struct sip_peer src;

/* msg: an SDP-carrying message of call `cid` with From tag `tag`, a request or a response */
static struct sip_media_msg msg(const char *cid, const char *tag, bool request, bool capped,
                                const char *callee)
{
    struct sip_media_msg mm;
    memset(&mm, 0, sizeof(mm));
    mm.call_id = sip_str_make(cid, strlen(cid));
    mm.from_tag = sip_str_make(tag, strlen(tag));
    mm.is_request = request;
    mm.may_create = true;
    mm.sender = &src;
    mm.sender_capped = capped;
    mm.callee = sip_str_make(callee, strlen(callee));
    return mm;
}

static void no_stream(void *ctx, struct mstream *ms)
{
    (void)ctx;
    (void)ms;
}

static void no_port(void *ctx, uint16_t port)
{
    (void)ctx;
    (void)port;
}

static struct msess *admit_ok(struct sip_media_msg *mm, bool *fresh)
{
    struct msess *s = NULL;
    cr_assert_eq(msess_admit(&t, mm, 2, 3, &s, fresh), MSESS_OK);
    cr_assert(s != NULL);
    return s;
}

Test(media_session, legs_follow_the_caller_tag_and_the_direction, .init = setup, .fini = teardown)
{
    src = ip("10.0.0.5");
    bool fresh;
    struct sip_media_msg offer = msg("c1", "alice", true, false, "");
    struct msess *s = admit_ok(&offer, &fresh);
    cr_expect(fresh);
    cr_expect_eq(msess_leg(&t, s, &offer, fresh), 0, "the INVITE's offer: the caller's leg");
    struct sip_media_msg answer = msg("c1", "alice", false, false, "");
    cr_expect_eq(admit_ok(&answer, &fresh), s);
    cr_expect(!fresh);
    cr_expect_eq(msess_leg(&t, s, &answer, fresh), 1, "its 200: the callee's");
    struct sip_media_msg reinvite = msg("c1", "bob", true, false, "");
    cr_expect_eq(msess_leg(&t, s, &reinvite, false), 1, "a re-INVITE from the callee");
    struct sip_media_msg back = msg("c1", "bob", false, false, "");
    cr_expect_eq(msess_leg(&t, s, &back, false), 0, "its answer, from the caller");
    /* answer-first: the session made by a 2xx with the offer (a late-offer INVITE) */
    struct sip_media_msg late = msg("c2", "carol", false, false, "");
    struct msess *s2 = admit_ok(&late, &fresh);
    cr_expect_eq(msess_leg(&t, s2, &late, fresh), 1, "the 2xx comes from the callee");
    struct sip_media_msg ack = msg("c2", "carol", true, false, "");
    cr_expect_eq(msess_leg(&t, s2, &ack, false), 0, "the ACK's answer from the caller");
}

Test(media_session, unanswered_calls_are_capped_per_source_until_answered, .init = setup,
     .fini = teardown)
{
    src = ip("203.0.113.9");
    bool fresh;
    struct msess *s[2];
    struct sip_media_msg a = msg("a", "x", true, true, "u1@x"),
                         b = msg("b", "x", true, true, "u2@x"),
                         c = msg("c", "x", true, true, "u3@x");
    s[0] = admit_ok(&a, &fresh);
    msess_leg(&t, s[0], &a, fresh);
    s[1] = admit_ok(&b, &fresh);
    msess_leg(&t, s[1], &b, fresh);
    struct msess *none = NULL;
    cr_expect_eq(msess_admit(&t, &c, 2, 3, &none, &fresh), MSESS_SOURCE_CAPPED,
                 "--max-source-calls 2: the third unanswered call is refused");
    src = ip("203.0.113.10");
    cr_expect_eq(msess_admit(&t, &c, 2, 3, &none, &fresh), MSESS_OK, "another source is not");
    src = ip("203.0.113.9");
    /* the callee of "a" answers: that call no longer counts */
    struct sip_media_msg ans = msg("a", "x", false, false, "");
    msess_leg(&t, s[0], &ans, false);
    struct sip_media_msg d = msg("d", "x", true, true, "u4@x");
    cr_expect_eq(msess_admit(&t, &d, 2, 3, &none, &fresh), MSESS_OK, "room again once answered");
    struct sip_media_msg e = msg("e", "x", true, true, "u5@x");
    cr_expect_eq(msess_admit(&t, &e, 2, 3, &none, &fresh), MSESS_SOURCE_CAPPED,
                 "b and d unanswered: capped again");
    /* closing a call releases its count too */
    msess_close(&t, s[1], no_stream, no_port, NULL);
    cr_expect_eq(msess_admit(&t, &e, 2, 3, &none, &fresh), MSESS_OK);
}

Test(media_session, a_callee_is_capped_across_sources, .init = setup, .fini = teardown)
{
    bool fresh;
    struct msess *s = NULL;
    char cid[8][8];
    int ok = 0, capped = 0;
    for (int i = 0; i < 6; i++) {
        char addr[32];
        snprintf(addr, sizeof(addr), "203.0.113.%d", 20 + i); /* one call per source */
        src = ip(addr);
        snprintf(cid[i], sizeof(cid[i]), "k%d", i);
        struct sip_media_msg m = msg(cid[i], "x", true, true, "Phone@Example.Test");
        enum msess_admit r = msess_admit(&t, &m, 2, 3, &s, &fresh);
        ok += r == MSESS_OK;
        capped += r == MSESS_CALLEE_CAPPED;
        if (r == MSESS_OK) {
            msess_leg(&t, s, &m, fresh);
        }
    }
    cr_expect_eq(ok, 3, "--max-callee-calls 3 (got %d)", ok);
    cr_expect_eq(capped, 3);
    /* the refused ones were not counted against their sources: each may call someone else */
    src = ip("203.0.113.25");
    struct sip_media_msg other = msg("k9", "x", true, true, "other@example.test");
    cr_expect_eq(msess_admit(&t, &other, 1, 3, &s, &fresh), MSESS_OK);
    /* the inside (not capped) is not limited by either */
    src = ip("10.0.0.7");
    struct sip_media_msg inside = msg("k10", "x", true, false, "phone@example.test");
    cr_expect_eq(msess_admit(&t, &inside, 2, 3, &s, &fresh), MSESS_OK);
}

Test(media_session, a_full_table_and_a_late_2xx, .init = setup, .fini = teardown)
{
    src = ip("10.0.0.5");
    bool fresh;
    struct msess *s = NULL;
    char cid[10][8];
    for (int i = 0; i < 8; i++) {
        snprintf(cid[i], sizeof(cid[i]), "f%d", i);
        struct sip_media_msg m = msg(cid[i], "x", true, false, "");
        cr_assert_eq(msess_admit(&t, &m, 0, 0, &s, &fresh), MSESS_OK);
    }
    struct sip_media_msg ninth = msg("f8", "x", true, false, "");
    cr_expect_eq(msess_admit(&t, &ninth, 0, 0, &s, &fresh), MSESS_FULL);
    struct sip_media_msg late = msg("gone", "x", false, false, "");
    late.may_create = false;
    cr_expect_eq(msess_admit(&t, &late, 0, 0, &s, &fresh), MSESS_NO_CALL,
                 "a 2xx that outlived its call opens nothing");
    char longid[MSESS_CALLID_MAX + 2];
    memset(longid, 'z', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    msess_close(&t, msess_find(&t, sip_str_make("f0", 2)), no_stream, no_port, NULL);
    struct sip_media_msg big = msg(longid, "x", true, false, "");
    cr_expect_eq(msess_admit(&t, &big, 0, 0, &s, &fresh), MSESS_FULL, "a Call-ID too long to keep");
    cr_expect_eq(msess_admit(&t, &ninth, 0, 0, &s, &fresh), MSESS_OK, "the closed slot is reused");
}

static unsigned ports_back, streams_back;
static uint16_t port_seen[8];

static void count_stream(void *ctx, struct mstream *ms)
{
    (void)ctx;
    (void)ms;
    streams_back++;
}

static void count_port(void *ctx, uint16_t port)
{
    (void)ctx;
    port_seen[ports_back++ % 8] = port;
}

Test(media_session, close_hands_back_every_port_and_stream, .init = setup, .fini = teardown)
{
    src = ip("10.0.0.5");
    bool fresh;
    struct sip_media_msg m = msg("p", "x", true, false, "");
    struct msess *s = admit_ok(&m, &fresh);
    cr_assert_geq(msess_stream(&t, s, 0), 0);
    cr_assert_geq(msess_stream(&t, s, 1), 0);
    cr_expect_eq(msess_stream(&t, s, 0), s->st[0], "a stream it has is kept");
    s->port[0][0] = 30000;
    s->port[0][1] = 30002;
    s->port[1][1] = 30004;
    s->nstreams = 2;
    t.streams[s->st[0]].st.leg[0].rx_packets = 5;
    t.streams[s->st[1]].st.leg[1].dropped_stranger = 2;
    t.streams[s->st[1]].st.leg[1].last_rx_ms = 9000;
    s->touched_ms = 1000;
    cr_expect_eq(msess_last_activity(&t, s), 9000);
    ports_back = streams_back = 0;
    struct msess_totals tot = msess_close(&t, s, count_stream, count_port, NULL);
    cr_expect_eq(streams_back, 2);
    cr_expect_eq(ports_back, 3);
    cr_expect(port_seen[0] == 30000 && port_seen[1] == 30002 && port_seen[2] == 30004);
    cr_expect(tot.relayed == 5 && tot.strangers == 2);
    cr_expect(msess_find(&t, sip_str_make("p", 1)) == NULL);
    cr_expect_eq(t.open, 0);
}

/* tests/test_auth_nonce.c: the digest checker of src/auth.c (no I/O: it is handed the message
 * and the time) against its own client side (auth_client, as the trunk uses it): a challenge,
 * credentials that pass, a replayed nc, a nonce past AUTH_NONCE_S and one made by another
 * worker (both "stale=true", RFC 7616 §3.3), a forged nonce (a failure, not stale), an AOR that
 * is not the account's (403), and the account lock after --max-auth-failures, doubling, lifted
 * by time. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../src/auth.h"
#include "../tls/tls.h"
#include "msg.h"

static struct auth_users *users;
static struct auth_checker *w0, *w1;
static const uint8_t key[32] = "a key for the nonces of the test";
static char users_path[64];

static void setup(void)
{
    cr_assert_eq(tls_lib_init(), 0);
    snprintf(users_path, sizeof(users_path), "/tmp/test_auth_nonce.XXXXXX");
    int fd = mkstemp(users_path);
    cr_assert(fd >= 0);
    char ha1[33];
    struct tls_bytes a1[3] = {{"alice", 5}, {"example.test", 12}, {"wonderland", 10}};
    tls_digest_hex(false, a1, 3, ha1);
    char line[256];
    int n = snprintf(line, sizeof(line), "alice:example.test:%s\nbob:example.test:%s\n", ha1, ha1);
    cr_assert_eq(write(fd, line, (size_t)n), n);
    close(fd);
    users = auth_users_load(users_path);
    cr_assert(users != NULL);
    w0 = auth_checker_new(users, key, 0, 3);
    w1 = auth_checker_new(users, key, 1, 3);
}

static void teardown(void)
{
    auth_checker_free(w0);
    auth_checker_free(w1);
    auth_users_free(users);
    unlink(users_path);
}

static struct sip_msg m;
static char text[4096];

/* reg: a REGISTER for `aor_user`, with Authorization `auth` ("" for none), parsed into m */
static const struct sip_msg *reg(const char *aor_user, const char *auth)
{
    int n = snprintf(
        text, sizeof(text),
        "REGISTER sip:example.test SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bKa\r\n"
        "From: <sip:%s@example.test>;tag=1\r\nTo: <sip:%s@example.test>\r\n"
        "Call-ID: n@x\r\nCSeq: 1 REGISTER\r\nContact: <sip:%s@10.0.0.5>\r\n"
        "%s%s%sContent-Length: 0\r\n\r\n",
        aor_user, aor_user, aor_user, auth[0] ? "Authorization: " : "", auth,
        auth[0] ? "\r\n" : "");
    cr_assert_gt(sip_msg_parse(&m, text, (size_t)n, SIP_PARSE_STREAM, NULL), 0);
    return &m;
}

static enum sip_auth_result check(struct auth_checker *c, const struct sip_msg *msg, uint64_t now,
                                  char *out, size_t cap)
{
    struct sip_auth *a = auth_checker_iface(c);
    return a->ops->check(a->self, msg, false, "example.test", now, out, cap);
}

/* challenge_of: the first WWW-Authenticate value in hdrs, parsed (slices into hdrs) */
static struct sip_digest challenge_of(char *hdrs)
{
    char *v = strstr(hdrs, "WWW-Authenticate: ");
    cr_assert(v != NULL, "%s", hdrs);
    v += strlen("WWW-Authenticate: ");
    char *end = strstr(v, "\r\n");
    struct sip_digest d;
    cr_assert_eq(sip_digest_parse(sip_str_make(v, (size_t)(end - v)), &d), 0);
    return d;
}

/* credentials: what the client side answers to the challenge in hdrs */
static void credentials(char *hdrs, const char *user, const char *password, char *out, size_t cap)
{
    struct sip_digest ch = challenge_of(hdrs);
    struct auth_client *cl = auth_client_new(user, password);
    struct sip_credentials *cr = auth_client_iface(cl);
    long n = cr->ops->answer(cr->self, &ch, sip_str_make("REGISTER", 8),
                             sip_str_make("sip:example.test", 16), out, cap);
    cr_assert_gt(n, 0);
    auth_client_free(cl);
}

Test(auth_nonce, challenge_then_pass_then_replay_refused, .init = setup, .fini = teardown)
{
    char hdrs[1024], cred[1024];
    cr_assert_eq(check(w0, reg("alice", ""), 1000, hdrs, sizeof(hdrs)), SIP_AUTH_CHALLENGE);
    cr_expect(strstr(hdrs, "algorithm=MD5") != NULL, "MD5 only: alice has no SHA-256 HA1");
    cr_expect(strstr(hdrs, "stale") == NULL);
    credentials(hdrs, "alice", "wonderland", cred, sizeof(cred));
    cr_expect_eq(check(w0, reg("alice", cred), 2000, hdrs, sizeof(hdrs)), SIP_AUTH_OK);
    cr_expect_eq(check(w0, reg("alice", cred), 3000, hdrs, sizeof(hdrs)), SIP_AUTH_FAILED,
                 "the same nonce count again is a replay");
}

Test(auth_nonce, an_old_nonce_or_another_workers_is_stale, .init = setup, .fini = teardown)
{
    char hdrs[1024], cred[1024], again[1024];
    cr_assert_eq(check(w0, reg("alice", ""), 1000, hdrs, sizeof(hdrs)), SIP_AUTH_CHALLENGE);
    credentials(hdrs, "alice", "wonderland", cred, sizeof(cred));
    /* the right password under a nonce from worker 0, checked by worker 1: its nc table does
     * not know the nonce, so it asks again, saying the credentials were fine (stale) */
    cr_expect_eq(check(w1, reg("alice", cred), 1500, again, sizeof(again)), SIP_AUTH_CHALLENGE);
    cr_expect(strstr(again, "stale=true") != NULL, "%s", again);
    /* past AUTH_NONCE_S the same credentials are stale on their own worker too */
    uint64_t late = 1000 + (uint64_t)AUTH_NONCE_S * 1000 + 1;
    cr_expect_eq(check(w0, reg("alice", cred), late, again, sizeof(again)), SIP_AUTH_CHALLENGE);
    cr_expect(strstr(again, "stale=true") != NULL, "%s", again);
    /* and the fresh nonce of that challenge works */
    credentials(again, "alice", "wonderland", cred, sizeof(cred));
    cr_expect_eq(check(w0, reg("alice", cred), late + 10, hdrs, sizeof(hdrs)), SIP_AUTH_OK);
}

Test(auth_nonce, a_forged_nonce_fails_and_is_not_stale, .init = setup, .fini = teardown)
{
    char hdrs[1024], cred[1024];
    cr_assert_eq(check(w0, reg("alice", ""), 1000, hdrs, sizeof(hdrs)), SIP_AUTH_CHALLENGE);
    char *nonce = strstr(hdrs, "nonce=\"");
    cr_assert(nonce != NULL);
    nonce[7] = nonce[7] == 'A' ? 'B' : 'A'; /* one character of the nonce changed */
    credentials(hdrs, "alice", "wonderland", cred, sizeof(cred));
    cr_expect_eq(check(w0, reg("alice", cred), 2000, hdrs, sizeof(hdrs)), SIP_AUTH_FAILED);
    cr_expect(strstr(hdrs, "stale=true") == NULL, "a nonce we did not make is not stale");
}

Test(auth_nonce, an_account_registers_only_its_own_aor, .init = setup, .fini = teardown)
{
    char hdrs[1024], cred[1024];
    cr_assert_eq(check(w0, reg("bob", ""), 1000, hdrs, sizeof(hdrs)), SIP_AUTH_CHALLENGE);
    credentials(hdrs, "alice", "wonderland", cred, sizeof(cred));
    cr_expect_eq(check(w0, reg("bob", cred), 2000, hdrs, sizeof(hdrs)), SIP_AUTH_FORBIDDEN);
}

Test(auth_nonce, failures_lock_the_account_for_ten_seconds_then_twenty, .init = setup,
     .fini = teardown)
{
    char hdrs[1024], cred[1024];
    uint64_t now = 1000;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 4; i++) { /* the fourth is "more than 3": it locks */
            cr_assert_eq(check(w0, reg("alice", ""), now, hdrs, sizeof(hdrs)), SIP_AUTH_CHALLENGE);
            credentials(hdrs, "alice", "guess", cred, sizeof(cred));
            cr_expect_eq(
                check(w1 /* any worker counts */, reg("alice", cred), now + 1, hdrs, sizeof(hdrs)),
                SIP_AUTH_FAILED, "round %d guess %d", round, i);
            now += 10;
        }
        cr_assert_eq(check(w0, reg("alice", ""), now, hdrs, sizeof(hdrs)), SIP_AUTH_CHALLENGE);
        credentials(hdrs, "alice", "guess", cred, sizeof(cred));
        cr_expect_eq(check(w0, reg("alice", cred), now, hdrs, sizeof(hdrs)), SIP_AUTH_LOCKED_WRONG,
                     "round %d: the fifth guess meets the lock", round);
        cr_assert_eq(check(w0, reg("alice", ""), now, hdrs, sizeof(hdrs)), SIP_AUTH_CHALLENGE);
        credentials(hdrs, "alice", "wonderland", cred, sizeof(cred));
        cr_expect_eq(check(w0, reg("alice", cred), now + 1, hdrs, sizeof(hdrs)), SIP_AUTH_LOCKED,
                     "round %d: the right password waits too", round);
        uint64_t lock_ms = round == 0 ? 10000 : 20000;
        if (round == 1) { /* the second lock is twice the first: still on after 10 s */
            cr_assert_eq(check(w0, reg("alice", ""), now + 10100, hdrs, sizeof(hdrs)),
                         SIP_AUTH_CHALLENGE);
            credentials(hdrs, "alice", "wonderland", cred, sizeof(cred));
            cr_expect_eq(check(w0, reg("alice", cred), now + 10101, hdrs, sizeof(hdrs)),
                         SIP_AUTH_LOCKED, "the second lock lasts 20 s");
        }
        now += lock_ms + 100; /* the lock has run out (and the minute's count with it) */
        now += 60000;
    }
    cr_assert_eq(check(w0, reg("alice", ""), now, hdrs, sizeof(hdrs)), SIP_AUTH_CHALLENGE);
    credentials(hdrs, "alice", "wonderland", cred, sizeof(cred));
    cr_expect_eq(check(w0, reg("alice", cred), now + 1, hdrs, sizeof(hdrs)), SIP_AUTH_OK);
}

/* A reload's new users file keeps the lock (auth_users_carry). */
Test(auth_nonce, a_reloaded_users_file_keeps_the_lock, .init = setup, .fini = teardown)
{
    char hdrs[1024], cred[1024];
    for (int i = 0; i < 5; i++) {
        check(w0, reg("alice", ""), 1000, hdrs, sizeof(hdrs));
        credentials(hdrs, "alice", "guess", cred, sizeof(cred));
        check(w0, reg("alice", cred), 1001 + (uint64_t)i, hdrs, sizeof(hdrs));
    }
    struct auth_users *next = auth_users_load(users_path);
    cr_assert(next != NULL);
    auth_users_carry(next, users);
    auth_checker_set_users(w0, next, 3);
    check(w0, reg("alice", ""), 2000, hdrs, sizeof(hdrs));
    credentials(hdrs, "alice", "wonderland", cred, sizeof(cred));
    cr_expect_eq(check(w0, reg("alice", cred), 2001, hdrs, sizeof(hdrs)), SIP_AUTH_LOCKED);
    auth_checker_set_users(w0, users, 3);
    auth_users_free(next);
}

/* Many clients at once: each of 2,000 nonces, made a millisecond apart and all live, verifies
 * on first use and never again. The nc table once kept one nonce per hash slot and asked a
 * client whose nonce found its slot taken to start again (about 120 of these 2,000; SIPp then
 * waits forever, as a 407 it has seen counts as a retransmission). */
Test(auth_nonce, two_thousand_live_nonces_each_pass_once, .init = setup, .fini = teardown)
{
    static char creds[2000][1024];
    char hdrs[1024];
    for (int i = 0; i < 2000; i++) {
        cr_assert_eq(check(w0, reg("alice", ""), 1000 + (uint64_t)i, hdrs, sizeof(hdrs)),
                     SIP_AUTH_CHALLENGE);
        credentials(hdrs, "alice", "wonderland", creds[i], sizeof(creds[i]));
    }
    int ok = 0, replayed = 0;
    for (int i = 0; i < 2000; i++) {
        ok += check(w0, reg("alice", creds[i]), 5000 + (uint64_t)i, hdrs, sizeof(hdrs)) ==
              SIP_AUTH_OK;
    }
    for (int i = 0; i < 2000; i++) {
        replayed += check(w0, reg("alice", creds[i]), 9000 + (uint64_t)i, hdrs, sizeof(hdrs)) ==
                    SIP_AUTH_OK;
    }
    cr_expect_eq(ok, 2000, "%d of 2000 first uses passed", ok);
    cr_expect_eq(replayed, 0, "%d of 2000 replays passed", replayed);
}

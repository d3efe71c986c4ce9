/* tests/test_state_store.c: src/state.c against a real SQLite file in a fresh folder: what the
 * wrapper journals comes back at the next open, field by field, with its expiry carried across
 * the clocks; removals (one contact, or every contact of an AOR) stay removed; expired rows are
 * dropped at load; a stream binding comes back with its flow failed; a second open of the same
 * folder is refused; a file that is not a store is an error, or set aside with recover. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../src/state.h"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/test_state_store.XXXXXX");
    cr_assert(mkdtemp(dir) != NULL);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

static struct sip_binding binding(const char *aor, const char *contact, uint8_t transport,
                                  uint64_t expires_at)
{
    struct sip_binding b;
    memset(&b, 0, sizeof(b));
    snprintf(b.aor, sizeof(b.aor), "%s", aor);
    snprintf(b.contact, sizeof(b.contact), "%s", contact);
    snprintf(b.path, sizeof(b.path), "<sip:10.0.0.1;lr>");
    snprintf(b.call_id, sizeof(b.call_id), "c-%s", contact);
    b.cseq = 7;
    b.q_milli = 500;
    cr_assert_eq(sip_peer_from_text(sip_str_make("192.0.2.9", 9), 40123, &b.received), 0);
    b.received.transport = transport;
    b.behind_nat = true;
    b.outbound = transport != SIP_TP_UDP;
    b.expires_at_ms = expires_at;
    return b;
}

/* now_ms of the monotonic clock, as the proxies see it */
static uint64_t mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* reopen: the store closed (its last changes written), opened again and loaded into a new
 * memory store at monotonic time `later` (a new process' clock); returns the loaded count */
static long reopen(struct sip_location **mem, uint64_t later)
{
    char err[256];
    struct state_store *s = state_open(dir, false, err, sizeof(err));
    cr_assert(s != NULL, "%s", err);
    *mem = sip_location_mem_new(64);
    long n = state_load(s, *mem, later, wall(), err, sizeof(err));
    cr_assert_geq(n, 0, "%s", err);
    state_close(s);
    return n;
}

/* start_store: the folder's store opened, a memory store wrapped in it, the writer started */
static struct state_store *start_store(struct sip_location **mem, struct sip_location **loc)
{
    char err[256];
    struct state_store *s = state_open(dir, false, err, sizeof(err));
    cr_assert(s != NULL, "%s", err);
    *mem = sip_location_mem_new(64);
    *loc = state_wrap(s, *mem);
    cr_assert_eq(state_start(s), 0);
    return s;
}

Test(state_store, bindings_come_back_field_by_field, .init = setup, .fini = teardown)
{
    struct sip_location *mem, *loc;
    struct state_store *s = start_store(&mem, &loc);
    uint64_t now = mono();
    struct sip_binding a =
        binding("alice@example.test", "sip:alice@192.168.1.5", SIP_TP_UDP, now + 600000);
    struct sip_binding t =
        binding("bob@example.test", "sip:bob@192.168.1.6;transport=tcp", SIP_TP_TCP, now + 600000);
    struct sip_binding gone =
        binding("carol@example.test", "sip:carol@192.168.1.7", SIP_TP_UDP, now + 600000);
    struct sip_binding old =
        binding("dave@example.test", "sip:dave@192.168.1.8", SIP_TP_UDP, now + 300);
    cr_assert_eq(loc->ops->save(loc->self, &a), 0);
    cr_assert_eq(loc->ops->save(loc->self, &t), 0);
    cr_assert_eq(loc->ops->save(loc->self, &gone), 0);
    cr_assert_eq(loc->ops->save(loc->self, &old), 0);
    loc->ops->remove(loc->self, "carol@example.test", NULL);
    state_close(s);
    sip_location_mem_free(mem);
    usleep(400 * 1000); /* dave's 300 ms run out */

    /* a new process: its monotonic clock starts elsewhere (here: 5,000 s later) */
    uint64_t later = mono() + 5000000;
    cr_expect_eq(reopen(&mem, later), 2, "alice and bob; carol removed, dave expired");
    struct sip_binding got;
    cr_assert_eq(mem->ops->find(mem->self, a.aor, a.contact, later, &got), 0);
    cr_expect_str_eq(got.path, a.path);
    cr_expect_str_eq(got.call_id, a.call_id);
    cr_expect_eq(got.cseq, 7);
    cr_expect_eq(got.q_milli, 500);
    cr_expect(sip_peer_eq(&got.received, &a.received));
    cr_expect_eq(got.received.transport, SIP_TP_UDP);
    cr_expect(got.behind_nat);
    cr_expect(!got.flow_failed, "a UDP flow is reached at once");
    /* about 600 s - 0.4 s left, on the new clock */
    cr_expect(got.expires_at_ms > later + 590000 && got.expires_at_ms <= later + 600000,
              "%llu ms left", (unsigned long long)(got.expires_at_ms - later));
    cr_assert_eq(mem->ops->find(mem->self, t.aor, t.contact, later, &got), 0);
    cr_expect(got.flow_failed, "the TCP connection died with the process (RFC 5626 5.3)");
    cr_expect(got.outbound);
    cr_expect_neq(mem->ops->find(mem->self, gone.aor, gone.contact, later, &got), 0);
    sip_location_mem_free(mem);
}

Test(state_store, a_refresh_and_a_single_remove_are_written, .init = setup, .fini = teardown)
{
    struct sip_location *mem, *loc;
    struct state_store *s = start_store(&mem, &loc);
    uint64_t now = mono();
    struct sip_binding a =
        binding("alice@example.test", "sip:alice@192.168.1.5", SIP_TP_UDP, now + 60000);
    struct sip_binding a2 =
        binding("alice@example.test", "sip:alice@192.168.1.99", SIP_TP_UDP, now + 60000);
    cr_assert_eq(loc->ops->save(loc->self, &a), 0);
    cr_assert_eq(loc->ops->save(loc->self, &a2), 0);
    usleep(300 * 1000); /* the writer has written both */
    a.cseq = 8;
    a.expires_at_ms = now + 3600000;
    cr_assert_eq(loc->ops->save(loc->self, &a), 0);
    loc->ops->remove(loc->self, a2.aor, a2.contact);
    state_close(s);
    sip_location_mem_free(mem);

    uint64_t later = mono();
    cr_expect_eq(reopen(&mem, later), 1);
    struct sip_binding got;
    cr_assert_eq(mem->ops->find(mem->self, a.aor, a.contact, later, &got), 0);
    cr_expect_eq(got.cseq, 8, "the refresh replaced the row");
    cr_expect(got.expires_at_ms > later + 3500000);
    cr_expect_neq(mem->ops->find(mem->self, a2.aor, a2.contact, later, &got), 0);
    sip_location_mem_free(mem);
}

Test(state_store, one_folder_one_instance, .init = setup, .fini = teardown)
{
    char err[256];
    struct state_store *s = state_open(dir, false, err, sizeof(err));
    cr_assert(s != NULL, "%s", err);
    cr_expect(state_open(dir, false, err, sizeof(err)) == NULL);
    cr_expect(strstr(err, "in use by another sipring") != NULL, "%s", err);
    state_close(s);
    s = state_open(dir, false, err, sizeof(err));
    cr_expect(s != NULL, "free again once closed: %s", err);
    state_close(s);
}

Test(state_store, a_file_that_is_not_a_store, .init = setup, .fini = teardown)
{
    char path[128], err[256];
    snprintf(path, sizeof(path), "%s/state.db", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f != NULL);
    for (int i = 0; i < 8192; i++) {
        fputc((i * 7919) & 0xff, f);
    }
    fclose(f);
    cr_expect(state_open(dir, false, err, sizeof(err)) == NULL);
    cr_expect(strstr(err, "state.db") != NULL && strstr(err, "--state-recover") != NULL, "%s", err);
    struct state_store *s = state_open(dir, true, err, sizeof(err));
    cr_assert(s != NULL, "recover: %s", err);
    char aside[160];
    snprintf(aside, sizeof(aside), "%s.corrupt", path);
    struct stat st;
    cr_expect_eq(stat(aside, &st), 0, "the bad file is kept for a look");
    struct sip_location *mem = sip_location_mem_new(4);
    cr_expect_eq(state_load(s, mem, mono(), wall(), err, sizeof(err)), 0);
    state_close(s);
    sip_location_mem_free(mem);
}

/* tests/test_tls_conn.c: TLS connections over BIO pairs (tls/conn.c), two ends wired to each
 * other in memory, no socket: the handshake and data both ways, the server's chain and name
 * checked by the client (a domain by SNI and name, an IP literal by IP and without SNI), client
 * certificates, client-side session resumption, plaintext held until the handshake is done,
 * garbage refused, and a context that outlives the reload that replaced it.
 *
 * The certificates come from tests/tls_certs.sh (TLS_CERTS_SH), made fresh in a temporary
 * folder once per run. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "tls.h"

static char dir[64];

static void make_certs(void)
{
    if (dir[0] != '\0') {
        return;
    }
    const char *sh = getenv("TLS_CERTS_SH");
    cr_assert(sh != NULL, "TLS_CERTS_SH names tests/tls_certs.sh");
    snprintf(dir, sizeof(dir), "/tmp/test_tls_conn.XXXXXX");
    cr_assert(mkdtemp(dir) != NULL);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "bash '%s' '%s'", sh, dir);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    cr_assert_eq(tls_lib_init(), 0);
}

static void remove_certs(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(tls_conn, .init = make_certs, .fini = remove_certs);

static const char *path(const char *name)
{
    static char p[8][128];
    static unsigned n;
    char *out = p[n++ % 8];
    snprintf(out, 128, "%s/%s", dir, name);
    return out;
}

/* ctx: a context with cert NAME (NULL: none) and CA (NULL: none). */
static struct tls_ctx *ctx(const char *cert, const char *ca, enum tls_client_auth auth)
{
    char key[64] = "";
    if (cert != NULL) {
        snprintf(key, sizeof(key), "%.*s.key",
                 (int)(strchr(cert, '-') ? strchr(cert, '-') - cert : strchr(cert, '.') - cert),
                 cert);
    }
    struct tls_ctx_cfg cfg = {cert ? path(cert) : NULL, cert ? path(key) : NULL,
                              ca ? path(ca) : NULL, auth, true};
    char err[300] = "";
    struct tls_ctx *x = tls_ctx_new(&cfg, err, sizeof(err));
    cr_assert(x != NULL, "tls_ctx_new: %s", err);
    return x;
}

/* One end: what it emitted (ciphertext for the other end) and what it received (plaintext). */
struct end {
    struct tls_conn *c;
    char wire[65536];
    size_t wire_len;
    char got[4096];
    size_t got_len;
};

static void on_emit(void *p, const void *b, size_t n)
{
    struct end *e = p;
    cr_assert(e->wire_len + n <= sizeof(e->wire));
    memcpy(e->wire + e->wire_len, b, n);
    e->wire_len += n;
}

static void on_deliver(void *p, const void *b, size_t n)
{
    struct end *e = p;
    cr_assert(e->got_len + n <= sizeof(e->got));
    memcpy(e->got + e->got_len, b, n);
    e->got_len += n;
}

static struct tls_io io_of(struct end *e)
{
    return (struct tls_io){on_emit, on_deliver, e};
}

/* pump: carries each end's ciphertext to the other until neither has any; returns 0, or -1
 * as soon as one end refuses its input (the other then sees nothing more). */
static int pump(struct end *a, struct end *b)
{
    for (int round = 0; round < 50; round++) {
        if (a->wire_len == 0 && b->wire_len == 0) {
            return 0;
        }
        struct end *from = a->wire_len > 0 ? a : b, *to = from == a ? b : a;
        char buf[sizeof(from->wire)];
        size_t n = from->wire_len;
        memcpy(buf, from->wire, n);
        from->wire_len = 0;
        if (tls_conn_input(to->c, buf, n) != 0) {
            return -1;
        }
    }
    cr_assert_fail("the handshake does not settle");
    return -1;
}

/* connect_pair: a client of cctx to `name` and a server of sctx, pumped to the end. */
static int connect_pair(struct tls_ctx *cctx, struct tls_ctx *sctx, const char *name,
                        struct end *cl, struct end *sv)
{
    memset(cl, 0, sizeof(*cl));
    memset(sv, 0, sizeof(*sv));
    sv->c = tls_conn_new(sctx, NULL, io_of(sv));
    cl->c = tls_conn_new(cctx, name, io_of(cl));
    cr_assert(cl->c != NULL && sv->c != NULL);
    return pump(cl, sv);
}

static void free_pair(struct end *cl, struct end *sv)
{
    tls_conn_free(cl->c);
    tls_conn_free(sv->c);
}

Test(tls_conn, handshake_then_data_both_ways_with_sni)
{
    struct tls_ctx *sctx = ctx("sipring-chain.pem", NULL, TLS_CLIENT_AUTH_OFF);
    struct tls_ctx *cctx = ctx(NULL, "rootca.pem", TLS_CLIENT_AUTH_OFF);
    struct end cl, sv;
    cr_assert_eq(connect_pair(cctx, sctx, "sipring.test", &cl, &sv), 0, "%s", tls_conn_error(cl.c));
    cr_assert(tls_conn_ready(cl.c) && tls_conn_ready(sv.c));
    cr_assert_str_eq(tls_conn_server_name(sv.c), "sipring.test");
    cr_assert_eq(tls_conn_write(cl.c, "OPTIONS", 7), 0);
    cr_assert_eq(pump(&cl, &sv), 0);
    cr_assert_eq(sv.got_len, 7);
    cr_assert_eq(memcmp(sv.got, "OPTIONS", 7), 0);
    cr_assert_eq(tls_conn_write(sv.c, "SIP/2.0 200 OK", 14), 0);
    cr_assert_eq(pump(&cl, &sv), 0);
    cr_assert_eq(cl.got_len, 14);
    char how[96];
    tls_conn_describe(cl.c, how, sizeof(how));
    cr_assert(strncmp(how, "TLSv1.3 ", 8) == 0, "%s", how);
    free_pair(&cl, &sv);
    tls_ctx_free(cctx);
    tls_ctx_free(sctx);
}

Test(tls_conn, an_ip_literal_is_checked_as_an_ip_and_sends_no_sni)
{
    struct tls_ctx *sctx = ctx("sipring-chain.pem", NULL, TLS_CLIENT_AUTH_OFF);
    struct tls_ctx *cctx = ctx(NULL, "rootca.pem", TLS_CLIENT_AUTH_OFF);
    struct end cl, sv;
    cr_assert_eq(connect_pair(cctx, sctx, "127.0.0.1", &cl, &sv), 0, "%s", tls_conn_error(cl.c));
    cr_assert(tls_conn_ready(cl.c));
    cr_assert_str_eq(tls_conn_server_name(sv.c), "", "no SNI for an IP literal (RFC 6066 §3)");
    free_pair(&cl, &sv);
    /* the certificate names 127.0.0.1, not 127.0.0.2 */
    cr_assert_neq(connect_pair(cctx, sctx, "127.0.0.2", &cl, &sv), 0);
    cr_assert(!tls_conn_ready(cl.c));
    cr_assert(strstr(tls_conn_error(cl.c), "certificate verify failed") != NULL, "%s",
              tls_conn_error(cl.c));
    free_pair(&cl, &sv);
    tls_ctx_free(cctx);
    tls_ctx_free(sctx);
}

Test(tls_conn, a_wrong_name_or_an_untrusted_chain_is_refused)
{
    struct tls_ctx *cctx = ctx(NULL, "rootca.pem", TLS_CLIENT_AUTH_OFF);
    struct end cl, sv;
    const char *cases[][2] = {
        {"sipring-chain.pem", "other.test"}, /* valid chain, not its name */
        {"wrongname.pem", "sipring.test"},   /* trusted, names only wrong.test */
        {"rogue.pem", "127.0.0.1"},          /* right IP, signed by nobody we trust */
        {"sipring.pem", "sipring.test"},     /* leaf without its intermediate */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tls_ctx *sctx = ctx(cases[i][0], NULL, TLS_CLIENT_AUTH_OFF);
        cr_assert_neq(connect_pair(cctx, sctx, cases[i][1], &cl, &sv), 0, "%s as %s accepted",
                      cases[i][0], cases[i][1]);
        cr_assert(!tls_conn_ready(cl.c));
        cr_assert(strstr(tls_conn_error(cl.c), "certificate verify failed") != NULL, "%s: %s",
                  cases[i][0], tls_conn_error(cl.c));
        free_pair(&cl, &sv);
        tls_ctx_free(sctx);
    }
    tls_ctx_free(cctx);
}

Test(tls_conn, a_required_client_certificate_is_checked)
{
    struct tls_ctx *sctx = ctx("sipring-chain.pem", "rootca.pem", TLS_CLIENT_AUTH_REQUIRED);
    struct tls_ctx *anon = ctx(NULL, "rootca.pem", TLS_CLIENT_AUTH_OFF);
    struct tls_ctx *good = ctx("provider.pem", "rootca.pem", TLS_CLIENT_AUTH_OFF);
    struct tls_ctx *rogue = ctx("rogue.pem", "rootca.pem", TLS_CLIENT_AUTH_OFF);
    struct end cl, sv;
    connect_pair(anon, sctx, "sipring.test", &cl, &sv);
    cr_assert(!tls_conn_ready(sv.c), "a client without a certificate got in");
    free_pair(&cl, &sv);
    connect_pair(rogue, sctx, "sipring.test", &cl, &sv);
    cr_assert(!tls_conn_ready(sv.c), "a client with an untrusted certificate got in");
    free_pair(&cl, &sv);
    cr_assert_eq(connect_pair(good, sctx, "sipring.test", &cl, &sv), 0, "%s", tls_conn_error(sv.c));
    cr_assert(tls_conn_ready(sv.c) && tls_conn_ready(cl.c));
    free_pair(&cl, &sv);
    tls_ctx_free(anon);
    tls_ctx_free(good);
    tls_ctx_free(rogue);
    tls_ctx_free(sctx);
}

Test(tls_conn, the_client_resumes_its_session_by_peer_name)
{
    struct tls_ctx *sctx = ctx("sipring-chain.pem", NULL, TLS_CLIENT_AUTH_OFF);
    struct tls_ctx *cctx = ctx(NULL, "rootca.pem", TLS_CLIENT_AUTH_OFF);
    struct end cl, sv;
    char how[96];
    cr_assert_eq(connect_pair(cctx, sctx, "sipring.test", &cl, &sv), 0);
    tls_conn_describe(cl.c, how, sizeof(how));
    cr_assert(strstr(how, "resumed") == NULL, "%s", how);
    /* TLS 1.3 tickets come after the handshake; some data from the server carries them */
    cr_assert_eq(tls_conn_write(sv.c, "x", 1), 0);
    cr_assert_eq(pump(&cl, &sv), 0);
    free_pair(&cl, &sv);
    cr_assert_eq(connect_pair(cctx, sctx, "sipring.test", &cl, &sv), 0);
    tls_conn_describe(cl.c, how, sizeof(how));
    cr_assert(strstr(how, "resumed") != NULL, "second connection: %s", how);
    free_pair(&cl, &sv);
    /* another name does not get that session */
    cr_assert_eq(connect_pair(cctx, sctx, "127.0.0.1", &cl, &sv), 0);
    tls_conn_describe(cl.c, how, sizeof(how));
    cr_assert(strstr(how, "resumed") == NULL, "other name: %s", how);
    free_pair(&cl, &sv);
    tls_ctx_free(cctx);
    tls_ctx_free(sctx);
}

Test(tls_conn, plaintext_written_early_is_sent_after_the_handshake)
{
    struct tls_ctx *sctx = ctx("sipring-chain.pem", NULL, TLS_CLIENT_AUTH_OFF);
    struct tls_ctx *cctx = ctx(NULL, "rootca.pem", TLS_CLIENT_AUTH_OFF);
    struct end cl = {0}, sv = {0};
    sv.c = tls_conn_new(sctx, NULL, io_of(&sv));
    cl.c = tls_conn_new(cctx, "sipring.test", io_of(&cl));
    cr_assert_eq(tls_conn_write(cl.c, "REGISTER", 8), 0);
    cr_assert_eq(tls_conn_pending(cl.c), 8);
    cr_assert_eq(pump(&cl, &sv), 0);
    cr_assert_eq(tls_conn_pending(cl.c), 0);
    cr_assert_eq(sv.got_len, 8);
    cr_assert_eq(memcmp(sv.got, "REGISTER", 8), 0);
    free_pair(&cl, &sv);
    tls_ctx_free(cctx);
    tls_ctx_free(sctx);
}

Test(tls_conn, garbage_fails_the_connection_with_a_reason)
{
    struct tls_ctx *sctx = ctx("sipring-chain.pem", NULL, TLS_CLIENT_AUTH_OFF);
    struct end sv = {0};
    sv.c = tls_conn_new(sctx, NULL, io_of(&sv));
    static const char sip[] = "OPTIONS sip:a@b SIP/2.0\r\n\r\n"; /* plain SIP to a TLS port */
    cr_assert_neq(tls_conn_input(sv.c, sip, sizeof(sip) - 1), 0);
    cr_assert(!tls_conn_ready(sv.c));
    cr_assert(tls_conn_error(sv.c)[0] != '\0');
    cr_assert_neq(tls_conn_input(sv.c, "x", 1), 0, "a failed connection stays failed");
    tls_conn_free(sv.c);
    tls_ctx_free(sctx);
}

/* A reload drops the running context while connections made with it are up: they go on,
 * and the context is freed with the last of them (ASan's leak and use-after-free checks). */
Test(tls_conn, a_replaced_context_lives_until_its_last_connection)
{
    struct tls_ctx *sctx = ctx("sipring-chain.pem", NULL, TLS_CLIENT_AUTH_OFF);
    struct tls_ctx *cctx = ctx(NULL, "rootca.pem", TLS_CLIENT_AUTH_OFF);
    struct end cl = {0}, sv = {0};
    sv.c = tls_conn_new(sctx, NULL, io_of(&sv));
    cl.c = tls_conn_new(cctx, "sipring.test", io_of(&cl));
    tls_ctx_free(sctx); /* the reload's swap, mid-handshake */
    tls_ctx_free(cctx);
    cr_assert_eq(pump(&cl, &sv), 0, "%s", tls_conn_error(cl.c));
    cr_assert(tls_conn_ready(cl.c) && tls_conn_ready(sv.c));
    cr_assert_eq(tls_conn_write(sv.c, "after", 5), 0); /* a session ticket for the old cache */
    cr_assert_eq(pump(&cl, &sv), 0);
    cr_assert_eq(cl.got_len, 5);
    free_pair(&cl, &sv);
}

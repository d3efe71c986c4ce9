/* tls/conn.c: TLS over BIO pairs; see conn.h. */
#include "conn.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define PAIR_BUF 32768 /* a whole TLS record (16 KB + overhead) fits each way */
#define WRITE_CHUNK 16384
#define SESSION_CACHE 64 /* client sessions kept for resumption, by peer name */

struct cached_session {
    char name[256];
    SSL_SESSION *s;
};

struct tls_ctx {
    atomic_uint refs; /* the creator's, and one per connection: a reload frees the old
                       * context once its last connection is gone */
    SSL_CTX *ssl;
    bool has_cert;
    bool verify_server;
    enum tls_client_auth client_auth;
    pthread_mutex_t lock; /* the client session cache: workers share the context */
    struct cached_session cache[SESSION_CACHE];
    unsigned next;
};

struct tls_conn {
    struct tls_ctx *ctx;
    SSL *ssl;
    BIO *net; /* our end of the pair: ciphertext in and out */
    struct tls_io io;
    bool client, ready, failed, closed;
    char name[256];
    char err[200];
    char *pend; /* plaintext written before the handshake completed */
    size_t pend_len, pend_cap;
};

static void lib_error(char *out, size_t cap, const char *what)
{
    unsigned long e = ERR_get_error();
    char reason[160] = "no detail";
    if (e != 0) {
        ERR_error_string_n(e, reason, sizeof(reason));
    }
    ERR_clear_error();
    snprintf(out, cap, "%s: %s", what, reason);
}

static int on_new_session(SSL *ssl, SSL_SESSION *s)
{
    struct tls_conn *c = SSL_get_app_data(ssl);
    if (c == NULL || !c->client) {
        return 0;
    }
    struct tls_ctx *x = c->ctx;
    pthread_mutex_lock(&x->lock);
    struct cached_session *slot = NULL;
    for (unsigned i = 0; i < SESSION_CACHE && slot == NULL; i++) {
        if (x->cache[i].s != NULL && strcmp(x->cache[i].name, c->name) == 0) {
            slot = &x->cache[i];
        }
    }
    if (slot == NULL) {
        slot = &x->cache[x->next++ % SESSION_CACHE];
    }
    if (slot->s != NULL) {
        SSL_SESSION_free(slot->s);
    }
    snprintf(slot->name, sizeof(slot->name), "%s", c->name);
    slot->s = s; /* returning 1 takes the reference */
    pthread_mutex_unlock(&x->lock);
    return 1;
}

struct tls_ctx *tls_ctx_new(const struct tls_ctx_cfg *cfg, char *err, size_t err_cap)
{
    struct tls_ctx *x = calloc(1, sizeof(*x));
    if (x == NULL) {
        snprintf(err, err_cap, "out of memory");
        return NULL;
    }
    atomic_init(&x->refs, 1);
    pthread_mutex_init(&x->lock, NULL);
    x->ssl = SSL_CTX_new(TLS_method());
    if (x->ssl == NULL) {
        lib_error(err, err_cap, "SSL_CTX_new");
        tls_ctx_free(x);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(x->ssl, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(x->ssl, TLS1_3_VERSION);
    /* TLS 1.2 with forward-secret AEAD suites only (RFC 7525 §4.2, BCP 195): no CBC, no
     * SHA-1 MAC, no static RSA key exchange. TLS 1.3's suites are all AEAD already. */
    if (SSL_CTX_set_strict_cipher_list(x->ssl, "ECDHE-ECDSA-AES128-GCM-SHA256:"
                                               "ECDHE-RSA-AES128-GCM-SHA256:"
                                               "ECDHE-ECDSA-AES256-GCM-SHA384:"
                                               "ECDHE-RSA-AES256-GCM-SHA384:"
                                               "ECDHE-ECDSA-CHACHA20-POLY1305:"
                                               "ECDHE-RSA-CHACHA20-POLY1305") != 1) {
        lib_error(err, err_cap, "cipher list");
        tls_ctx_free(x);
        return NULL;
    }
    SSL_CTX_set_session_cache_mode(x->ssl, SSL_SESS_CACHE_BOTH);
    static const unsigned char sid_ctx[] = "sipring";
    SSL_CTX_set_session_id_context(x->ssl, sid_ctx, sizeof(sid_ctx) - 1);
    SSL_CTX_sess_set_new_cb(x->ssl, on_new_session);
    x->verify_server = cfg->verify_server;
    x->client_auth = cfg->client_auth;
    if (cfg->cert_file != NULL && cfg->cert_file[0] != '\0') {
        char what[600];
        snprintf(what, sizeof(what), "certificate %s", cfg->cert_file);
        if (SSL_CTX_use_certificate_chain_file(x->ssl, cfg->cert_file) != 1) {
            lib_error(err, err_cap, what);
            tls_ctx_free(x);
            return NULL;
        }
        snprintf(what, sizeof(what), "private key %s", cfg->key_file ? cfg->key_file : "(none)");
        if (cfg->key_file == NULL ||
            SSL_CTX_use_PrivateKey_file(x->ssl, cfg->key_file, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(x->ssl) != 1) {
            lib_error(err, err_cap, what);
            tls_ctx_free(x);
            return NULL;
        }
        x->has_cert = true;
    }
    if (cfg->ca_file != NULL && cfg->ca_file[0] != '\0' &&
        SSL_CTX_load_verify_locations(x->ssl, cfg->ca_file, NULL) != 1) {
        char what[600];
        snprintf(what, sizeof(what), "CA bundle %s", cfg->ca_file);
        lib_error(err, err_cap, what);
        tls_ctx_free(x);
        return NULL;
    }
    return x;
}

struct tls_ctx *tls_ctx_ref(struct tls_ctx *x)
{
    atomic_fetch_add(&x->refs, 1);
    return x;
}

void tls_ctx_free(struct tls_ctx *x)
{
    if (x == NULL || atomic_fetch_sub(&x->refs, 1) != 1) {
        return;
    }
    for (unsigned i = 0; i < SESSION_CACHE; i++) {
        SSL_SESSION_free(x->cache[i].s);
    }
    SSL_CTX_free(x->ssl);
    pthread_mutex_destroy(&x->lock);
    free(x);
}

bool tls_ctx_has_cert(const struct tls_ctx *x)
{
    return x->has_cert;
}

static void flush_out(struct tls_conn *c)
{
    char buf[PAIR_BUF];
    int n;
    while ((n = BIO_read(c->net, buf, sizeof(buf))) > 0) {
        c->io.emit(c->io.ctx, buf, (size_t)n);
    }
}

static int fail(struct tls_conn *c, const char *what)
{
    if (!c->failed) {
        c->failed = true;
        long vr = SSL_get_verify_result(c->ssl);
        if (vr != X509_V_OK) {
            snprintf(c->err, sizeof(c->err), "%s: certificate verify failed: %s", what,
                     X509_verify_cert_error_string(vr));
            ERR_clear_error();
        } else {
            lib_error(c->err, sizeof(c->err), what);
        }
    }
    flush_out(c); /* an alert, if the library wrote one */
    return -1;
}

static int write_all(struct tls_conn *c, const char *p, size_t n)
{
    while (n > 0) {
        size_t chunk = n < WRITE_CHUNK ? n : WRITE_CHUNK;
        int w = SSL_write(c->ssl, p, (int)chunk);
        if (w <= 0) {
            return fail(c, "write");
        }
        flush_out(c);
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* drive: advances the handshake, then reads every plaintext byte available. */
static int drive(struct tls_conn *c)
{
    if (!c->ready) {
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                return fail(c, "handshake");
            }
            flush_out(c);
            return 0;
        }
        c->ready = true;
        flush_out(c);
        if (c->pend_len > 0) {
            int rc = write_all(c, c->pend, c->pend_len);
            free(c->pend);
            c->pend = NULL;
            c->pend_len = c->pend_cap = 0;
            if (rc != 0) {
                return -1;
            }
        }
    }
    char buf[WRITE_CHUNK];
    for (;;) {
        int n = SSL_read(c->ssl, buf, sizeof(buf));
        if (n > 0) {
            c->io.deliver(c->io.ctx, buf, (size_t)n);
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            break;
        }
        if (e == SSL_ERROR_ZERO_RETURN) {
            c->failed = c->closed = true;
            snprintf(c->err, sizeof(c->err), "closed by the peer (close_notify)");
            flush_out(c);
            return -1;
        }
        return fail(c, "read");
    }
    flush_out(c); /* post-handshake messages: tickets, key updates */
    return 0;
}

struct tls_conn *tls_conn_new(struct tls_ctx *x, const char *peer_name, struct tls_io io)
{
    struct tls_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->io = io;
    c->client = peer_name != NULL;
    c->ssl = SSL_new(x->ssl);
    BIO *inner = NULL;
    if (c->ssl == NULL || BIO_new_bio_pair(&inner, PAIR_BUF, &c->net, PAIR_BUF) != 1) {
        SSL_free(c->ssl);
        free(c);
        return NULL;
    }
    c->ctx = tls_ctx_ref(x); /* its session cache outlives a reload that replaced it */
    SSL_set_bio(c->ssl, inner, inner);
    SSL_set_app_data(c->ssl, c);
    if (!c->client) {
        int mode = x->client_auth == TLS_CLIENT_AUTH_OFF ? SSL_VERIFY_NONE
                   : x->client_auth == TLS_CLIENT_AUTH_REQUIRED
                       ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                       : SSL_VERIFY_PEER;
        SSL_set_verify(c->ssl, mode, NULL);
        SSL_set_accept_state(c->ssl);
        return c;
    }
    snprintf(c->name, sizeof(c->name), "%s", peer_name);
    SSL_set_connect_state(c->ssl);
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, c->name, ip) == 1 || inet_pton(AF_INET6, c->name, ip) == 1;
    if (x->verify_server) {
        SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
        X509_VERIFY_PARAM *param = SSL_get0_param(c->ssl);
        if (is_ip) {
            X509_VERIFY_PARAM_set1_ip_asc(param, c->name);
        } else {
            X509_VERIFY_PARAM_set1_host(param, c->name, strlen(c->name));
        }
    } else {
        SSL_set_verify(c->ssl, SSL_VERIFY_NONE, NULL);
    }
    if (!is_ip) {
        SSL_set_tlsext_host_name(c->ssl, c->name); /* SNI names domains only (RFC 6066 §3) */
    }
    pthread_mutex_lock(&x->lock);
    for (unsigned i = 0; i < SESSION_CACHE; i++) {
        if (x->cache[i].s != NULL && strcmp(x->cache[i].name, c->name) == 0) {
            SSL_set_session(c->ssl, x->cache[i].s);
            break;
        }
    }
    pthread_mutex_unlock(&x->lock);
    drive(c); /* the ClientHello */
    return c;
}

void tls_conn_free(struct tls_conn *c)
{
    if (c == NULL) {
        return;
    }
    SSL_free(c->ssl);
    BIO_free(c->net);
    tls_ctx_free(c->ctx);
    free(c->pend);
    free(c);
}

int tls_conn_input(struct tls_conn *c, const void *p, size_t n)
{
    const char *b = p;
    if (c->failed) {
        return -1;
    }
    while (n > 0) {
        int w = BIO_write(c->net, b, n < PAIR_BUF ? (int)n : PAIR_BUF);
        if (w <= 0) {
            return fail(c, "input");
        }
        b += w;
        n -= (size_t)w;
        if (drive(c) != 0) {
            return -1;
        }
    }
    return 0;
}

int tls_conn_write(struct tls_conn *c, const void *p, size_t n)
{
    if (c->failed) {
        return -1;
    }
    if (c->ready) {
        return write_all(c, p, n);
    }
    if (c->pend_len + n > c->pend_cap) {
        size_t cap = c->pend_cap ? c->pend_cap : 4096;
        while (cap < c->pend_len + n) {
            cap *= 2;
        }
        char *np = realloc(c->pend, cap);
        if (np == NULL) {
            return -1;
        }
        c->pend = np;
        c->pend_cap = cap;
    }
    memcpy(c->pend + c->pend_len, p, n);
    c->pend_len += n;
    return 0;
}

size_t tls_conn_pending(const struct tls_conn *c)
{
    return c->pend_len;
}

bool tls_conn_ready(const struct tls_conn *c)
{
    return c->ready;
}

bool tls_conn_closed(const struct tls_conn *c)
{
    return c->closed;
}

const char *tls_conn_server_name(const struct tls_conn *c)
{
    const char *n = c->client ? NULL : SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
    return n != NULL ? n : "";
}

const char *tls_conn_error(const struct tls_conn *c)
{
    return c->err;
}

void tls_conn_describe(const struct tls_conn *c, char *out, size_t cap)
{
    const SSL_CIPHER *cipher = SSL_get_current_cipher(c->ssl);
    snprintf(out, cap, "%s %s%s", SSL_get_version(c->ssl),
             cipher ? SSL_CIPHER_standard_name(cipher) : "?",
             SSL_session_reused(c->ssl) ? ", resumed" : "");
}

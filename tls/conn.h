/* tls/conn.h: TLS connections over memory BIO pairs (BoringSSL), for SIP over TLS.
 *
 * A tls_conn is an SSL object whose network side is a BIO pair: src/ hands it the ciphertext it
 * read (tls_conn_input) and the plaintext it wants to send (tls_conn_write), and gets back,
 * through the callbacks of struct tls_io, ciphertext to put on the wire and plaintext that
 * arrived. This layer never sees a socket; src/ never sees a TLS record.
 *
 * Ownership: bytes passed to a callback belong to the tls_conn and are valid only during the
 * call. Plaintext written before the handshake completes is kept (bounded by the caller, see
 * tls_conn_pending) and sent once it does. */
#ifndef SIPRING_TLS_CONN_H
#define SIPRING_TLS_CONN_H

#include <stdbool.h>
#include <stddef.h>

struct tls_ctx;
struct tls_conn;

enum tls_client_auth {
    TLS_CLIENT_AUTH_OFF = 0,
    TLS_CLIENT_AUTH_OPTIONAL,
    TLS_CLIENT_AUTH_REQUIRED
};

struct tls_ctx_cfg {
    const char *cert_file; /* PEM chain, leaf first; NULL: no certificate (client only) */
    const char *key_file;  /* PEM private key of the leaf */
    const char *ca_file;   /* PEM bundle to verify peers against */
    enum tls_client_auth client_auth; /* server: ask for and check client certificates */
    bool verify_server;               /* client: check the server's chain and name (default on) */
};

/* tls_ctx_new: a context for both directions (accepted and opened connections), TLS 1.2 and
 * 1.3. On failure NULL, with the reason (file and library error) in err. Thread-safe to share.
 *
 * Ownership: counted references. The creator holds one, tls_ctx_ref adds one, tls_ctx_free
 * drops one and frees the context with the last. Every tls_conn holds one of its own, so a
 * context replaced by a reload lives on until the last connection made with it is freed. */
struct tls_ctx *tls_ctx_new(const struct tls_ctx_cfg *cfg, char *err, size_t err_cap);
struct tls_ctx *tls_ctx_ref(struct tls_ctx *ctx);
void tls_ctx_free(struct tls_ctx *ctx);

/* tls_ctx_has_cert: whether the context can serve (has a certificate). */
bool tls_ctx_has_cert(const struct tls_ctx *ctx);

struct tls_io {
    void (*emit)(void *ctx, const void *p, size_t n);    /* ciphertext for the network */
    void (*deliver)(void *ctx, const void *p, size_t n); /* plaintext that arrived */
    void *ctx;
};

/* tls_conn_new: a server side (peer_name NULL) or a client side connecting to peer_name (a
 * domain: SNI and host-name check; an IP literal: IP check, no SNI). A client starts its
 * handshake at once (the ClientHello goes to io.emit). NULL if out of memory. */
struct tls_conn *tls_conn_new(struct tls_ctx *ctx, const char *peer_name, struct tls_io io);
void tls_conn_free(struct tls_conn *c);

/* tls_conn_input: ciphertext from the network. Returns 0, or -1 when the connection failed
 * or the peer closed it (tls_conn_error says why). */
int tls_conn_input(struct tls_conn *c, const void *p, size_t n);

/* tls_conn_write: plaintext to send. Returns 0, or -1 if the connection has failed. */
int tls_conn_write(struct tls_conn *c, const void *p, size_t n);

/* tls_conn_pending: plaintext bytes held until the handshake completes. */
size_t tls_conn_pending(const struct tls_conn *c);

bool tls_conn_ready(const struct tls_conn *c);

/* tls_conn_closed: the peer closed the connection cleanly (close_notify): not a failure. */
bool tls_conn_closed(const struct tls_conn *c);

/* tls_conn_server_name: on a server side, the name the client asked for (SNI, RFC 6066 §3),
 * "" when it sent none; "" on a client side. */
const char *tls_conn_server_name(const struct tls_conn *c);

/* tls_conn_error: why the connection failed, for one log line ("" if it has not). */
const char *tls_conn_error(const struct tls_conn *c);

/* tls_conn_describe: protocol and cipher ("TLSv1.3 TLS_AES_128_GCM_SHA256") and whether the
 * session was resumed, for a log line once the handshake is done. */
void tls_conn_describe(const struct tls_conn *c, char *out, size_t cap);

#endif

/* tests/fuzz/fuzz_tls.c: TLS handshakes (tls/conn.c over its BIO pair) on arbitrary bytes from
 * the network. The first byte picks the side under attack: even, a server (with a certificate)
 * reading a client's flight; odd, a client to "sipring.test" reading a server's. The second
 * byte cuts the rest into reads of 1-256 bytes, so records split anywhere. The oracle: no
 * crash, no leak, and a connection the bytes could not complete a handshake on is never
 * "ready" while failed, and says why it failed.
 *
 * The server's certificate is made once at start (EC P-256, self-signed) into a temporary
 * folder: tls_ctx_new reads PEM files. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "conn.h"
#include "tls.h"

static struct tls_ctx *server_ctx, *client_ctx;

static void write_cert(const char *cert_path, const char *key_path)
{
    EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
    EVP_PKEY *key = EVP_PKEY_new();
    X509 *x = X509_new();
    if (ec == NULL || key == NULL || x == NULL || !EC_KEY_generate_key(ec) ||
        !EVP_PKEY_assign_EC_KEY(key, ec)) {
        abort();
    }
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"sipring.test", -1,
                               -1, 0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    if (!X509_sign(x, key, EVP_sha256())) {
        abort();
    }
    FILE *f = fopen(cert_path, "w");
    FILE *k = fopen(key_path, "w");
    if (f == NULL || k == NULL || !PEM_write_X509(f, x) ||
        !PEM_write_PrivateKey(k, key, NULL, NULL, 0, NULL, NULL)) {
        abort();
    }
    fclose(f);
    fclose(k);
    X509_free(x);
    EVP_PKEY_free(key);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char dir[] = "/tmp/fuzz_tls.XXXXXX";
    if (mkdtemp(dir) == NULL || tls_lib_init() != 0) {
        abort();
    }
    char cert[64], key[64], err[300];
    snprintf(cert, sizeof(cert), "%s/c.pem", dir);
    snprintf(key, sizeof(key), "%s/c.key", dir);
    write_cert(cert, key);
    struct tls_ctx_cfg sc = {cert, key, cert, TLS_CLIENT_AUTH_OPTIONAL, true};
    struct tls_ctx_cfg cc = {NULL, NULL, cert, TLS_CLIENT_AUTH_OFF, true};
    server_ctx = tls_ctx_new(&sc, err, sizeof(err));
    client_ctx = tls_ctx_new(&cc, err, sizeof(err));
    if (server_ctx == NULL || client_ctx == NULL) {
        fprintf(stderr, "fuzz_tls: %s\n", err);
        abort();
    }
    unlink(cert);
    unlink(key);
    rmdir(dir);
    return 0;
}

static size_t emitted, delivered;

static void on_emit(void *ctx, const void *p, size_t n)
{
    (void)ctx;
    (void)p;
    emitted += n;
}

static void on_deliver(void *ctx, const void *p, size_t n)
{
    (void)ctx;
    (void)p;
    delivered += n; /* plaintext before a handshake the fuzzer cannot finish: see below */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    bool client = data[0] & 1;
    size_t step = (size_t)data[1] + 1;
    data += 2;
    size -= 2;
    emitted = delivered = 0;
    struct tls_io io = {on_emit, on_deliver, NULL};
    struct tls_conn *c =
        tls_conn_new(client ? client_ctx : server_ctx, client ? "sipring.test" : NULL, io);
    if (c == NULL) {
        return 0;
    }
    tls_conn_write(c, "OPTIONS", 7); /* held until a handshake that never completes */
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0; off += step) {
        rc = tls_conn_input(c, data + off, size - off < step ? size - off : step);
    }
    if (rc != 0) {
        if (tls_conn_ready(c) || (!tls_conn_closed(c) && tls_conn_error(c)[0] == '\0')) {
            abort(); /* failed, yet ready, or failed without a reason */
        }
        if (tls_conn_input(c, "x", 1) == 0) {
            abort(); /* a failed connection takes more input */
        }
    }
    /* Without the peer's keys no handshake can finish: finished records are authenticated.
     * Plaintext can then never arrive, and the early write must still be held. */
    if (tls_conn_ready(c) || delivered != 0 || tls_conn_pending(c) != 7) {
        abort();
    }
    char how[96];
    tls_conn_describe(c, how, sizeof(how));
    tls_conn_free(c);
    return 0;
}

/* tls/tls.h: sipring's door to BoringSSL. For now: library set-up, the CSPRNG and a keyed
 * hash; TLS connections over memory BIO pairs arrive with issue 5. Knows nothing of sockets. */
#ifndef SIPRING_TLS_TLS_H
#define SIPRING_TLS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tls_bytes {
    const void *p;
    size_t len;
};

/* tls_lib_init: one-time library set-up. Returns 0 or -1. */
int tls_lib_init(void);

/* tls_lib_version: the library's name and version, for the start-up log line. */
const char *tls_lib_version(void);

/* tls_random: fills out[0..len) from BoringSSL's CSPRNG. Returns 0 or -1. */
int tls_random(void *out, size_t len);

/* tls_keyed_hash: HMAC-SHA256(key, part0 || 0x00 || part1 || 0x00 ...) into out[32]. The
 * separators keep ("ab","c") and ("a","bc") apart. */
void tls_keyed_hash(const uint8_t *key, size_t key_len, const struct tls_bytes *parts, size_t n,
                    uint8_t out[32]);

/* tls_hmac_key_new: a key for tls_hmac_sign, its HMAC pads hashed once (a MAC then costs the
 * message's blocks and two more, not the key's set-up each time). NULL if out of memory.
 * tls_hmac_key_free wipes and frees it. */
struct tls_hmac_key;
struct tls_hmac_key *tls_hmac_key_new(const uint8_t *key, size_t key_len);
void tls_hmac_key_free(struct tls_hmac_key *k);

/* tls_hmac_sign: the same value as tls_keyed_hash under k's key; k is only read, so threads may
 * share it. */
void tls_hmac_sign(const struct tls_hmac_key *k, const struct tls_bytes *parts, size_t n,
                   uint8_t out[32]);

/* tls_digest_hex: the hash (MD5 when sha256 is false, else SHA-256) of the parts joined with
 * ':' (RFC 7616 §3.4.1: H(a:b:c)), as lower-case hex into out (33 or 65 bytes with the NUL).
 * Returns the hex length. */
size_t tls_digest_hex(bool sha256, const struct tls_bytes *parts, size_t n, char *out);

#endif

/* tls/tls.c: BoringSSL set-up and the crypto helpers other layers need. */
#include "tls.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/digest.h>
#include <openssl/mem.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

/* RFC 2104: HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)); the two padded key blocks are
 * hashed once here and their states copied for each MAC. */
struct tls_hmac_key {
    SHA256_CTX inner, outer;
};

struct tls_hmac_key *tls_hmac_key_new(const uint8_t *key, size_t key_len)
{
    struct tls_hmac_key *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        return NULL;
    }
    uint8_t block[SHA256_CBLOCK] = {0}, pad[SHA256_CBLOCK];
    if (key_len > sizeof(block)) {
        SHA256(key, key_len, block);
    } else if (key_len > 0) {
        memcpy(block, key, key_len);
    }
    for (size_t i = 0; i < sizeof(pad); i++) {
        pad[i] = block[i] ^ 0x36;
    }
    SHA256_Init(&k->inner);
    SHA256_Update(&k->inner, pad, sizeof(pad));
    for (size_t i = 0; i < sizeof(pad); i++) {
        pad[i] = block[i] ^ 0x5c;
    }
    SHA256_Init(&k->outer);
    SHA256_Update(&k->outer, pad, sizeof(pad));
    OPENSSL_cleanse(block, sizeof(block));
    OPENSSL_cleanse(pad, sizeof(pad));
    return k;
}

void tls_hmac_key_free(struct tls_hmac_key *k)
{
    if (k != NULL) {
        OPENSSL_cleanse(k, sizeof(*k));
        free(k);
    }
}

void tls_hmac_sign(const struct tls_hmac_key *k, const struct tls_bytes *parts, size_t n,
                   uint8_t out[32])
{
    static const uint8_t sep = 0;
    uint8_t inner[SHA256_DIGEST_LENGTH];
    SHA256_CTX c = k->inner;
    for (size_t i = 0; i < n; i++) {
        SHA256_Update(&c, parts[i].p, parts[i].len);
        SHA256_Update(&c, &sep, 1);
    }
    SHA256_Final(inner, &c);
    c = k->outer;
    SHA256_Update(&c, inner, sizeof(inner));
    SHA256_Final(out, &c);
    OPENSSL_cleanse(&c, sizeof(c));
}

int tls_lib_init(void)
{
    CRYPTO_library_init();
    return 0;
}

const char *tls_lib_version(void)
{
    return OpenSSL_version(OPENSSL_VERSION);
}

int tls_random(void *out, size_t len)
{
    return RAND_bytes(out, len) == 1 ? 0 : -1;
}

void tls_keyed_hash(const uint8_t *key, size_t key_len, const struct tls_bytes *parts, size_t n,
                    uint8_t out[32])
{
    HMAC_CTX ctx;
    HMAC_CTX_init(&ctx);
    HMAC_Init_ex(&ctx, key, key_len, EVP_sha256(), NULL);
    static const uint8_t sep = 0;
    for (size_t i = 0; i < n; i++) {
        HMAC_Update(&ctx, parts[i].p, parts[i].len);
        HMAC_Update(&ctx, &sep, 1);
    }
    unsigned len = 32;
    HMAC_Final(&ctx, out, &len);
    HMAC_CTX_cleanup(&ctx);
}

size_t tls_digest_hex(bool sha256, const struct tls_bytes *parts, size_t n, char *out)
{
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_MD_CTX c;
    EVP_MD_CTX_init(&c);
    EVP_DigestInit_ex(&c, sha256 ? EVP_sha256() : EVP_md5(), NULL);
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            EVP_DigestUpdate(&c, ":", 1);
        }
        EVP_DigestUpdate(&c, parts[i].p, parts[i].len);
    }
    EVP_DigestFinal_ex(&c, d, &len);
    EVP_MD_CTX_cleanup(&c);
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * len] = '\0';
    return 2 * len;
}

/* tls/tls.c: BoringSSL set-up and the crypto helpers other layers need. */
#include "tls.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/digest.h>

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

void tls_keyed_hash(const uint8_t *key, size_t key_len, const struct tls_bytes *parts,
                    size_t n, uint8_t out[32])
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

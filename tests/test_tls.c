/* tests/test_tls.c: the crypto helpers of tls/tls.c: the precomputed HMAC key gives what
 * HMAC-SHA256 gives (a known value, and tls_keyed_hash for keys and messages of every size
 * around the block boundaries). */
#include <criterion/criterion.h>
#include <string.h>

#include "tls.h"

/* RFC 4231 test case 2's key and data ("Jefe", "what do ya want for nothing?"); tls_* hash
 * every part followed by a 0 byte, so the expected value is HMAC-SHA256 of the data and that
 * byte (computed with Python's hmac module). */
Test(tls, hmac_key_gives_hmac_sha256)
{
    static const uint8_t want[32] = {0x4f, 0xd2, 0xcd, 0x52, 0x03, 0x2b, 0x7d, 0x4c,
                                     0x8c, 0x0f, 0xaa, 0xc6, 0x4e, 0xdd, 0x70, 0xd0,
                                     0x83, 0xde, 0xd8, 0xa8, 0x8a, 0xaf, 0x5b, 0xb3,
                                     0xb6, 0x0c, 0x8e, 0x40, 0xa8, 0x3d, 0xe0, 0x08};
    struct tls_hmac_key *k = tls_hmac_key_new((const uint8_t *)"Jefe", 4);
    cr_assert_not_null(k);
    uint8_t a[32], b[32];
    struct tls_bytes part = {"what do ya want for nothing?", 28};
    tls_hmac_sign(k, &part, 1, a);
    tls_keyed_hash((const uint8_t *)"Jefe", 4, &part, 1, b);
    cr_expect(memcmp(a, want, 32) == 0, "the precomputed key");
    cr_expect(memcmp(b, want, 32) == 0, "BoringSSL's HMAC");
    tls_hmac_key_free(k);
}

Test(tls, hmac_key_matches_the_keyed_hash_at_every_size)
{
    uint8_t key[200], msg[300];
    for (size_t i = 0; i < sizeof(key); i++) {
        key[i] = (uint8_t)(i * 7 + 1);
    }
    for (size_t i = 0; i < sizeof(msg); i++) {
        msg[i] = (uint8_t)(i * 13 + 5);
    }
    static const size_t key_lens[] = {0, 1, 32, 63, 64, 65, 200};
    for (size_t ki = 0; ki < sizeof(key_lens) / sizeof(key_lens[0]); ki++) {
        struct tls_hmac_key *k = tls_hmac_key_new(key, key_lens[ki]);
        cr_assert_not_null(k);
        for (size_t len = 0; len < sizeof(msg); len += 17) {
            struct tls_bytes parts[3] = {{msg, len / 2}, {"x", 1}, {msg + len / 2, len - len / 2}};
            uint8_t a[32], b[32];
            tls_hmac_sign(k, parts, 3, a);
            tls_keyed_hash(key, key_lens[ki], parts, 3, b);
            cr_expect(memcmp(a, b, 32) == 0, "key %zu, message %zu", key_lens[ki], len);
        }
        tls_hmac_key_free(k);
    }
}

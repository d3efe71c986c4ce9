/* tests/test_mac.h: a stand-in for the proxy's MAC in unit tests and fuzz targets, which link
 * sip/ without BoringSSL: keyed FNV-1a, deterministic and NOT a MAC (the real one is HMAC-SHA256
 * in src/secret.c). Good enough to tell what sipring wrote from what it did not. */
#ifndef SIPRING_TESTS_TEST_MAC_H
#define SIPRING_TESTS_TEST_MAC_H

#include <stdint.h>
#include <string.h>

#include "proxy.h"

static void test_mac_sign(void *self, const struct sip_str *parts, size_t n, uint8_t out[32])
{
    uint64_t h = 14695981039346656037ull ^ (uint64_t)(uintptr_t)self;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < parts[i].len; k++) {
            h = (h ^ (uint8_t)parts[i].p[k]) * 1099511628211ull;
        }
        h = (h ^ 0xff) * 1099511628211ull;
    }
    for (int i = 0; i < 4; i++) {
        h = (h ^ (uint64_t)i) * 1099511628211ull;
        memcpy(out + 8 * i, &h, 8);
    }
}

static inline struct sip_mac test_mac(uintptr_t key)
{
    return (struct sip_mac){test_mac_sign, (void *)key};
}

#endif

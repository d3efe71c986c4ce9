/* sip/sdes.c: see sdes.h. */
#include "sdes.h"

#include <string.h>

static const struct {
    const char *name;
    uint8_t key_len;
} suites[SDES_SUITE_COUNT + 1] = {
    [SDES_NONE] = {"", 0},
    [SDES_AES_CM_128_HMAC_SHA1_80] = {"AES_CM_128_HMAC_SHA1_80", 30},
    [SDES_AES_CM_128_HMAC_SHA1_32] = {"AES_CM_128_HMAC_SHA1_32", 30},
    [SDES_AEAD_AES_128_GCM] = {"AEAD_AES_128_GCM", 28},
    [SDES_AEAD_AES_256_GCM] = {"AEAD_AES_256_GCM", 44},
};

const char *sdes_suite_name(enum sdes_suite s)
{
    return (unsigned)s <= SDES_SUITE_COUNT ? suites[s].name : "";
}

size_t sdes_key_len(enum sdes_suite s)
{
    return (unsigned)s <= SDES_SUITE_COUNT ? suites[s].key_len : 0;
}

enum sdes_suite sdes_suite_of(struct sip_str s)
{
    for (unsigned i = 1; i <= SDES_SUITE_COUNT; i++) {
        if (s.len == strlen(suites[i].name) && memcmp(s.p, suites[i].name, s.len) == 0) {
            return (enum sdes_suite)i;
        }
    }
    return SDES_NONE;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(char c)
{
    const char *at = c != '\0' ? strchr(b64, c) : NULL;
    return at != NULL ? (int)(at - b64) : -1;
}

/* b64_decode: standard base64 (RFC 4648 §4), padding optional (RFC 4568 §6.1 shows keys
 * without it, RFC 7714 with). Returns the byte count, or -1 for a bad character, a stray
 * padding or more than cap bytes. */
static long b64_decode(struct sip_str in, uint8_t *out, size_t cap)
{
    size_t n = in.len;
    while (n > 0 && in.p[n - 1] == '=' && in.len - n < 2) {
        n--;
    }
    if (n % 4 == 1) {
        return -1;
    }
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(in.p[i]);
        if (v < 0) {
            return -1;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (len >= cap) {
                return -1;
            }
            out[len++] = (uint8_t)(acc >> bits);
        }
    }
    return (long)len;
}

static size_t b64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        v |= i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0;
        v |= i + 2 < n ? in[i + 2] : 0;
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? b64[v & 63] : '=';
    }
    return o;
}

int sdes_key_read(const struct sdp_crypto *c, struct sdes_key *k)
{
    static const char inl[] = "inline:";
    struct sip_str kp = c->key_params;
    memset(k, 0, sizeof(*k));
    k->suite = sdes_suite_of(c->suite);
    k->tag = c->tag;
    if (k->suite == SDES_NONE || c->session_params.len > 0 || kp.len < sizeof(inl) - 1 ||
        memcmp(kp.p, inl, sizeof(inl) - 1) != 0 || memchr(kp.p, ';', kp.len) != NULL) {
        return -1;
    }
    /* inline:<key||salt>["|" lifetime]["|" MKI ":" length]: a lifetime is fine (libsrtp's
     * own limit is lower than any a peer may state), an MKI is not. */
    struct sip_str key = {kp.p + sizeof(inl) - 1, kp.len - (sizeof(inl) - 1)};
    const char *bar = memchr(key.p, '|', key.len);
    if (bar != NULL) {
        struct sip_str rest = {bar + 1, key.len - (size_t)(bar - key.p) - 1};
        if (memchr(rest.p, '|', rest.len) != NULL || memchr(rest.p, ':', rest.len) != NULL) {
            return -1;
        }
        key.len = (size_t)(bar - key.p);
    }
    long n = b64_decode(key, k->key, sizeof(k->key));
    if (n < 0 || (size_t)n != sdes_key_len(k->suite)) {
        memset(k, 0, sizeof(*k));
        return -1;
    }
    k->len = (uint8_t)n;
    return 0;
}

int sdes_key_choose(const struct sdp_media *m, unsigned allowed, struct sdes_key *k)
{
    for (unsigned i = 0; i < m->crypto_count; i++) {
        if (sdes_key_read(&m->crypto[i], k) == 0 && (allowed & 1u << k->suite)) {
            return 0;
        }
    }
    memset(k, 0, sizeof(*k));
    return -1;
}

int sdes_key_find(const struct sdp_media *m, uint32_t tag, enum sdes_suite suite,
                  struct sdes_key *k)
{
    for (unsigned i = 0; i < m->crypto_count; i++) {
        if (m->crypto[i].tag == tag && sdes_key_read(&m->crypto[i], k) == 0 && k->suite == suite) {
            return 0;
        }
    }
    memset(k, 0, sizeof(*k));
    return -1;
}

long sdes_key_write(const struct sdes_key *k, char *out, size_t cap)
{
    char digits[12];
    size_t nd = 0;
    uint32_t t = k->tag;
    do {
        digits[nd++] = (char)('0' + t % 10);
        t /= 10;
    } while (t > 0);
    const char *name = sdes_suite_name(k->suite);
    size_t need = 9 + nd + 1 + strlen(name) + 8 + (k->len + 2u) / 3 * 4 + 2;
    if (k->suite == SDES_NONE || k->len != sdes_key_len(k->suite) || need > cap) {
        return -1;
    }
    size_t o = 0;
    memcpy(out, "a=crypto:", 9);
    o = 9;
    while (nd > 0) {
        out[o++] = digits[--nd];
    }
    out[o++] = ' ';
    memcpy(out + o, name, strlen(name));
    o += strlen(name);
    memcpy(out + o, " inline:", 8);
    o += 8;
    o += b64_encode(k->key, k->len, out + o);
    out[o++] = '\r';
    out[o++] = '\n';
    return (long)o;
}

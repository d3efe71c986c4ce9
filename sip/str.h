/* sip/str.h: the one slice type of sipring, and the few helpers every parser needs.
 *
 * Ownership: a struct sip_str never owns its bytes. It points into a buffer owned by someone
 * else (a receive buffer of src/, a transaction's copy, a string literal) and is valid exactly as
 * long as that buffer is. Slices are passed by value (two machine words). */
#ifndef SIPRING_SIP_STR_H
#define SIPRING_SIP_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct sip_str {
    const char *p;
    size_t len;
};

#define SIP_STR_LIT(lit) ((struct sip_str){(lit), sizeof(lit) - 1})
#define SIP_STR_NULL ((struct sip_str){NULL, 0})

static inline struct sip_str sip_str_make(const char *p, size_t len)
{
    return (struct sip_str){p, len};
}

static inline struct sip_str sip_str_from_range(const char *b, const char *e)
{
    return (struct sip_str){b, (size_t)(e - b)};
}

static inline bool sip_str_is_set(struct sip_str s)
{
    return s.p != NULL;
}

static inline char sip_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c | 0x20) : c;
}

/* sip_fnv1a: the 32-bit FNV-1a hash of p[0..n), continuing from h (start with SIP_FNV_INIT).
 * Used for every hash table and owner choice in sipring: cheap, and good enough for keys the
 * peer controls only because each table also compares the whole key. */
#define SIP_FNV_INIT 2166136261u
static inline uint32_t sip_fnv1a(const void *p, size_t n, uint32_t h)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ b[i]) * 16777619u;
    }
    return h;
}

/* sip_str_eq: byte-exact equality. */
static inline bool sip_str_eq(struct sip_str a, struct sip_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* sip_str_ieq_n: ASCII case-insensitive comparison of n bytes. */
bool sip_str_ieq_n(const char *a, const char *b, size_t n);

/* sip_str_ieq: ASCII case-insensitive equality (header names, tokens, host names). Inline so
 * that the length check, which settles most comparisons, costs no call. */
static inline bool sip_str_ieq(struct sip_str a, struct sip_str b)
{
    return a.len == b.len && sip_str_ieq_n(a.p, b.p, a.len);
}

/* sip_str_ieq_lit: case-insensitive comparison with a NUL-terminated literal. */
static inline bool sip_str_ieq_lit(struct sip_str a, const char *lit)
{
    return sip_str_ieq(a, sip_str_make(lit, strlen(lit)));
}

/* sip_str_trim: drops leading and trailing SP, HTAB, CR and LF. */
struct sip_str sip_str_trim(struct sip_str s);

/* sip_str_to_u32: parses 1*DIGIT (leading zeros allowed) into *out.
 * Returns 0, or -1 if s is empty, holds a non-digit, or exceeds max. */
int sip_str_to_u32(struct sip_str s, uint32_t max, uint32_t *out);

#endif

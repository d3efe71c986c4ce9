/* sip/str.c: slice helpers and the RFC 3261 §25 character table. */
#include "str.h"

#include "chars.h"

#define ALNUM_RANGES(v) ['0' ... '9'] = (v), ['a' ... 'z'] = (v), ['A' ... 'Z'] = (v)

/* One table, many classes: each entry ORs the classes the character belongs to. The mark
 * characters of "unreserved" are - _ . ! ~ * ' ( ). */
const uint8_t sip_char_class[256] = {
    ALNUM_RANGES(SIP_C_TOKEN | SIP_C_UNRES | SIP_C_WORD | SIP_C_HOST),
    ['-'] = SIP_C_TOKEN | SIP_C_UNRES | SIP_C_WORD | SIP_C_HOST,
    ['.'] = SIP_C_TOKEN | SIP_C_UNRES | SIP_C_WORD | SIP_C_HOST,
    ['!'] = SIP_C_TOKEN | SIP_C_UNRES | SIP_C_WORD,
    ['%'] = SIP_C_TOKEN | SIP_C_WORD,
    ['*'] = SIP_C_TOKEN | SIP_C_UNRES | SIP_C_WORD,
    ['_'] = SIP_C_TOKEN | SIP_C_UNRES | SIP_C_WORD,
    ['+'] = SIP_C_TOKEN | SIP_C_USER | SIP_C_PASS | SIP_C_PARAM | SIP_C_HNV | SIP_C_WORD,
    ['`'] = SIP_C_TOKEN | SIP_C_WORD,
    ['\''] = SIP_C_TOKEN | SIP_C_UNRES | SIP_C_WORD,
    ['~'] = SIP_C_TOKEN | SIP_C_UNRES | SIP_C_WORD,
    ['('] = SIP_C_UNRES | SIP_C_WORD,
    [')'] = SIP_C_UNRES | SIP_C_WORD,
    ['&'] = SIP_C_USER | SIP_C_PASS | SIP_C_PARAM,
    ['='] = SIP_C_USER | SIP_C_PASS,
    ['$'] = SIP_C_USER | SIP_C_PASS | SIP_C_PARAM | SIP_C_HNV,
    [','] = SIP_C_USER | SIP_C_PASS,
    [';'] = SIP_C_USER,
    ['?'] = SIP_C_USER | SIP_C_HNV | SIP_C_WORD,
    ['/'] = SIP_C_USER | SIP_C_PARAM | SIP_C_HNV | SIP_C_WORD,
    ['['] = SIP_C_PARAM | SIP_C_HNV | SIP_C_WORD,
    [']'] = SIP_C_PARAM | SIP_C_HNV | SIP_C_WORD,
    [':'] = SIP_C_PARAM | SIP_C_HNV | SIP_C_WORD,
    ['<'] = SIP_C_WORD,
    ['>'] = SIP_C_WORD,
    ['\\'] = SIP_C_WORD,
    ['"'] = SIP_C_WORD,
    ['{'] = SIP_C_WORD,
    ['}'] = SIP_C_WORD,
};

bool sip_str_ieq_n(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i] && sip_lower(a[i]) != sip_lower(b[i])) {
            return false;
        }
    }
    return true;
}

static bool is_trim(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct sip_str sip_str_trim(struct sip_str s)
{
    while (s.len > 0 && is_trim(s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len > 0 && is_trim(s.p[s.len - 1])) {
        s.len--;
    }
    return s;
}

int sip_str_to_u32(struct sip_str s, uint32_t max, uint32_t *out)
{
    if (s.len == 0) {
        return -1;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (!sip_is_digit(s.p[i])) {
            return -1;
        }
        v = v * 10 + (uint64_t)(s.p[i] - '0');
        if (v > max) {
            return -1;
        }
    }
    *out = (uint32_t)v;
    return 0;
}

/* sip/chars.h: character classes of the RFC 3261 §25 grammar, as one 256-entry table.
 * Internal to sip/. */
#ifndef SIPRING_SIP_CHARS_H
#define SIPRING_SIP_CHARS_H

#include <stdbool.h>
#include <stdint.h>

enum {
    SIP_C_TOKEN =
        1 << 0, /* token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" */
    SIP_C_UNRES = 1 << 1, /* unreserved: alphanum / mark */
    SIP_C_USER = 1 << 2,  /* user-unreserved: "&" / "=" / "+" / "$" / "," / ";" / "?" / "/" */
    SIP_C_PASS = 1 << 3,  /* password extras: "&" / "=" / "+" / "$" / "," */
    SIP_C_PARAM = 1 << 4, /* param-unreserved: "[" / "]" / "/" / ":" / "&" / "+" / "$" */
    SIP_C_HNV = 1 << 5,   /* hnv-unreserved: "[" / "]" / "/" / "?" / ":" / "+" / "$" */
    SIP_C_WORD = 1 << 6,  /* word extras: "(" ")" "<" ">" ":" "\" DQUOTE "/" "[" "]" "?" "{" "}" */
    SIP_C_HOST = 1 << 7,  /* hostname: alphanum / "-" / "." */
};

extern const uint8_t sip_char_class[256];

static inline bool sip_is(unsigned char c, uint8_t cls)
{
    return (sip_char_class[c] & cls) != 0;
}

static inline bool sip_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static inline bool sip_is_hex(char c)
{
    return sip_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static inline bool sip_is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

#endif

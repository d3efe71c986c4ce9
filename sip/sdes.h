/* sip/sdes.h: SDP Security Descriptions for media streams (RFC 4568): the a=crypto attributes
 * sipring can terminate, read into keys, and written back for the keys it generates itself.
 *
 * Suites: AES_CM_128_HMAC_SHA1_80 and _32 (RFC 4568 §6.2), AEAD_AES_128_GCM and
 * AEAD_AES_256_GCM (RFC 7714 §12). Only single-key lines are accepted: no MKI, no second key,
 * no session parameters (UNENCRYPTED_SRTP, KDR, ...); a line sipring cannot honour exactly is
 * skipped rather than half honoured. Keys are secrets: nothing here logs, and callers must not
 * log key parameters either. */
#ifndef SIPRING_SIP_SDES_H
#define SIPRING_SIP_SDES_H

#include "sdp.h"

enum sdes_suite {
    SDES_NONE = 0,
    SDES_AES_CM_128_HMAC_SHA1_80,
    SDES_AES_CM_128_HMAC_SHA1_32,
    SDES_AEAD_AES_128_GCM,
    SDES_AEAD_AES_256_GCM,
    SDES_SUITE_COUNT = SDES_AEAD_AES_256_GCM, /* suites 1..SDES_SUITE_COUNT */
};

#define SDES_KEY_MAX 44 /* master key + salt of AEAD_AES_256_GCM: 32 + 12 bytes */
/* a=crypto:<tag> <suite> inline:<base64 of 44 bytes>\r\n, with room to spare */
#define SDES_LINE_MAX 112

/* One key: the suite, the tag that binds offer and answer, and master key + salt. */
struct sdes_key {
    enum sdes_suite suite;
    uint32_t tag;
    uint8_t len;
    uint8_t key[SDES_KEY_MAX];
};

/* sdes_suite_name: the suite's SDP name ("AES_CM_128_HMAC_SHA1_80"); "" for SDES_NONE. */
const char *sdes_suite_name(enum sdes_suite s);

/* sdes_suite_of: the suite named by s (case-sensitive, as RFC 4568 registers them), or
 * SDES_NONE. */
enum sdes_suite sdes_suite_of(struct sip_str s);

/* sdes_key_len: bytes of master key + salt for suite s (30, 30, 28, 44); 0 for SDES_NONE. */
size_t sdes_key_len(enum sdes_suite s);

/* sdes_key_read: reads one a=crypto line into *k. Returns 0, or -1 when the suite is unknown,
 * the key parameters are not exactly one inline key of the suite's length (an MKI, a second key
 * or bad base64 count), or session parameters are present. */
int sdes_key_read(const struct sdp_crypto *c, struct sdes_key *k);

/* sdes_key_choose: the first a=crypto line of m that sdes_key_read accepts and whose suite is in
 * the mask `allowed` (bit 1 << suite). Returns 0 with *k filled, or -1 when there is none. */
int sdes_key_choose(const struct sdp_media *m, unsigned allowed, struct sdes_key *k);

/* sdes_key_find: the a=crypto line of m with tag `tag` and suite `suite` (an answer to an offer
 * line, RFC 4568 §5.1.2), read into *k. Returns 0 or -1. */
int sdes_key_find(const struct sdp_media *m, uint32_t tag, enum sdes_suite suite,
                  struct sdes_key *k);

/* sdes_key_write: writes "a=crypto:<tag> <suite> inline:<base64>\r\n" for k into out[0..cap).
 * Returns the length written, or -1 if it does not fit. */
long sdes_key_write(const struct sdes_key *k, char *out, size_t cap);

#endif

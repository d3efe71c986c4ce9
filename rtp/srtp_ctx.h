/* rtp/srtp_ctx.h: one direction of SRTP/SRTCP (RFC 3711) for one relay leg, over libsrtp2.
 *
 * A context either protects (what sipring sends to the leg) or unprotects (what it receives
 * from it), for every SSRC of that direction (libsrtp's ssrc_any_outbound/inbound), RTP and
 * RTCP alike, with replay protection on (libsrtp's window of 128 packets, RFC 3711 §3.3.2).
 * Packets are transformed in place in the caller's buffer. The key is copied into libsrtp and
 * never kept or printed here. Not thread-safe: a context belongs to one worker. */
#ifndef SIPRING_RTP_SRTP_CTX_H
#define SIPRING_RTP_SRTP_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The suites, in the order of sip/sdes.h's enum sdes_suite (src/ passes the number across). */
enum rtp_srtp_suite {
    RTP_SRTP_AES_CM_128_HMAC_SHA1_80 = 1,
    RTP_SRTP_AES_CM_128_HMAC_SHA1_32,
    RTP_SRTP_AEAD_AES_128_GCM,
    RTP_SRTP_AEAD_AES_256_GCM,
};

/* Bytes protect() may add: SRTCP index (4) + the longest tag (16); libsrtp documents more as
 * a worst case with an MKI, which sipring never uses, so callers keep RTP_SRTP_HEADROOM free. */
#define RTP_SRTP_HEADROOM 148

struct rtp_srtp;

/* rtp_srtp_lib_init: srtp_init() once; returns 0 or -1. */
int rtp_srtp_lib_init(void);

/* rtp_srtp_lib_version: libsrtp2's version string. */
const char *rtp_srtp_lib_version(void);

/* rtp_srtp_new: a context for suite with master key + salt key[0..len) (len must be the
 * suite's: 30, 30, 28 or 44), protecting when is_outbound, else unprotecting. Returns NULL for
 * a wrong suite or length or when libsrtp fails (no memory). Free with rtp_srtp_free. */
struct rtp_srtp *rtp_srtp_new(enum rtp_srtp_suite suite, const uint8_t *key, size_t len,
                              bool is_outbound);
void rtp_srtp_free(struct rtp_srtp *c);

/* rtp_srtp_protect: turns the RTP (or, when is_rtcp, RTCP) packet pkt[0..*len) into SRTP in
 * place; cap is the room at pkt and must be at least *len + RTP_SRTP_HEADROOM. Returns 0 with
 * *len updated, or -1 (no room, a repeated sequence number, a bad packet). */
int rtp_srtp_protect(struct rtp_srtp *c, uint8_t *pkt, size_t *len, size_t cap, bool is_rtcp);

/* rtp_srtp_unprotect: verifies and decrypts SRTP (or SRTCP) pkt[0..*len) in place. Returns 0
 * with *len updated, or -1 when authentication fails, the packet is a replay or malformed. */
int rtp_srtp_unprotect(struct rtp_srtp *c, uint8_t *pkt, size_t *len, bool is_rtcp);

#endif

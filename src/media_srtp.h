/* src/media_srtp.h: SRTP on the outside leg of one relayed stream: the SDES offer/answer
 * (RFC 4568 §5, §7) that decides whether sipring terminates SRTP there, the keys it generates
 * (BoringSSL's RNG), and the libsrtp contexts the relay runs packets through.
 *
 * Who translates: a stream between the inside and the outside, with --srtp-outside optional or
 * required. sipring offers its own keys to the outside for an offer from the inside (RTP/SAVP
 * when required; RTP/AVP with a=crypto, best effort, when optional) and answers an outside
 * offer's first usable a=crypto line with a key of its own; the inside sees plain RTP/AVP.
 * Left end to end (passed through untouched): an inside that brings its own a=crypto or
 * another profile (DTLS-SRTP), and outside crypto sipring cannot honour. With required, a plain
 * offer from the outside is refused (488).
 *
 * Keys: new ones for every offer sipring makes or answers, so a re-INVITE rekeys; an answer
 * repeated (183 then 200) keeps the contexts, so no packet index is ever protected twice under
 * one key. Keys are never logged.
 *
 * Ownership: a stream's struct media_srtp is allocated at its first translated offer and freed
 * with the stream (media_srtp_free); it belongs to the worker that owns the call. */
#ifndef SIPRING_SRC_MEDIA_SRTP_H
#define SIPRING_SRC_MEDIA_SRTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../sip/sdes.h"
#include "../sip/sdp_rewrite.h"

enum media_srtp_mode { MEDIA_SRTP_OFF = 0, MEDIA_SRTP_OPTIONAL, MEDIA_SRTP_REQUIRED };

struct media_srtp_cfg {
    enum media_srtp_mode mode;
    uint8_t suites[SDES_SUITE_COUNT]; /* enum sdes_suite, in the order offered */
    uint8_t suite_count;
};

struct media_srtp;

/* One m= line of SDP crossing the relay, as media_srtp_on_sdp needs it. */
struct media_srtp_sdp {
    const struct sdp_media *md;
    unsigned in; /* the leg (0 or 1) that sent it */
    bool in_outside, out_outside;
    bool is_request;
    bool is_ack_or_prack; /* requests that can only carry an answer */
};

/* media_srtp_refuses: whether an SDP from the outside to the inside must be refused with 488
 * under --srtp-outside required (an offer with a plain RTP stream and no a=crypto). */
bool media_srtp_refuses(const struct media_srtp_cfg *cfg, const struct sdp *sdp, bool in_outside,
                        bool out_outside, bool is_request, bool is_ack_or_prack);

/* media_srtp_on_sdp: negotiates m= line `i` and fills rw's profile, strip_crypto and crypto
 * for it; crypto text is written into text[0..cap) (the caller keeps it until the rewrite).
 * *ps is the stream's state, allocated here when the stream starts translating. Returns 0, or
 * -1 when out of memory or a context could not be made (logged; the stream is then relayed
 * without translation). */
int media_srtp_on_sdp(struct media_srtp **ps, const struct media_srtp_cfg *cfg,
                      const struct media_srtp_sdp *in, unsigned i, struct sdp_rewrite *rw,
                      char *text, size_t cap);

/* media_srtp_outside_leg: the leg whose packets are SRTP, or -1 when the stream is not
 * translated (plain, or SRTP end to end). */
int media_srtp_outside_leg(const struct media_srtp *s);

/* media_srtp_from_outside: unprotects pkt[0..*len) received from the outside leg in place.
 * Returns 0, or -1 (no key agreed yet, authentication or replay check failed). */
int media_srtp_from_outside(struct media_srtp *s, uint8_t *pkt, size_t *len, bool is_rtcp);

/* media_srtp_to_outside: protects pkt[0..*len) (room cap) in place for the outside leg.
 * Returns 0 or -1. */
int media_srtp_to_outside(struct media_srtp *s, uint8_t *pkt, size_t *len, size_t cap,
                          bool is_rtcp);

/* media_srtp_suite: the suite agreed for the stream, SDES_NONE while none is. */
enum sdes_suite media_srtp_suite(const struct media_srtp *s);

void media_srtp_free(struct media_srtp *s);

#endif

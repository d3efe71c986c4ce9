/* sip/sdp_rewrite.h: rewriting SDP so the media of a call flows through sipring's relay: every
 * connection address (c=, and o='s address) becomes sipring's address on the side the SDP goes
 * to, every m= port the relay port for that stream, a=rtcp (RFC 3605) follows, and ICE lines
 * (RFC 8839) can be removed when the candidates would point into a network the receiver cannot
 * reach. Writes into a caller buffer; reads the body and never keeps pointers into it. */
#ifndef SIPRING_SIP_SDP_REWRITE_H
#define SIPRING_SIP_SDP_REWRITE_H

#include "sdp.h"

/* What becomes of an m= line's transport profile when the relay translates SRTP (RFC 4568):
 * PLAIN turns RTP/SAVP(F) into RTP/AVP(F), SECURE the reverse; other profiles stay. */
enum sdp_profile_change { SDP_PROFILE_KEEP = 0, SDP_PROFILE_PLAIN, SDP_PROFILE_SECURE };

struct sdp_rewrite {
    const char *addr; /* sipring's media address for the receiving side (IPv4 or IPv6 text) */
    bool strip_ice;   /* drop a=candidate, a=ice-*, a=remote-candidates, a=end-of-candidates */
    uint16_t port[SDP_MAX_MEDIA]; /* relay RTP port per m= line, in order (RTCP: port + 1) */
    /* SRTP translation, per m= line: the profile, whether the sender's a=crypto lines go, and
     * a=crypto lines of sipring's own (CRLF-terminated, owned by the caller) added at the end of
     * the media section. */
    enum sdp_profile_change profile[SDP_MAX_MEDIA];
    bool strip_crypto[SDP_MAX_MEDIA];
    struct sip_str crypto[SDP_MAX_MEDIA];
};

/* sdp_rewrite: writes body (already parsed into s) rewritten by rw into out[0..cap), with CRLF
 * line ends. An m= line whose port is 0 (a refused stream, RFC 3264 §6) keeps port 0. Returns
 * the length written, or -1 if it does not fit in cap. */
long sdp_rewrite(const struct sdp *s, struct sip_str body, const struct sdp_rewrite *rw, char *out,
                 size_t cap);

#endif

/* sip/sdp_rewrite.h: rewriting SDP so the media of a call flows through sipring's relay: every
 * connection address (c=, and o='s address) becomes sipring's address on the side the SDP goes
 * to, every m= port the relay port for that stream, a=rtcp (RFC 3605) follows, and ICE lines
 * (RFC 8839) can be removed when the candidates would point into a network the receiver cannot
 * reach. Writes into a caller buffer; reads the body and never keeps pointers into it. */
#ifndef SIPRING_SIP_SDP_REWRITE_H
#define SIPRING_SIP_SDP_REWRITE_H

#include "sdp.h"

struct sdp_rewrite {
    const char *addr; /* sipring's media address for the receiving side (IPv4 or IPv6 text) */
    bool strip_ice;   /* drop a=candidate, a=ice-*, a=remote-candidates, a=end-of-candidates */
    uint16_t port[SDP_MAX_MEDIA]; /* relay RTP port per m= line, in order (RTCP: port + 1) */
};

/* sdp_rewrite: writes body (already parsed into s) rewritten by rw into out[0..cap), with CRLF
 * line ends. An m= line whose port is 0 (a refused stream, RFC 3264 §6) keeps port 0. Returns
 * the length written, or -1 if it does not fit in cap. */
long sdp_rewrite(const struct sdp *s, struct sip_str body, const struct sdp_rewrite *rw, char *out,
                 size_t cap);

#endif

/* sip/media.h: what the proxy core asks of a media relay, behind an interface so that sip/
 * stays free of sockets and of rtp/ (src/ implements it with rtp/ and the ring).
 *
 * The proxy calls sdp() for every message with an SDP body it forwards (offers and answers in
 * INVITE, 18x, 2xx, ACK, UPDATE, PRACK, re-INVITE), and end() when the call is over (BYE, a
 * final failure of the initial INVITE, a CANCEL's 487). A call is identified by its Call-ID.
 * Slices in sip_media_msg point into the message being forwarded, valid during the call only. */
#ifndef SIPRING_SIP_MEDIA_H
#define SIPRING_SIP_MEDIA_H

#include "calls.h"
#include "peer.h"
#include "sdp_rewrite.h"

struct sip_media_msg {
    struct sip_str call_id;
    struct sip_str from_tag; /* the message's From tag */
    bool is_request;
    bool is_initial;                 /* a request without To tag: it may create the call */
    bool is_ack_or_prack;            /* a request that can carry only an answer (RFC 3262, 3264) */
    bool may_create;                 /* false: update a running call only (a 2xx that outlived its
                                * transaction belongs to a call that has ended or never had
                                * media here; it must not open ports again) */
    const struct sip_peer *sender;   /* where the message came from (its NAT's address) */
    const struct sip_peer *receiver; /* the next hop it goes to */
    bool sender_inside, receiver_inside;
    bool sender_capped;    /* an outside source (not the upstream): its unanswered calls
                                * are capped (issue 13, class 5) */
    struct sip_str callee; /* an initial request's Request-URI user and host, as the
                                * unanswered calls from capped sources are capped per callee */
    const struct sdp *sdp;
    uint64_t now_ms;
};

#define SIP_MEDIA_FULL (-2)
#define SIP_MEDIA_REFUSED (-3)
#define SIP_MEDIA_NO_CALL (-4)

struct sip_media_ops {
    /* sdp: the media of msg->sdp is announced by the sender; fills rw with sipring's address
     * for the receiver's side and the relay port of each m= line. Returns 0 to rewrite, -1 to
     * forward the SDP unchanged, or SIP_MEDIA_FULL when the relay has no room (no session or
     * no ports): a new call is then refused with 503 and Retry-After rather than set up with
     * media that cannot cross the edge (the reason is logged by the implementation), or
     * SIP_MEDIA_REFUSED when policy refuses the offer (plain RTP from the outside where SRTP
     * is required): the request is then answered 488, or SIP_MEDIA_NO_CALL when
     * msg->may_create is false and the call has no session (the message is dropped). */
    int (*sdp)(void *self, const struct sip_media_msg *msg, struct sdp_rewrite *rw);
    /* end: the call is over; its relay ports are released. */
    void (*end)(void *self, struct sip_str call_id);
    /* totals: what the call's media has done so far (per stream: codec, SRTP, packets and
     * bytes each way, the RTCP quality) into out->stream; out->nstreams 0 when the call has
     * no session. Asked before end, for the call's record, and for /calls. */
    void (*totals)(void *self, struct sip_str call_id, struct sip_call_record *out);
};

struct sip_media {
    const struct sip_media_ops *ops;
    void *self;
};

#endif

/* sip/sdp.h: the part of SDP (RFC 4566) a media-anchoring proxy reads and rewrites: origin,
 * connection data at session and media level, media lines with port, port count, profile and
 * formats, a=rtcp (RFC 3605), a=rtcp-mux (RFC 5761), a=crypto (RFC 4568), direction attributes
 * and ICE candidates (RFC 8839).
 *
 * Ownership: every slice points into the body given to sdp_parse(). */
#ifndef SIPRING_SIP_SDP_H
#define SIPRING_SIP_SDP_H

#include "str.h"

#define SDP_MAX_MEDIA 8
#define SDP_MAX_CRYPTO 12
#define SDP_MAX_CANDIDATES 16

enum sdp_dir {
    SDP_DIR_NONE = 0, /* not stated: sendrecv by default (RFC 4566 §6) */
    SDP_DIR_SENDRECV,
    SDP_DIR_SENDONLY,
    SDP_DIR_RECVONLY,
    SDP_DIR_INACTIVE,
};

/* c= (or the address part of o=, or of a=rtcp): nettype addrtype connection-address. */
struct sdp_conn {
    struct sip_str line; /* the value after "c=", without CRLF */
    struct sip_str nettype;
    struct sip_str addrtype;
    struct sip_str addr;
    bool is_set;
};

struct sdp_crypto {
    struct sip_str line; /* value after "a=crypto:" */
    uint32_t tag;
    struct sip_str suite;
    struct sip_str key_params;
    struct sip_str session_params; /* may be empty */
};

struct sdp_media {
    struct sip_str section; /* from "m=" to the next "m=" or the end, line ends included */
    struct sip_str line;    /* value after "m=" */
    struct sip_str type;
    struct sip_str port_text; /* the digits, for in-place rewriting by the builder */
    uint16_t port;
    uint16_t port_count; /* 1 if not given */
    struct sip_str proto;
    struct sip_str fmts;
    struct sdp_conn conn;
    bool has_rtcp;
    uint16_t rtcp_port;
    struct sip_str rtcp_line;  /* value after "a=rtcp:" */
    struct sdp_conn rtcp_conn; /* is_set when a=rtcp carries an address */
    bool rtcp_mux;
    enum sdp_dir dir;
    uint8_t crypto_count;
    uint8_t cand_count;
    struct sdp_crypto crypto[SDP_MAX_CRYPTO];
    struct sip_str cand[SDP_MAX_CANDIDATES]; /* whole "a=candidate:" values */
};

struct sdp {
    struct sip_str origin_user;
    struct sip_str sess_id;
    struct sip_str sess_version;
    struct sdp_conn origin; /* address part of o= */
    struct sdp_conn conn;   /* session-level c= */
    enum sdp_dir dir;       /* session-level direction */
    uint8_t media_count;
    struct sdp_media media[SDP_MAX_MEDIA];
};

/* sdp_parse: parses body into *s. Returns 0, or -1 if it is not SDP (no leading v=0), a line
 * is malformed, a field the proxy needs is out of range, or there are more than SDP_MAX_MEDIA
 * m= lines (or more candidate lines than the cap; a=crypto lines past SDP_MAX_CRYPTO are
 * checked and skipped). */
int sdp_parse(struct sip_str body, struct sdp *s);

/* sdp_media_conn: the connection data that applies to media i (media level, else session). */
const struct sdp_conn *sdp_media_conn(const struct sdp *s, unsigned i);

/* sdp_media_codec: the first format of m= line md as "name/clock" into out (cap bytes; "" when
 * it has none): from its a=rtpmap, else RFC 3551's static payload types (PCMU, GSM, G723,
 * PCMA, G722, G729...). *clock_hz gets its RTP clock (0 unknown; G.722's is 8000, RFC 3551
 * §4.5.2). Characters that could not go into a log line or JSON string unescaped become '?'. */
void sdp_media_codec(const struct sdp_media *md, char *out, size_t cap, uint32_t *clock_hz);

#endif

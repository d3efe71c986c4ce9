/* sip/msg.h: a parsed SIP message (RFC 3261 §7), zero-copy.
 *
 * Ownership: struct sip_msg holds only slices into the buffer given to sip_msg_parse() and never
 * writes into it. The buffer must outlive the message; in src/ that is a provided receive buffer,
 * returned to the ring once the message has been handled or copied for retransmission.
 * The caller owns struct sip_msg itself (it is large: keep one per worker, not on a small stack)
 * and may reuse it for the next message; every parse starts by resetting it.
 *
 * Headers are indexed once: hdr[] in message order, plus a first/next chain per type. A list
 * header (Via, Contact, Route, ...) gets one hdr[] entry per comma-separated element, and the
 * elements of one header line share its `line` slice. Via, From, To, Contact, Route,
 * Record-Route and Path elements are decoded while indexing, into via[] and addr[]. */
#ifndef SIPRING_SIP_MSG_H
#define SIPRING_SIP_MSG_H

#include "hdr.h"
#include "str.h"
#include "uri.h"

/* Parser outcomes (STYLE.md: >0 consumed, AGAIN incomplete, EBAD bad). */
enum {
    SIP_AGAIN = -2,
    SIP_EBAD = -1,
};

/* Hard caps, fixed at compile time; struct sip_limits may lower them at run time. */
#define SIP_MAX_HEADERS 128
#define SIP_MAX_VIA 64
#define SIP_MAX_ADDR 64
#define SIP_NONE 0xffffu

enum sip_method {
    SIP_METHOD_UNKNOWN = 0,
    SIP_METHOD_INVITE,
    SIP_METHOD_ACK,
    SIP_METHOD_BYE,
    SIP_METHOD_CANCEL,
    SIP_METHOD_OPTIONS,
    SIP_METHOD_REGISTER,
    SIP_METHOD_PRACK,
    SIP_METHOD_SUBSCRIBE,
    SIP_METHOD_NOTIFY,
    SIP_METHOD_PUBLISH,
    SIP_METHOD_INFO,
    SIP_METHOD_REFER,
    SIP_METHOD_MESSAGE,
    SIP_METHOD_UPDATE,
};

/* Why a message was refused; each maps to a status code and a reason phrase (sip_err_*). */
enum sip_err {
    SIP_ERR_NONE = 0,
    SIP_ERR_START_LINE,
    SIP_ERR_METHOD,
    SIP_ERR_REQUEST_URI,
    SIP_ERR_VERSION,
    SIP_ERR_STATUS_CODE,
    SIP_ERR_HEADER_SYNTAX,
    SIP_ERR_VIA,
    SIP_ERR_FROM,
    SIP_ERR_TO,
    SIP_ERR_CALL_ID,
    SIP_ERR_CSEQ,
    SIP_ERR_CSEQ_METHOD,
    SIP_ERR_MAX_FORWARDS,
    SIP_ERR_CONTACT,
    SIP_ERR_ROUTE,
    SIP_ERR_RECORD_ROUTE,
    SIP_ERR_PATH,
    SIP_ERR_CONTENT_LENGTH,
    SIP_ERR_BODY_TRUNCATED,
    SIP_ERR_NO_CONTENT_LENGTH,
    SIP_ERR_EXPIRES,
    SIP_ERR_DATE,
    SIP_ERR_MISSING_HEADER,
    SIP_ERR_DUPLICATE_HEADER,
    SIP_ERR_TOO_MANY_HEADERS,
    SIP_ERR_TOO_MANY_VIAS,
    SIP_ERR_TOO_BIG,
    SIP_ERR__COUNT
};

struct sip_limits {
    size_t max_msg_bytes; /* whole message, headers and body */
    size_t max_headers;   /* header entries (list elements count one each) */
    size_t max_vias;
};

/* Default limits: 64 KiB, every compile-time cap. */
extern const struct sip_limits sip_limits_default;

struct sip_hdr {
    struct sip_str name;  /* as written, compact or long */
    struct sip_str value; /* this element, trimmed; may contain folds */
    struct sip_str line;  /* the whole header line(s), from name to CRLF inclusive */
    uint16_t type;        /* enum sip_hdr_type */
    uint16_t next;        /* next entry of the same type, or SIP_NONE */
    uint16_t item;        /* index into via[] or addr[], or SIP_NONE */
    uint16_t line_first;  /* index of the first element of this line */
};

struct sip_via {
    struct sip_str transport; /* UDP, TCP, TLS, SCTP, WS, ... as written */
    struct sip_str host;      /* without IPv6 brackets */
    enum sip_host_kind host_kind;
    uint16_t port;
    bool has_port;
    struct sip_str params; /* from the first ';' (excluded) to the end of the element */
    struct sip_str branch;
    struct sip_str received;
    struct sip_str maddr;
    struct sip_str ttl;
    struct sip_str rport_value; /* empty when rport has no value */
    bool has_branch;
    bool has_received;
    bool has_rport;
    bool has_maddr;
    bool has_ttl;
    uint8_t param_count; /* at most SIP_MAX_PARAMS (32): a builder must not push it past */
};

/* name-addr / addr-spec with header parameters: From, To, Contact, Route, Record-Route, Path. */
struct sip_addr {
    struct sip_str display; /* without quotes; empty if none */
    struct sip_uri uri;
    struct sip_str params; /* header params after the URI, from the first ';' (excluded) */
    struct sip_str tag;
    uint32_t expires;
    uint16_t q_milli; /* q-value times 1000 */
    bool has_tag;
    bool has_expires;
    bool has_q;
    bool is_star;        /* Contact: * */
    uint8_t param_count; /* header parameters, at most SIP_MAX_PARAMS (32) */
};

struct sip_msg {
    const char *buf;
    size_t len; /* bytes of this message, start line to end of body */

    bool is_request;
    struct sip_str start_line; /* without CRLF */
    struct sip_str method;
    enum sip_method method_id;
    struct sip_uri ruri;
    unsigned status;
    struct sip_str reason;

    struct sip_str head; /* start line through the blank line, inclusive */
    struct sip_str body;

    uint16_t hdr_count;
    uint16_t via_count;
    uint16_t addr_count;
    uint16_t first[SIP_HDR__COUNT]; /* first hdr[] of each type, or SIP_NONE */
    uint16_t last[SIP_HDR__COUNT];  /* last hdr[] of each type (valid when first is set) */
    uint16_t count[SIP_HDR__COUNT];

    struct sip_str call_id;
    uint32_t cseq;
    struct sip_str cseq_method;
    enum sip_method cseq_method_id;
    int max_forwards; /* -1 if absent */
    bool has_content_length;
    uint32_t content_length;
    struct sip_str content_type;
    bool has_expires;
    uint32_t expires;
    uint16_t from; /* index into addr[] */
    uint16_t to;

    enum sip_err err;
    size_t err_off; /* offset in buf where the error was found */

    struct sip_hdr hdr[SIP_MAX_HEADERS];
    struct sip_via via[SIP_MAX_VIA];
    struct sip_addr addr[SIP_MAX_ADDR];
};

enum sip_parse_mode {
    SIP_PARSE_DGRAM = 0, /* one datagram: body is Content-Length bytes, or the rest if absent */
    SIP_PARSE_STREAM,    /* a stream: Content-Length required; SIP_AGAIN until complete */
};

/* sip_msg_parse: parses one message from buf[0..len) into *m.
 * Returns the bytes the message takes (>0); SIP_AGAIN if a stream message is incomplete;
 * SIP_EBAD with m->err and m->err_off set if it is malformed or over a limit.
 * In datagram mode, octets after Content-Length are ignored (RFC 3261 §18.3). */
int sip_msg_parse(struct sip_msg *m, const char *buf, size_t len, enum sip_parse_mode mode,
                  const struct sip_limits *lim);

/* sip_msg_first / sip_msg_next: walk the entries of one header type (NULL at the end). */
const struct sip_hdr *sip_msg_first(const struct sip_msg *m, enum sip_hdr_type t);
const struct sip_hdr *sip_msg_next(const struct sip_msg *m, const struct sip_hdr *h);

/* sip_msg_find_other: first header of an unknown type with this name (case-insensitive). */
const struct sip_hdr *sip_msg_find_other(const struct sip_msg *m, const char *name);

/* sip_msg_top_via: the first Via, or NULL. */
static inline const struct sip_via *sip_msg_top_via(const struct sip_msg *m)
{
    return m->via_count > 0 ? &m->via[0] : NULL;
}

/* sip_method_of: the method id of a method token (case-sensitive, RFC 3261 §7.1). */
enum sip_method sip_method_of(struct sip_str s);

/* sip_err_status, sip_err_phrase: the response a proxy sends for a refused request. */
unsigned sip_err_status(enum sip_err e);
const char *sip_err_phrase(enum sip_err e);

#endif

/* sip/hdr.h: header names sipring knows, with their compact forms (RFC 3261 §7.3.3, §20).
 * One table drives name lookup, list splitting and the builder's names. */
#ifndef SIPRING_SIP_HDR_H
#define SIPRING_SIP_HDR_H

#include "str.h"

enum sip_hdr_type {
    SIP_HDR_OTHER = 0,
    SIP_HDR_VIA,
    SIP_HDR_FROM,
    SIP_HDR_TO,
    SIP_HDR_CALL_ID,
    SIP_HDR_CSEQ,
    SIP_HDR_MAX_FORWARDS,
    SIP_HDR_CONTACT,
    SIP_HDR_ROUTE,
    SIP_HDR_RECORD_ROUTE,
    SIP_HDR_PATH,
    SIP_HDR_CONTENT_LENGTH,
    SIP_HDR_CONTENT_TYPE,
    SIP_HDR_EXPIRES,
    SIP_HDR_MIN_EXPIRES,
    SIP_HDR_AUTHORIZATION,
    SIP_HDR_PROXY_AUTHORIZATION,
    SIP_HDR_WWW_AUTHENTICATE,
    SIP_HDR_PROXY_AUTHENTICATE,
    SIP_HDR_SUPPORTED,
    SIP_HDR_REQUIRE,
    SIP_HDR_PROXY_REQUIRE,
    SIP_HDR_UNSUPPORTED,
    SIP_HDR_USER_AGENT,
    SIP_HDR_SERVER,
    SIP_HDR_ALLOW,
    SIP_HDR_DATE,
    SIP_HDR_SUBJECT,
    SIP_HDR_EVENT,
    SIP_HDR_REFER_TO,
    SIP_HDR_RETRY_AFTER,
    SIP_HDR_CONTENT_ENCODING,
    SIP_HDR_ACCEPT,
    SIP_HDR__COUNT
};

/* What the parser does with a header's value. */
enum sip_hdr_kind {
    SIP_HK_RAW = 0, /* one value, kept as is */
    SIP_HK_LIST,    /* comma-separated list: one entry per element (RFC 3261 §7.3.1) */
    /* Allow, Accept and Unsupported are lists too, but nothing in a proxy looks inside them,
     * so they stay RAW and cost no split. */
};

struct sip_hdr_def {
    const char *name;
    char compact; /* 0 if none */
    enum sip_hdr_type type;
    enum sip_hdr_kind kind;
};

/* sip_hdr_lookup: the type of a header name (case-insensitive, compact forms included);
 * SIP_HDR_OTHER for names sipring does not know. */
enum sip_hdr_type sip_hdr_lookup(const char *name, size_t len);

/* sip_hdr_def_of: the table entry of a known type. */
const struct sip_hdr_def *sip_hdr_def_of(enum sip_hdr_type t);

#endif

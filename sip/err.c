/* sip/err.c: what a refused message is answered with. Phrases are short and name the header,
 * so the peer's administrator can see at once what sipring did not accept. */
#include "msg.h"

static const struct {
    unsigned status;
    const char *phrase;
} errs[SIP_ERR__COUNT] = {
    [SIP_ERR_NONE] = {200, "OK"},
    [SIP_ERR_START_LINE] = {400, "Bad Request Line"},
    [SIP_ERR_METHOD] = {400, "Bad Method"},
    [SIP_ERR_REQUEST_URI] = {400, "Bad Request-URI"},
    [SIP_ERR_VERSION] = {505, "Version Not Supported"},
    [SIP_ERR_STATUS_CODE] = {0, "Bad Status Code"},
    [SIP_ERR_HEADER_SYNTAX] = {400, "Bad Header"},
    [SIP_ERR_VIA] = {400, "Bad Via"},
    [SIP_ERR_FROM] = {400, "Bad From"},
    [SIP_ERR_TO] = {400, "Bad To"},
    [SIP_ERR_CALL_ID] = {400, "Bad Call-ID"},
    [SIP_ERR_CSEQ] = {400, "Bad CSeq"},
    [SIP_ERR_CSEQ_METHOD] = {400, "CSeq Method Mismatch"},
    [SIP_ERR_MAX_FORWARDS] = {400, "Bad Max-Forwards"},
    [SIP_ERR_CONTACT] = {400, "Bad Contact"},
    [SIP_ERR_ROUTE] = {400, "Bad Route"},
    [SIP_ERR_RECORD_ROUTE] = {400, "Bad Record-Route"},
    [SIP_ERR_PATH] = {400, "Bad Path"},
    [SIP_ERR_CONTENT_LENGTH] = {400, "Bad Content-Length"},
    [SIP_ERR_BODY_TRUNCATED] = {400, "Body Shorter Than Content-Length"},
    [SIP_ERR_NO_CONTENT_LENGTH] = {400, "Content-Length Required"},
    [SIP_ERR_EXPIRES] = {400, "Bad Expires"},
    [SIP_ERR_DATE] = {400, "Bad Date"},
    [SIP_ERR_MISSING_HEADER] = {400, "Missing Mandatory Header"},
    [SIP_ERR_DUPLICATE_HEADER] = {400, "Duplicate Header"},
    [SIP_ERR_TOO_MANY_HEADERS] = {400, "Too Many Headers"},
    [SIP_ERR_TOO_MANY_VIAS] = {400, "Too Many Vias"},
    [SIP_ERR_TOO_BIG] = {513, "Message Too Large"},
};

unsigned sip_err_status(enum sip_err e)
{
    return (unsigned)e < SIP_ERR__COUNT ? errs[e].status : 400;
}

const char *sip_err_phrase(enum sip_err e)
{
    return (unsigned)e < SIP_ERR__COUNT && errs[e].phrase ? errs[e].phrase : "Bad Request";
}

/* sip/hdr.c: the header name table and its lookup.
 *
 * Lookup runs once per header line, the hottest string operation of the parser, so candidates
 * are indexed by name length: at most five names share a length, and a mismatch usually costs
 * one first-letter comparison. */
#include "hdr.h"

static const struct sip_hdr_def defs[] = {
    {"", 0, SIP_HDR_OTHER, SIP_HK_RAW},
    {"Via", 'v', SIP_HDR_VIA, SIP_HK_LIST},
    {"From", 'f', SIP_HDR_FROM, SIP_HK_RAW},
    {"To", 't', SIP_HDR_TO, SIP_HK_RAW},
    {"Call-ID", 'i', SIP_HDR_CALL_ID, SIP_HK_RAW},
    {"CSeq", 0, SIP_HDR_CSEQ, SIP_HK_RAW},
    {"Max-Forwards", 0, SIP_HDR_MAX_FORWARDS, SIP_HK_RAW},
    {"Contact", 'm', SIP_HDR_CONTACT, SIP_HK_LIST},
    {"Route", 0, SIP_HDR_ROUTE, SIP_HK_LIST},
    {"Record-Route", 0, SIP_HDR_RECORD_ROUTE, SIP_HK_LIST},
    {"Path", 0, SIP_HDR_PATH, SIP_HK_LIST},
    {"Content-Length", 'l', SIP_HDR_CONTENT_LENGTH, SIP_HK_RAW},
    {"Content-Type", 'c', SIP_HDR_CONTENT_TYPE, SIP_HK_RAW},
    {"Expires", 0, SIP_HDR_EXPIRES, SIP_HK_RAW},
    {"Min-Expires", 0, SIP_HDR_MIN_EXPIRES, SIP_HK_RAW},
    {"Authorization", 0, SIP_HDR_AUTHORIZATION, SIP_HK_RAW},
    {"Proxy-Authorization", 0, SIP_HDR_PROXY_AUTHORIZATION, SIP_HK_RAW},
    {"WWW-Authenticate", 0, SIP_HDR_WWW_AUTHENTICATE, SIP_HK_RAW},
    {"Proxy-Authenticate", 0, SIP_HDR_PROXY_AUTHENTICATE, SIP_HK_RAW},
    {"Supported", 'k', SIP_HDR_SUPPORTED, SIP_HK_LIST},
    {"Require", 0, SIP_HDR_REQUIRE, SIP_HK_LIST},
    {"Proxy-Require", 0, SIP_HDR_PROXY_REQUIRE, SIP_HK_LIST},
    {"Unsupported", 0, SIP_HDR_UNSUPPORTED, SIP_HK_RAW},
    {"User-Agent", 0, SIP_HDR_USER_AGENT, SIP_HK_RAW},
    {"Server", 0, SIP_HDR_SERVER, SIP_HK_RAW},
    {"Allow", 0, SIP_HDR_ALLOW, SIP_HK_RAW},
    {"Date", 0, SIP_HDR_DATE, SIP_HK_RAW},
    {"Subject", 's', SIP_HDR_SUBJECT, SIP_HK_RAW},
    {"Event", 'o', SIP_HDR_EVENT, SIP_HK_RAW},
    {"Refer-To", 'r', SIP_HDR_REFER_TO, SIP_HK_RAW},
    {"Retry-After", 0, SIP_HDR_RETRY_AFTER, SIP_HK_RAW},
    {"Content-Encoding", 'e', SIP_HDR_CONTENT_ENCODING, SIP_HK_RAW},
    {"Accept", 0, SIP_HDR_ACCEPT, SIP_HK_RAW},
};

_Static_assert(sizeof(defs) / sizeof(defs[0]) == SIP_HDR__COUNT, "one entry per type");

/* Compact forms: 'a'..'z' → type. */
static const unsigned char compact_of[26] = {
    ['v' - 'a'] = SIP_HDR_VIA,          ['f' - 'a'] = SIP_HDR_FROM,
    ['t' - 'a'] = SIP_HDR_TO,           ['i' - 'a'] = SIP_HDR_CALL_ID,
    ['m' - 'a'] = SIP_HDR_CONTACT,      ['l' - 'a'] = SIP_HDR_CONTENT_LENGTH,
    ['c' - 'a'] = SIP_HDR_CONTENT_TYPE, ['k' - 'a'] = SIP_HDR_SUPPORTED,
    ['s' - 'a'] = SIP_HDR_SUBJECT,      ['o' - 'a'] = SIP_HDR_EVENT,
    ['r' - 'a'] = SIP_HDR_REFER_TO,     ['e' - 'a'] = SIP_HDR_CONTENT_ENCODING,
};

/* Candidates by name length (2..19); each list ends with 0. Kept next to the table it indexes;
 * test_hdr checks every entry of defs[] is found through it. */
static const unsigned char by_len[20][6] = {
    [2] = {SIP_HDR_TO},
    [3] = {SIP_HDR_VIA},
    [4] = {SIP_HDR_FROM, SIP_HDR_CSEQ, SIP_HDR_PATH, SIP_HDR_DATE},
    [5] = {SIP_HDR_ROUTE, SIP_HDR_ALLOW, SIP_HDR_EVENT},
    [6] = {SIP_HDR_SERVER, SIP_HDR_ACCEPT},
    [7] = {SIP_HDR_CALL_ID, SIP_HDR_CONTACT, SIP_HDR_EXPIRES, SIP_HDR_REQUIRE, SIP_HDR_SUBJECT},
    [8] = {SIP_HDR_REFER_TO},
    [9] = {SIP_HDR_SUPPORTED},
    [10] = {SIP_HDR_USER_AGENT},
    [11] = {SIP_HDR_MIN_EXPIRES, SIP_HDR_UNSUPPORTED, SIP_HDR_RETRY_AFTER},
    [12] = {SIP_HDR_MAX_FORWARDS, SIP_HDR_RECORD_ROUTE, SIP_HDR_CONTENT_TYPE},
    [13] = {SIP_HDR_AUTHORIZATION, SIP_HDR_PROXY_REQUIRE},
    [14] = {SIP_HDR_CONTENT_LENGTH},
    [16] = {SIP_HDR_WWW_AUTHENTICATE, SIP_HDR_CONTENT_ENCODING},
    [18] = {SIP_HDR_PROXY_AUTHENTICATE},
    [19] = {SIP_HDR_PROXY_AUTHORIZATION},
};

/* The name is a token (checked by the caller) and the table holds letters, digits and '-':
 * for those, OR-ing 0x20 folds case and maps no other token character onto them. */
static bool name_ieq(const char *a, const char *lit, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if ((a[i] | 0x20) != (lit[i] | 0x20)) {
            return false;
        }
    }
    return true;
}

enum sip_hdr_type sip_hdr_lookup(const char *name, size_t len)
{
    if (len == 1) {
        char c = sip_lower(name[0]);
        return (c >= 'a' && c <= 'z') ? (enum sip_hdr_type)compact_of[c - 'a'] : SIP_HDR_OTHER;
    }
    if (len >= sizeof(by_len) / sizeof(by_len[0])) {
        return SIP_HDR_OTHER;
    }
    const unsigned char *cand = by_len[len];
    for (size_t i = 0; i < sizeof(by_len[0]) && cand[i] != 0; i++) {
        const char *n = defs[cand[i]].name;
        if (name_ieq(name, n, len)) {
            return (enum sip_hdr_type)cand[i];
        }
    }
    return SIP_HDR_OTHER;
}

const struct sip_hdr_def *sip_hdr_def_of(enum sip_hdr_type t)
{
    return (unsigned)t < SIP_HDR__COUNT ? &defs[t] : &defs[0];
}

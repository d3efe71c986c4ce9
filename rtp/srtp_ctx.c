/* rtp/srtp_ctx.c: see srtp_ctx.h. */
#include "srtp_ctx.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <srtp2/srtp.h>

struct rtp_srtp {
    srtp_t s;
};

int rtp_srtp_lib_init(void)
{
    return srtp_init() == srtp_err_status_ok ? 0 : -1;
}

const char *rtp_srtp_lib_version(void)
{
    return srtp_get_version_string();
}

/* policies: RTP and RTCP crypto policy of a suite, and its key length. RFC 4568 §6.2.2: the
 * _32 suite shortens only the SRTP tag; SRTCP keeps 80 bits. RFC 7714: GCM for both. */
static size_t policies(enum rtp_srtp_suite suite, srtp_crypto_policy_t *rtp,
                       srtp_crypto_policy_t *rtcp)
{
    switch (suite) {
    case RTP_SRTP_AES_CM_128_HMAC_SHA1_80:
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtcp);
        return 30;
    case RTP_SRTP_AES_CM_128_HMAC_SHA1_32:
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtcp);
        return 30;
    case RTP_SRTP_AEAD_AES_128_GCM:
        srtp_crypto_policy_set_aes_gcm_128_16_auth(rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(rtcp);
        return 28;
    case RTP_SRTP_AEAD_AES_256_GCM:
        srtp_crypto_policy_set_aes_gcm_256_16_auth(rtp);
        srtp_crypto_policy_set_aes_gcm_256_16_auth(rtcp);
        return 44;
    }
    return 0;
}

struct rtp_srtp *rtp_srtp_new(enum rtp_srtp_suite suite, const uint8_t *key, size_t len,
                              bool is_outbound)
{
    srtp_policy_t pol;
    memset(&pol, 0, sizeof(pol));
    size_t want = policies(suite, &pol.rtp, &pol.rtcp);
    if (want == 0 || len != want) {
        return NULL;
    }
    struct rtp_srtp *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    uint8_t k[64];
    memcpy(k, key, len);
    pol.ssrc.type = is_outbound ? ssrc_any_outbound : ssrc_any_inbound;
    pol.key = k;
    pol.window_size = 128;
    pol.allow_repeat_tx = 0; /* a repeated index would reuse keystream */
    srtp_err_status_t rc = srtp_create(&c->s, &pol);
    memset(k, 0, sizeof(k));
    if (rc != srtp_err_status_ok) {
        free(c);
        return NULL;
    }
    return c;
}

void rtp_srtp_free(struct rtp_srtp *c)
{
    if (c != NULL) {
        srtp_dealloc(c->s);
        free(c);
    }
}

int rtp_srtp_protect(struct rtp_srtp *c, uint8_t *pkt, size_t *len, size_t cap, bool is_rtcp)
{
    if (*len > INT_MAX - RTP_SRTP_HEADROOM || cap < *len + RTP_SRTP_HEADROOM) {
        return -1;
    }
    int n = (int)*len;
    srtp_err_status_t rc = is_rtcp ? srtp_protect_rtcp(c->s, pkt, &n) : srtp_protect(c->s, pkt, &n);
    if (rc != srtp_err_status_ok || n < 0) {
        return -1;
    }
    *len = (size_t)n;
    return 0;
}

int rtp_srtp_unprotect(struct rtp_srtp *c, uint8_t *pkt, size_t *len, bool is_rtcp)
{
    if (*len > INT_MAX) {
        return -1;
    }
    int n = (int)*len;
    srtp_err_status_t rc =
        is_rtcp ? srtp_unprotect_rtcp(c->s, pkt, &n) : srtp_unprotect(c->s, pkt, &n);
    if (rc != srtp_err_status_ok || n < 0) {
        return -1;
    }
    *len = (size_t)n;
    return 0;
}

/* src/media_srtp.c: see media_srtp.h. */
#include "media_srtp.h"

#include <stdlib.h>
#include <string.h>

#include "../rtp/srtp_ctx.h"
#include "../tls/tls.h"
#include "log.h"

/* What the last offer on the stream was, and so what its answer must do. */
enum offer_kind {
    OFFER_NONE = 0,
    OFFER_OURS,   /* from the inside: sipring offered its keys to the outside */
    OFFER_THEIRS, /* from the outside, with a key sipring can terminate */
    OFFER_PASS,   /* SRTP (or another profile) end to end: not touched */
    OFFER_PLAIN,  /* from the outside, plain RTP: not touched */
};

struct media_srtp {
    enum offer_kind kind;
    int8_t offerer;     /* leg of the last offer; -1 none */
    int8_t outside_leg; /* -1 while not translating */
    bool is_answered;   /* the last offer has had an answer */
    bool offer_secure;  /* an outside offer said RTP/SAVP(F), not best-effort RTP/AVP */
    uint8_t n_ours;
    struct sdes_key ours[SDES_SUITE_COUNT]; /* keys sipring offered or answered with */
    struct sdes_key theirs;                 /* the outside's key from its offer */
    struct sdes_key tx_key, rx_key;         /* the keys of the running contexts */
    struct rtp_srtp *tx, *rx;               /* to the outside leg, from it */
};

static bool is_plain_profile(struct sip_str p)
{
    return sip_str_eq(p, SIP_STR_LIT("RTP/AVP")) || sip_str_eq(p, SIP_STR_LIT("RTP/AVPF"));
}

static bool is_secure_profile(struct sip_str p)
{
    return sip_str_eq(p, SIP_STR_LIT("RTP/SAVP")) || sip_str_eq(p, SIP_STR_LIT("RTP/SAVPF"));
}

static unsigned suite_mask(const struct media_srtp_cfg *cfg)
{
    unsigned m = 0;
    for (unsigned i = 0; i < cfg->suite_count; i++) {
        m |= 1u << cfg->suites[i];
    }
    return m;
}

bool media_srtp_refuses(const struct media_srtp_cfg *cfg, const struct sdp *sdp, bool in_outside,
                        bool out_outside, bool is_request, bool is_ack_or_prack)
{
    if (cfg->mode != MEDIA_SRTP_REQUIRED || !in_outside || out_outside || !is_request ||
        is_ack_or_prack) {
        return false;
    }
    for (unsigned i = 0; i < sdp->media_count; i++) {
        const struct sdp_media *md = &sdp->media[i];
        if (md->port != 0 && md->crypto_count == 0 && is_plain_profile(md->proto)) {
            return true;
        }
    }
    return false;
}

static void drop_contexts(struct media_srtp *s)
{
    rtp_srtp_free(s->tx);
    rtp_srtp_free(s->rx);
    s->tx = s->rx = NULL;
    explicit_bzero(&s->tx_key, sizeof(s->tx_key));
    explicit_bzero(&s->rx_key, sizeof(s->rx_key));
}

static bool same_key(const struct sdes_key *a, const struct sdes_key *b)
{
    return a->suite == b->suite && a->len == b->len && memcmp(a->key, b->key, a->len) == 0;
}

/* install: runs the stream with tx (ours) and rx (theirs) from now on. A context whose key is
 * unchanged is kept, so a repeated answer neither resets replay state nor protects an index
 * twice under one key. */
static int install(struct media_srtp *s, unsigned outside_leg, const struct sdes_key *tx,
                   const struct sdes_key *rx)
{
    s->outside_leg = (int8_t)outside_leg;
    if (s->tx == NULL || !same_key(&s->tx_key, tx)) {
        rtp_srtp_free(s->tx);
        s->tx = rtp_srtp_new((enum rtp_srtp_suite)tx->suite, tx->key, tx->len, true);
        s->tx_key = *tx;
    }
    if (s->rx == NULL || !same_key(&s->rx_key, rx)) {
        rtp_srtp_free(s->rx);
        s->rx = rtp_srtp_new((enum rtp_srtp_suite)rx->suite, rx->key, rx->len, false);
        s->rx_key = *rx;
    }
    if (s->tx == NULL || s->rx == NULL) {
        drop_contexts(s);
        log_error("media: libsrtp could not make a %s context", sdes_suite_name(tx->suite));
        return -1;
    }
    return 0;
}

static int new_key(struct sdes_key *k, enum sdes_suite suite, uint32_t tag)
{
    memset(k, 0, sizeof(*k));
    k->suite = suite;
    k->tag = tag;
    k->len = (uint8_t)sdes_key_len(suite);
    return tls_random(k->key, k->len);
}

/* put_lines: our keys as a=crypto lines into text for rw's line i. */
static int put_lines(const struct sdes_key *keys, unsigned n, unsigned i, struct sdp_rewrite *rw,
                     char *text, size_t cap)
{
    size_t len = 0;
    for (unsigned k = 0; k < n; k++) {
        long w = sdes_key_write(&keys[k], text + len, cap - len);
        if (w < 0) {
            return -1;
        }
        len += (size_t)w;
    }
    rw->crypto[i] = sip_str_make(text, len);
    return 0;
}

/* on_offer: a new offer from leg in->in. */
static int on_offer(struct media_srtp *s, const struct media_srtp_cfg *cfg,
                    const struct media_srtp_sdp *in, unsigned i, struct sdp_rewrite *rw, char *text,
                    size_t cap)
{
    const struct sdp_media *md = in->md;
    s->offerer = (int8_t)in->in;
    s->is_answered = false;
    s->n_ours = 0;
    explicit_bzero(s->ours, sizeof(s->ours));
    explicit_bzero(&s->theirs, sizeof(s->theirs));
    if (in->in_outside) {
        if (sdes_key_choose(md, suite_mask(cfg), &s->theirs) == 0) {
            s->kind = OFFER_THEIRS;
            s->offer_secure = is_secure_profile(md->proto);
            rw->profile[i] = SDP_PROFILE_PLAIN;
            rw->strip_crypto[i] = true;
        } else {
            /* SAVP with suites we do not take, DTLS, or plain RTP (refused before, if
             * required): the inside gets the offer as it is */
            s->kind =
                md->crypto_count > 0 || !is_plain_profile(md->proto) ? OFFER_PASS : OFFER_PLAIN;
        }
        return 0;
    }
    if (md->crypto_count > 0 || !is_plain_profile(md->proto)) {
        s->kind = OFFER_PASS; /* the inside secures its media itself */
        return 0;
    }
    s->kind = OFFER_OURS;
    for (unsigned k = 0; k < cfg->suite_count; k++) {
        if (new_key(&s->ours[k], (enum sdes_suite)cfg->suites[k], k + 1) != 0) {
            log_error("media: no random bytes for SRTP keys");
            return -1;
        }
    }
    s->n_ours = cfg->suite_count;
    rw->profile[i] = cfg->mode == MEDIA_SRTP_REQUIRED ? SDP_PROFILE_SECURE : SDP_PROFILE_KEEP;
    return put_lines(s->ours, s->n_ours, i, rw, text, cap);
}

/* on_answer: the answer from leg in->in to the other leg's offer. */
static int on_answer(struct media_srtp *s, const struct media_srtp_sdp *in, unsigned i,
                     struct sdp_rewrite *rw, char *text, size_t cap)
{
    const struct sdp_media *md = in->md;
    bool first = !s->is_answered;
    s->is_answered = true;
    if (s->kind == OFFER_OURS) {
        /* RFC 4568 §5.1.2: the answer names the tag and suite of the offered line it takes */
        rw->profile[i] = SDP_PROFILE_PLAIN;
        rw->strip_crypto[i] = true;
        for (unsigned c = 0; c < md->crypto_count; c++) {
            struct sdes_key theirs;
            if (sdes_key_read(&md->crypto[c], &theirs) != 0) {
                continue;
            }
            for (unsigned k = 0; k < s->n_ours; k++) {
                if (s->ours[k].tag == theirs.tag && s->ours[k].suite == theirs.suite) {
                    int rc = install(s, in->in, &s->ours[k], &theirs);
                    explicit_bzero(&theirs, sizeof(theirs));
                    return rc;
                }
            }
        }
        drop_contexts(s);
        if (md->crypto_count == 0 && is_plain_profile(md->proto)) {
            s->outside_leg = -1; /* best-effort SRTP declined: plain RTP both ways */
            return 0;
        }
        s->outside_leg = (int8_t)in->in; /* nothing decrypts: its media is dropped */
        if (first) {
            log_warn("media: the outside answered without an a=crypto line sipring offered: "
                     "that stream's media is dropped");
        }
        return 0;
    }
    if (s->kind == OFFER_THEIRS) {
        if (first && new_key(&s->ours[0], s->theirs.suite, s->theirs.tag) != 0) {
            log_error("media: no random bytes for SRTP keys");
            return -1;
        }
        s->n_ours = 1;
        rw->profile[i] = s->offer_secure ? SDP_PROFILE_SECURE : SDP_PROFILE_KEEP;
        rw->strip_crypto[i] = true;
        if (put_lines(s->ours, 1, i, rw, text, cap) != 0) {
            return -1;
        }
        return install(s, in->in ^ 1, &s->ours[0], &s->theirs);
    }
    return 0;
}

int media_srtp_on_sdp(struct media_srtp **ps, const struct media_srtp_cfg *cfg,
                      const struct media_srtp_sdp *in, unsigned i, struct sdp_rewrite *rw,
                      char *text, size_t cap)
{
    struct media_srtp *s = *ps;
    if (cfg->mode == MEDIA_SRTP_OFF || in->in_outside == in->out_outside) {
        return 0;
    }
    bool is_answer =
        s != NULL && s->offerer == (int8_t)(in->in ^ 1) && (!in->is_request || in->is_ack_or_prack);
    if (is_answer) {
        return in->md->port == 0 ? 0 : on_answer(s, in, i, rw, text, cap);
    }
    if (s == NULL) {
        if ((s = calloc(1, sizeof(*s))) == NULL) {
            log_error("media: out of memory for SRTP state");
            return -1;
        }
        s->offerer = -1;
        s->outside_leg = -1;
        *ps = s;
    }
    if (in->md->port == 0) {
        s->kind = OFFER_NONE;
        s->offerer = (int8_t)in->in;
        return 0;
    }
    return on_offer(s, cfg, in, i, rw, text, cap);
}

int media_srtp_outside_leg(const struct media_srtp *s)
{
    return s != NULL ? s->outside_leg : -1;
}

enum sdes_suite media_srtp_suite(const struct media_srtp *s)
{
    return s != NULL && s->tx != NULL ? s->tx_key.suite : SDES_NONE;
}

int media_srtp_from_outside(struct media_srtp *s, uint8_t *pkt, size_t *len, bool is_rtcp)
{
    return s->rx != NULL ? rtp_srtp_unprotect(s->rx, pkt, len, is_rtcp) : -1;
}

int media_srtp_to_outside(struct media_srtp *s, uint8_t *pkt, size_t *len, size_t cap, bool is_rtcp)
{
    return s->tx != NULL ? rtp_srtp_protect(s->tx, pkt, len, cap, is_rtcp) : -1;
}

void media_srtp_free(struct media_srtp *s)
{
    if (s != NULL) {
        drop_contexts(s);
        explicit_bzero(s, sizeof(*s));
        free(s);
    }
}

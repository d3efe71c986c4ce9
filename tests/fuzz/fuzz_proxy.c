/* tests/fuzz/fuzz_proxy.c: the whole sans-I/O request path (parser, transactions, proxy core,
 * registrar, NAT repair, keepalives, SDP rewrite through a media interface) fed with arbitrary
 * datagrams from a few sources, inside, behind NAT and outside, on a fake clock. The input is
 * cut into datagrams at every "\n\n\n"; the first byte of each picks the source and how far the
 * clock moves before it; odd-length datagrams go to a second proxy in trunk mode (an upstream,
 * its registration and answers to its challenges with fake credentials). Every datagram a
 * proxy sends must parse, and every call record it makes (issue 15) must be whole. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media.h"
#include "msg.h"
#include "auth.h"
#include "proxy.h"
#include "../test_mac.h"
#include "resolve.h"

static struct sip_proxy *p, *p_trunk;
static struct sip_location *loc;
static struct sip_msg out_msg;
static char flat[70000];
static uint64_t now = 1000000;

static void sink_send(void *ctx, const struct sip_peer *to, const char *name,
                      const struct iovec *iov, size_t n)
{
    (void)name;
    (void)ctx;
    (void)to;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (iov[i].iov_len > sizeof(flat) - len) {
            abort(); /* the proxy never builds more than a datagram can hold */
        }
        memcpy(flat + len, iov[i].iov_base, iov[i].iov_len);
        len += iov[i].iov_len;
    }
    /* CRLF pings aside, what sipring sends is SIP that parses. */
    if (len > 4 && sip_msg_parse(&out_msg, flat, len, SIP_PARSE_DGRAM, NULL) <= 0) {
        abort();
    }
}

static int media_sdp(void *self, const struct sip_media_msg *mm, struct sdp_rewrite *rw)
{
    (void)self;
    rw->addr = mm->receiver_inside ? "10.0.0.1" : "203.0.113.1";
    rw->strip_ice = mm->sender_inside && !mm->receiver_inside;
    for (unsigned i = 0; i < SDP_MAX_MEDIA; i++) {
        rw->port[i] = (uint16_t)(30000 + 2 * i);
    }
    /* sometimes forwarded unchanged, a full relay, or an offer refused by SRTP policy */
    size_t n = mm->call_id.len;
    return n % 5 == 0 ? -1 : n % 7 == 0 ? SIP_MEDIA_REFUSED : n % 11 == 0 ? SIP_MEDIA_FULL : 0;
}

static void media_end(void *self, struct sip_str call_id)
{
    (void)self;
    (void)call_id;
}

/* media_totals: one stream with a codec and counts, so every record carries some */
static void media_totals(void *self, struct sip_str call_id, struct sip_call_record *out)
{
    (void)self;
    out->nstreams = call_id.len % 2;
    snprintf(out->stream[0].codec, sizeof(out->stream[0].codec), "PCMU/8000");
    out->stream[0].dir[0].packets = call_id.len;
}

static const struct sip_media_ops ops = {media_sdp, media_end, media_totals};

/* call_ended: a record is whole: its strings end inside their arrays, its times in order */
static void call_ended(void *ctx, const struct sip_call_record *r)
{
    (void)ctx;
    const struct sip_call *c = &r->call;
    if (c->call_id_len == 0 || c->call_id_len >= SIP_CALL_ID_MAX ||
        memchr(c->from, 0, sizeof(c->from)) == NULL || memchr(c->to, 0, sizeof(c->to)) == NULL ||
        c->state != SIP_CALL_ENDED || !c->forwarded || c->end_ms < c->start_ms ||
        (c->answer_ms && c->answer_ms < c->start_ms) || r->nstreams > SIP_CALL_STREAMS) {
        abort();
    }
}
static struct sip_media media = {&ops, NULL};

/* A resolver that knows *.test (two servers), answers "later" for names with "later" in them
 * until the next on_resolved, and nothing else. */
static bool resolved;
static int fake_locate(void *self, const char *host, int tp, uint16_t port, struct sip_peer *o,
                       size_t max)
{
    (void)self;
    size_t n = strlen(host);
    if (strstr(host, "later") != NULL && !resolved) {
        return 0;
    }
    if (n < 5 || strcmp(host + n - 5, ".test") != 0 || max < 2) {
        return -1;
    }
    sip_peer_from_text(SIP_STR_LIT("198.51.100.20"), port ? port : 5060, &o[0]);
    sip_peer_from_text(SIP_STR_LIT("198.51.100.21"), port ? port : 5061, &o[1]);
    o[0].transport = o[1].transport = (uint8_t)(tp >= 0 ? tp : 0);
    return 2;
}
static const struct sip_resolver_ops resolver_ops = {fake_locate};
static struct sip_resolver resolver = {&resolver_ops, NULL};

/* Credentials pass when a Digest header parses and its response is "ok". */
static enum sip_auth_result fake_check(void *self, const struct sip_msg *m, bool proxy_auth,
                                       const char *realm, uint64_t t, char *out, size_t cap)
{
    (void)self;
    (void)t;
    enum sip_hdr_type ht = proxy_auth ? SIP_HDR_PROXY_AUTHORIZATION : SIP_HDR_AUTHORIZATION;
    for (const struct sip_hdr *h = sip_msg_first(m, ht); h; h = sip_msg_next(m, h)) {
        struct sip_digest d;
        if (sip_digest_parse(h->value, &d) == 0 && sip_str_ieq_lit(d.response, "ok")) {
            return SIP_AUTH_OK;
        }
    }
    snprintf(out, cap, "%s: Digest realm=\"%s\", nonce=\"n\", qop=\"auth\"\r\n",
             proxy_auth ? "Proxy-Authenticate" : "WWW-Authenticate", realm);
    return SIP_AUTH_CHALLENGE;
}
static const struct sip_auth_ops auth_ops = {fake_check};
static struct sip_auth auth = {&auth_ops, NULL};

/* Trunk credentials: an answer for any challenge with a nonce. */
static long fake_answer(void *self, const struct sip_digest *ch, struct sip_str method,
                        struct sip_str uri, char *out, size_t cap)
{
    (void)self;
    if (ch->nonce.len == 0) {
        return -1;
    }
    int n =
        snprintf(out, cap, "Digest username=\"t\", nonce=\"%.*s\", uri=\"%.*s\", response=\"%zu\"",
                 (int)ch->nonce.len, ch->nonce.p, (int)uri.len, uri.p, method.len);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}
static const struct sip_credentials_ops cred_ops = {fake_answer};
static struct sip_credentials cred = {&cred_ops, NULL};

static void setup(void)
{
    struct sip_proxy_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    sip_peer_from_text(SIP_STR_LIT("10.0.0.1"), 5060, &cfg.self[0]);
    cfg.self_count = 1;
    strcpy(cfg.advertise, "10.0.0.1:5060");
    strcpy(cfg.public_advertise, "203.0.113.1:5060");
    strcpy(cfg.domains[0], "example.com");
    cfg.domain_count = 1;
    sip_cidr_parse("10.0.0.0/8", &cfg.inside[0]);
    sip_cidr_parse("192.168.0.0/16", &cfg.inside[1]);
    cfg.inside_count = 2;
    cfg.timers = sip_timers_default;
    cfg.max_transactions = 256;
    cfg.min_expires = 60;
    cfg.max_expires = 3600;
    cfg.default_expires = 3600;
    cfg.mac = test_mac(7);
    cfg.nat_keepalive_ms = 30000;
    cfg.keepalive_sender = true;
    loc = sip_location_mem_new(256);
    p = sip_proxy_new(&cfg, loc,
                      (struct sip_proxy_sink){sink_send, NULL, false, NULL, NULL, NULL, call_ended},
                      42);
    sip_proxy_set_media(p, &media);
    sip_proxy_set_resolver(p, &resolver);
    sip_proxy_set_auth(p, &auth);
    strcpy(cfg.upstream, "sip:upstream.test");
    p_trunk = sip_proxy_new(
        &cfg, loc, (struct sip_proxy_sink){sink_send, NULL, false, NULL, NULL, NULL, NULL}, 43);
    sip_proxy_set_media(p_trunk, &media);
    sip_proxy_set_resolver(p_trunk, &resolver);
    struct sip_proxy_trunk_cfg tc = {
        .user = "trunk", .call_id = "trunk-1", .expires_s = 60, .do_register = true};
    sip_proxy_set_trunk(p_trunk, &tc, &cred);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (p == NULL) {
        setup(); /* one proxy for the whole run: state carries over, as it does live */
    }
    static const char *const sources[] = {"10.0.0.5",     "10.0.0.7",    "192.168.1.2",
                                          "198.51.100.2", "203.0.113.9", "10.0.0.1"};
    const char *d = (const char *)data, *end = d + size;
    while (d < end) {
        const char *cut = memmem(d, (size_t)(end - d), "\n\n\n", 3);
        size_t len = cut ? (size_t)(cut - d) : (size_t)(end - d);
        if (len > 0) {
            uint8_t sel = (uint8_t)d[0];
            struct sip_peer from;
            sip_peer_from_text(sip_str_make(sources[sel % 6], strlen(sources[sel % 6])),
                               (uint16_t)(5060 + (sel >> 6)), &from);
            /* some sources speak TCP or TLS, each on a connection of its own */
            from.transport = (uint8_t)((sel >> 6) % 3);
            from.conn = from.transport ? 0x01010000u + (sel & 7) : 0;
            now += (uint64_t)(sel >> 3 & 7) * 4000; /* up to 28 s: timers and keepalives fire */
            resolved = false;
            struct sip_proxy *px = (len & 1) ? p_trunk : p;
            sip_proxy_on_datagram(px, &from, d + 1, len - 1, now);
            if (sel & 1) {
                resolved = true; /* the names that were "later" arrive */
                sip_proxy_on_resolved(px, now);
            }
            if ((sel & 0x30) == 0x30) {
                struct sip_peer hop;
                sip_peer_from_text(SIP_STR_LIT("198.51.100.20"), 5060, &hop);
                sip_proxy_on_unreachable(px, &hop, now); /* a next hop found dead */
            }
            sip_proxy_on_timer(p, now);
            sip_proxy_on_timer(p_trunk, now);
        }
        d += len + (cut ? 3 : 0);
    }
    return 0;
}

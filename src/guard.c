/* src/guard.c: ACLs and per-source rate limits; see guard.h. */
#include "guard.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

#define SLOTS 8192 /* sources tracked per worker; the least recently seen is evicted */
#define PROBE 8

struct source {
    uint8_t family;
    uint8_t ip[16];
    double tokens;
    uint64_t last_ms;
    uint64_t banned_until;
    uint64_t dropped;     /* during the current ban */
    uint64_t fail_window; /* start of the minute auth failures are counted in */
    uint32_t fails;
    bool auth_ban; /* the current ban is for failed authentications, not the rate */
};

struct guard {
    const struct guard_cfg *cfg; /* borrowed from the worker's snapshot; SIGHUP swaps it */
    unsigned wid;
    double rate, burst;
    uint64_t ban_ms;
    struct source *src;
    uint32_t banned; /* sources with a ban not yet lifted */
    struct guard_stats st;
};

static bool is_inside(const struct guard *g, const struct sip_peer *p)
{
    return sip_cidr_any(g->cfg->inside, g->cfg->inside_count, p);
}

static bool side_match(const struct guard *g, const struct acl_entry *e, const struct sip_peer *p)
{
    if (!sip_cidr_match(&e->net, p)) {
        return false;
    }
    if (e->side == ACL_BOTH) {
        return true;
    }
    return is_inside(g, p) == (e->side == ACL_INSIDE);
}

bool guard_acl(const struct guard *g, const struct sip_peer *from)
{
    const struct guard_cfg *c = g->cfg;
    for (size_t i = 0; i < c->deny_count; i++) {
        if (side_match(g, &c->deny[i], from)) {
            return false;
        }
    }
    if (c->allow_count == 0) {
        return true;
    }
    for (size_t i = 0; i < c->allow_count; i++) {
        if (side_match(g, &c->allow[i], from)) {
            return true;
        }
    }
    return false;
}

void guard_set_cfg(struct guard *g, const struct guard_cfg *cfg)
{
    g->cfg = cfg;
    g->rate = cfg->rate_limit;
    g->burst = cfg->rate_limit * 2.0; /* a second's worth of slack on top of the rate */
    g->ban_ms = (uint64_t)cfg->ban_time_s * 1000;
    /* buckets fuller than the new burst are clipped when next used (take_token); bans in
     * force keep their end */
}

static bool take_token(struct guard *g, struct source *s, const struct sip_peer *from,
                       uint64_t now);

static struct source *find_source(struct guard *g, const struct sip_peer *p)
{
    size_t n = p->family == 6 ? 16 : 4;
    uint32_t h = sip_fnv1a(p->ip, n, SIP_FNV_INIT);
    for (unsigned k = 0; k < PROBE; k++) {
        struct source *s = &g->src[(h + k) % SLOTS];
        if (s->family == p->family && memcmp(s->ip, p->ip, n) == 0) {
            return s;
        }
    }
    return NULL;
}

static struct source *source_of(struct guard *g, const struct sip_peer *p, uint64_t now)
{
    size_t n = p->family == 6 ? 16 : 4;
    uint32_t h = sip_fnv1a(p->ip, n, SIP_FNV_INIT);
    struct source *victim = NULL;
    for (unsigned k = 0; k < PROBE; k++) {
        struct source *s = &g->src[(h + k) % SLOTS];
        if (s->family == p->family && memcmp(s->ip, p->ip, n) == 0) {
            return s;
        }
        bool evictable = s->family == 0 || s->banned_until <= now;
        if (evictable && (victim == NULL || s->family == 0 ||
                          (victim->family != 0 && s->last_ms < victim->last_ms))) {
            victim = s;
        }
    }
    if (victim == NULL) {
        return NULL; /* every probed slot holds a live ban: leave this one unlimited */
    }
    if (victim->banned_until != 0) {
        g->banned--; /* an expired ban nobody came back to lift */
    }
    memset(victim, 0, sizeof(*victim));
    victim->family = p->family;
    memcpy(victim->ip, p->ip, n);
    victim->tokens = g->burst;
    victim->last_ms = now;
    return victim;
}

/* lift_ban: the first request after a ban ends: one log line, a full bucket. */
static void lift_ban(struct guard *g, struct source *s, const struct sip_peer *from)
{
    char ip[64];
    sip_peer_ip_text(from, ip, sizeof(ip));
    log_info("ban on %s lifted (%llu requests dropped during it)", ip,
             (unsigned long long)s->dropped);
    s->banned_until = 0;
    s->dropped = 0;
    s->tokens = g->burst;
    g->banned--;
}

bool guard_admit(struct guard *g, const struct sip_peer *from, const char *msg, size_t len,
                 uint64_t now)
{
    if ((g->cfg->deny_count > 0 || g->cfg->allow_count > 0) && !guard_acl(g, from)) {
        g->st.denied++;
        return false;
    }
    bool response = len >= 8 && memcmp(msg, "SIP/2.0 ", 8) == 0;
    if (g->rate <= 0 && g->banned == 0) {
        return true;
    }
    bool inside = is_inside(g, from);
    struct source *s = NULL;
    if (response) {
        s = g->banned > 0 ? find_source(g, from) : NULL; /* a banned source gets nothing */
    } else if (!inside || g->banned > 0) {
        s = inside ? find_source(g, from) : source_of(g, from, now);
    }
    if (s == NULL) {
        return true;
    }
    if (s->banned_until > now) {
        s->dropped++;
        g->st.rate_dropped++;
        return false;
    }
    if (s->banned_until != 0) {
        lift_ban(g, s, from);
    }
    if (response || inside || g->rate <= 0) {
        return true; /* the inside is not rate limited, only banned for guessing passwords */
    }
    return take_token(g, s, from, now);
}

void guard_charge(struct guard *g, const struct sip_peer *from, uint64_t now)
{
    if (g->rate <= 0 || is_inside(g, from)) {
        return;
    }
    struct source *s = source_of(g, from, now);
    if (s != NULL && s->banned_until <= now) {
        take_token(g, s, from, now);
    }
}

/* take_token: one request from s; false (and a ban) when it is over its rate. */
static bool take_token(struct guard *g, struct source *s, const struct sip_peer *from, uint64_t now)
{
    s->tokens += (double)(now - s->last_ms) * g->rate / 1000.0;
    if (s->tokens > g->burst) {
        s->tokens = g->burst;
    }
    s->last_ms = now;
    if (s->tokens < 1.0) {
        s->banned_until = now + g->ban_ms;
        s->auth_ban = false;
        g->banned++;
        g->st.bans++;
        g->st.rate_dropped++;
        char ip[64];
        sip_peer_ip_text(from, ip, sizeof(ip));
        log_warn("banned %s for %llu s: more than %.0f requests/s (worker %u)", ip,
                 (unsigned long long)(g->ban_ms / 1000), g->rate, g->wid);
        return false;
    }
    s->tokens -= 1.0;
    return true;
}

struct guard *guard_new(const struct guard_cfg *cfg, unsigned wid)
{
    struct guard *g = calloc(1, sizeof(*g));
    if (g == NULL) {
        return NULL;
    }
    g->wid = wid;
    guard_set_cfg(g, cfg);
    g->src = calloc(SLOTS, sizeof(*g->src));
    if (g->src == NULL) {
        free(g);
        return NULL;
    }
    return g;
}

void guard_free(struct guard *g)
{
    if (g != NULL) {
        free(g->src);
        free(g);
    }
}

void guard_auth_failed(struct guard *g, const struct sip_peer *from, uint64_t now, bool log)
{
    uint32_t limit = g->cfg->max_auth_failures;
    struct source *s = limit ? source_of(g, from, now) : NULL;
    if (s == NULL || s->banned_until > now) {
        return;
    }
    if (now - s->fail_window > 60000) {
        s->fail_window = now;
        s->fails = 0;
    }
    if (++s->fails <= limit) {
        return; /* COUNT failures are allowed (sipring(8)); the next one bans */
    }
    s->banned_until = now + g->ban_ms;
    s->auth_ban = true;
    s->fails = 0;
    g->banned++;
    g->st.auth_bans++;
    if (!log) {
        return;
    }
    char ip[64];
    sip_peer_ip_text(from, ip, sizeof(ip));
    log_warn(
        "banned %s for %llu s: more than %u failed authentications within a minute (worker %u)", ip,
        (unsigned long long)(g->ban_ms / 1000), limit, g->wid);
}

size_t guard_bans(const struct guard *g, uint64_t now, struct guard_ban *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; g->banned > 0 && i < SLOTS && n < cap; i++) {
        const struct source *s = &g->src[i];
        if (s->family == 0 || s->banned_until <= now) {
            continue;
        }
        out[n].family = s->family;
        memcpy(out[n].ip, s->ip, sizeof(out[n].ip));
        out[n].auth = s->auth_ban;
        out[n].until_ms = s->banned_until;
        out[n].dropped = s->dropped;
        n++;
    }
    return n;
}

const struct guard_stats *guard_stats(const struct guard *g)
{
    return &g->st;
}

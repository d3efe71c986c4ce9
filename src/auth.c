/* src/auth.c: users, nonces and digest checks; see auth.h. */
#include "auth.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../sip/location.h"
#include "../tls/tls.h"
#include "log.h"

#define NC_SLOTS 16384
#define NONCE_LEN 48
#define AOR_LIST_MAX 256
#define LOCK_FIRST_MS 10000ull /* an account's first lock; each further one doubles */
#define LOCK_MAX_MS 900000ull  /* ... up to 15 minutes */

struct user {
    char name[64];
    char realm[64];
    char ha1_md5[33];        /* "" if none */
    char ha1_sha256[65];     /* "" if none */
    char aors[AOR_LIST_MAX]; /* the AORs it may register, comma-separated; "": name@realm */
};

/* Failed authentications per account, shared by every worker (an attacker spreads its guesses
 * over addresses and Call-IDs, so over workers too). */
struct account_fails {
    _Atomic uint64_t window_ms; /* start of the minute failures are counted in */
    _Atomic uint32_t fails;
    _Atomic uint32_t level; /* locks so far without a success in between */
    _Atomic uint64_t locked_until_ms;
};

struct auth_users {
    struct user *u;
    struct account_fails *fails; /* one per user */
    size_t n;
};

/* A nonce's highest nc seen, in a set-associative table: NC_WAYS slots per set, a nonce in
 * the set its hash names. A nonce that finds its set full of live ones pushes out the oldest,
 * and the table remembers the newest time it ever pushed out (nc_floor): a nonce made at or
 * before it that is not in the table may have been used before, so it is asked to start again
 * with a fresh one (stale=true) instead of being taken as new. A used nonce can never be
 * replayed for want of room, and a live one is refused only when its set really overflowed
 * (the direct-mapped table before it refused a client whenever two live nonces shared a slot:
 * about one call in sixty in a 25-call test). */
#define NC_WAYS 8
struct nc_slot {
    char nonce[NONCE_LEN];
    uint64_t made_ms;
    uint32_t nc;
};

struct auth_checker {
    const struct auth_users *users;
    uint8_t key[32];
    unsigned worker; /* nonces are bound to the worker that made them: its nc table is theirs */
    uint32_t max_failures;
    struct sip_auth iface;
    uint64_t nc_floor; /* the made_ms of the newest live nonce pushed out, or 0 */
    struct nc_slot nc[NC_SLOTS];
};

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
              (s[i] >= 'A' && s[i] <= 'F'))) {
            return false;
        }
    }
    return true;
}

static struct user *find(const struct auth_users *u, struct sip_str name, const char *realm)
{
    for (size_t i = 0; i < u->n; i++) {
        if (strlen(u->u[i].name) == name.len && memcmp(u->u[i].name, name.p, name.len) == 0 &&
            strcmp(u->u[i].realm, realm) == 0) {
            return &u->u[i];
        }
    }
    return NULL;
}

struct auth_users *auth_users_load(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "sipring: --users: cannot open '%s'\n", path);
        return NULL;
    }
    struct auth_users *u = calloc(1, sizeof(*u));
    size_t cap = 0;
    char line[512];
    int lineno = 0, bad = 0;
    while (u != NULL && fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        line[strcspn(line, "\r\n#")] = '\0';
        if (line[strspn(line, " \t")] == '\0') {
            continue;
        }
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        char *c3 = c2 ? strchr(c2 + 1, ':') : NULL;
        if (c3 != NULL) {
            *c3 = '\0'; /* user:realm:HA1:AOR[,AOR...] */
        }
        size_t hl = c2 ? strlen(c2 + 1) : 0;
        if (c3 != NULL && (strlen(c3 + 1) >= AOR_LIST_MAX || strchr(c3 + 1, '@') == NULL)) {
            fprintf(stderr,
                    "sipring: %s:%d: the AORs after the HA1 must be user@domain, "
                    "comma-separated, under %d characters\n",
                    path, lineno, AOR_LIST_MAX);
            bad = 1;
            continue;
        }
        if (c1 == NULL || c2 == NULL || c1 == line || c2 == c1 + 1 || c1 - line >= 64 ||
            c2 - c1 - 1 >= 64 || (hl != 32 && hl != 64) || !is_hex(c2 + 1, hl)) {
            fprintf(stderr, "sipring: %s:%d: expected user:realm:HA1 (32 or 64 hex digits)\n", path,
                    lineno);
            bad = 1;
            continue;
        }
        *c1 = *c2 = '\0';
        struct sip_str name = sip_str_make(line, strlen(line));
        struct user *x = find(u, name, c1 + 1);
        if (x == NULL) {
            if (u->n == cap) {
                cap = cap ? cap * 2 : 16;
                struct user *nu = realloc(u->u, cap * sizeof(*nu));
                if (nu == NULL) {
                    break;
                }
                u->u = nu;
            }
            x = &u->u[u->n++];
            memset(x, 0, sizeof(*x));
            memcpy(x->name, line, (size_t)(c1 - line)); /* lengths checked above: < 64 */
            memcpy(x->realm, c1 + 1, (size_t)(c2 - c1 - 1));
        }
        char *ha1 = c2 + 1;
        for (char *h = ha1; *h; h++) {
            *h = (char)(*h | 0x20);
        }
        if (hl == 32) {
            memcpy(x->ha1_md5, ha1, 33);
        } else {
            memcpy(x->ha1_sha256, ha1, 65);
        }
        if (c3 != NULL) {
            size_t k = 0;
            for (const char *a = c3 + 1; *a && k + 1 < sizeof(x->aors); a++) {
                if (*a != ' ' && *a != '\t') {
                    x->aors[k++] = (char)(*a >= 'A' && *a <= 'Z' ? *a | 0x20 : *a);
                }
            }
            x->aors[k] = '\0';
        }
    }
    fclose(f);
    if (u != NULL) {
        u->fails = calloc(u->n ? u->n : 1, sizeof(*u->fails));
        bad |= u->fails == NULL;
    }
    if (bad || u == NULL) {
        auth_users_free(u);
        return NULL;
    }
    return u;
}

void auth_users_free(struct auth_users *u)
{
    if (u != NULL) {
        free(u->u);
        free(u->fails);
        free(u);
    }
}

size_t auth_users_count(const struct auth_users *u)
{
    return u->n;
}

/* nonce = 16 hex digits of the time it was made (ms), 2 of the worker that made it, and the
 * first 30 of HMAC(key, time, worker, realm) */
static void make_nonce(const struct auth_checker *c, uint64_t now, unsigned worker,
                       const char *realm, char *out)
{
    char ts[19];
    snprintf(ts, sizeof(ts), "%016llx%02x", (unsigned long long)now, worker & 0xffu);
    struct tls_bytes parts[2] = {{ts, 18}, {realm, strlen(realm)}};
    uint8_t mac[32];
    tls_keyed_hash(c->key, sizeof(c->key), parts, 2, mac);
    static const char hex[] = "0123456789abcdef";
    memcpy(out, ts, 18);
    for (int i = 0; i < 15; i++) {
        out[18 + 2 * i] = hex[mac[i] >> 4];
        out[19 + 2 * i] = hex[mac[i] & 15];
    }
    out[NONCE_LEN] = '\0';
}

/* nonce_age: ms since a nonce of ours was made, or -1 if it is not ours for this realm;
 * *other_worker tells that another worker made it (the client changed its Call-ID). */
static long long nonce_age(const struct auth_checker *c, struct sip_str nonce, const char *realm,
                           uint64_t now, bool *other_worker)
{
    if (nonce.len != NONCE_LEN || !is_hex(nonce.p, 18)) {
        return -1;
    }
    char ts[17], wk[3], want[NONCE_LEN + 1];
    memcpy(ts, nonce.p, 16);
    ts[16] = '\0';
    memcpy(wk, nonce.p + 16, 2);
    wk[2] = '\0';
    uint64_t made = strtoull(ts, NULL, 16);
    unsigned worker = (unsigned)strtoul(wk, NULL, 16);
    make_nonce(c, made, worker, realm, want);
    if (memcmp(want, nonce.p, NONCE_LEN) != 0 || made > now) {
        return -1;
    }
    *other_worker = worker != (c->worker & 0xffu);
    return (long long)(now - made);
}

enum nc_verdict { NC_FRESH, NC_REPLAY, NC_FORGOTTEN };

/* nc_check: whether nc is higher than any seen with this nonce (and remembers it). */
static enum nc_verdict nc_check(struct auth_checker *c, struct sip_str nonce, uint32_t nc,
                                uint64_t made_ms, uint64_t now)
{
    size_t set = sip_fnv1a(nonce.p, nonce.len, SIP_FNV_INIT) % (NC_SLOTS / NC_WAYS);
    struct nc_slot *ways = &c->nc[set * NC_WAYS], *room = NULL, *oldest = NULL;
    for (size_t i = 0; i < NC_WAYS; i++) {
        struct nc_slot *s = &ways[i];
        if (memcmp(s->nonce, nonce.p, NONCE_LEN) == 0) {
            if (nc <= s->nc) {
                return NC_REPLAY;
            }
            s->nc = nc;
            return NC_FRESH;
        }
        if (room == NULL && (s->nonce[0] == '\0' || now - s->made_ms > AUTH_NONCE_S * 1000ull)) {
            room = s; /* empty, or its nonce has expired: nothing left to protect */
        }
        if (oldest == NULL || s->made_ms < oldest->made_ms) {
            oldest = s;
        }
    }
    if (made_ms <= c->nc_floor) {
        return NC_FORGOTTEN; /* it may have been in a slot pushed out since */
    }
    if (room == NULL) {
        room = oldest;
        c->nc_floor = oldest->made_ms > c->nc_floor ? oldest->made_ms : c->nc_floor;
    }
    memcpy(room->nonce, nonce.p, NONCE_LEN);
    room->made_ms = made_ms;
    room->nc = nc;
    return NC_FRESH;
}

/* account_locked: whether u's account is in a back-off after repeated failures. */
static bool account_locked(const struct auth_checker *c, const struct user *u, uint64_t now)
{
    const struct account_fails *f = &c->users->fails[u - c->users->u];
    return atomic_load(&f->locked_until_ms) > now;
}

/* account_result: counts a failure (locking the account for a back-off that doubles with each
 * lock, RFC 3261 §26.1.1's guessing threat spread over many addresses) or clears the count
 * after a success. */
static void account_result(const struct auth_checker *c, const struct user *u, bool ok,
                           uint64_t now)
{
    struct account_fails *f = &c->users->fails[u - c->users->u];
    if (ok) {
        atomic_store(&f->fails, 0);
        atomic_store(&f->level, 0);
        return;
    }
    if (c->max_failures == 0) {
        return;
    }
    uint64_t w = atomic_load(&f->window_ms);
    if (now - w > 60000) {
        atomic_store(&f->window_ms, now);
        atomic_store(&f->fails, 0);
    }
    if (atomic_fetch_add(&f->fails, 1) + 1 <= c->max_failures) {
        return;
    }
    uint32_t level = atomic_fetch_add(&f->level, 1);
    uint64_t lock = LOCK_FIRST_MS << (level < 7 ? level : 7);
    lock = lock > LOCK_MAX_MS ? LOCK_MAX_MS : lock;
    atomic_store(&f->locked_until_ms, now + lock);
    atomic_store(&f->fails, 0);
    log_warn("account %s@%s locked for %llu s: more than %u failed authentications within a "
             "minute",
             u->name, u->realm, (unsigned long long)(lock / 1000), c->max_failures);
}

/* aor_allowed: RFC 3261 §10.3 step 6's "the registrar ... determines if the authenticated
 * user is authorized to modify registrations for this address-of-record": u may register
 * name@realm, or the AORs its users-file line lists. */
static bool aor_allowed(const struct user *u, const struct sip_msg *m)
{
    char aor[SIP_LOC_AOR_MAX];
    size_t n = sip_aor_of(&m->addr[m->to].uri, aor, sizeof(aor));
    if (n == 0) {
        return false;
    }
    if (u->aors[0] == '\0') {
        char own[130];
        snprintf(own, sizeof(own), "%s@%s", u->name, u->realm);
        for (char *k = strchr(own, '@'); k && *k; k++) {
            *k = (char)(*k >= 'A' && *k <= 'Z' ? *k | 0x20 : *k);
        }
        return strcmp(own, aor) == 0;
    }
    for (const char *a = u->aors; *a;) {
        const char *e = strchr(a, ',');
        size_t len = e ? (size_t)(e - a) : strlen(a);
        if (len == n && memcmp(a, aor, n) == 0) {
            return true;
        }
        a += len + (e != NULL);
    }
    return false;
}

static size_t challenge(const struct auth_checker *c, bool proxy_auth, const char *realm,
                        uint64_t now, bool stale, char *out, size_t cap)
{
    char nonce[NONCE_LEN + 1];
    make_nonce(c, now, c->worker, realm, nonce);
    const char *hdr = proxy_auth ? "Proxy-Authenticate" : "WWW-Authenticate";
    /* offer what the realm's users can be checked with: a client that only knows MD5 (and
     * takes the first challenge, as many do) still gets through in an MD5-only realm */
    bool has[2] = {false, false};
    for (size_t i = 0; i < c->users->n; i++) {
        if (strcmp(c->users->u[i].realm, realm) == 0) {
            has[0] |= c->users->u[i].ha1_md5[0] != '\0';
            has[1] |= c->users->u[i].ha1_sha256[0] != '\0';
        }
    }
    if (!has[0] && !has[1]) {
        has[0] = has[1] = true; /* an unknown realm: nothing to give away */
    }
    size_t o = 0;
    for (int sha = 1; sha >= 0; sha--) {
        if (!has[sha]) {
            continue;
        }
        int n = snprintf(out + o, cap - o,
                         "%s: Digest realm=\"%s\", nonce=\"%s\", algorithm=%s, qop=\"auth\"%s\r\n",
                         hdr, realm, nonce, sha ? "SHA-256" : "MD5", stale ? ", stale=true" : "");
        if (n < 0 || (size_t)n >= cap - o) {
            break;
        }
        o += (size_t)n;
    }
    return o;
}

enum verdict { V_FAILED, V_OK, V_STALE, V_LOCKED, V_LOCKED_WRONG, V_NOT_THIS_AOR };

static enum verdict verify(struct auth_checker *c, const struct sip_msg *m,
                           const struct sip_digest *d, const char *realm, uint64_t now)
{
    bool sha = sip_str_ieq_lit(d->algorithm, "SHA-256");
    if (!sha && d->algorithm.len > 0 && !sip_str_ieq_lit(d->algorithm, "MD5")) {
        return V_FAILED;
    }
    const struct user *u = find(c->users, d->username, realm);
    const char *ha1 = u == NULL ? "" : sha ? u->ha1_sha256 : u->ha1_md5;
    if (ha1[0] == '\0' || !sip_str_ieq_lit(d->qop, "auth") || d->nc.len != 8 ||
        !is_hex(d->nc.p, 8) || d->cnonce.len == 0 || d->response.len != (sha ? 64u : 32u)) {
        return V_FAILED; /* RFC 8760 and this server: qop=auth only */
    }
    /* During a back-off the answer is the same whatever the credentials (guesses learn
     * nothing); wrong ones still count against their source's address. */
    bool locked = account_locked(c, u, now);
    bool other_worker = false;
    long long age = nonce_age(c, d->nonce, realm, now, &other_worker);
    if (age < 0) {
        if (locked) {
            return V_LOCKED_WRONG;
        }
        account_result(c, u, false, now);
        return V_FAILED;
    }
    char hex[65], ha2[65], resp[65];
    struct tls_bytes a2[2] = {{m->method.p, m->method.len}, {d->uri.p, d->uri.len}};
    tls_digest_hex(sha, a2, 2, ha2);
    struct tls_bytes r[6] = {{ha1, strlen(ha1)},     {d->nonce.p, d->nonce.len},
                             {d->nc.p, d->nc.len},   {d->cnonce.p, d->cnonce.len},
                             {d->qop.p, d->qop.len}, {ha2, strlen(ha2)}};
    tls_digest_hex(sha, r, 6, resp);
    memcpy(hex, d->response.p, d->response.len);
    hex[d->response.len] = '\0';
    for (char *h = hex; *h; h++) {
        *h = (char)(*h | 0x20);
    }
    unsigned diff = 0;
    for (size_t i = 0; i < d->response.len; i++) {
        diff |= (unsigned)(hex[i] ^ resp[i]); /* no early exit on the first wrong digit */
    }
    if (diff != 0) {
        if (locked) {
            return V_LOCKED_WRONG;
        }
        account_result(c, u, false, now);
        return V_FAILED;
    }
    if (locked) {
        return V_LOCKED;
    }
    if (age > (long long)AUTH_NONCE_S * 1000 || other_worker) {
        /* right password, old nonce (RFC 7616 §3.3 stale=true), or one another worker made
         * (the client changed its Call-ID): its nc history is there, so a fresh one from here */
        return V_STALE;
    }
    char ncs[9];
    memcpy(ncs, d->nc.p, 8);
    ncs[8] = '\0';
    enum nc_verdict nv =
        nc_check(c, d->nonce, (uint32_t)strtoul(ncs, NULL, 16), now - (uint64_t)age, now);
    if (nv == NC_FORGOTTEN) {
        return V_STALE;
    }
    if (nv == NC_REPLAY) {
        return V_FAILED; /* a replay proves nothing about the password: no account count */
    }
    if (m->method_id == SIP_METHOD_REGISTER && !aor_allowed(u, m)) {
        return V_NOT_THIS_AOR;
    }
    account_result(c, u, true, now);
    return V_OK;
}

static enum sip_auth_result check(void *self, const struct sip_msg *m, bool proxy_auth,
                                  const char *realm, uint64_t now, char *out, size_t cap)
{
    struct auth_checker *c = self;
    bool seen = false, stale = false;
    enum sip_hdr_type t = proxy_auth ? SIP_HDR_PROXY_AUTHORIZATION : SIP_HDR_AUTHORIZATION;
    for (const struct sip_hdr *h = sip_msg_first(m, t); h != NULL; h = sip_msg_next(m, h)) {
        struct sip_digest d;
        if (sip_digest_parse(h->value, &d) != 0 ||
            !sip_str_ieq(d.realm, sip_str_make(realm, strlen(realm)))) {
            continue; /* another realm's credentials: for someone else */
        }
        switch (verify(c, m, &d, realm, now)) {
        case V_OK:
            return SIP_AUTH_OK;
        case V_NOT_THIS_AOR:
            out[0] = '\0';
            return SIP_AUTH_FORBIDDEN;
        case V_LOCKED:
            out[0] = '\0';
            return SIP_AUTH_LOCKED;
        case V_LOCKED_WRONG:
            out[0] = '\0';
            return SIP_AUTH_LOCKED_WRONG;
        case V_STALE:
            stale = true;
            break;
        case V_FAILED:
            seen = true;
            break;
        }
    }
    challenge(c, proxy_auth, realm, now, stale && !seen, out, cap);
    return seen ? SIP_AUTH_FAILED : SIP_AUTH_CHALLENGE;
}

static const struct sip_auth_ops ops = {check};

struct auth_checker *auth_checker_new(const struct auth_users *u, const uint8_t key[32],
                                      unsigned worker, uint32_t max_failures)
{
    struct auth_checker *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->users = u;
    c->worker = worker;
    c->max_failures = max_failures;
    memcpy(c->key, key, 32);
    c->iface = (struct sip_auth){&ops, c};
    return c;
}

void auth_checker_set_users(struct auth_checker *c, const struct auth_users *u,
                            uint32_t max_failures)
{
    c->users = u;
    c->max_failures = max_failures;
}

void auth_users_carry(struct auth_users *to, const struct auth_users *from)
{
    for (size_t i = 0; i < to->n; i++) {
        const struct user *nu = &to->u[i];
        for (size_t k = 0; k < from->n; k++) {
            const struct user *ou = &from->u[k];
            if (strcmp(nu->name, ou->name) != 0 || strcmp(nu->realm, ou->realm) != 0) {
                continue;
            }
            struct account_fails *t = &to->fails[i];
            const struct account_fails *f = &from->fails[k];
            atomic_store(&t->window_ms, atomic_load(&f->window_ms));
            atomic_store(&t->fails, atomic_load(&f->fails));
            atomic_store(&t->level, atomic_load(&f->level));
            atomic_store(&t->locked_until_ms, atomic_load(&f->locked_until_ms));
            break;
        }
    }
}

void auth_checker_free(struct auth_checker *c)
{
    free(c);
}

struct sip_auth *auth_checker_iface(struct auth_checker *c)
{
    return &c->iface;
}

struct auth_client {
    char user[64];
    char password[128];
    uint32_t count; /* for cnonces */
    struct sip_credentials iface;
};

/* has_token: whether the comma-separated list has tok (qop="auth,auth-int"). */
static bool has_token(struct sip_str list, const char *tok)
{
    size_t n = strlen(tok), i = 0;
    while (i < list.len) {
        while (i < list.len && (list.p[i] == ' ' || list.p[i] == ',')) {
            i++;
        }
        size_t b = i;
        while (i < list.len && list.p[i] != ',' && list.p[i] != ' ') {
            i++;
        }
        if (i - b == n && strncasecmp(list.p + b, tok, n) == 0) {
            return true;
        }
    }
    return false;
}

static long client_answer(void *self, const struct sip_digest *ch, struct sip_str method,
                          struct sip_str uri, char *out, size_t cap)
{
    struct auth_client *c = self;
    bool sha = sip_str_ieq_lit(ch->algorithm, "SHA-256");
    if ((!sha && ch->algorithm.len > 0 && !sip_str_ieq_lit(ch->algorithm, "MD5")) ||
        ch->nonce.len == 0 || (ch->qop.len > 0 && !has_token(ch->qop, "auth"))) {
        return -1;
    }
    char ha1[65], ha2[65], resp[65], cnonce[17];
    struct tls_bytes a1[3] = {{c->user, strlen(c->user)},
                              {ch->realm.p, ch->realm.len},
                              {c->password, strlen(c->password)}};
    tls_digest_hex(sha, a1, 3, ha1);
    struct tls_bytes a2[2] = {{method.p, method.len}, {uri.p, uri.len}};
    tls_digest_hex(sha, a2, 2, ha2);
    bool qop = ch->qop.len > 0;
    uint64_t rnd = 0;
    tls_random(&rnd, sizeof(rnd));
    snprintf(cnonce, sizeof(cnonce), "%08x%08x", (unsigned)(rnd >> 32) ^ c->count++, (unsigned)rnd);
    if (qop) {
        struct tls_bytes r[6] = {{ha1, strlen(ha1)}, {ch->nonce.p, ch->nonce.len},
                                 {"00000001", 8},    {cnonce, 16},
                                 {"auth", 4},        {ha2, strlen(ha2)}};
        tls_digest_hex(sha, r, 6, resp);
    } else {
        struct tls_bytes r[3] = {
            {ha1, strlen(ha1)}, {ch->nonce.p, ch->nonce.len}, {ha2, strlen(ha2)}};
        tls_digest_hex(sha, r, 3, resp);
    }
    int n = snprintf(out, cap,
                     "Digest username=\"%s\", realm=\"%.*s\", nonce=\"%.*s\", uri=\"%.*s\", "
                     "response=\"%s\", algorithm=%s%s%s%s%s%.*s%s",
                     c->user, (int)ch->realm.len, ch->realm.p, (int)ch->nonce.len, ch->nonce.p,
                     (int)uri.len, uri.p, resp, sha ? "SHA-256" : "MD5", qop ? ", cnonce=\"" : "",
                     qop ? cnonce : "", qop ? "\", qop=auth, nc=00000001" : "",
                     ch->opaque.len > 0 ? ", opaque=\"" : "", (int)ch->opaque.len, ch->opaque.p,
                     ch->opaque.len > 0 ? "\"" : "");
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

static const struct sip_credentials_ops client_ops = {client_answer};

struct auth_client *auth_client_new(const char *user, const char *password)
{
    struct auth_client *c = calloc(1, sizeof(*c));
    if (c == NULL || strlen(user) >= sizeof(c->user) || strlen(password) >= sizeof(c->password)) {
        free(c);
        return NULL;
    }
    strcpy(c->user, user);
    strcpy(c->password, password);
    c->iface = (struct sip_credentials){&client_ops, c};
    return c;
}

int auth_client_set_password(struct auth_client *c, const char *password)
{
    if (strlen(password) >= sizeof(c->password)) {
        return -1;
    }
    explicit_bzero(c->password, sizeof(c->password));
    strcpy(c->password, password);
    return 0;
}

void auth_client_free(struct auth_client *c)
{
    if (c != NULL) {
        explicit_bzero(c->password, sizeof(c->password));
        free(c);
    }
}

struct sip_credentials *auth_client_iface(struct auth_client *c)
{
    return &c->iface;
}

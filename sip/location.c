/* sip/location.c: the in-memory location store: an array of bindings with a small hash index
 * by AOR. Registration traffic is far below call traffic, so linear work per AOR is fine. */
#include "location.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uri.h"

#define BUCKETS 4096

struct mem_binding {
    struct sip_binding b;
    int32_t next; /* next in bucket, -1 at the end */
    bool used;
};

struct mem_loc {
    struct sip_location loc;
    struct mem_binding *slots;
    size_t cap;
    size_t
        used; /* slots ever handed out: those above were never touched (an idle store stays small) */
    int32_t free_head;
    int32_t bucket[BUCKETS];
};

static uint32_t hash(const char *s)
{
    return sip_fnv1a(s, strlen(s), SIP_FNV_INIT) % BUCKETS;
}

static struct mem_binding *find_slot(struct mem_loc *m, const char *aor, const char *contact)
{
    for (int32_t i = m->bucket[hash(aor)]; i >= 0; i = m->slots[i].next) {
        struct mem_binding *s = &m->slots[i];
        if (strcmp(s->b.aor, aor) == 0 && strcmp(s->b.contact, contact) == 0) {
            return s;
        }
    }
    return NULL;
}

static int mem_save(void *self, const struct sip_binding *b)
{
    struct mem_loc *m = self;
    struct mem_binding *s = find_slot(m, b->aor, b->contact);
    if (s == NULL) {
        int32_t i;
        if (m->free_head >= 0) {
            i = m->free_head;
            m->free_head = m->slots[i].next;
        } else if (m->used < m->cap) {
            i = (int32_t)m->used++;
        } else {
            return -1;
        }
        s = &m->slots[i];
        uint32_t h = hash(b->aor);
        s->next = m->bucket[h];
        m->bucket[h] = i;
        s->used = true;
    }
    s->b = *b;
    return 0;
}

static void unlink_where(struct mem_loc *m, const char *aor, const char *contact, uint64_t now,
                         bool by_time)
{
    for (uint32_t h = by_time ? 0 : hash(aor); h < (by_time ? BUCKETS : hash(aor) + 1); h++) {
        int32_t *link = &m->bucket[h];
        while (*link >= 0) {
            int32_t i = *link;
            struct mem_binding *s = &m->slots[i];
            bool drop = by_time ? s->b.expires_at_ms <= now
                                : strcmp(s->b.aor, aor) == 0 &&
                                      (contact == NULL || strcmp(s->b.contact, contact) == 0);
            if (drop) {
                *link = s->next;
                s->used = false;
                s->next = m->free_head;
                m->free_head = i;
            } else {
                link = &s->next;
            }
        }
    }
}

static void mem_remove(void *self, const char *aor, const char *contact)
{
    unlink_where(self, aor, contact, 0, false);
}

static void mem_expire(void *self, uint64_t now)
{
    unlink_where(self, NULL, NULL, now, true);
}

static size_t mem_lookup(void *self, const char *aor, uint64_t now, struct sip_binding *out,
                         size_t cap)
{
    struct mem_loc *m = self;
    size_t n = 0;
    for (int32_t i = m->bucket[hash(aor)]; i >= 0 && n < cap; i = m->slots[i].next) {
        const struct sip_binding *b = &m->slots[i].b;
        if (strcmp(b->aor, aor) != 0 || b->expires_at_ms <= now || b->unreachable) {
            continue;
        }
        /* Insertion sort by q, highest first (RFC 3261 §16.6: q orders the targets). */
        size_t j = n++;
        while (j > 0 && out[j - 1].q_milli < b->q_milli) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = *b;
    }
    return n;
}

static int mem_find(void *self, const char *aor, const char *contact, uint64_t now,
                    struct sip_binding *out)
{
    struct mem_binding *s = find_slot(self, aor, contact);
    if (s == NULL || s->b.expires_at_ms <= now || s->b.unreachable) {
        return -1;
    }
    *out = s->b;
    return 0;
}

uint32_t sip_contact_hash(const char *contact)
{
    return sip_fnv1a(contact, strlen(contact), SIP_FNV_INIT);
}

static bool is_nat(const struct sip_binding *b)
{
    return b->behind_nat || strncmp(b->aor, "masq:", 5) == 0;
}

static size_t mem_nat_due(void *self, uint64_t now, uint64_t interval, struct sip_binding *out,
                          size_t cap)
{
    struct mem_loc *m = self;
    size_t n = 0;
    for (size_t i = 0; i < m->used && n < cap; i++) {
        struct sip_binding *b = &m->slots[i].b;
        if (!m->slots[i].used || !is_nat(b) || b->expires_at_ms <= now) {
            continue;
        }
        if (b->next_ping_ms == 0) {
            b->next_ping_ms = now + interval; /* just saved: it spoke a moment ago */
            continue;
        }
        if (b->next_ping_ms > now) {
            continue;
        }
        b->next_ping_ms = now + interval;
        out[n] = *b;
        out[n].unreachable = false;
        /* an outbound UA on a stream answers our CRLF pings with a pong that names no
         * binding; its liveness is its connection's (flow_down) */
        bool by_conn = b->outbound && b->received.transport != SIP_TP_UDP;
        if (!b->unreachable && !by_conn && now > b->alive_ms + 3 * interval + 1000) {
            b->unreachable = true;
            out[n].unreachable = true;
        }
        n++;
    }
    return n;
}

static void mem_alive(void *self, const char *aor, uint32_t contact_hash, uint64_t now)
{
    struct mem_loc *m = self;
    for (int32_t i = m->bucket[hash(aor)]; i >= 0; i = m->slots[i].next) {
        struct sip_binding *b = &m->slots[i].b;
        if (strcmp(b->aor, aor) == 0 && sip_contact_hash(b->contact) == contact_hash) {
            b->alive_ms = now;
            b->unreachable = false;
        }
    }
}

static size_t mem_flow_down(void *self, const struct sip_peer *flow)
{
    struct mem_loc *m = self;
    size_t n = 0;
    for (size_t i = 0; i < m->used; i++) {
        struct sip_binding *b = &m->slots[i].b;
        if (m->slots[i].used && b->received.transport != SIP_TP_UDP &&
            b->received.transport == flow->transport && b->received.conn == flow->conn &&
            !b->flow_failed) {
            b->flow_failed = true;
            n++;
        }
    }
    return n;
}

static size_t mem_count(void *self, uint64_t now, size_t *nat)
{
    struct mem_loc *m = self;
    size_t n = 0, k = 0;
    for (size_t i = 0; i < m->used; i++) {
        const struct sip_binding *b = &m->slots[i].b;
        if (!m->slots[i].used || b->expires_at_ms <= now) {
            continue;
        }
        bool masq = strncmp(b->aor, "masq:", 5) == 0;
        n += !masq;
        k += is_nat(b);
    }
    *nat = k;
    return n;
}

static size_t mem_list(void *self, uint64_t now, size_t offset, struct sip_binding *out, size_t cap,
                       size_t *total)
{
    struct mem_loc *m = self;
    size_t seen = 0, n = 0;
    for (size_t i = 0; i < m->used; i++) {
        const struct sip_binding *b = &m->slots[i].b;
        if (!m->slots[i].used || b->expires_at_ms <= now || strncmp(b->aor, "masq:", 5) == 0) {
            continue;
        }
        if (seen++ >= offset && n < cap) {
            out[n++] = *b;
        }
    }
    *total = seen;
    return n;
}

static const struct sip_location_ops mem_ops = {mem_save,   mem_remove,  mem_lookup, mem_find,
                                                mem_expire, mem_nat_due, mem_alive,  mem_flow_down,
                                                mem_count,  mem_list};

struct sip_location *sip_location_mem_new(size_t max_bindings)
{
    struct mem_loc *m = calloc(1, sizeof(*m));
    if (m == NULL || max_bindings == 0 || max_bindings > INT32_MAX) {
        free(m);
        return NULL;
    }
    m->slots = calloc(max_bindings, sizeof(*m->slots));
    if (m->slots == NULL) {
        free(m);
        return NULL;
    }
    m->cap = max_bindings;
    m->free_head = -1;
    for (int i = 0; i < BUCKETS; i++) {
        m->bucket[i] = -1;
    }
    m->loc.ops = &mem_ops;
    m->loc.self = m;
    return &m->loc;
}

void sip_location_mem_free(struct sip_location *loc)
{
    if (loc != NULL) {
        struct mem_loc *m = loc->self;
        free(m->slots);
        free(m);
    }
}

size_t sip_aor_of(const struct sip_uri *u, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%.*s%s", (int)u->user.len, u->user.p, u->user.len ? "@" : "");
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return 0;
    }
    size_t used = (size_t)n;
    for (size_t i = 0; i < u->host.len && used + 1 < cap; i++) {
        out[used++] = sip_lower(u->host.p[i]);
    }
    out[used] = '\0';
    return used;
}

/* sip/calls.c: the call table of a proxy worker (sip/calls.h). */
#include "calls.h"

#include <stdlib.h>
#include <string.h>

int sip_calls_init(struct sip_calls *t, uint32_t cap)
{
    memset(t, 0, sizeof(*t));
    t->c = calloc(cap ? cap : 1, sizeof(*t->c));
    if (t->c == NULL) {
        return -1;
    }
    t->cap = cap;
    t->free_head = -1;
    for (size_t i = 0; i < SIP_CALLS_BUCKETS; i++) {
        t->bucket[i] = -1;
    }
    return 0;
}

void sip_calls_free(struct sip_calls *t)
{
    free(t->c);
    t->c = NULL;
}

static uint32_t hash_of(struct sip_str id)
{
    return sip_fnv1a(id.p, id.len, SIP_FNV_INIT);
}

struct sip_call *sip_calls_find(struct sip_calls *t, struct sip_str call_id)
{
    if (t->c == NULL || call_id.len == 0 || call_id.len >= SIP_CALL_ID_MAX) {
        return NULL;
    }
    uint32_t h = hash_of(call_id);
    for (int32_t i = t->bucket[h % SIP_CALLS_BUCKETS]; i >= 0; i = t->c[i].hnext) {
        struct sip_call *c = &t->c[i];
        if (c->hash == h && c->call_id_len == call_id.len &&
            memcmp(c->call_id, call_id.p, call_id.len) == 0) {
            return c;
        }
    }
    return NULL;
}

struct sip_call *sip_calls_open(struct sip_calls *t, struct sip_str call_id, uint64_t now_ms,
                                bool *fresh)
{
    *fresh = false;
    struct sip_call *c = sip_calls_find(t, call_id);
    if (c != NULL) {
        return c;
    }
    if (t->c == NULL || call_id.len == 0 || call_id.len >= SIP_CALL_ID_MAX) {
        return NULL;
    }
    int32_t i;
    if (t->free_head >= 0) {
        i = t->free_head;
        t->free_head = t->c[i].hnext;
    } else if (t->used_hw < t->cap) {
        i = (int32_t)t->used_hw++;
    } else {
        t->untracked++;
        return NULL;
    }
    c = &t->c[i];
    uint32_t gen = ++t->gen;
    memset(c, 0, sizeof(*c));
    c->used = true;
    c->gen = gen;
    c->hash = hash_of(call_id);
    c->call_id_len = (uint8_t)call_id.len;
    memcpy(c->call_id, call_id.p, call_id.len);
    c->start_ms = now_ms;
    c->hnext = t->bucket[c->hash % SIP_CALLS_BUCKETS];
    t->bucket[c->hash % SIP_CALLS_BUCKETS] = i;
    t->open++;
    *fresh = true;
    return c;
}

struct sip_call *sip_calls_by_index(struct sip_calls *t, uint32_t idx, uint32_t gen)
{
    if (t->c == NULL || idx >= t->used_hw || !t->c[idx].used || t->c[idx].gen != gen) {
        return NULL;
    }
    return &t->c[idx];
}

void sip_calls_close(struct sip_calls *t, struct sip_call *c)
{
    if (!c->used) {
        return;
    }
    int32_t idx = (int32_t)(c - t->c);
    int32_t *at = &t->bucket[c->hash % SIP_CALLS_BUCKETS];
    while (*at >= 0 && *at != idx) {
        at = &t->c[*at].hnext;
    }
    if (*at == idx) {
        *at = c->hnext;
    }
    c->used = false;
    c->hnext = t->free_head;
    t->free_head = idx;
    t->open--;
}

void sip_calls_set_party(char *out, size_t cap, struct sip_str user, struct sip_str host)
{
    size_t n = 0;
    if (cap == 0) {
        return;
    }
    for (size_t i = 0; i < user.len && n + 1 < cap; i++) {
        out[n++] = user.p[i];
    }
    if (user.len > 0 && n + 1 < cap) {
        out[n++] = '@';
    }
    for (size_t i = 0; i < host.len && n + 1 < cap; i++) {
        out[n++] = host.p[i];
    }
    out[n] = '\0';
}

const char *sip_call_state_name(enum sip_call_state s)
{
    static const char *const names[] = {"setup", "ringing", "answered", "ended"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const char *sip_call_end_name(enum sip_call_end e)
{
    static const char *const names[] = {"",        "caller",  "callee", "failed", "media timeout",
                                        "expired", "shutdown"};
    return (unsigned)e < sizeof(names) / sizeof(names[0]) ? names[e] : "?";
}

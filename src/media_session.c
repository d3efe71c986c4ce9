/* src/media_session.c: the relay's session table; see media_session.h. */
#include "media_session.h"

#include <stdlib.h>
#include <string.h>

#include "../sip/str.h"

#define SRC_PROBE 8

static uint32_t hash_str(struct sip_str s)
{
    return sip_fnv1a(s.p, s.len, SIP_FNV_INIT);
}

int msess_table_init(struct msess_table *t, uint32_t cap)
{
    memset(t, 0, sizeof(*t));
    t->free_head = -1;
    t->stream_free = -1;
    for (size_t i = 0; i < MSESS_BUCKETS; i++) {
        t->bucket[i] = -1;
    }
    t->cap = cap;
    t->sess = calloc(cap, sizeof(*t->sess));
    t->streams = calloc(cap, sizeof(*t->streams));
    if (t->sess == NULL || t->streams == NULL) {
        msess_table_free(t);
        return -1;
    }
    return 0;
}

void msess_table_free(struct msess_table *t)
{
    free(t->sess);
    free(t->streams);
    t->sess = NULL;
    t->streams = NULL;
}

static struct msess *find(struct msess_table *t, struct sip_str call_id, uint32_t h)
{
    for (int32_t i = t->bucket[h % MSESS_BUCKETS]; i >= 0; i = t->sess[i].hnext) {
        struct msess *s = &t->sess[i];
        if (s->hash == h && s->call_id_len == call_id.len &&
            (call_id.len == 0 || memcmp(s->call_id, call_id.p, call_id.len) == 0)) {
            return s;
        }
    }
    return NULL;
}

struct msess *msess_find(struct msess_table *t, struct sip_str call_id)
{
    return find(t, call_id, hash_str(call_id));
}

/* release_caps: the session is answered or gone: it no longer counts against its creator nor
 * its callee */
static void release_caps(struct msess_table *t, struct msess *s)
{
    sip_addr_count_put(t->src, s->src);
    if (s->callee > 0 && t->callee[s->callee - 1].n > 0) {
        t->callee[s->callee - 1].n--;
    }
    s->src = 0;
    s->callee = 0;
}

/* callee_take: counts a new unanswered call from a capped source to callee; false at its cap.
 * A callee that finds no slot among its probes goes uncounted. */
static bool callee_take(struct msess_table *t, struct sip_str callee, uint32_t max, int16_t *slot)
{
    *slot = 0;
    if (max == 0 || callee.len == 0) {
        return true;
    }
    uint64_t key = 14695981039346656037ull;
    for (size_t i = 0; i < callee.len; i++) {
        key = (key ^ (uint8_t)sip_lower(callee.p[i])) * 1099511628211ull;
    }
    key |= 1; /* never 0, the free mark */
    struct mcallee *free_slot = NULL;
    for (unsigned k = 0; k < SRC_PROBE; k++) {
        struct mcallee *e = &t->callee[(key + k) % MSESS_SRC_SLOTS];
        if (e->key == key) {
            if (e->n >= max) {
                return false;
            }
            e->n++;
            *slot = (int16_t)(e - t->callee + 1);
            return true;
        }
        if (e->n == 0 && free_slot == NULL) {
            free_slot = e;
        }
    }
    if (free_slot != NULL) {
        free_slot->key = key;
        free_slot->n = 1;
        *slot = (int16_t)(free_slot - t->callee + 1);
    }
    return true;
}

static struct msess *create(struct msess_table *t, const struct sip_media_msg *mm, uint32_t h)
{
    if (mm->call_id.len > MSESS_CALLID_MAX || mm->from_tag.len > MSESS_TAG_MAX) {
        return NULL;
    }
    int32_t si;
    if (t->free_head >= 0) {
        si = t->free_head;
        t->free_head = t->sess[si].next_free;
    } else if (t->sess_used < t->cap) {
        si = (int32_t)t->sess_used++;
    } else {
        return NULL;
    }
    struct msess *s = &t->sess[si];
    memset(s, 0, sizeof(*s));
    s->used = true;
    s->hash = h;
    if (mm->call_id.len > 0) { /* an unset slice is NULL, which memcpy must not get */
        memcpy(s->call_id, mm->call_id.p, mm->call_id.len);
    }
    s->call_id_len = (uint8_t)mm->call_id.len;
    /* The side that sent the first SDP in a request is the caller; for an answer-first
     * (response) session the request's sender, named by the From tag, is the caller too. */
    if (mm->from_tag.len > 0) {
        memcpy(s->caller_tag, mm->from_tag.p, mm->from_tag.len);
    }
    s->caller_tag_len = (uint8_t)mm->from_tag.len;
    for (unsigned i = 0; i < MEDIA_STREAMS; i++) {
        s->st[i] = -1;
    }
    s->hnext = t->bucket[h % MSESS_BUCKETS];
    t->bucket[h % MSESS_BUCKETS] = si;
    t->open++;
    return s;
}

enum msess_admit msess_admit(struct msess_table *t, const struct sip_media_msg *mm,
                             uint32_t max_source, uint32_t max_callee, struct msess **out,
                             bool *fresh)
{
    uint32_t h = hash_str(mm->call_id);
    struct msess *s = find(t, mm->call_id, h);
    *fresh = s == NULL;
    *out = s;
    if (s != NULL) {
        return MSESS_OK;
    }
    if (!mm->may_create) {
        return MSESS_NO_CALL;
    }
    int16_t slot = 0, cslot = 0;
    if (mm->sender_capped && max_source > 0) {
        int r = sip_addr_count_take(t->src, MSESS_SRC_SLOTS, mm->sender, SIP_FNV_INIT, max_source);
        if (r < 0) {
            return MSESS_SOURCE_CAPPED;
        }
        slot = (int16_t)r;
    }
    if (mm->sender_capped && !callee_take(t, mm->callee, max_callee, &cslot)) {
        sip_addr_count_put(t->src, slot);
        return MSESS_CALLEE_CAPPED;
    }
    if ((s = create(t, mm, h)) == NULL) {
        sip_addr_count_put(t->src, slot);
        if (cslot > 0) {
            t->callee[cslot - 1].n--;
        }
        return MSESS_FULL;
    }
    s->src = slot;
    s->callee = cslot;
    *out = s;
    return MSESS_OK;
}

unsigned msess_leg(struct msess_table *t, struct msess *s, const struct sip_media_msg *mm,
                   bool fresh)
{
    bool tag_is_caller =
        mm->from_tag.len == s->caller_tag_len &&
        (s->caller_tag_len == 0 || memcmp(mm->from_tag.p, s->caller_tag, s->caller_tag_len) == 0);
    unsigned in = (mm->is_request ? tag_is_caller : !tag_is_caller) ? 0 : 1;
    if (fresh) {
        s->creator_leg = (uint8_t)in;
    } else if (in != s->creator_leg) {
        release_caps(t, s); /* the other side answered: no longer a call that holds ports idly */
    }
    return in;
}

int32_t msess_stream(struct msess_table *t, struct msess *s, unsigned i)
{
    if (s->st[i] >= 0) {
        return s->st[i];
    }
    if (t->stream_free >= 0) {
        s->st[i] = t->stream_free;
        t->stream_free = t->streams[s->st[i]].next_free;
    } else if (t->streams_used < t->cap) {
        s->st[i] = (int32_t)t->streams_used++;
    } else {
        return -1;
    }
    struct mstream *ms = &t->streams[s->st[i]];
    memset(&ms->st, 0, sizeof(ms->st));
    memset(ms->rtcp, 0, sizeof(ms->rtcp));
    ms->codec[0] = '\0';
    ms->clock_hz = 0;
    ms->fast = false;
    memset(ms->fast_seen, 0, sizeof(ms->fast_seen));
    memset(ms->fast_e, 0, sizeof(ms->fast_e));
    ms->fast_no[0] = ms->fast_no[1] = false;
    ms->srtp = NULL;
    return s->st[i];
}

uint64_t msess_last_activity(const struct msess_table *t, const struct msess *s)
{
    uint64_t last = s->touched_ms;
    for (unsigned j = 0; j < s->nstreams; j++) {
        for (unsigned l = 0; l < 2 && s->st[j] >= 0; l++) {
            uint64_t rx = t->streams[s->st[j]].st.leg[l].last_rx_ms;
            last = rx > last ? rx : last;
        }
    }
    return last;
}

struct msess_totals msess_close(struct msess_table *t, struct msess *s,
                                void (*stream_done)(void *ctx, struct mstream *ms),
                                void (*port_done)(void *ctx, uint16_t port), void *ctx)
{
    release_caps(t, s);
    int32_t si = (int32_t)(s - t->sess);
    struct msess_totals tot = {0, 0};
    for (unsigned i = 0; i < MEDIA_STREAMS; i++) {
        if (s->st[i] >= 0) {
            struct mstream *ms = &t->streams[s->st[i]];
            for (unsigned l = 0; l < 2; l++) {
                tot.relayed += ms->st.leg[l].rx_packets;
                tot.strangers += ms->st.leg[l].dropped_stranger;
            }
            stream_done(ctx, ms);
            ms->next_free = t->stream_free;
            t->stream_free = s->st[i];
        }
        for (unsigned l = 0; l < 2; l++) {
            if (s->port[i][l] != 0) {
                port_done(ctx, s->port[i][l]);
            }
        }
    }
    int32_t *pp = &t->bucket[s->hash % MSESS_BUCKETS];
    while (*pp != si) {
        pp = &t->sess[*pp].hnext;
    }
    *pp = s->hnext;
    memset(s, 0, sizeof(*s));
    s->next_free = t->free_head;
    t->free_head = si;
    t->open--;
    return tot;
}

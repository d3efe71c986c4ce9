/* src/location_locked.c: see location_locked.h. */
#include "location_locked.h"

#include <pthread.h>
#include <stdlib.h>

struct locked {
    struct sip_location outer;
    struct sip_location *inner;
    pthread_rwlock_t lock;
};

static int l_save(void *self, const struct sip_binding *b)
{
    struct locked *l = self;
    pthread_rwlock_wrlock(&l->lock);
    int rc = l->inner->ops->save(l->inner->self, b);
    pthread_rwlock_unlock(&l->lock);
    return rc;
}

static void l_remove(void *self, const char *aor, const char *contact)
{
    struct locked *l = self;
    pthread_rwlock_wrlock(&l->lock);
    l->inner->ops->remove(l->inner->self, aor, contact);
    pthread_rwlock_unlock(&l->lock);
}

static size_t l_lookup(void *self, const char *aor, uint64_t now_ms, struct sip_binding *out,
                       size_t cap)
{
    struct locked *l = self;
    pthread_rwlock_rdlock(&l->lock);
    size_t n = l->inner->ops->lookup(l->inner->self, aor, now_ms, out, cap);
    pthread_rwlock_unlock(&l->lock);
    return n;
}

static int l_find(void *self, const char *aor, const char *contact, uint64_t now_ms,
                  struct sip_binding *out)
{
    struct locked *l = self;
    pthread_rwlock_rdlock(&l->lock);
    int rc = l->inner->ops->find(l->inner->self, aor, contact, now_ms, out);
    pthread_rwlock_unlock(&l->lock);
    return rc;
}

static void l_expire(void *self, uint64_t now_ms)
{
    struct locked *l = self;
    pthread_rwlock_wrlock(&l->lock);
    l->inner->ops->expire(l->inner->self, now_ms);
    pthread_rwlock_unlock(&l->lock);
}

static size_t l_nat_due(void *self, uint64_t now_ms, uint64_t interval_ms, struct sip_binding *out,
                        size_t cap)
{
    struct locked *l = self;
    pthread_rwlock_wrlock(&l->lock);
    size_t n = l->inner->ops->nat_due(l->inner->self, now_ms, interval_ms, out, cap);
    pthread_rwlock_unlock(&l->lock);
    return n;
}

static void l_alive(void *self, const char *aor, uint32_t contact_hash, uint64_t now_ms)
{
    struct locked *l = self;
    pthread_rwlock_wrlock(&l->lock);
    l->inner->ops->alive(l->inner->self, aor, contact_hash, now_ms);
    pthread_rwlock_unlock(&l->lock);
}

static size_t l_flow_down(void *self, const struct sip_peer *flow)
{
    struct locked *l = self;
    pthread_rwlock_wrlock(&l->lock);
    size_t n = l->inner->ops->flow_down(l->inner->self, flow);
    pthread_rwlock_unlock(&l->lock);
    return n;
}

static size_t l_count(void *self, uint64_t now_ms, size_t *nat)
{
    struct locked *l = self;
    pthread_rwlock_rdlock(&l->lock);
    size_t n = l->inner->ops->count(l->inner->self, now_ms, nat);
    pthread_rwlock_unlock(&l->lock);
    return n;
}

static size_t l_list(void *self, uint64_t now_ms, size_t offset, struct sip_binding *out,
                     size_t cap, size_t *total)
{
    struct locked *l = self;
    pthread_rwlock_rdlock(&l->lock);
    size_t n = l->inner->ops->list(l->inner->self, now_ms, offset, out, cap, total);
    pthread_rwlock_unlock(&l->lock);
    return n;
}

static const struct sip_location_ops locked_ops = {
    l_save, l_remove, l_lookup, l_find, l_expire, l_nat_due, l_alive, l_flow_down, l_count, l_list};

struct sip_location *location_locked_new(struct sip_location *inner)
{
    struct locked *l = calloc(1, sizeof(*l));
    if (l == NULL || pthread_rwlock_init(&l->lock, NULL) != 0) {
        free(l);
        return NULL;
    }
    l->inner = inner;
    l->outer = (struct sip_location){&locked_ops, l};
    return &l->outer;
}

void location_locked_free(struct sip_location *loc)
{
    if (loc != NULL) {
        struct locked *l = loc->self;
        pthread_rwlock_destroy(&l->lock);
        free(l);
    }
}

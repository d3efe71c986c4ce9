/* sip/location.h: the location service (RFC 3261 §10) behind an interface, so that a shared
 * store for several sipring instances can replace the in-memory one without touching the proxy
 * core. Bindings are copied in and out: the store owns its memory. */
#ifndef SIPRING_SIP_LOCATION_H
#define SIPRING_SIP_LOCATION_H

#include "peer.h"

#define SIP_LOC_AOR_MAX 128
#define SIP_LOC_URI_MAX 256
#define SIP_LOC_PATH_MAX 512
#define SIP_LOC_CALLID_MAX 128

struct sip_binding {
    char aor[SIP_LOC_AOR_MAX];     /* "user@host", host lower-cased */
    char contact[SIP_LOC_URI_MAX]; /* the Contact URI as registered */
    char path[SIP_LOC_PATH_MAX];   /* Path header values, comma-joined (RFC 3327), or "" */
    char call_id[SIP_LOC_CALLID_MAX];
    uint32_t cseq;
    uint16_t q_milli;
    struct sip_peer received; /* where the REGISTER came from: the flow to reach the UA */
    bool behind_nat;          /* the UA registered from behind NAT: reach it through received */
    uint64_t expires_at_ms;
    /* NAT keepalive state (behind_nat bindings and "masq:" ones): the last sign of life, the
     * next keepalive, and whether the UA stopped answering (lookups then skip it). */
    uint64_t alive_ms;
    uint64_t next_ping_ms;
    bool unreachable;
    /* RFC 5626: the UA registered with outbound (+sip.instance and reg-id); its keepalives
     * over a stream are double-CRLF pings, and a request it cannot get gets 430. */
    bool outbound;
    /* the stream connection in received closed: the flow is gone (RFC 5626 §5.3) and nobody
     * may open another one towards a NAT; lookups still return the binding with this set */
    bool flow_failed;
};

struct sip_location_ops {
    /* save: adds or refreshes the binding of (aor, contact). Returns 0, or -1 if full. */
    int (*save)(void *self, const struct sip_binding *b);
    /* remove: removes (aor, contact); contact NULL removes every binding of aor. */
    void (*remove)(void *self, const char *aor, const char *contact);
    /* lookup: copies up to cap live bindings of aor, highest q first; returns the count. */
    size_t (*lookup)(void *self, const char *aor, uint64_t now_ms, struct sip_binding *out,
                     size_t cap);
    /* find: the binding (aor, contact) if live; returns 0 and copies it, or -1. */
    int (*find)(void *self, const char *aor, const char *contact, uint64_t now_ms,
                struct sip_binding *out);
    /* expire: drops bindings whose time has come. */
    void (*expire)(void *self, uint64_t now_ms);
    /* nat_due: copies up to cap NAT bindings whose keepalive is due and schedules the next one
     * interval_ms later. A binding silent for three intervals is marked unreachable and comes
     * out once with unreachable set (later ones come out with it clear but stay marked). */
    size_t (*nat_due)(void *self, uint64_t now_ms, uint64_t interval_ms, struct sip_binding *out,
                      size_t cap);
    /* alive: the binding of aor whose contact hashes to contact_hash answered: reachable. */
    void (*alive)(void *self, const char *aor, uint32_t contact_hash, uint64_t now_ms);
    /* flow_down: the stream connection flow (transport and conn) closed: every binding
     * reached through it gets flow_failed. Returns how many. */
    size_t (*flow_down)(void *self, const struct sip_peer *flow);
    /* count: live bindings of registrations (AORs), and in *nat the NAT bindings among them
     * plus the Contacts stood in for ("masq:"); for metrics, a scan. */
    size_t (*count)(void *self, uint64_t now_ms, size_t *nat);
    /* list: copies up to cap live bindings of registrations ("masq:" ones left out), skipping
     * the first `offset`, in the store's own order; *total gets how many there are. For the
     * status pages, a scan. */
    size_t (*list)(void *self, uint64_t now_ms, size_t offset, struct sip_binding *out, size_t cap,
                   size_t *total);
};

struct sip_location {
    const struct sip_location_ops *ops;
    void *self;
};

/* sip_location_mem_new: the in-memory store, holding at most max_bindings. NULL if out of
 * memory. sip_location_mem_free releases it. */
struct sip_location *sip_location_mem_new(size_t max_bindings);
void sip_location_mem_free(struct sip_location *loc);

/* sip_contact_hash: a short hash of a binding's contact, to name it in a keepalive. */
uint32_t sip_contact_hash(const char *contact);

/* sip_aor_of: the canonical AOR "user@host" (host lower-cased, no port or params) of a URI. */
struct sip_uri;
size_t sip_aor_of(const struct sip_uri *u, char *out, size_t cap);

#endif

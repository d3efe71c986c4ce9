/* sip/proxy.h: the stateful proxy (RFC 3261 §16) and registrar (§10), sans-I/O.
 *
 * The proxy takes datagrams with their source address and the current time, and emits
 * datagrams through a sink (a callback that must copy what it is given before returning: the
 * bytes belong to the proxy). It owns its transactions, their timers and the copies of the
 * messages they keep for retransmission, and asks the location service about registered users.
 * It never calls a socket or reads a clock: src/ feeds it. */
#ifndef SIPRING_SIP_PROXY_H
#define SIPRING_SIP_PROXY_H

#include <sys/uio.h>

#include "calls.h"
#include "location.h"
#include "peer.h"
#include "txn.h"
#include "auth.h"

#define SIP_PROXY_MAX_DOMAINS 16
#define SIP_PROXY_MAX_INSIDE 16
#define SIP_PROXY_MAX_SELF 16

/* sip_mac: the keyed MAC that makes what sipring writes into messages for itself unforgeable:
 * the proof in its Record-Route URIs, its Via branches and its Contact tokens (RFC 3261 leaves
 * all three to the proxy). src/ implements it as HMAC-SHA256 under the --secret-file key, so
 * that every worker, a restarted process and the other instances sharing that file recognise
 * them; sip/ stays free of crypto. sign: 32 bytes over parts[0..n), kept apart (("ab","c") and
 * ("a","bc") differ). */
struct sip_mac {
    void (*sign)(void *self, const struct sip_str *parts, size_t n, uint8_t out[32]);
    void *self;
};

struct sip_proxy_cfg {
    struct sip_peer self[SIP_PROXY_MAX_SELF]; /* addresses sipring listens on (port included) */
    size_t self_count;
    char advertise[64];                      /* host[:port] put in Via and Record-Route */
    char domains[SIP_PROXY_MAX_DOMAINS][64]; /* served domains (lower case) */
    size_t domain_count;
    struct sip_cidr inside[SIP_PROXY_MAX_INSIDE]; /* trusted networks */
    size_t inside_count;
    char upstream[256]; /* next hop URI for targets outside the served domains, or "" */
    struct sip_timers timers;
    uint32_t max_transactions;
    uint32_t min_expires;
    uint32_t max_expires;
    uint32_t default_expires;
    uint32_t timer_c_ms;       /* §16.6 step 11: > 3 minutes; 0 = 180000 */
    char public_advertise[64]; /* host[:port] for Contacts sent outside; "" = advertise */
    struct sip_mac mac;        /* required: sip_proxy_new fails without sign */
    struct sip_limits limits;  /* --max-msg-size, --max-headers; all zero: the defaults */
    uint32_t nat_keepalive_ms; /* OPTIONS to NATed bindings this often; 0: none */
    bool keepalive_sender;     /* this proxy sends them (one worker does, for all) */
    bool open_registrar;       /* without auth, REGISTER from the outside too (else inside only) */
    uint32_t source_txn_max;   /* live transactions per outside source address; 0: no cap */
    uint16_t tcp_port;         /* our TCP and TLS listening ports (0: none); UDP's is the */
    uint16_t tls_port;         /* advertised one */
};

struct sip_proxy_sink {
    /* send: one message to `to` (its transport, and for a stream its connection, or any to
     * that address when conn is 0), as iov[0..n). name: the target's host as written (a
     * domain or IP literal) when a new TLS connection must check the server against it, else
     * NULL. Copy it before returning. */
    void (*send)(void *ctx, const struct sip_peer *to, const char *name, const struct iovec *iov,
                 size_t n);
    /* log: one line about an event; `debug` lines (per-packet detail such as a dropped
     * malformed message) are only formatted when debug is set. */
    void (*log)(void *ctx, bool debug, const char *line);
    bool debug;
    void *ctx;
    /* auth_failed: credentials from `from` did not verify (for brute-force limits); may be
     * NULL. */
    void (*auth_failed)(void *ctx, const struct sip_peer *from);
    /* stray_response: `from` sent a response to nothing sipring sent (no transaction, no
     * branch of ours): counted against its rate like a request; may be NULL. */
    void (*stray_response)(void *ctx, const struct sip_peer *from);
    /* call_ended: a call is over; rec is its record (valid during the call only); may be
     * NULL. */
    void (*call_ended)(void *ctx, const struct sip_call_record *rec);
};

/* A call setup time histogram (ms), Prometheus-style: cumulative counts are computed when
 * rendered; le_ms[i] counts observations in (le_ms[i-1], le_ms[i]], the last one above. */
#define SIP_SETUP_BUCKETS 10
extern const uint32_t sip_setup_le_ms[SIP_SETUP_BUCKETS];
struct sip_setup_hist {
    uint64_t bucket[SIP_SETUP_BUCKETS + 1];
    uint64_t sum_ms, count;
};

#define SIP_METHOD_SLOTS 16 /* enum sip_method values, 0 = any other method */
struct sip_proxy_stats {
    uint64_t requests[SIP_METHOD_SLOTS]; /* received, by method */
    uint64_t responses[7];               /* received, by class (1..6) */
    uint64_t replies[7];                 /* made here (sipring's own answers), by class */
    /* calls: initial INVITE transactions; answered = a 2xx went upstream; failed by the final
     * status that went upstream (300..699, challenges included); ended = a BYE relayed */
    uint64_t calls_started, calls_answered, calls_ended;
    uint64_t calls_failed[400];
    struct sip_setup_hist to_ringing, to_answer; /* INVITE to its first 18x, and to its 2xx */
    uint64_t rx;
    uint64_t bad;
    uint64_t absorbed;
    uint64_t txn_created;
    uint64_t txn_refused;    /* pool full or draining: 503 */
    uint64_t registrar_full; /* REGISTERs refused: the location store had no room */
    uint64_t source_capped;  /* an outside source over --max-source-transactions: 503 */
    uint64_t forwarded;
    uint64_t replied;
    uint64_t stateless;
    uint64_t scanners;        /* requests dropped for a scanner's User-Agent */
    uint64_t auth_failed;     /* credentials that did not verify */
    uint64_t trunk_auth;      /* requests re-sent with our credentials to the upstream */
    uint64_t stray_responses; /* responses to nothing of ours */
    uint64_t not_relayed;     /* requests from the outside refused: nothing of ours proved */
    uint64_t calls_untracked; /* calls carried without a record: the call table was full */
};

struct sip_proxy;

/* sip_proxy_new: a proxy with cfg (copied), the location store loc (borrowed) and the sink.
 * NULL if out of memory. Allocates its transaction pool here, never on the hot path. */
struct sip_proxy *sip_proxy_new(const struct sip_proxy_cfg *cfg, struct sip_location *loc,
                                struct sip_proxy_sink sink, uint64_t seed);
void sip_proxy_free(struct sip_proxy *p);

/* sip_proxy_on_datagram: one datagram from `from` at now_ms. */
void sip_proxy_on_datagram(struct sip_proxy *p, const struct sip_peer *from, const char *buf,
                           size_t len, uint64_t now_ms);

/* sip_proxy_on_unreachable: src/ could not reach `to` (connect or TLS handshake failed):
 * every branch waiting on it fails with 503 now. Scans the pool: failures are rare. */
void sip_proxy_on_unreachable(struct sip_proxy *p, const struct sip_peer *to, uint64_t now);

/* sip_proxy_on_flow_closed: the stream connection flow (its transport and conn) closed:
 * bindings reached through it fail (requests for them get 430 Flow Failed where the UA
 * registered with outbound, RFC 5626 §5.3, else 480), and nobody opens another connection
 * towards them. */
void sip_proxy_on_flow_closed(struct sip_proxy *p, const struct sip_peer *flow);

/* sip_proxy_on_timer: fires every transaction timer due at now_ms, and expires bindings. */
void sip_proxy_on_timer(struct sip_proxy *p, uint64_t now_ms);

/* sip_proxy_next_timer: the earliest deadline, or 0 if nothing is pending. */
uint64_t sip_proxy_next_timer(const struct sip_proxy *p);

/* sip_proxy_reconfigure: takes domains, trusted networks, upstream, timers and registration
 * limits from cfg; addresses and the pool size stay as created. Running transactions keep the
 * timers they started with. */
void sip_proxy_reconfigure(struct sip_proxy *p, const struct sip_proxy_cfg *cfg, bool debug);

/* sip_proxy_set_debug: whether debug lines are formatted and sent to the sink. */
void sip_proxy_set_debug(struct sip_proxy *p, bool debug);

/* sip_proxy_set_media: anchors the media of calls through media (borrowed; NULL: off). */
struct sip_media;
void sip_proxy_set_media(struct sip_proxy *p, struct sip_media *media);

/* sip_proxy_set_resolver: locates servers of domains through r (borrowed; NULL: IP literals
 * and "localhost" only). */
struct sip_resolver;
void sip_proxy_set_resolver(struct sip_proxy *p, struct sip_resolver *r);

/* sip_proxy_on_resolved: an answer the resolver did not have has arrived: requests parked on
 * one go on (scans the pool when any is parked). */
void sip_proxy_on_resolved(struct sip_proxy *p, uint64_t now_ms);

/* sip_proxy_set_auth: challenges REGISTERs to served domains and new INVITEs from the inside
 * through a (borrowed; NULL: off). */
struct sip_auth;
void sip_proxy_set_auth(struct sip_proxy *p, struct sip_auth *a);

/* sip_proxy_drain: from now on new requests get 503; running transactions finish. */
void sip_proxy_drain(struct sip_proxy *p);

/* Trunk mode (sip/proxy_trunk.c): sipring as a client of cfg.upstream. */
struct sip_proxy_trunk_cfg {
    char user[64];      /* --upstream-user */
    char domain[128];   /* the AOR's domain; "" = the upstream URI's host */
    char call_id[64];   /* of the registrations: chosen so the registering worker owns it */
    uint32_t cseq_base; /* the first REGISTER's CSeq is above it (see src/worker.c) */
    uint32_t expires_s; /* asked for; the registrar's answer wins */
    bool do_register;   /* this proxy registers (one worker does, for all) */
};

/* sip_proxy_set_trunk: answer the upstream's challenges with cred (kept, not copied); with
 * cfg->do_register, also register cfg->user there and keep the registration fresh. */
void sip_proxy_set_trunk(struct sip_proxy *p, const struct sip_proxy_trunk_cfg *cfg,
                         struct sip_credentials *cred);

/* sip_proxy_active: transactions still allocated (including those only absorbing
 * retransmissions after their final response). */
size_t sip_proxy_active(const struct sip_proxy *p);

/* sip_proxy_pending: transactions that have not sent their final response yet; what a drain
 * waits for. Scans the pool: call it when draining, not per packet. */
size_t sip_proxy_pending(const struct sip_proxy *p);

const struct sip_proxy_stats *sip_proxy_stats(const struct sip_proxy *p);

/* sip_proxy_txn_in_use: transactions held in the pool (lingering ones included). */
size_t sip_proxy_txn_in_use(const struct sip_proxy *p);

/* sip_proxy_kept_bytes: the bytes of message copies the transactions hold now (requests,
 * responses, CANCELs: what a lingering transaction costs besides its slot). Walks the pool. */
size_t sip_proxy_kept_bytes(const struct sip_proxy *p);

/* sip_proxy_calls: the calls this worker carries now (for /calls); media figures come from
 * sip_proxy_call_record. */
const struct sip_calls *sip_proxy_calls(const struct sip_proxy *p);
/* sip_proxy_call_record: c (a call of sip_proxy_calls) with its media figures so far. */
void sip_proxy_call_record(struct sip_proxy *p, const struct sip_call *c,
                           struct sip_call_record *out);
/* sip_proxy_media_timed_out: the relay closes call_id's media for silence: the call ends
 * (its record is made with the media's last figures; the relay closes the session itself). */
void sip_proxy_media_timed_out(struct sip_proxy *p, struct sip_str call_id, uint64_t now);
/* sip_proxy_calls_shutdown: every call still carried ends with a record (sipring stops). */
void sip_proxy_calls_shutdown(struct sip_proxy *p, uint64_t now);

#endif

/* sip/proxy_int.h: the proxy's internal state, shared by proxy.c, proxy_resp.c, registrar.c. */
#ifndef SIPRING_SIP_PROXY_INT_H
#define SIPRING_SIP_PROXY_INT_H

#include "build.h"
#include "msg.h"
#include "proxy.h"
#include "reply.h"
#include "wheel.h"
#include "media.h"
#include "resolve.h"
#include "auth.h"
#include "addr_count.h"

#define MAX_BRANCHES 4
#define TXN_CHUNK 4096 /* transactions per allocation of the pool */
#define KEY_MAX 200
#define TXN_BUCKETS 65536
#define SRC_SLOTS 4096 /* outside sources with live transactions, per worker */

/* One client transaction of a forwarded request, plus its CANCEL. */
struct branch {
    struct sip_txn ct;
    struct sip_txn cancel_ct;
    struct sip_peer to;
    char id[64]; /* the branch parameter we put in our Via (proxy_branch_id) */
    char *req;   /* the request as forwarded: kept for retransmission, ACK and CANCEL */
    size_t req_len;
    char *cancel;
    size_t cancel_len;
    char *resp; /* final non-2xx response received, kept for the best-response choice */
    size_t resp_len;
    uint16_t final_status; /* 0 until final; 408 synthesized on timeout */
    uint64_t timer_c_at;   /* INVITE branches: RFC 3261 §16.6 step 11 timer C, 0 if off */
    bool provisional_seen;
    bool cancel_wanted;
    bool auth_tried;    /* trunk mode: this branch already carries our credentials */
    bool superseded;    /* trunk mode: challenged and re-sent as another branch */
    bool size_switched; /* sent over TCP for its size where UDP was the transport */
};

/* A proxy transaction: the server transaction of a received request and its branches. */
struct ptxn {
    uint32_t gen;
    uint32_t idx; /* its place in the pool (proxy_txn), fixed when its chunk is made */
    bool used;
    bool is_invite;
    bool is_initial_invite; /* no To tag: its failure ends the call's media */
    struct sip_txn st;
    struct sip_peer from;
    char key[KEY_MAX];
    uint32_t hash;
    int32_t hnext;
    char *req; /* the request as received */
    size_t req_len;
    char *last; /* the last response sent upstream, for retransmission */
    size_t last_len;
    uint8_t nbranch;
    uint8_t last_2xx_branch; /* 1 + the branch whose 2xx is in last; 0: none */
    bool answered_final;
    bool rang, call_counted; /* its first 18x and its final were counted (stats.calls_*) */
    uint64_t started_ms;     /* when the request arrived: call setup times */
    uint64_t armed_at;       /* deadline last filed in the wheel */
    bool dns_wait;           /* parked until the resolver answers */
    bool authed;             /* credentials verified (auth_ok) */
    bool dns_more;           /* the next hop's domain has more servers after dns_skip */
    bool force_udp;          /* a TCP connection for a large request failed: UDP after all */
    uint8_t dns_skip;        /* servers of the next hop's domain already tried */
    uint32_t cseq;           /* the request's CSeq number: responses go back with it (trunk mode) */
    uint16_t src_slot; /* 1 + its source's slot in p->src when counted there; 0: not counted */
    uint32_t call_idx, call_gen; /* an initial INVITE's call in p->calls; call_gen 0: none */
    struct branch br[MAX_BRANCHES];
};

struct sip_proxy {
    struct sip_proxy_cfg cfg;
    struct sip_location *loc;
    struct sip_proxy_sink sink;
    struct sip_proxy_stats stats;
    /* The transaction pool: chunks of TXN_CHUNK, each allocated when the load first reaches
     * it, up to pool_cap (--max-transactions): the cap can be sized for the rate sipring must
     * hold while an idle or lightly loaded proxy holds only what it used (issue 17). */
    struct ptxn **chunk;
    uint32_t pool_cap;
    uint32_t pool_used; /* slots ever handed out; those above were never touched */
    int32_t free_head;
    uint32_t active;
    int32_t bucket[TXN_BUCKETS];
    struct sip_wheel wheel; /* deadlines of transactions, lazily cancelled by armed_at/gen */
    uint64_t seed;
    uint64_t counter;
    uint64_t now;
    uint64_t next_expire_sweep;
    uint64_t next_keepalive_sweep;
    bool draining;
    char self_host[64]; /* advertise without port */
    uint16_t self_port;
    char public_host[64];             /* public_advertise without port, or "" */
    char side_addr[2][3][80];         /* [inside][transport]: host:port the side reaches us at */
    struct sip_peer path_ok[16];      /* registrars seen to keep our Path (RFC 3327 §5.3) */
    struct sip_peer upstream_hops[8]; /* addresses --upstream resolved to: not capped per source */
    uint8_t upstream_n, upstream_next;
    struct sip_addr_count *src; /* live transactions per outside source (issue 13, class 5:
                                  * every resource a peer can make sipring hold is capped per
                                  * source); SRC_SLOTS, allocated with the pool */
    uint8_t path_ok_n, path_ok_next;
    struct sip_resolver *resolver;
    struct sip_auth *auth;     /* NULL: nobody is challenged */
    struct proxy_trunk *trunk; /* NULL: not a trunk client (proxy_trunk.c) */
    uint32_t dns_parked;       /* transactions with dns_wait */
    /* Four parse results, ~40 KB each, kept here rather than on the stack. Each has one job
     * and one rule for how long it is valid; a function that needs a message handed on passes
     * a pointer to it, never the name of the field:
     * - in: the message being handled, from sip_proxy_on_datagram's parse until it returns.
     * - reroute: a parked or failed-over request parsed again from its kept copy, for one
     *   proxy_reroute (which may run inside the handling of `in`: a response that fails a
     *   branch over).
     * - aux: a kept copy parsed for a single look that ends before the function returns
     *   (building a CANCEL or ACK, the trunk's credentials, a 505, the call-ended hook); a
     *   callee may reuse it, so nothing read from it is used after a call out.
     * - aux2: the best response (or the request) of a transaction being answered by
     *   choose_best, valid across proxy_forward_response_up/proxy_reply, which use aux. */
    struct sip_msg reroute;
    struct sip_msg in;
    struct sip_msg aux;
    struct sip_msg aux2;
    struct sip_media *media; /* NULL: SDP is forwarded unchanged */
    struct sip_calls calls;  /* the calls carried, for /calls and their records */
    uint64_t next_calls_sweep;
    char masq_uri[SIP_LOC_URI_MAX]; /* a binding's contact, for the target of a request */
    char sdp_out[8192];             /* rewritten SDP of the message being forwarded */
    char scratch[8192];
    char out[70000];
    struct iovec iov[SIP_MAX_HEADERS * 2 + 32];
};

/* Where a request goes: its next hop and what changes on the way. */
struct target {
    struct sip_str ruri; /* new Request-URI, or unset to keep it */
    struct sip_peer hop;
    struct sip_str path;        /* Route lines to add (Path of a binding), comma-joined values */
    const struct sip_hdr *drop; /* a Route element to remove besides our own top one */
    char name[64];              /* the hop's host as written, for a TLS server check */
    bool is_upstream;           /* the hop is --upstream's */
    bool is_flow;               /* the hop is a UA's flow (a registration, a token): its own
                                 * transport only */
};

/* proxy_txn: the transaction in slot idx (< pool_used) */
static inline struct ptxn *proxy_txn(const struct sip_proxy *p, uint32_t idx)
{
    return &p->chunk[idx / TXN_CHUNK][idx % TXN_CHUNK];
}

static inline uint32_t proxy_fnv(const char *s, size_t n, uint32_t h)
{
    return sip_fnv1a(s, n, h);
}

static inline uint32_t proxy_fnv_str(struct sip_str s, uint32_t h)
{
    return sip_fnv1a(s.p, s.len, h);
}

/* proxy.c: the core: the transaction table and its timers, the answers sipring makes, the
 * request and response entry points */
/* proxy_send_iov, proxy_send_named: to `to`; name, when not NULL, is the host a new TLS
 * connection must be verified against (see the sink). proxy_send: without a name. */
void proxy_send_iov(struct sip_proxy *p, const struct sip_peer *to, const char *name,
                    const struct iovec *iov, size_t n);
void proxy_send_named(struct sip_proxy *p, const struct sip_peer *to, const char *name,
                      const char *buf, size_t len);
void proxy_send(struct sip_proxy *p, const struct sip_peer *to, const char *buf, size_t len);
void proxy_log(struct sip_proxy *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void proxy_debug(struct sip_proxy *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* proxy_note_answer: a response with this status goes upstream for t: counts calls (answered,
 * failed by status) and their setup times, once each. */
void proxy_note_answer(struct sip_proxy *p, struct ptxn *t, unsigned status);
char *proxy_dup(const char *buf, size_t len);
/* proxy_trim: once t has sent its final response, frees the copies it no longer needs (the
 * request as received, the branches' responses, the requests of branches that will send
 * nothing more). Called at the end of an event on t, never while a message parsed from one of
 * its copies is in use. */
void proxy_trim(struct ptxn *t);
void proxy_rearm(struct sip_proxy *p, struct ptxn *t);
void proxy_maybe_free(struct sip_proxy *p, struct ptxn *t);
bool proxy_peer_is_self(const struct sip_proxy *p, const struct sip_peer *peer);
bool proxy_uri_is_self(const struct sip_proxy *p, const struct sip_uri *u);
bool proxy_domain_served(const struct sip_proxy *p, const struct sip_uri *u);
/* proxy_resolve: the next hop of u; name (64 bytes, or NULL) gets the host it names. Returns
 * 0, -1 (no such host), or 1 when the resolver has no answer yet (the caller parks).
 * proxy_resolve_nth: the same for the server after the first `skip` of a domain's (fail-over);
 * *more (may be NULL) tells whether others follow. */
int proxy_resolve(struct sip_proxy *p, const struct sip_uri *u, struct sip_peer *out, char *name);
int proxy_resolve_nth(struct sip_proxy *p, const struct sip_uri *u, unsigned skip, bool *more,
                      struct sip_peer *out, char *name);
/* proxy_reroute: routes t's request again (after a DNS answer, or to the next server). */
void proxy_reroute(struct sip_proxy *p, struct ptxn *t);

/* Sends a locally generated response to the request of t through its server transaction. */
void proxy_reply(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *req, unsigned status,
                 const char *phrase, struct sip_str extra);

bool proxy_is_inside(const struct sip_proxy *p, const struct sip_peer *from);
/* proxy_is_upstream_hop: from is an address --upstream resolved to (a provider's trunk: not
 * capped per source). */
bool proxy_is_upstream_hop(const struct sip_proxy *p, const struct sip_peer *from);
/* proxy_side_addr: our host:port as the side of peer reaches it over peer's transport (public
 * or advertised host; the transport's port). */
const char *proxy_side_addr(const struct sip_proxy *p, const struct sip_peer *peer);
const char *proxy_side_route(const struct sip_proxy *p, const struct sip_peer *peer, char *out,
                             size_t cap);

/* proxy_note_upstream_hop: hop is an address --upstream resolved to (see
 * proxy_is_upstream_hop). */
void proxy_note_upstream_hop(struct sip_proxy *p, const struct sip_peer *hop);
/* proxy_call_ended: the one hook for a call that is over (a BYE forwarded, the initial INVITE
 * failed or was cancelled with `status`): its record is made (proxy_calls_end), the relay
 * releases its ports, the trunk forgets the dialog's CSeq shift. m is a request of the call. */
void proxy_call_ended(struct sip_proxy *p, const struct sip_msg *m, unsigned status);

/* proxy_calls.c: the call table's hooks (sip/calls.h) */
/* proxy_calls_start: t is a new initial INVITE m from `from`: its call is opened. */
void proxy_calls_start(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m,
                       const struct sip_peer *from);
/* proxy_calls_forwarded: t's INVITE goes to hop: the callee's side. */
void proxy_calls_forwarded(struct sip_proxy *p, struct ptxn *t, const struct sip_peer *hop);
/* proxy_calls_progress: a response with status goes upstream for t (a ring, an answer, or a
 * failure sipring made itself or that ended the call). */
void proxy_calls_progress(struct sip_proxy *p, struct ptxn *t, unsigned status);
/* proxy_calls_end: the call of m (a BYE, or its failed INVITE with status) is over. */
void proxy_calls_end(struct sip_proxy *p, const struct sip_msg *m, unsigned status);
void proxy_calls_sweep(struct sip_proxy *p, uint64_t now);

/* proxy_validate.c: §16.3 */
/* proxy_validate: the checks of §16.3 steps 3-6 on a new request of t; answers and returns the
 * status when one fails, else 0. */
unsigned proxy_validate(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m);
/* proxy_is_scanner: a User-Agent of the tools that sweep for SIP servers: no answer. */
bool proxy_is_scanner(const struct sip_msg *m);
/* proxy_loop_hash: what identifies m at this hop (§16.6 step 8), carried in our branch ids. */
uint32_t proxy_loop_hash(const struct sip_msg *m);
/* proxy_is_looped: m comes back through us unchanged: a loop, not a spiral (§16.3 step 4). */
bool proxy_is_looped(const struct sip_proxy *p, const struct sip_msg *m);

/* proxy_route.c: §16.4-16.5 */
/* proxy_route_processing: §16.4: whether the top Route is ours (to be removed); *next gets the
 * URI to route on, *second our second Route of a double Record-Route (RFC 5658). */
bool proxy_route_processing(struct sip_proxy *p, const struct sip_msg *m,
                            const struct sip_uri **next, const struct sip_hdr **second);
/* proxy_route_request: admission, target determination and forwarding of t's request m. */
void proxy_route_request(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m);
void proxy_route_ack(struct sip_proxy *p, const struct sip_peer *from, const struct sip_msg *m);

/* proxy_forward.c: §16.6 */
/* proxy_forward_branch: builds and sends one branch of t to tg. 0, or -1 (no room), -2 (the
 * relay is full for an initial INVITE), -3 (media policy refuses the offer). */
int proxy_forward_branch(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m,
                         const struct target *tg, bool pop_route);
/* proxy_fail_reply: the answer for proxy_forward_branch's code rc (503, 488 or 500). */
void proxy_fail_reply(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m, int rc);
/* proxy_forward_or_fail: proxy_forward_branch, answering with proxy_fail_reply on failure. */
void proxy_forward_or_fail(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m,
                           const struct target *tg, bool pop_route);
/* proxy_flow_failed_reply: every way to the target was a closed flow: 430 to an outbound UA
 * (RFC 5626 §5.3), 480 otherwise. */
void proxy_flow_failed_reply(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m,
                             bool outbound);
/* proxy_forward_stateless: m (an ACK) from `from` to tg without a transaction. */
void proxy_forward_stateless(struct sip_proxy *p, const struct sip_peer *from,
                             const struct sip_msg *m, const struct target *tg, bool pop_route);

/* proxy_mac.c */
#define PROXY_RR_MAC_HEX 12 /* 48 bits per direction: no online guessing gets there */
#define PROXY_BRANCH_MAC_HEX 12
#define PROXY_RR_PROOF_MAX 32 /* ";sr=" and two MACs */
/* proxy_mac_hex: the first nhex (<= 64) hex digits of the MAC over parts, NUL-terminated. */
void proxy_mac_hex(const struct sip_proxy *p, const struct sip_str *parts, size_t n, char *out,
                   size_t nhex);
/* proxy_rr_proof: the ";sr=..." parameter for our Record-Route in the dialog-forming request
 * m from caller, forwarded to callee (the hop it was sent to). */
void proxy_rr_proof(const struct sip_proxy *p, const struct sip_msg *m,
                    const struct sip_peer *caller, const struct sip_peer *callee, char *out,
                    size_t cap);
/* proxy_rr_has_proof: whether route carries a proof parameter of the right shape (checked
 * before a next hop is resolved for a request from the outside: no DNS lookups for a Route
 * anyone can write; the MAC itself is checked against the hop, proxy_rr_allows). */
bool proxy_rr_has_proof(const struct sip_uri *route);
/* proxy_rr_allows: whether route (a Route URI of ours, or a strict router's Request-URI)
 * proves that m belongs to a dialog sipring record-routed whose requests go to dest's IP in
 * one of its directions. */
bool proxy_rr_allows(const struct sip_proxy *p, const struct sip_msg *m,
                     const struct sip_uri *route, const struct sip_peer *dest);
/* proxy_branch_id: our Via branch for branch b of transaction idx/gen, whose responses go back
 * to `back` (see proxy_via_back). */
void proxy_branch_id(const struct sip_proxy *p, const struct sip_msg *m, uint32_t idx, uint32_t gen,
                     int b, uint32_t salt, const struct sip_peer *back, uint32_t loop, char *out,
                     size_t cap);
/* proxy_branch_ours: whether the top Via branch of the response m is one sipring made for a
 * request whose responses go back to `back`. */
bool proxy_branch_ours(const struct sip_proxy *p, const struct sip_msg *m,
                       const struct sip_peer *back);
/* proxy_via_back: where a response to the hop of Via v goes: with from (the request's source,
 * v as received) as the Via will read once we have added received/rport; with from NULL, as v
 * reads. 0, or -1 when v names no IP. */
int proxy_via_back(const struct sip_via *v, const struct sip_peer *from, struct sip_peer *out);

/* proxy_nat.c */
bool proxy_contact_outbound(const struct sip_addr *a);
bool proxy_nat_behind(const struct sip_proxy *p, const struct sip_msg *m,
                      const struct sip_peer *from);
void proxy_nat_masquerade(struct sip_proxy *p, const struct sip_msg *m, struct sip_build *bd,
                          const struct sip_peer *from, const struct sip_peer *receiver);
int proxy_nat_target(struct sip_proxy *p, const struct sip_uri *u, struct sip_binding *b);
void proxy_nat_keepalive(struct sip_proxy *p, uint64_t now);
bool proxy_nat_route_flow(struct sip_proxy *p, const struct sip_msg *m, struct sip_binding *b);
void proxy_nat_learn_path(struct sip_proxy *p, const struct sip_msg *m,
                          const struct sip_peer *from);
bool proxy_nat_keepalive_reply(struct sip_proxy *p, const struct sip_msg *m);

/* proxy_media.c */
/* proxy_media_rewrite: 0, or SIP_MEDIA_FULL when the relay has no room for this SDP. */
int proxy_media_rewrite(struct sip_proxy *p, const struct sip_msg *m, struct sip_build *bd,
                        const struct sip_peer *sender, const struct sip_peer *receiver,
                        bool may_create);
void proxy_media_end(struct sip_proxy *p, struct sip_str call_id);

/* proxy_resp.c */
void proxy_on_response(struct sip_proxy *p, const struct sip_peer *from, const struct sip_msg *m);
void proxy_txn_timer(struct sip_proxy *p, struct ptxn *t, uint64_t now);
void proxy_cancel_branches(struct sip_proxy *p, struct ptxn *t, int except);
void proxy_cancel_branches_one(struct sip_proxy *p, struct ptxn *t, int which);
void proxy_forward_response_up(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m,
                               const struct sip_peer *sender, bool through_txn);

/* proxy_trunk.c */
void proxy_trunk_free(struct sip_proxy *p);
/* proxy_trunk_note_upstream: hop is an address of the upstream: challenges from it are ours. */
void proxy_trunk_note_upstream(struct sip_proxy *p, const struct sip_peer *hop);
void proxy_trunk_tick(struct sip_proxy *p, uint64_t now);
/* proxy_trunk_on_response: true when m answers sipring's own REGISTER (consumed). */
bool proxy_trunk_on_response(struct sip_proxy *p, const struct sip_msg *m);
/* proxy_trunk_answer: a 401/407 on branch b from the upstream: re-sends b's request with
 * credentials as a new branch of t; true when it did (resp is then not passed up). */
bool proxy_trunk_answer(struct sip_proxy *p, struct ptxn *t, struct branch *b,
                        const struct sip_msg *resp);
/* proxy_trunk_cseq_out: raises the CSeq of a request of a dialog side whose earlier request was
 * re-sent with credentials. */
void proxy_trunk_cseq_out(struct sip_proxy *p, const struct sip_msg *m, struct sip_build *bd);
/* proxy_trunk_dialog_end: forgets the CSeq shift of m's dialog side (a BYE went through). */
void proxy_trunk_dialog_end(struct sip_proxy *p, const struct sip_msg *m);

/* registrar.c */
void proxy_register(struct sip_proxy *p, struct ptxn *t, const struct sip_msg *m);

#endif

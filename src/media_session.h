/* src/media_session.h: the relay's calls as a table, without sockets: sessions found by
 * Call-ID, their streams from a pool of their own, which leg (0: the caller's side, 1: the
 * callee's) an SDP comes from, and the caps on calls nobody has answered (per outside source,
 * --max-source-calls, and per callee, --max-callee-calls; issue 13, class 5). The ports and
 * sockets a session holds are src/media.c's: closing a session hands each port back through a
 * callback. No clock (times are passed), no I/O, no logging: src/media.c logs what it is told.
 *
 * Ownership: the table owns its arrays; a session's streams' SRTP state is the caller's (the
 * close callback frees it). One table per worker: no locking. */
#ifndef SIPRING_SRC_MEDIA_SESSION_H
#define SIPRING_SRC_MEDIA_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "../rtp/rtcp.h"
#include "../rtp/stream.h"
#include "media_fastpath_map.h"
#include "../sip/addr_count.h"
#include "../sip/media.h"

#define MEDIA_STREAMS 4 /* m= lines relayed per call; more are refused (port 0) */
#define MSESS_BUCKETS 4096
#define MSESS_CALLID_MAX 96
#define MSESS_TAG_MAX 48
#define MSESS_SRC_SLOTS 2048 /* outside sources (and callees) with unanswered calls */

struct media_srtp;

struct msess {
    bool used;
    uint8_t call_id_len, caller_tag_len, nstreams;
    uint32_t hash;
    int32_t hnext;
    int32_t next_free;
    char call_id[MSESS_CALLID_MAX];
    char caller_tag[MSESS_TAG_MAX];
    uint16_t port[MEDIA_STREAMS][2]; /* RTP port per stream and leg; 0: none */
    int32_t st[MEDIA_STREAMS];       /* index into the stream pool; -1: none */
    uint64_t touched_ms;
    int16_t src;         /* 1 + its outside creator's slot in the source counts while unanswered */
    int16_t callee;      /* 1 + its callee's slot in the callee counts while unanswered; 0 */
    bool leg_inside[2];  /* the side each leg is on: its port takes packets from that side only */
    uint8_t creator_leg; /* the leg whose SDP created it */
};

/* A stream: the latching state of rtp/stream.h and the SRTP of its outside leg. */
struct mstream {
    struct rtp_stream st;
    struct media_srtp *srtp; /* NULL unless SRTP was negotiated for the stream */
    int32_t next_free;
    struct rtcp_side rtcp[2]; /* what each leg's RTCP reported (rtp/rtcp.h), for the record */
    char codec[24];           /* the latest SDP's first format ("PCMU/8000"), "" unknown */
    uint32_t clock_hz;        /* its RTP clock: jitter's unit */
    bool fast;                /* a leg of it is in the kernel's fast path (media.c) */
    uint64_t fast_seen[2][2]; /* per leg: packets and bytes of its entry already counted */
    struct fastpath_stream fast_e[2]; /* per leg: its entry as put (src_ip 0: none) */
    bool fast_no[2];                  /* per leg: no route for it (stays here until new SDP) */
};

/* Unanswered calls from capped (outside) sources to one callee: fifty addresses each under
 * their own cap still cannot ring one phone a thousand times at once. */
struct mcallee {
    uint64_t key; /* hash of the Request-URI's user@host; 0: free */
    uint32_t n;
};

struct msess_table {
    struct msess *sess;
    uint32_t cap, open, sess_used; /* bump allocation: untouched memory stays unmapped */
    int32_t free_head;
    struct mstream *streams;
    int32_t stream_free;
    uint32_t streams_used;
    int32_t bucket[MSESS_BUCKETS];
    struct mcallee callee[MSESS_SRC_SLOTS];
    struct sip_addr_count src[MSESS_SRC_SLOTS];
};

/* msess_table_init: room for cap sessions (and as many streams). 0, or -1 if out of memory. */
int msess_table_init(struct msess_table *t, uint32_t cap);
void msess_table_free(struct msess_table *t);

struct msess *msess_find(struct msess_table *t, struct sip_str call_id);

enum msess_admit {
    MSESS_OK = 0,        /* *out is the call's session (found, or made now) */
    MSESS_NO_CALL,       /* none, and mm may not make one (a late 2xx) */
    MSESS_SOURCE_CAPPED, /* a new call from a capped source at max_source unanswered ones */
    MSESS_CALLEE_CAPPED, /* ... to a callee with max_callee unanswered ones from the outside */
    MSESS_FULL,          /* no session left, or a Call-ID or tag too long to keep */
};

/* msess_admit: the session of mm's call, made when there is none (counted against its source
 * and callee when mm->sender_capped; 0 caps mean none). *fresh tells whether it was made now. */
enum msess_admit msess_admit(struct msess_table *t, const struct sip_media_msg *mm,
                             uint32_t max_source, uint32_t max_callee, struct msess **out,
                             bool *fresh);

/* msess_leg: the leg mm's SDP comes from (0: the caller's, the side whose tag sent the
 * session's first SDP in a request; 1: the other). SDP from the leg that did not create the
 * session answers the call: it no longer counts against the caps. */
unsigned msess_leg(struct msess_table *t, struct msess *s, const struct sip_media_msg *mm,
                   bool fresh);

/* msess_stream: stream i of s, taken from the pool when it has none (cleared); -1 when the
 * pool is empty. */
int32_t msess_stream(struct msess_table *t, struct msess *s, unsigned i);

/* msess_last_activity: the later of the session's last SDP and its streams' last packet. */
uint64_t msess_last_activity(const struct msess_table *t, const struct msess *s);

/* What closing a session gives back, for its log line. */
struct msess_totals {
    uint64_t relayed, strangers;
};

/* msess_close: ends s: its caps released, each stream handed to stream_done (which frees its
 * SRTP) and put back in the pool, each RTP port handed to port_done (which closes its pair and
 * returns it), the slot freed. */
struct msess_totals msess_close(struct msess_table *t, struct msess *s,
                                void (*stream_done)(void *ctx, struct mstream *ms),
                                void (*port_done)(void *ctx, uint16_t port), void *ctx);

#endif

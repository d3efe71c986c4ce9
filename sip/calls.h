/* sip/calls.h: the calls a proxy worker carries, from the initial INVITE to the end (issue 15:
 * /calls and one record per ended call). A call is found by its Call-ID; it holds who called
 * whom, on which side each party is, and when it was set up, rang, was answered and ended.
 * What its media did (sip_call_stream) is asked of the media relay when the call is listed or
 * ends (sip/media.h: totals).
 *
 * Bounded: a fixed number of calls per worker, allocated at start and touched as used (bump
 * allocation: the part never used stays unmapped). A call past the cap is carried, not
 * recorded (counted). No I/O, no clock: times are passed.
 *
 * Ownership: the table owns its entries; a sip_call pointer is valid until the next open or
 * close on the table. */
#ifndef SIPRING_SIP_CALLS_H
#define SIPRING_SIP_CALLS_H

#include <stdbool.h>
#include <stdint.h>

#include "str.h"

#define SIP_CALL_ID_MAX 96
#define SIP_CALL_PARTY_MAX 96
#define SIP_CALL_TAG_MAX 48
#define SIP_CALL_STREAMS 4

enum sip_call_state {
    SIP_CALL_SETUP = 0, /* INVITE forwarded, nothing back yet beyond 100 */
    SIP_CALL_RINGING,   /* a 18x came back */
    SIP_CALL_ANSWERED,  /* a 2xx came back: the dialog runs */
    SIP_CALL_ENDED,     /* in a record only */
};

/* How a call ended, for its record. */
enum sip_call_end {
    SIP_CALL_END_NONE = 0,
    SIP_CALL_END_CALLER,        /* the caller's side sent BYE */
    SIP_CALL_END_CALLEE,        /* the callee's side sent BYE */
    SIP_CALL_END_FAILED,        /* the INVITE got a final failure (its status says which) */
    SIP_CALL_END_MEDIA_TIMEOUT, /* the relay heard nothing for --media-timeout */
    SIP_CALL_END_EXPIRED,       /* no end seen within SIP_CALL_MAX_AGE_MS */
    SIP_CALL_END_SHUTDOWN,      /* sipring stopped while it ran */
};

/* A call that has run longer than this (or been set up longer than the setup limit) without
 * an end sipring saw (a BYE lost, no media to time out) is ended as expired. */
#define SIP_CALL_MAX_AGE_MS (24ull * 3600 * 1000)
#define SIP_CALL_MAX_SETUP_MS (10ull * 60 * 1000)

/* One direction of a stream: [0] from the caller's side to the callee's, [1] back. */
struct sip_call_dir {
    uint64_t packets, bytes; /* relayed by sipring (RTP and RTCP) */
    bool quality_known;      /* the receiver sent RTCP report blocks */
    double loss_pct, jitter_ms, r_factor, mos;
};

struct sip_call_stream {
    char codec[24]; /* "PCMU/8000", from the latest SDP's first format; "" unknown */
    bool srtp;      /* its outside leg is SRTP */
    bool rtt_known;
    uint32_t rtt_ms; /* phone to phone, from RTCP (rtp/rtcp.h) */
    struct sip_call_dir dir[2];
};

struct sip_call {
    bool used;
    uint8_t call_id_len, caller_tag_len;
    enum sip_call_state state;
    enum sip_call_end end;
    uint16_t status; /* the INVITE's final status (0 while none) */
    uint32_t gen;
    uint32_t hash;
    int32_t hnext;
    bool caller_inside, callee_inside;
    bool forwarded; /* its INVITE went to a next hop: only such a call gets a record */
    uint64_t start_ms, ring_ms, answer_ms, end_ms; /* monotonic; 0: not yet */
    char call_id[SIP_CALL_ID_MAX];
    char caller_tag[SIP_CALL_TAG_MAX];
    char from[SIP_CALL_PARTY_MAX]; /* user@host of From and To (or host) */
    char to[SIP_CALL_PARTY_MAX];
};

/* A call as reported: the call and its streams' figures. */
struct sip_call_record {
    struct sip_call call;
    uint8_t nstreams;
    struct sip_call_stream stream[SIP_CALL_STREAMS];
};

#define SIP_CALLS_BUCKETS 16384

struct sip_calls {
    struct sip_call *c;
    uint32_t cap, used_hw, open;
    int32_t free_head;
    uint32_t gen;
    uint64_t untracked; /* calls carried but not recorded: the table was full */
    int32_t bucket[SIP_CALLS_BUCKETS];
};

/* sip_calls_init: room for cap calls. 0, or -1 when out of memory. */
int sip_calls_init(struct sip_calls *t, uint32_t cap);
void sip_calls_free(struct sip_calls *t);

/* sip_calls_open: the call of call_id, made when it has none (state SETUP, start_ms now_ms).
 * *fresh tells whether it was made now. NULL when the table is full (counted in untracked) or
 * the Call-ID is too long to keep. */
struct sip_call *sip_calls_open(struct sip_calls *t, struct sip_str call_id, uint64_t now_ms,
                                bool *fresh);
struct sip_call *sip_calls_find(struct sip_calls *t, struct sip_str call_id);
/* sip_calls_by_index: the call in slot idx when it still has generation gen, else NULL. */
struct sip_call *sip_calls_by_index(struct sip_calls *t, uint32_t idx, uint32_t gen);
void sip_calls_close(struct sip_calls *t, struct sip_call *c);

/* sip_calls_set_party: copies user@host of a URI's user and host into out (cap bytes). */
void sip_calls_set_party(char *out, size_t cap, struct sip_str user, struct sip_str host);

/* Names for records and pages. */
const char *sip_call_state_name(enum sip_call_state s);
const char *sip_call_end_name(enum sip_call_end e);

#endif

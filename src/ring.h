/* src/ring.h: what every worker ring's completions carry, in one place: the user_data codec
 * (an operation in the top byte, its payload below) and the table of operations, with the
 * errors each may complete with in normal running (a cancelled request at exit, a provided
 * buffer ring run dry for a moment, an ICMP error on a UDP socket): those are handled where
 * the completion goes and never logged; any other error is logged by ring_report_error, once
 * per operation and worker and then every 1000th time. The pattern is liburing's examples'
 * (a tagged user_data and a switch on the tag), with the error policy written down. */
#ifndef SIPRING_SRC_RING_H
#define SIPRING_SRC_RING_H

#include <stdbool.h>
#include <stdint.h>

enum ring_op {
    RING_OP_RECV = 1,     /* a UDP listener's multishot recvmsg: payload is its index */
    RING_OP_SEND,         /* a UDP send: payload is its send slot */
    RING_OP_SIGNAL,       /* worker 0's signalfd read */
    RING_OP_HANDOFF,      /* from another worker: a struct handoff * to handle and free */
    RING_OP_CTRL,         /* from another worker: an enum ctrl */
    RING_OP_RELOAD,       /* from worker 0: a struct snapshot * (one reference) */
    RING_OP_POST_FAILED,  /* our MSG_RING failed (a success posts nothing): payload as posted */
    RING_OP_RTP,          /* a relay socket: payload for media_on_recv */
    RING_OP_ACCEPT,       /* a stream listener: payload is its index in conns */
    RING_OP_STREAM,       /* a stream connection: payload for conns_on_cqe */
    RING_OP_SEND_HANDOFF, /* from another worker: a struct handoff * to send and free */
    RING_OP_UNREACH,      /* from another worker: a struct handoff * naming a peer */
    RING_OP_DNS,          /* the resolver's socket */
    RING_OP_AUTH_FAILED,  /* from another worker: a struct handoff * naming the source */
    RING_OP_HTTP,         /* the metrics listener and its connections: payload for http.c */
    RING_OP_COUNT
};

#define RING_PAYLOAD_MASK ((UINT64_C(1) << 56) - 1) /* user-space pointers fit in 56 bits */

static inline uint64_t ring_ud(enum ring_op op, uint64_t payload)
{
    return (uint64_t)op << 56 | (payload & RING_PAYLOAD_MASK);
}

static inline enum ring_op ring_ud_op(uint64_t ud)
{
    return (enum ring_op)(ud >> 56);
}

static inline uint64_t ring_ud_payload(uint64_t ud)
{
    return ud & RING_PAYLOAD_MASK;
}

/* ring_op_name: for log lines ("recv", "accept", ...); "?" for an unknown one. */
const char *ring_op_name(enum ring_op op);

/* ring_error_expected: whether op completing with res (< 0) is part of normal running. */
bool ring_error_expected(enum ring_op op, int res);

/* ring_report_error: an error completion of op on worker `worker`; logs the unexpected ones,
 * bounded (counts kept per worker: call it from that worker's thread only). */
void ring_report_error(unsigned worker, enum ring_op op, int res);

#endif

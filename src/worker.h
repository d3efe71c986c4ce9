/* src/worker.h: one worker thread: an io_uring (SINGLE_ISSUER, DEFER_TASKRUN) with a provided
 * buffer ring, multishot recvmsg on its own SO_REUSEPORT socket of every UDP listen address,
 * sends batched per loop turn, a proxy instance with its own transactions and timing wheel.
 *
 * Ownership: a message belongs to the worker that owns its Call-ID (hash mod worker count).
 * A datagram the kernel delivered elsewhere is copied into a malloc'd hand-over and posted to
 * the owner's ring with IORING_OP_MSG_RING; the owner frees it after handling it. A received
 * datagram lives in a provided buffer from its completion until the handler returns; sip_msg
 * slices point into it only during that time, and the buffer goes back to the ring in a batch
 * at the end of the loop turn. Worker 0 also reads signals (signalfd) and tells the others. */
#ifndef SIPRING_SRC_WORKER_H
#define SIPRING_SRC_WORKER_H

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/signalfd.h>

#include "../sip/proxy.h"
#include "bufring.h"
#include "conn.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "secret.h"

struct send_slot;
struct snapshot;
struct worker;
struct media;
struct state_store;
struct http_server;

#define MEDIA_BUF_GROUP 2    /* provided buffers of the relay sockets (SIP uses group 1) */
#define CALLS_BOARD_MAX 1000 /* calls per worker /calls can list */
#define CALL_LOG_BUF 65536   /* --call-log lines kept before a write */

/* What the workers share; set up before they start and read-only afterwards, except the
 * atomics. */
struct workers {
    const struct config *cfg; /* as started: listeners, threads, pools (restart-only) */
    int argc;
    char **argv;
    unsigned count;
    struct worker *w;
    struct snapshot *snap;    /* the configuration at start; SIGHUP makes new ones */
    struct sip_location *loc; /* shared, locked */
    pthread_barrier_t ready;  /* every ring exists before anyone posts to another */
    atomic_bool setup_failed;
    atomic_uint finished;      /* workers done draining */
    atomic_bool stop;          /* all done: no more hand-overs, leave once inflight is 0 */
    atomic_long inflight;      /* MSG_RING posts not yet consumed by their target */
    struct conn_shared conns;  /* connection limits and directory */
    struct state_store *store; /* the registrations' store, or NULL (--state-dir off) */
    struct fastpath *fastpath; /* the kernel's media fast path, or NULL */
    uint64_t start_time_s;     /* Unix time, for the metrics */
    uint8_t auth_key[32];      /* keys the nonces; the same for every worker */
    int call_log_fd;           /* --call-log, O_APPEND (each worker writes whole lines); -1 */
    struct secret secret;      /* behind pc.mac (the proxies borrow it) and auth_key */
};

struct worker {
    unsigned id;
    struct workers *all;
    pthread_t thread;
    struct io_uring ring;
    struct bufring rx; /* SIP datagrams, group BUF_GROUP */
    int fds[CONFIG_MAX_LISTEN];
    /* per listener, fixed at setup: 1 bound to an inside address, 0 to an outside one, -1 a
     * wildcard (the kernel picks the source); side_bound: whether any listener has a side */
    signed char side[CONFIG_MAX_LISTEN];
    bool side_bound;
    struct snapshot *snap; /* the configuration this worker runs on: one reference */
    size_t nfds;
    int fd4, fd6; /* the sockets sends leave from, per family */
    struct msghdr recv_mh;
    struct send_slot *slots;
    int free_slot;
    struct sip_proxy *proxy;
    struct media *media; /* NULL with --media-relay no */
    struct conns *conns; /* TCP and TLS connections */
    struct resolver *resolver;
    struct guard *guard;
    struct auth_checker *auth;
    struct auth_client *trunk_cred; /* trunk mode: our credentials for the upstream */
    struct sip_peer unreach[64];    /* stream peers found unreachable this turn */
    size_t unreach_n;
    int sigfd; /* worker 0 only; -1 elsewhere */
    struct signalfd_siginfo siginfo;
    bool draining, finished, stopping;
    uint64_t drain_deadline;
    uint64_t tx, dropped, handed_out, handed_in;
    uint64_t big_sent;    /* UDP datagrams over SEND_BUF, sent from a buffer of their own */
    uint64_t icmp_errors; /* ICMP unreachables for what we sent over UDP */
    uint64_t loop_turns;
    struct log_limit big_log;
    /* metrics: this worker's counters as of its last publish (once a second), read by the
     * worker serving --metrics (worker 0, which has http) */
    struct metrics_board board;
    uint64_t next_publish;
    /* /calls: the first CALLS_BOARD_MAX calls of this worker with their media figures, as of
     * its last publish (with --metrics only) */
    struct calls_board {
        pthread_mutex_t mu;
        uint32_t n;
        uint64_t open;
        struct sip_call_record *rec;
    } calls_board;
    /* --call-log: records of ended calls not yet written (CALL_LOG_BUF bytes, whole lines) */
    char *call_log;
    size_t call_log_n;
    struct log_limit call_log_limit;
    struct http_server *http;
    /* --hep: a copy of each SIP message to the capture server, from this socket (-1: off);
     * our side of a message is the advertised address (self4, self6) */
    int hep_fd;
    struct sip_peer hep_to, self4, self6;
    uint8_t *hep_buf;
};

/* worker_media_timed_out: the relay closes call_id's media for silence: the proxy ends the
 * call's record first (its media figures are still there). */
void worker_media_timed_out(struct worker *w, struct sip_str call_id);

/* worker_main: the thread body (arg: struct worker *). Sets up the ring and sockets, waits for
 * the others at all->ready, serves until every worker has drained, returns NULL. Worker 0 may
 * be run on the main thread. */
void *worker_main(void *arg);

/* worker_cleanup: releases what worker_main set up; call after every worker has returned. */
void worker_cleanup(struct worker *w);

/* worker_flow_closed: a stream connection that may be a registered UA's flow closed. */
void worker_flow_closed(struct worker *w, const struct sip_peer *flow);

/* Helpers for media.c, which shares the worker's ring. */
struct io_uring *worker_ring(struct worker *w);
struct io_uring_sqe *worker_sqe(struct worker *w);

/* Helpers for conn.c. */
/* worker_acl: whether --allow/--deny let `from` in (for accepted connections). */
bool worker_acl(const struct worker *w, const struct sip_peer *from);
/* worker_on_message: one whole SIP message from `from` (datagram or framed); handed to the
 * worker owning its Call-ID. */
void worker_on_message(struct worker *w, const struct sip_peer *from, const char *payload,
                       size_t plen);
/* worker_post_send: a message for a connection that worker `owner` holds. */
void worker_post_send(struct worker *w, unsigned owner, const struct sip_peer *to, const char *name,
                      const struct iovec *iov, size_t n);
/* worker_report_unreachable: sending to `to` failed for good (see sip_proxy_on_unreachable). */
void worker_report_unreachable(struct worker *w, const struct sip_peer *to);
uint64_t worker_now_ms(void);
/* worker_send_raw: queues one datagram (copied) from socket fd to `to`; counts a drop when no
 * send slot is free. */
void worker_send_raw(struct worker *w, int fd, const struct sip_peer *to, const void *data,
                     size_t len);

/* server_reload: re-reads the configuration (called by worker 0 on SIGHUP); defined in
 * server.c. A new snapshot with a reference for every worker, or NULL (logged) to keep cur. */
struct snapshot *server_reload(struct workers *all, const struct snapshot *cur);

#endif

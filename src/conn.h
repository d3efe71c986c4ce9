/* src/conn.h: SIP over TCP and TLS (RFC 3261 §18): one worker's stream connections, on its
 * ring.
 *
 * A connection is accepted on one of the worker's SO_REUSEPORT listeners or opened by the
 * worker to send; it lives in that worker's table and only that worker touches it. Its id
 * (sip_peer.conn) names the owner in its top byte, so another worker that must send on it hands
 * the bytes over (worker_post_send). Bytes read are framed (sip/frame.h) into whole messages,
 * which go to worker_on_message like datagrams; TLS connections pass through tls/conn.h first.
 *
 * Ownership: the read buffer (plaintext) belongs to the connection; a message handed to
 * worker_on_message is a slice of it valid only during that call. Bytes to send are copied
 * into the connection's queue (TLS: encrypted first) and freed once the kernel took them.
 *
 * Limits: connections in total and per source IP (counted across workers), bytes queued per
 * connection (a peer that reads too slowly is closed, with a log line), message size (a longer
 * message ends the connection: a stream cannot be resynchronised), idle time; connect and TLS
 * handshake have 10 seconds. */
#ifndef SIPRING_SRC_CONN_H
#define SIPRING_SRC_CONN_H

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../sip/peer.h"
#include "options.h"

struct conns;
struct worker;
struct tls_ctx;

#define CONN_IP_BUCKETS 4096
#define CONN_DIR_BUCKETS 4096

/* What the workers' tables share: the counts behind the connection limits, and the directory
 * of open connections by peer (address, port, transport), so that every worker sends to a
 * peer on the one connection there is to it (RFC 3261 §18: reuse; peers such as SIPp's t1
 * mode read only one). The directory is locked: it is read when a message names no
 * connection, and written when one opens or closes.
 *
 * A source IP is counted in one of CONN_IP_BUCKETS buckets by hash; two IPs sharing a bucket
 * share a limit, which errs on the strict side. */
struct conn_dir_ent {
    struct sip_peer key;
    uint32_t id;
    int32_t next;
};

struct conn_shared {
    atomic_uint total;
    atomic_uint per_ip[CONN_IP_BUCKETS];
    pthread_mutex_t lock;
    int32_t bucket[CONN_DIR_BUCKETS];
    struct conn_dir_ent *ent; /* [worker * per_worker + slot] */
    uint32_t per_worker;
};

/* conn_shared_init: for `workers` tables of max_connections slots each. 0 or -1. */
int conn_shared_init(struct conn_shared *s, unsigned workers, uint32_t max_connections);
void conn_shared_free(struct conn_shared *s);

struct conn_stats {
    uint64_t accepted, opened, refused, failed, slow_closed, idle_closed, bad_framing, tls_failed;
};

/* What the connections read of the configuration (a part of the running snapshot). */
struct conns_cfg {
    uint32_t max_connections;        /* in total, across workers (at most the table's size) */
    uint32_t max_connections_per_ip; /* per source IP, across workers */
    uint32_t tcp_idle_timeout_s;
    uint32_t max_send_queue; /* bytes queued to one slow peer before it is closed */
    uint32_t max_msg_bytes;
    struct tls_ctx *tls; /* new connections' context (each takes its own reference) */
};

/* conns_new: the table of worker w (table_cap slots: --max-connections at start); listens on
 * every tcp: and tls: address of listen[0..listen_count). cfg is borrowed (it must outlive the
 * table or the next conns_set_cfg). NULL on failure (logged). */
struct conns *conns_new(struct worker *w, unsigned worker_id, const struct listen_addr *listen,
                        size_t listen_count, uint32_t table_cap, const struct conns_cfg *cfg,
                        struct conn_shared *shared);

/* conns_set_cfg: the settings from now on (SIGHUP): limits and time-outs apply at once, a new
 * TLS context to connections made from now on; established ones keep theirs. */
void conns_set_cfg(struct conns *cs, const struct conns_cfg *cfg);
void conns_free(struct conns *cs);

/* conns_start: arms the accepts; call once the ring is running. */
void conns_start(struct conns *cs);

/* conns_on_cqe: a completion of RING_OP_STREAM; conns_on_accept: of RING_OP_ACCEPT (ring.h). */
void conns_on_cqe(struct conns *cs, uint64_t payload, const struct io_uring_cqe *cqe);
void conns_on_accept(struct conns *cs, unsigned listener, const struct io_uring_cqe *cqe);

/* conns_send: one message to `to` (a TCP or TLS peer): on its connection (to->conn, handed to
 * the owning worker if that is another one), else on ours to that address, else a new one
 * (name: the TLS name to check the server against, or NULL for the IP). */
void conns_send(struct conns *cs, const struct sip_peer *to, const char *name,
                const struct iovec *iov, size_t n);

/* conns_on_timer: idle, connect and handshake time-outs (looks once a second). */
void conns_on_timer(struct conns *cs, uint64_t now_ms);

/* conns_owner: the worker owning connection id, or -1 for none. */
int conns_owner(uint32_t id);

size_t conns_open(const struct conns *cs);
const struct conn_stats *conns_stats(const struct conns *cs);

#endif

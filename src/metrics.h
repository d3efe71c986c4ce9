/* src/metrics.h: what GET /metrics shows (issue 15), in Prometheus' text exposition format.
 * Each worker copies its counters into its board once a second (a mutex held for a memcpy);
 * the worker that serves HTTP reads every board and renders their sum. A scrape therefore sees
 * counters at most a second old, and the hot path pays nothing but the counting itself. */
#ifndef SIPRING_SRC_METRICS_H
#define SIPRING_SRC_METRICS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "../sip/proxy.h"
#include "conn.h"
#include "guard.h"
#include "media.h"

#define METRICS_BANS 64

struct metrics_sample {
    struct sip_proxy_stats proxy;
    struct guard_stats guard;
    struct conn_stats conns;
    struct media_stats media;
    uint64_t conns_open, media_open, txn_in_use;
    uint64_t tx, send_drops, handed_in, icmp_errors, loop_turns;
    uint64_t dns_queries, dns_failures, dns_cache_hits;
    /* for /bans: this worker's live bans (an auth ban is in every worker's) */
    uint32_t nbans;
    struct guard_ban bans[METRICS_BANS];
};

struct metrics_board {
    pthread_mutex_t mu;
    struct metrics_sample s;
};

void metrics_board_init(struct metrics_board *b);
void metrics_publish(struct metrics_board *b, const struct metrics_sample *s);
void metrics_read(struct metrics_board *b, struct metrics_sample *out);

/* What belongs to the process rather than a worker. */
struct metrics_globals {
    const char *version;
    uint64_t start_time_s; /* Unix time */
    unsigned workers;
    uint64_t registrations, nat_bindings;
    int state_on;
    uint64_t state_written, state_lost;
};

/* metrics_render: the exposition of the n workers' samples and g into out; returns its length,
 * or 0 when cap is too small. */
size_t metrics_render(char *out, size_t cap, const struct metrics_sample *w, unsigned n,
                      const struct metrics_globals *g);

#endif

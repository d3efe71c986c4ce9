/* src/status.h: the JSON status pages beside /metrics (issue 15): /status (what runs, on which
 * configuration, without secrets), /bans (sources sipring ignores now, and why) and
 * /registrations (the location store, a page at a time:
 * ?limit=N (default 100, at most STATUS_LIMIT_MAX) and &offset=M). Every string from the
 * network is escaped (RFC 8259 §7): a Contact is whatever a UA wrote. */
#ifndef SIPRING_SRC_STATUS_H
#define SIPRING_SRC_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "../sip/location.h"
#include "options.h"

#define STATUS_LIMIT_MAX 1000

/* status_page_args: limit and offset from a query string ("limit=10&offset=20"). */
void status_page_args(const char *query, size_t *limit, size_t *offset);

struct status_info {
    const char *version;
    uint64_t start_time_s, now_s;
    unsigned workers;
    uint64_t registrations, nat_bindings;
    const struct config *cfg;
};

/* status_render: /status into out; its length, or 0 when cap is too small. */
size_t status_render(char *out, size_t cap, const struct status_info *in);

/* status_render_registrations: bindings b[0..n) of `total`, from `offset`, at monotonic time
 * now_ms, into out; its length, or 0 when cap is too small. */
size_t status_render_registrations(char *out, size_t cap, const struct sip_binding *b, size_t n,
                                   size_t total, size_t offset, uint64_t now_ms);

/* status_render_bans: the live bans of the n workers' samples (an address banned on several
 * workers, as an auth ban is on all, once: the latest end, the drops summed), at now_ms. */
struct metrics_sample;
size_t status_render_bans(char *out, size_t cap, const struct metrics_sample *w, unsigned n,
                          uint64_t now_ms);

#endif

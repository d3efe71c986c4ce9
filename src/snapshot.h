/* src/snapshot.h: the running configuration as one immutable value.
 *
 * A snapshot holds the options as read and what each part of sipring reads of them, derived
 * once: the proxy's view, the guard's, the connections', the relay's, the TLS context and the
 * users file. Nothing changes it after snapshot_build. SIGHUP builds a new one whole; if any
 * part fails (a bad option, an unreadable certificate or users file) nothing is applied and
 * the running one stays. Worker 0 hands the new snapshot to every worker; each swaps to it at
 * its next loop turn and drops its reference to the previous one, so no worker ever sees half
 * of two configurations, and the last worker to let go of the old snapshot frees it (with its
 * TLS context, which connections made with it still hold a reference to).
 *
 * Ownership: counted references. snapshot_build returns one with `holders` of them (one per
 * worker); snapshot_drop drops one. The parts handed to the modules (guard_set_cfg and the
 * like) are borrowed for as long as the worker holds its reference. */
#ifndef SIPRING_SRC_SNAPSHOT_H
#define SIPRING_SRC_SNAPSHOT_H

#include <stdatomic.h>
#include <stddef.h>

#include "../sip/proxy.h"
#include "conn.h"
#include "guard.h"
#include "media.h"
#include "options.h"

struct auth_users;
struct tls_ctx;

struct snapshot {
    atomic_uint refs;
    unsigned gen; /* 0 at start, +1 per applied reload */
    struct config cfg;
    struct sip_proxy_cfg pc;
    struct guard_cfg guard;
    struct conns_cfg conns; /* conns.tls is `tls` below */
    struct media_cfg media;
    struct tls_ctx *tls;      /* one reference of its own */
    struct auth_users *users; /* NULL without --users */
};

/* snapshot_build: a snapshot of cfg (copied) with `holders` references. prev is the running
 * snapshot on a reload (its users' failure counts and locks carry over), NULL at start. mac is
 * the proxy's MAC (the key never changes while running). NULL with the reason in err. */
struct snapshot *snapshot_build(const struct config *cfg, const struct snapshot *prev,
                                struct sip_mac mac, unsigned holders, char *err, size_t err_cap);

/* snapshot_drop: drops one reference; the last frees the snapshot. NULL is ignored. */
void snapshot_drop(struct snapshot *s);

/* snapshot_restart_only: names the settings that differ between the configuration sipring
 * started with and a new one but take effect only after a restart, comma-separated into out
 * ("" if none). */
void snapshot_restart_only(const struct config *start, const struct config *next, char *out,
                           size_t cap);

#endif

/* src/guard.h: the first look at every message and connection, before any parsing: network
 * ACLs (--allow, --deny, each for one side or both) and per-source request rate limits with
 * temporary bans (--rate-limit, --ban-time). A denied or banned source gets nothing: no
 * response tells a scanner that a SIP server is there.
 *
 * One guard per worker, no lock: the kernel's SO_REUSEPORT hash keeps one source's datagrams
 * from one port on one worker; a source that spreads over ports and workers is limited on
 * each (at most workers x the limit). Rate limits apply to sources outside --inside. */
#ifndef SIPRING_SRC_GUARD_H
#define SIPRING_SRC_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../sip/peer.h"
#include "options.h"

struct guard;

/* What the guard reads of the configuration (a part of the running snapshot). */
struct guard_cfg {
    struct acl_entry allow[32], deny[32]; /* --allow, --deny */
    size_t allow_count, deny_count;
    struct sip_cidr inside[16]; /* --inside: not rate limited; the side of --allow/--deny */
    size_t inside_count;
    uint32_t rate_limit; /* requests/s per outside source; 0: off */
    uint32_t ban_time_s;
    uint32_t max_auth_failures; /* per source and minute; 0: no limit */
};

struct guard_stats {
    uint64_t denied, rate_dropped, bans, auth_bans;
};

/* A live ban, for the status page. */
struct guard_ban {
    uint8_t family;
    uint8_t ip[16];
    bool auth; /* for failed authentications; else over the rate limit */
    uint64_t until_ms, dropped;
};

/* guard_bans: up to cap live bans at now (a scan of the table, skipped when there are none). */
size_t guard_bans(const struct guard *g, uint64_t now, struct guard_ban *out, size_t cap);

/* guard_new: cfg is borrowed (it must outlive the guard or the next guard_set_cfg). */
struct guard *guard_new(const struct guard_cfg *cfg, unsigned worker_id);
void guard_free(struct guard *g);

/* guard_acl: whether the ACLs let `from` in (connections and messages). */
bool guard_acl(const struct guard *g, const struct sip_peer *from);

/* guard_admit: whether to handle a message from `from` (ACLs, a ban, then the rate limit for a
 * request from outside; a response is not rate-limited here, as it may answer what sipring
 * sent: the proxy charges it with guard_charge when it did not). Counts and logs (once per
 * ban) what it turns away. */
bool guard_admit(struct guard *g, const struct sip_peer *from, const char *msg, size_t len,
                 uint64_t now_ms);

/* guard_charge: one request's worth of `from`'s rate, after the fact (a response that answered
 * nothing of ours); may ban it. */
void guard_charge(struct guard *g, const struct sip_peer *from, uint64_t now_ms);

/* guard_auth_failed: credentials from `from` failed; --max-auth-failures of them within a
 * minute ban the source for --ban-time (any side: guessing passwords from the inside is no
 * better). Every worker counts every failure; only the one that saw it logs the ban. */
void guard_auth_failed(struct guard *g, const struct sip_peer *from, uint64_t now_ms, bool log);

const struct guard_stats *guard_stats(const struct guard *g);

/* guard_set_cfg: the settings from now on (SIGHUP: the new snapshot's, borrowed likewise). */
void guard_set_cfg(struct guard *g, const struct guard_cfg *cfg);

#endif

/* src/server.c: starts the workers, gives them the proxy configuration and the shared
 * location store, and sums up at the end. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../sip/proxy.h"
#include "../tls/conn.h"
#include "../tls/tls.h"
#include "auth.h"
#include "guard.h"
#include "location_locked.h"
#include "log.h"
#include "media.h"
#include "media_fastpath.h"
#include "snapshot.h"
#include "state.h"
#include "worker.h"

/* SIGHUP (worker 0): re-reads the command line and config file into a new snapshot (see
 * snapshot.h), or keeps the running one when anything in it fails. */
struct snapshot *server_reload(struct workers *all, const struct snapshot *cur)
{
    static struct config next; /* worker 0 only */
    if (options_load(&next, all->argc, all->argv) != OPTIONS_RUN) {
        log_warn("SIGHUP: the configuration has errors (see above); keeping the running one");
        return NULL;
    }
    char err[400];
    struct snapshot *s = snapshot_build(&next, cur, cur->pc.mac, all->count, err, sizeof(err));
    if (s == NULL) {
        log_warn("SIGHUP: %s; keeping the running configuration", err);
        return NULL;
    }
    log_init(next.log_level, next.log_syslog);
    char restart[300];
    snapshot_restart_only(all->cfg, &next, restart, sizeof(restart));
    log_info("SIGHUP: configuration %u applied: %zu domains, %zu inside networks, upstream %s, "
             "T1 %u ms, expires %u-%u s, TLS context and users file read again%s%s",
             s->gen, s->pc.domain_count, s->pc.inside_count,
             s->pc.upstream[0] ? s->pc.upstream : "none", s->pc.timers.t1_ms, s->pc.min_expires,
             s->pc.max_expires, restart[0] ? "; these need a restart: " : "", restart);
    return s;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static unsigned worker_count(const struct config *cfg)
{
    if (cfg->threads > 0) {
        return cfg->threads;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

/* add_counters: adds the counters of one worker's stats struct (uint64_t fields only) to a
 * running total. */
static void add_counters(void *total, const void *one, size_t size)
{
    uint64_t *t = total;
    const uint64_t *o = one;
    for (size_t i = 0; i < size / sizeof(uint64_t); i++) {
        t[i] += o[i];
    }
}

static void report(const struct workers *all)
{
    struct sip_proxy_stats t = {0};
    size_t pending = 0;
    uint64_t dropped = 0, handed = 0, icmp = 0;
    for (unsigned i = 0; i < all->count; i++) {
        const struct worker *w = &all->w[i];
        if (w->proxy == NULL) {
            continue;
        }
        const struct sip_proxy_stats *st = sip_proxy_stats(w->proxy);
        t.rx += st->rx;
        t.bad += st->bad;
        t.forwarded += st->forwarded;
        t.replied += st->replied;
        t.absorbed += st->absorbed;
        t.txn_refused += st->txn_refused;
        pending += sip_proxy_pending(w->proxy);
        dropped += w->dropped;
        handed += w->handed_in;
        icmp += w->icmp_errors;
    }
    log_info("stopped: rx %llu, bad %llu, forwarded %llu, replied %llu, absorbed %llu, "
             "refused %llu, unanswered %zu, send drops %llu, handed over %llu, ICMP "
             "unreachables %llu, workers %u",
             (unsigned long long)t.rx, (unsigned long long)t.bad, (unsigned long long)t.forwarded,
             (unsigned long long)t.replied, (unsigned long long)t.absorbed,
             (unsigned long long)t.txn_refused, pending, (unsigned long long)dropped,
             (unsigned long long)handed, (unsigned long long)icmp, all->count);
    uint64_t denied = 0, rate_dropped = 0, bans = 0, scanners = 0, auth_failed = 0, auth_bans = 0,
             trunk_auth = 0, not_relayed = 0, stray = 0, capped = 0;
    for (unsigned i = 0; i < all->count; i++) {
        if (all->w[i].guard != NULL) {
            const struct guard_stats *g = guard_stats(all->w[i].guard);
            denied += g->denied;
            rate_dropped += g->rate_dropped;
            bans += g->bans;
            auth_bans =
                g->auth_bans > auth_bans ? g->auth_bans : auth_bans; /* each worker counts all */
        }
        if (all->w[i].proxy != NULL) {
            scanners += sip_proxy_stats(all->w[i].proxy)->scanners;
            auth_failed += sip_proxy_stats(all->w[i].proxy)->auth_failed;
            trunk_auth += sip_proxy_stats(all->w[i].proxy)->trunk_auth;
            not_relayed += sip_proxy_stats(all->w[i].proxy)->not_relayed;
            stray += sip_proxy_stats(all->w[i].proxy)->stray_responses;
            capped += sip_proxy_stats(all->w[i].proxy)->source_capped;
        }
    }
    log_info("guard: denied by ACL %llu, dropped over the rate limit %llu (%llu bans), "
             "scanner requests dropped %llu, failed authentications %llu (%llu bans), trunk "
             "challenges answered %llu; not relayed (no proof) %llu, stray responses %llu, "
             "over --max-source-transactions %llu",
             (unsigned long long)denied, (unsigned long long)rate_dropped, (unsigned long long)bans,
             (unsigned long long)scanners, (unsigned long long)auth_failed,
             (unsigned long long)auth_bans, (unsigned long long)trunk_auth,
             (unsigned long long)not_relayed, (unsigned long long)stray,
             (unsigned long long)capped);
    struct conn_stats cst = {0};
    size_t copen = 0;
    for (unsigned i = 0; i < all->count; i++) {
        if (all->w[i].conns == NULL) {
            continue;
        }
        add_counters(&cst, conns_stats(all->w[i].conns), sizeof(cst));
        copen += conns_open(all->w[i].conns);
    }
    log_info("connections: accepted %llu, opened %llu (open %zu), refused %llu, failed %llu "
             "(TLS handshakes %llu), closed: slow reader %llu, idle %llu, bad framing %llu",
             (unsigned long long)cst.accepted, (unsigned long long)cst.opened, copen,
             (unsigned long long)cst.refused, (unsigned long long)cst.failed,
             (unsigned long long)cst.tls_failed, (unsigned long long)cst.slow_closed,
             (unsigned long long)cst.idle_closed, (unsigned long long)cst.bad_framing);
    struct media_stats ms = {0};
    size_t open = 0;
    for (unsigned i = 0; i < all->count; i++) {
        if (all->w[i].media == NULL) {
            continue;
        }
        add_counters(&ms, media_get_stats(all->w[i].media), sizeof(ms));
        open += media_open_sessions(all->w[i].media);
    }
    log_info("media: sessions %llu (open %zu, timed out %llu), relayed %llu (in the kernel %llu, "
             "legs %llu), dropped: strangers "
             "%llu, not RTP %llu, no destination %llu; port exhaustion %llu; SRTP streams %llu, "
             "failed SRTP checks %llu, plain offers refused %llu; calls refused over "
             "--max-source-calls %llu, --max-callee-calls %llu",
             (unsigned long long)ms.sessions_opened, open,
             (unsigned long long)ms.sessions_timed_out, (unsigned long long)ms.relayed,
             (unsigned long long)ms.fast_packets, (unsigned long long)ms.fast_streams,
             (unsigned long long)ms.dropped_stranger, (unsigned long long)ms.dropped_bad,
             (unsigned long long)ms.dropped_no_dest, (unsigned long long)ms.port_exhausted,
             (unsigned long long)ms.srtp_streams, (unsigned long long)ms.srtp_failed,
             (unsigned long long)ms.srtp_refused, (unsigned long long)ms.source_capped,
             (unsigned long long)ms.callee_capped);
}

/* listen_taken: whether another process already listens on l. Our own sockets share a port
 * with SO_REUSEPORT, so a second sipring (or a first one still draining) would bind beside
 * it without a word and take part of its traffic; a probe bound without that option fails
 * with EADDRINUSE where anyone is bound. TCP's probe keeps SO_REUSEADDR so that connections
 * in TIME_WAIT from a previous run do not count; UDP's has none (on UDP it would allow the
 * very sharing this looks for). */
static bool listen_taken(const struct listen_addr *l)
{
    bool stream = l->proto != LISTEN_UDP;
    int fd = socket(l->addr.ss_family, (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false; /* the real bind reports it */
    }
    int one = 1;
    if (stream) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    }
    if (l->addr.ss_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    bool taken =
        bind(fd, (const struct sockaddr *)&l->addr, l->addr_len) != 0 && errno == EADDRINUSE;
    close(fd);
    return taken;
}

int server_run(const struct config *cfg, int argc, char **argv)
{
    static struct workers all;
    for (size_t i = 0; i < cfg->listen_count; i++) {
        /* A previous sipring that has just exited may hold its sockets a moment longer: the
         * kernel tears an io_uring down after the process, and requests still armed on it
         * keep their files open until then. A restart waits up to 3 s for that; a running
         * instance stays in the way and is refused. */
        int tries = 30;
        while (listen_taken(&cfg->listen[i]) && --tries > 0) {
            usleep(100 * 1000);
        }
        if (tries == 0) {
            log_error("listen %s: address already in use by another process", cfg->listen[i].text);
            return 1;
        }
    }
    all.cfg = cfg;
    all.argc = argc;
    all.argv = argv;
    all.count = worker_count(cfg);
    char err[400];
    struct state_store *store = NULL;
    if (cfg->state_dir[0] != '\0') {
        store = state_open(cfg->state_dir, cfg->state_recover, err, sizeof(err));
        if (store == NULL) {
            log_error("%s", err);
            return 1;
        }
    }
    /* restarts must recognise their own Record-Route proofs and Contact tokens: without
     * --secret-file, the key lives beside the store */
    char secret_path[300];
    snprintf(secret_path, sizeof(secret_path), "%s", cfg->secret_file);
    if (secret_path[0] == '\0' && store != NULL) {
        snprintf(secret_path, sizeof(secret_path), "%s/secret", cfg->state_dir);
    }
    if (secret_load(secret_path, &all.secret) != 0) {
        state_close(store);
        return 1;
    }
    all.call_log_fd = -1;
    if (cfg->call_log[0] != '\0') {
        all.call_log_fd = open(cfg->call_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (all.call_log_fd < 0) {
            log_error("--call-log %s: %s", cfg->call_log, strerror(errno));
            state_close(store);
            return 1;
        }
    }
    memcpy(all.auth_key, all.secret.nonce_key, sizeof(all.auth_key));
    all.snap = snapshot_build(cfg, NULL, secret_mac(&all.secret), all.count, err, sizeof(err));
    if (all.snap == NULL) {
        log_error("%s", err);
        return 1;
    }
    if (cfg->tls_ca[0] == '\0' && cfg->tls_verify) {
        log_warn("TLS: no CA bundle (--tls-ca): TLS servers cannot be verified, connections "
                 "to them will fail");
    }
    if (cfg->open_registrar && cfg->users[0] == '\0') {
        log_warn("--open-registrar without --users: anyone on the outside can bind or remove "
                 "the contacts of any user of the served domains");
    }
    if (all.snap->users != NULL) {
        log_info("authentication: %zu users from %s", auth_users_count(all.snap->users),
                 cfg->users);
    }
    struct sip_location *mem = sip_location_mem_new(cfg->max_registrations);
    struct sip_location *front = mem;
    if (mem != NULL && store != NULL) {
        long n = state_load(store, mem, worker_now_ms(), wall_ms(), err, sizeof(err));
        if (n < 0 || state_start(store) != 0) {
            log_error("%s", n < 0 ? err : "cannot start the state store's writer");
            state_close(store);
            return 1;
        }
        log_info("state: %ld registrations and NAT bindings loaded from %s/state.db", n,
                 cfg->state_dir);
        front = state_wrap(store, mem);
    }
    all.loc = front ? location_locked_new(front) : NULL;
    all.w = calloc(all.count, sizeof(*all.w));
    if (all.loc == NULL || all.w == NULL ||
        conn_shared_init(&all.conns, all.count, cfg->max_connections) != 0) {
        log_error("out of memory for the location store");
        return 1;
    }
    /* Signals are blocked in every thread (they inherit this mask) and read by worker 0. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sigfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (sigfd < 0) {
        log_error("signalfd: %s", strerror(errno));
        return 1;
    }
    pthread_barrier_init(&all.ready, NULL, all.count);
    for (unsigned i = 0; i < all.count; i++) {
        all.w[i] = (struct worker){.id = i,
                                   .all = &all,
                                   .snap = all.snap,
                                   .fd4 = -1,
                                   .fd6 = -1,
                                   .sigfd = -1,
                                   .hep_fd = -1};
    }
    all.w[0].sigfd = sigfd;
    all.fastpath = NULL;
    if (cfg->media_relay && cfg->media_fastpath != MEDIA_FASTPATH_OFF) {
        char why[200];
        all.fastpath = fastpath_open(cfg->rtp_port_min, cfg->rtp_port_max, why, sizeof(why));
        if (all.fastpath != NULL) {
            log_info("media fast path: in the kernel for latched plain RTP (tc on %u interfaces)",
                     fastpath_interfaces(all.fastpath));
        } else if (cfg->media_fastpath == MEDIA_FASTPATH_KERNEL) {
            log_error("--media-fastpath kernel: %s", why);
            return 1;
        } else {
            log_info("media fast path: off (%s); the io_uring relay carries all media", why);
        }
    }
    for (unsigned i = 0; i < all.count; i++) {
        metrics_board_init(&all.w[i].board);
        pthread_mutex_init(&all.w[i].calls_board.mu, NULL);
    }
    all.store = store;
    all.start_time_s = wall_ms() / 1000;
    const struct sip_proxy_cfg *pc = &all.snap->pc;
    log_info("advertising %s; serving %s%s%s; upstream %s; %u workers", pc->advertise,
             pc->domains[0], pc->domain_count > 1 ? " and " : "",
             pc->domain_count > 1 ? pc->domains[1] : "", pc->upstream[0] ? pc->upstream : "none",
             all.count);
    unsigned started = 1;
    for (; started < all.count; started++) {
        if (pthread_create(&all.w[started].thread, NULL, worker_main, &all.w[started]) != 0) {
            log_error("cannot start worker %u", started);
            return 1; /* the started ones wait at the barrier forever: exit ends them */
        }
    }
    worker_main(&all.w[0]);
    for (unsigned i = 1; i < started; i++) {
        pthread_join(all.w[i].thread, NULL);
    }
    int rc = atomic_load(&all.setup_failed) ? 1 : 0;
    if (rc == 0) {
        report(&all);
    }
    for (unsigned i = 0; i < all.count; i++) {
        worker_cleanup(&all.w[i]);
    }
    close(sigfd);
    fastpath_close(all.fastpath); /* after the relays: their entries go with the map */
    if (all.call_log_fd >= 0) {
        close(all.call_log_fd);
    }
    pthread_barrier_destroy(&all.ready);
    free(all.w);
    location_locked_free(all.loc);
    conn_shared_free(&all.conns);
    state_close(store); /* writes the last changes */
    sip_location_mem_free(mem);
    return rc;
}

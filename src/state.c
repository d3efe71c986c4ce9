/* src/state.c: see state.h. */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define JOURNAL_MAX 16384    /* changes per flush; beyond, counted as lost (in memory only) */
#define PURGE_EVERY_MS 60000 /* expired rows are deleted this often (and at start) */

enum change_op { CHANGE_SAVE, CHANGE_REMOVE, CHANGE_REMOVE_AOR };

struct change {
    enum change_op op;
    int64_t expires_wall_ms; /* CHANGE_SAVE */
    struct sip_binding b;    /* CHANGE_REMOVE*: aor and contact only */
};

struct state_store {
    struct sip_location outer;
    struct sip_location *inner;
    sqlite3 *db;
    sqlite3_stmt *put, *del, *del_aor, *purge;
    char path[600];
    int lock_fd; /* dir/lock, flock'd for the life of the process */
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    struct change *journal, *spare; /* appended to under mu; the writer swaps them */
    size_t n;
    uint64_t written, lost; /* under mu */
    bool write_failed;      /* logged once per failure spell */
};

static uint64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---------- the file ---------- */

static const char SCHEMA[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO meta VALUES('schema', 1);"
    /* one row per binding, readable with the sqlite3 shell: the flow as text, the expiry in
     * Unix milliseconds */
    "CREATE TABLE IF NOT EXISTS bindings("
    " aor TEXT NOT NULL, contact TEXT NOT NULL, path TEXT NOT NULL, call_id TEXT NOT NULL,"
    " cseq INTEGER NOT NULL, q_milli INTEGER NOT NULL,"
    " transport TEXT NOT NULL, ip TEXT NOT NULL, port INTEGER NOT NULL,"
    " behind_nat INTEGER NOT NULL, outbound INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
    " PRIMARY KEY(aor, contact)) WITHOUT ROWID;";

static int prepare_all(struct state_store *s)
{
    static const char put[] =
        "INSERT OR REPLACE INTO bindings VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)";
    return sqlite3_prepare_v2(s->db, put, -1, &s->put, NULL) != SQLITE_OK ||
                   sqlite3_prepare_v2(s->db, "DELETE FROM bindings WHERE aor=?1 AND contact=?2", -1,
                                      &s->del, NULL) != SQLITE_OK ||
                   sqlite3_prepare_v2(s->db, "DELETE FROM bindings WHERE aor=?1", -1, &s->del_aor,
                                      NULL) != SQLITE_OK ||
                   sqlite3_prepare_v2(s->db, "DELETE FROM bindings WHERE expires_at<=?1", -1,
                                      &s->purge, NULL) != SQLITE_OK
               ? -1
               : 0;
}

/* open_db: the file opened, its schema in place and its pages checked; 0, or -1 with the
 * reason in err. */
static int open_db(struct state_store *s, char *err, size_t cap)
{
    if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        snprintf(err, cap, "%s", s->db ? sqlite3_errmsg(s->db) : "out of memory");
        return -1;
    }
    sqlite3_busy_timeout(s->db, 2000); /* an admin's sqlite3 shell may hold a lock a moment */
    char *msg = NULL;
    if (sqlite3_exec(s->db, SCHEMA, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, cap, "%s", msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return -1;
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check", -1, &st, NULL);
    const unsigned char *res =
        rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
    bool ok = res != NULL && strcmp((const char *)res, "ok") == 0;
    if (!ok) {
        snprintf(err, cap, "integrity check: %s", res ? (const char *)res : sqlite3_errmsg(s->db));
    }
    sqlite3_finalize(st);
    if (!ok) {
        return -1;
    }
    if (prepare_all(s) != 0) {
        snprintf(err, cap, "%s", sqlite3_errmsg(s->db));
        return -1;
    }
    return 0;
}

static void close_db(struct state_store *s)
{
    sqlite3_finalize(s->put);
    sqlite3_finalize(s->del);
    sqlite3_finalize(s->del_aor);
    sqlite3_finalize(s->purge);
    s->put = s->del = s->del_aor = s->purge = NULL;
    sqlite3_close(s->db);
    s->db = NULL;
}

static int make_dir(const char *dir, char *err, size_t cap)
{
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s", dir);
    for (char *p = tmp + 1;; p++) {
        bool end = *p == '\0';
        if (*p == '/' || end) {
            *p = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
                snprintf(err, cap, "cannot create %s: %s", tmp, strerror(errno));
                return -1;
            }
            if (end) {
                break;
            }
            *p = '/';
        }
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, cap, "%s is not a directory", dir);
        return -1;
    }
    if (access(dir, W_OK) != 0) {
        snprintf(err, cap, "%s is not writable: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

struct state_store *state_open(const char *dir, bool recover, char *err, size_t cap)
{
    struct state_store *s = calloc(1, sizeof(*s));
    if (s != NULL) {
        s->lock_fd = -1;
        s->journal = calloc(JOURNAL_MAX, sizeof(struct change));
        s->spare = calloc(JOURNAL_MAX, sizeof(struct change));
    }
    if (s == NULL || s->journal == NULL || s->spare == NULL) {
        snprintf(err, cap, "out of memory");
        goto fail;
    }
    if (make_dir(dir, err, cap) != 0) {
        goto fail;
    }
    /* two instances writing one store would each overwrite the other's view, and load the
     * union at their next start: the second is refused */
    char lock[600];
    snprintf(lock, sizeof(lock), "%s/lock", dir);
    s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, cap, "state directory %s: %s", dir,
                 s->lock_fd >= 0 && errno == EWOULDBLOCK
                     ? "in use by another sipring (give each instance its own --state-dir)"
                     : strerror(errno));
        goto fail;
    }
    snprintf(s->path, sizeof(s->path), "%s/state.db", dir);
    char why[256];
    if (open_db(s, why, sizeof(why)) != 0) {
        close_db(s);
        if (!recover) {
            snprintf(err, cap,
                     "state store %s: %s (move it away, or start with --state-recover yes to "
                     "set it aside and begin empty)",
                     s->path, why);
            goto fail;
        }
        char aside[640];
        snprintf(aside, sizeof(aside), "%s.corrupt", s->path);
        if (rename(s->path, aside) != 0) {
            snprintf(err, cap, "state store %s: %s; cannot move it aside: %s", s->path, why,
                     strerror(errno));
            goto fail;
        }
        for (const char *ext = "-wal"; ext != NULL; ext = ext[1] == 'w' ? "-shm" : NULL) {
            char side[640];
            snprintf(side, sizeof(side), "%s%s", s->path, ext);
            unlink(side);
        }
        log_warn("state store %s: %s: moved to %s, starting with an empty store", s->path, why,
                 aside);
        if (open_db(s, why, sizeof(why)) != 0) {
            snprintf(err, cap, "state store %s: %s", s->path, why);
            close_db(s);
            goto fail;
        }
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    return s;
fail:
    if (s != NULL) {
        if (s->lock_fd >= 0) {
            close(s->lock_fd);
        }
        free(s->journal);
        free(s->spare);
    }
    free(s);
    return NULL;
}

/* ---------- rows and bindings ---------- */

static const char *transport_text(uint8_t t)
{
    return t == SIP_TP_TLS ? "tls" : t == SIP_TP_TCP ? "tcp" : "udp";
}

static uint8_t transport_of_text(const char *t)
{
    return strcmp(t, "tls") == 0 ? SIP_TP_TLS : strcmp(t, "tcp") == 0 ? SIP_TP_TCP : SIP_TP_UDP;
}

static void copy_col(sqlite3_stmt *st, int col, char *out, size_t cap)
{
    const unsigned char *v = sqlite3_column_text(st, col);
    snprintf(out, cap, "%s", v ? (const char *)v : "");
}

long state_load(struct state_store *s, struct sip_location *inner, uint64_t mono_now,
                uint64_t wall_now, char *err, size_t cap)
{
    sqlite3_bind_int64(s->purge, 1, (sqlite3_int64)wall_now);
    int rc = sqlite3_step(s->purge);
    sqlite3_reset(s->purge);
    if (rc != SQLITE_DONE) {
        snprintf(err, cap, "state store %s: %s", s->path, sqlite3_errmsg(s->db));
        return -1;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT aor, contact, path, call_id, cseq, q_milli, transport, ip, "
                           "port, behind_nat, outbound, expires_at FROM bindings",
                           -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, cap, "state store %s: %s", s->path, sqlite3_errmsg(s->db));
        return -1;
    }
    long n = 0;
    size_t bad = 0, full = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct sip_binding b;
        memset(&b, 0, sizeof(b));
        copy_col(st, 0, b.aor, sizeof(b.aor));
        copy_col(st, 1, b.contact, sizeof(b.contact));
        copy_col(st, 2, b.path, sizeof(b.path));
        copy_col(st, 3, b.call_id, sizeof(b.call_id));
        b.cseq = (uint32_t)sqlite3_column_int64(st, 4);
        b.q_milli = (uint16_t)sqlite3_column_int(st, 5);
        char tp[8], ip[64];
        copy_col(st, 6, tp, sizeof(tp));
        copy_col(st, 7, ip, sizeof(ip));
        int port = sqlite3_column_int(st, 8);
        if (sip_peer_from_text(sip_str_make(ip, strlen(ip)), (uint16_t)port, &b.received) != 0 ||
            port <= 0 || port > 65535) {
            bad++; /* edited by hand, or from a future schema: skipped, not fatal */
            continue;
        }
        b.received.transport = transport_of_text(tp);
        b.behind_nat = sqlite3_column_int(st, 9) != 0;
        b.outbound = sqlite3_column_int(st, 10) != 0;
        int64_t exp = sqlite3_column_int64(st, 11);
        b.expires_at_ms = mono_now + (uint64_t)(exp - (int64_t)wall_now);
        /* the connection died with the old process (RFC 5626 §5.3) */
        b.flow_failed = b.received.transport != SIP_TP_UDP;
        /* keepalives go on at their interval from now: a ping at once would not bring back
         * a NAT mapping that expired while sipring was down (only the UA's own traffic does) */
        b.alive_ms = mono_now;
        b.next_ping_ms = 0;
        if (inner->ops->save(inner->self, &b) != 0) {
            full++;
            continue;
        }
        n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        snprintf(err, cap, "state store %s: %s", s->path, sqlite3_errmsg(s->db));
        return -1;
    }
    if (bad > 0) {
        log_warn("state store %s: %zu rows skipped (unreadable address)", s->path, bad);
    }
    if (full > 0) {
        log_warn("state store %s: %zu bindings not loaded: --max-registrations is full", s->path,
                 full);
    }
    return n;
}

/* ---------- the journal (callers of the wrapper are serialized by location_locked) ---------- */

static struct change *append(struct state_store *s)
{
    pthread_mutex_lock(&s->mu);
    if (s->n == JOURNAL_MAX) {
        s->lost++;
        pthread_mutex_unlock(&s->mu);
        return NULL;
    }
    return &s->journal[s->n++]; /* mu stays held: filled, then committed */
}

static void committed(struct state_store *s)
{
    pthread_mutex_unlock(&s->mu);
}

static int w_save(void *self, const struct sip_binding *b)
{
    struct state_store *s = self;
    int rc = s->inner->ops->save(s->inner->self, b);
    if (rc != 0) {
        return rc;
    }
    struct change *c = append(s);
    if (c != NULL) {
        c->op = CHANGE_SAVE;
        c->b = *b;
        uint64_t mono = clock_ms(CLOCK_MONOTONIC), wall = clock_ms(CLOCK_REALTIME);
        c->expires_wall_ms = (int64_t)wall + ((int64_t)b->expires_at_ms - (int64_t)mono);
        committed(s);
    }
    return 0;
}

static void w_remove(void *self, const char *aor, const char *contact)
{
    struct state_store *s = self;
    s->inner->ops->remove(s->inner->self, aor, contact);
    struct change *c = append(s);
    if (c != NULL) {
        c->op = contact ? CHANGE_REMOVE : CHANGE_REMOVE_AOR;
        snprintf(c->b.aor, sizeof(c->b.aor), "%s", aor);
        snprintf(c->b.contact, sizeof(c->b.contact), "%s", contact ? contact : "");
        committed(s);
    }
}

static size_t w_lookup(void *self, const char *aor, uint64_t now, struct sip_binding *out,
                       size_t cap)
{
    struct state_store *s = self;
    return s->inner->ops->lookup(s->inner->self, aor, now, out, cap);
}

static int w_find(void *self, const char *aor, const char *contact, uint64_t now,
                  struct sip_binding *out)
{
    struct state_store *s = self;
    return s->inner->ops->find(s->inner->self, aor, contact, now, out);
}

/* expiry, keepalive timing and liveness are not written: expired rows are purged by the
 * writer and at start, and a loaded NAT binding's keepalives start again at their interval */
static void w_expire(void *self, uint64_t now)
{
    struct state_store *s = self;
    s->inner->ops->expire(s->inner->self, now);
}

static size_t w_nat_due(void *self, uint64_t now, uint64_t interval, struct sip_binding *out,
                        size_t cap)
{
    struct state_store *s = self;
    return s->inner->ops->nat_due(s->inner->self, now, interval, out, cap);
}

static void w_alive(void *self, const char *aor, uint32_t contact_hash, uint64_t now)
{
    struct state_store *s = self;
    s->inner->ops->alive(s->inner->self, aor, contact_hash, now);
}

static size_t w_flow_down(void *self, const struct sip_peer *flow)
{
    struct state_store *s = self;
    return s->inner->ops->flow_down(s->inner->self, flow);
}

static size_t w_count(void *self, uint64_t now, size_t *nat)
{
    struct state_store *s = self;
    return s->inner->ops->count(s->inner->self, now, nat);
}

static size_t w_list(void *self, uint64_t now, size_t offset, struct sip_binding *out, size_t cap,
                     size_t *total)
{
    struct state_store *s = self;
    return s->inner->ops->list(s->inner->self, now, offset, out, cap, total);
}

static const struct sip_location_ops wrap_ops = {
    w_save, w_remove, w_lookup, w_find, w_expire, w_nat_due, w_alive, w_flow_down, w_count, w_list};

struct sip_location *state_wrap(struct state_store *s, struct sip_location *inner)
{
    s->inner = inner;
    s->outer = (struct sip_location){&wrap_ops, s};
    return &s->outer;
}

/* ---------- the writer ---------- */

static int apply(struct state_store *s, const struct change *c)
{
    sqlite3_stmt *st;
    if (c->op == CHANGE_SAVE) {
        const struct sip_binding *b = &c->b;
        char ip[64];
        sip_peer_ip_text(&b->received, ip, sizeof(ip));
        st = s->put;
        sqlite3_bind_text(st, 1, b->aor, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, b->contact, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, b->path, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, b->call_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, b->cseq);
        sqlite3_bind_int(st, 6, b->q_milli);
        sqlite3_bind_text(st, 7, transport_text(b->received.transport), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, ip, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 9, b->received.port);
        sqlite3_bind_int(st, 10, b->behind_nat);
        sqlite3_bind_int(st, 11, b->outbound);
        sqlite3_bind_int64(st, 12, c->expires_wall_ms);
    } else {
        st = c->op == CHANGE_REMOVE ? s->del : s->del_aor;
        sqlite3_bind_text(st, 1, c->b.aor, -1, SQLITE_STATIC);
        if (c->op == CHANGE_REMOVE) {
            sqlite3_bind_text(st, 2, c->b.contact, -1, SQLITE_STATIC);
        }
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* flush: writes changes[0..n) in one transaction. Returns how many were written. */
static size_t flush(struct state_store *s, const struct change *changes, size_t n, bool purge)
{
    if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        return 0;
    }
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        ok += apply(s, &changes[i]) == 0;
    }
    if (purge) {
        sqlite3_bind_int64(s->purge, 1, (sqlite3_int64)clock_ms(CLOCK_REALTIME));
        sqlite3_step(s->purge);
        sqlite3_reset(s->purge);
    }
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return 0;
    }
    return ok;
}

static void *writer_main(void *arg)
{
    struct state_store *s = arg;
    uint64_t next_purge = clock_ms(CLOCK_MONOTONIC) + PURGE_EVERY_MS;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        if (s->n == 0 && !s->stop) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += STATE_FLUSH_MS * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&s->cv, &s->mu, &until);
        }
        bool stop = s->stop;
        struct change *batch = s->journal;
        size_t n = s->n;
        s->journal = s->spare;
        s->spare = batch;
        s->n = 0;
        pthread_mutex_unlock(&s->mu);

        uint64_t now = clock_ms(CLOCK_MONOTONIC);
        bool purge = now >= next_purge;
        size_t ok = n > 0 || purge ? flush(s, batch, n, purge) : 0;
        if (purge) {
            next_purge = now + PURGE_EVERY_MS;
        }
        if (ok < n && !s->write_failed) {
            log_error("state store %s: cannot write: %s (registrations are kept in memory; "
                      "they are written again when they change)",
                      s->path, sqlite3_errmsg(s->db));
        } else if (ok == n && n > 0 && s->write_failed) {
            log_info("state store %s: writing again", s->path);
        }
        if (n > 0) {
            s->write_failed = ok < n;
        }

        pthread_mutex_lock(&s->mu);
        s->written += ok;
        s->lost += n - ok;
        if (stop && s->n == 0) {
            break;
        }
        if (!stop) {
            /* a steady stream of changes is batched: wait out the interval */
            pthread_mutex_unlock(&s->mu);
            struct timespec d = {0, STATE_FLUSH_MS * 1000000L};
            nanosleep(&d, NULL);
            pthread_mutex_lock(&s->mu);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int state_start(struct state_store *s)
{
    /* the writer takes no signal: worker 0 reads them (signalfd), and a thread that left
     * SIGTERM unblocked would let it end the process without a drain */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&s->thread, NULL, writer_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        return -1;
    }
    s->started = true;
    return 0;
}

void state_stats(struct state_store *s, uint64_t *written, uint64_t *lost)
{
    pthread_mutex_lock(&s->mu);
    *written = s->written;
    *lost = s->lost;
    pthread_mutex_unlock(&s->mu);
}

void state_close(struct state_store *s)
{
    if (s == NULL) {
        return;
    }
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    } else if (s->n > 0) {
        s->written += flush(s, s->journal, s->n, false);
    }
    log_info("state: %llu changes written to %s, %llu not written", (unsigned long long)s->written,
             s->path, (unsigned long long)s->lost);
    close_db(s);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    close(s->lock_fd);
    free(s->journal);
    free(s->spare);
    free(s);
}

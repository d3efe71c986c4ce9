/* src/log.c: the log sink. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <string.h>
#include <time.h>

#include "../sip/peer.h"

/* Read by every worker, written by worker 0 on SIGHUP: atomics, so a reload is seen whole. */
static _Atomic enum log_level threshold = LOG_LVL_INFO;
static _Atomic bool use_syslog;

static const char *const names[] = {"error", "warn", "info", "debug"};
static const int syslog_prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

void log_init(enum log_level level, bool to_syslog)
{
    threshold = level;
    use_syslog = to_syslog;
    if (to_syslog) {
        openlog("sipring", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    }
}

bool log_enabled(enum log_level level)
{
    return level <= threshold;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level > threshold) {
        return;
    }
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (use_syslog) {
        syslog(syslog_prio[level], "%s", line);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s\n", tm.tm_year + 1900,
            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
            names[level], line);
}

void log_limited(struct log_limit *lim, enum log_level level, const char *fmt, ...)
{
    if (level > threshold) {
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long long now =
        (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
    if (now < lim->next_ms) {
        lim->suppressed++;
        return;
    }
    lim->next_ms = now + LOG_LIMIT_MS;
    char line[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (lim->suppressed > 0) {
        log_msg(level, "%s (%llu more like it in the last %d s)", line, lim->suppressed,
                LOG_LIMIT_MS / 1000);
    } else {
        log_msg(level, "%s", line);
    }
    lim->suppressed = 0;
}

#define PEER_SLOTS 1024

struct peer_limit {
    const char *reason;
    uint8_t family;
    uint8_t ip[16];
    unsigned long long next_ms, suppressed;
};

/* Per thread: each worker keeps its own, so logging takes no lock. */
static _Thread_local struct peer_limit peer_table[PEER_SLOTS];
static _Thread_local unsigned long long burst_window_ms, burst_used, burst_dropped;

static unsigned long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

void log_peer(enum log_level level, const char *reason, const struct sip_peer *peer,
              const char *fmt, ...)
{
    if (level > threshold) {
        return;
    }
    unsigned long long now = mono_ms();
    size_t n = peer->family == 6 ? 16 : 4;
    uint32_t h = sip_fnv1a(peer->ip, n, sip_fnv1a(&reason, sizeof(reason), SIP_FNV_INIT));
    struct peer_limit *e = &peer_table[h % PEER_SLOTS];
    bool same = e->reason == reason && e->family == peer->family && memcmp(e->ip, peer->ip, n) == 0;
    if (same && now < e->next_ms) {
        e->suppressed++;
        return;
    }
    if (now - burst_window_ms >= LOG_LIMIT_MS) {
        if (burst_dropped > 0) {
            log_msg(LOG_LVL_WARN,
                    "%llu log lines about peers left out in the last %d s (more "
                    "than %d per %d s)",
                    burst_dropped, LOG_LIMIT_MS / 1000, LOG_PEER_BURST, LOG_LIMIT_MS / 1000);
        }
        burst_window_ms = now;
        burst_used = burst_dropped = 0;
    }
    if (burst_used >= LOG_PEER_BURST) {
        burst_dropped++;
        return;
    }
    burst_used++;
    unsigned long long left_out = same ? e->suppressed : 0;
    /* a colliding entry of another source is taken over: that source may log once more */
    e->reason = reason;
    e->family = peer->family;
    memcpy(e->ip, peer->ip, n);
    e->next_ms = now + LOG_LIMIT_MS;
    e->suppressed = 0;
    char line[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (left_out > 0) {
        log_msg(level, "%s (%llu more like it from this address in the last %d s)", line, left_out,
                LOG_LIMIT_MS / 1000);
    } else {
        log_msg(level, "%s", line);
    }
}

/* src/log.c: the log sink. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

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
    unsigned long long now = (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
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

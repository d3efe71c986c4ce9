/* src/log.h: leveled logging to stderr or syslog. One line per event; callers include the peer
 * address and Call-ID where there is one. Nothing above info is logged per packet. */
#ifndef SIPRING_SRC_LOG_H
#define SIPRING_SRC_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* log_init: sets the threshold and the sink (stderr, or syslog with ident "sipring"). */
void log_init(enum log_level level, bool to_syslog);

/* log_enabled: whether a message of this level would be written (to skip formatting). */
bool log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A log line that an event repeated by peers could print per packet goes through a limit:
 * at most one line per LOG_LIMIT_MS for each log_limit, the next one saying how many were
 * left out meanwhile. The caller owns the struct (zeroed: nothing logged yet). */
#define LOG_LIMIT_MS 10000
struct log_limit {
    unsigned long long next_ms;
    unsigned long long suppressed;
};

/* log_limited: log_msg under the limit lim. */
void log_limited(struct log_limit *lim, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* log_peer: a line about something a peer did (reason: a string constant naming the kind of
 * event; its address is the key). Under attack such lines come from many sources at once, so
 * each thread logs at most one per source and reason per LOG_LIMIT_MS, and at most
 * LOG_PEER_BURST of them per LOG_LIMIT_MS in all; the next line of a source says how many of its
 * own were left out, and a summary line how many the overall bound dropped. */
#define LOG_PEER_BURST 20
struct sip_peer;
void log_peer(enum log_level level, const char *reason, const struct sip_peer *peer,
              const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_enabled(LOG_LVL_DEBUG)) {                                                          \
            log_msg(LOG_LVL_DEBUG, __VA_ARGS__);                                                   \
        }                                                                                          \
    } while (0)

#endif

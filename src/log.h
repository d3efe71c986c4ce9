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

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                        \
    do {                                                                                      \
        if (log_enabled(LOG_LVL_DEBUG)) {                                                     \
            log_msg(LOG_LVL_DEBUG, __VA_ARGS__);                                              \
        }                                                                                     \
    } while (0)

#endif

/* src/notify.h: the service manager's readiness protocol (sd_notify(3), the datagram form that
 * systemd documents for Type=notify services), a few lines instead of libsystemd: sipring
 * sends "READY=1" once every worker serves, "RELOADING=1" with the monotonic time when a
 * SIGHUP begins and "READY=1" when it is done (or refused), "STOPPING=1" when a drain begins.
 * Without $NOTIFY_SOCKET (not started by systemd) each call does nothing. */
#ifndef SIPRING_SRC_NOTIFY_H
#define SIPRING_SRC_NOTIFY_H

/* notify_state: sends the newline-separated assignments in state ("READY=1\nSTATUS=..."); a
 * failure is logged once and otherwise ignored (the service manager then times us out, which
 * says more than anything sipring could do about it). */
void notify_state(const char *state);

/* notify_reloading: "RELOADING=1" and MONOTONIC_USEC, as systemd 253's reload protocol asks
 * (older ones take RELOADING=1 alone). */
void notify_reloading(void);

#endif

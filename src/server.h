/* src/server.h: the event core of one worker: an io_uring with a provided-buffer ring,
 * multishot recvmsg on every SIP UDP socket, sends batched per loop turn, signals via signalfd.
 *
 * Buffer ownership: a received datagram lives in a provided buffer of the ring from its
 * completion until handle_datagram() returns; sip_msg slices point into it only during that
 * time, and the buffer goes back to the ring (in a batch) at the end of the loop turn. */
#ifndef SIPRING_SRC_SERVER_H
#define SIPRING_SRC_SERVER_H

#include "options.h"

/* server_run: binds the listeners, serves until SIGINT or SIGTERM (SIGHUP re-reads argc/argv
 * and the config file). Returns the exit status. */
int server_run(const struct config *cfg, int argc, char **argv);

#endif

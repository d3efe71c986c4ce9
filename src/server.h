/* src/server.h: the program's run phase: worker threads (see worker.h), the shared location
 * store, signals, and the closing summary. */
#ifndef SIPRING_SRC_SERVER_H
#define SIPRING_SRC_SERVER_H

#include "options.h"

/* server_run: starts cfg->threads workers (0: one per online CPU) on the listeners and serves
 * until SIGINT or SIGTERM has drained them (SIGHUP re-reads argc/argv and the config file).
 * Returns the exit status. */
int server_run(const struct config *cfg, int argc, char **argv);

#endif

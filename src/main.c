/* src/main.c: sipring's entry point: options, logging, libraries, the event core. */
#include <stdio.h>

#include "../rtp/srtp_ctx.h"
#include "../tls/tls.h"
#include "log.h"
#include "options.h"
#include "server.h"

int main(int argc, char **argv)
{
    static struct config cfg;
    switch (options_load(&cfg, argc, argv)) {
    case OPTIONS_RUN:
        break;
    case OPTIONS_EXIT_OK:
        return 0;
    case OPTIONS_EXIT_BAD:
        return 1;
    case OPTIONS_EXIT_USAGE:
        return 2;
    }
    log_init(cfg.log_level, cfg.log_syslog);
    if (tls_lib_init() != 0 || rtp_srtp_lib_init() != 0) {
        log_error("library initialisation failed");
        return 1;
    }
    log_info("sipring %s starting (%s, %s)", SIPRING_VERSION, tls_lib_version(),
             rtp_srtp_lib_version());
    return server_run(&cfg, argc, argv);
}

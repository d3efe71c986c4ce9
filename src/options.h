/* src/options.h: every option of sipring, declared once in a table that drives getopt_long,
 * --help, the config file (same long names, "name = value") and the man page test. */
#ifndef SIPRING_SRC_OPTIONS_H
#define SIPRING_SRC_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "../sip/peer.h"
#include "log.h"

#define CONFIG_MAX_LISTEN 16

enum listen_proto { LISTEN_UDP = 0, LISTEN_TCP, LISTEN_TLS }; /* = enum sip_transport */

struct listen_addr {
    enum listen_proto proto;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char text[80]; /* as given, for log lines */
};

enum acl_side { ACL_BOTH = 0, ACL_INSIDE, ACL_OUTSIDE };

struct acl_entry {
    struct sip_cidr net;
    uint8_t side; /* enum acl_side */
};

enum media_fastpath_mode { MEDIA_FASTPATH_OFF = 0, MEDIA_FASTPATH_AUTO, MEDIA_FASTPATH_KERNEL };

struct config {
    struct listen_addr listen[CONFIG_MAX_LISTEN];
    size_t listen_count;
    enum log_level log_level;
    bool log_syslog;
    uint32_t max_msg_bytes;
    uint32_t max_headers;
    char config_path[512];
    bool check_only;
    char domains[16][64];
    size_t domain_count;
    struct sip_cidr inside[16];
    size_t inside_count;
    char upstream[256];
    char advertise[64];
    uint32_t t1_ms, t2_ms, t4_ms;
    uint32_t max_transactions;  /* per worker thread */
    uint32_t max_registrations; /* contacts in the location store, shared by the workers */
    uint32_t threads;           /* 0: one per online CPU */
    uint32_t min_expires, max_expires;
    uint32_t drain_timeout_s;
    bool media_relay;
    uint8_t media_fastpath; /* enum media_fastpath_mode */
    uint16_t rtp_port_min, rtp_port_max;
    uint32_t media_timeout_s;
    char public_address[48];
    uint32_t nat_keepalive_s;
    char tls_cert[256], tls_key[256], tls_ca[256];
    bool tls_verify;
    uint8_t tls_client_auth; /* enum tls_client_auth */
    uint32_t max_connections, max_connections_per_ip;
    uint32_t tcp_idle_timeout_s;
    uint32_t max_send_queue; /* bytes queued to one slow stream peer before it is closed */
    char dns_server[64];     /* IP[:PORT], or "" for /etc/resolv.conf */
    struct acl_entry allow[32], deny[32];
    size_t allow_count, deny_count;
    uint32_t rate_limit; /* requests/s per outside source; 0: off */
    uint32_t ban_time_s;
    uint32_t max_auth_failures; /* per source and minute; 0: no limit */
    char users[256];            /* digest users file, or "" */
    char secret_file[256]; /* the MAC key's file (created 0600 if missing), or "": per process */
    struct listen_addr metrics; /* --metrics: addr_len 0 when off */
    struct listen_addr hep;     /* --hep: the capture server (UDP), addr_len 0 when off */
    uint32_t hep_id;            /* --hep-id: the capture agent id in every HEP packet */
    char call_log[256];         /* --call-log: JSON lines of ended calls, or "": off */
    char state_dir[256]; /* registrations' store (src/state.c), or "": none (--state-dir off) */
    bool state_recover;  /* a corrupt store is set aside (a warning) instead of an error */
    bool open_registrar; /* without --users, REGISTER from the outside too */
    uint32_t max_source_transactions; /* live transactions per outside IP and worker; 0: off */
    uint32_t max_source_calls; /* unanswered relayed calls per outside IP and worker; 0: off */
    uint32_t max_callee_calls; /* unanswered relayed calls from outside per callee and worker */
    uint8_t srtp_outside;      /* enum media_srtp_mode: off, optional, required */
    uint8_t srtp_suites[4];    /* enum sdes_suite, in the order offered */
    uint8_t srtp_suite_count;
    char upstream_user[64];      /* trunk mode: sipring's user at the upstream, or "" */
    char upstream_password[128]; /* never printed */
    char upstream_domain[128];   /* the AOR's domain; "" = the upstream URI's host */
    uint32_t upstream_expires_s; /* registration interval asked for; 0 = do not register */
};

/* Outcome of options_load(). */
enum options_result {
    OPTIONS_RUN = 0,    /* configuration complete: run */
    OPTIONS_EXIT_OK,    /* --help, --version, or --check-config that passed: exit 0 */
    OPTIONS_EXIT_BAD,   /* --check-config that found problems: exit 1 */
    OPTIONS_EXIT_USAGE, /* a bad option or value: exit 2 (one line already printed) */
};

/* options_load: fills *c from defaults, then the config file (--config), then the command line,
 * which overrides the file. Problems are printed to stderr, one line each. */
enum options_result options_load(struct config *c, int argc, char **argv);

/* options_help: prints --help to out. */
void options_help(void *out);

#endif

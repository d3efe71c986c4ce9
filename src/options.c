/* src/options.c: the option table and its three readers (command line, config file, --help). */
#include "options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../sip/sdes.h"

#ifndef SIPRING_VERSION
#define SIPRING_VERSION "0.0.0"
#endif

enum { OPT_CLI_ONLY = 1, OPT_REPEAT = 2, OPT_NO_ARG = 4 };

/* An apply function validates one value and stores it; on failure it returns -1 and the
 * caller prints the option name with the def's `accepted` text. */
typedef int (*apply_fn)(struct config *c, const char *v);

struct opt_def {
    const char *name;
    int short_name; /* 0 if none */
    const char *arg;
    const char *def; /* default, as text, or NULL */
    const char *accepted;
    const char *help;
    apply_fn apply;
    unsigned flags;
};

static int parse_u32(const char *v, uint32_t min, uint32_t max, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || n < min || n > max) {
        return -1;
    }
    *out = (uint32_t)n;
    return 0;
}

/* PROTO:ADDR:PORT, with IPv6 addresses in brackets: udp:0.0.0.0:5060, udp:[::1]:5060 */
/* parse_addr: "IP:PORT" or "[IPv6]:PORT" into addr; 0, or -1. */
static int parse_addr(const char *a, struct sockaddr_storage *addr, socklen_t *len)
{
    const char *colon;
    char host[64];
    if (*a == '[') {
        const char *close = strchr(a, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - a - 1) >= sizeof(host)) {
            return -1;
        }
        memcpy(host, a + 1, (size_t)(close - a - 1));
        host[close - a - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(a, ':');
        if (colon == NULL || (size_t)(colon - a) >= sizeof(host)) {
            return -1;
        }
        memcpy(host, a, (size_t)(colon - a));
        host[colon - a] = '\0';
    }
    uint32_t port;
    if (parse_u32(colon + 1, 1, 65535, &port) != 0) {
        return -1;
    }
    memset(addr, 0, sizeof(*addr));
    struct sockaddr_in *s4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)addr;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        *len = sizeof(*s4);
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*s6);
    } else {
        return -1;
    }
    return 0;
}

static int apply_listen(struct config *c, const char *v)
{
    static const char *const protos[] = {"udp:", "tcp:", "tls:"};
    int proto = -1;
    for (int i = 0; i < 3; i++) {
        if (strncmp(v, protos[i], 4) == 0) {
            proto = i;
        }
    }
    if (c->listen_count >= CONFIG_MAX_LISTEN || proto < 0) {
        return -1;
    }
    struct listen_addr *l = &c->listen[c->listen_count];
    memset(l, 0, sizeof(*l));
    if (parse_addr(v + 4, &l->addr, &l->addr_len) != 0) {
        return -1;
    }
    l->proto = (enum listen_proto)proto;
    snprintf(l->text, sizeof(l->text), "%s", v);
    c->listen_count++;
    return 0;
}

static int apply_hep(struct config *c, const char *v)
{
    if (strcmp(v, "off") == 0) {
        memset(&c->hep, 0, sizeof(c->hep));
        return 0;
    }
    const char *a = strncmp(v, "udp:", 4) == 0 ? v + 4 : v; /* sngrep's and Homer's spelling */
    if (parse_addr(a, &c->hep.addr, &c->hep.addr_len) != 0) {
        return -1;
    }
    c->hep.proto = LISTEN_UDP;
    snprintf(c->hep.text, sizeof(c->hep.text), "%s", v);
    return 0;
}

static int apply_call_log(struct config *c, const char *v)
{
    if (strcmp(v, "off") == 0) {
        c->call_log[0] = '\0';
        return 0;
    }
    /* created at start if missing (appended to otherwise) */
    if (*v == '\0' || strlen(v) >= sizeof(c->call_log)) {
        return -1;
    }
    snprintf(c->call_log, sizeof(c->call_log), "%s", v);
    return 0;
}

static int apply_hep_id(struct config *c, const char *v)
{
    return parse_u32(v, 0, 4294967295u, &c->hep_id);
}

static int apply_metrics(struct config *c, const char *v)
{
    if (strcmp(v, "off") == 0) {
        memset(&c->metrics, 0, sizeof(c->metrics));
        return 0;
    }
    if (parse_addr(v, &c->metrics.addr, &c->metrics.addr_len) != 0) {
        return -1;
    }
    c->metrics.proto = LISTEN_TCP;
    snprintf(c->metrics.text, sizeof(c->metrics.text), "%s", v);
    return 0;
}

static int apply_log_level(struct config *c, const char *v)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        if (strcmp(v, levels[i]) == 0) {
            c->log_level = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

static int apply_log(struct config *c, const char *v)
{
    if (strcmp(v, "stderr") == 0 || strcmp(v, "syslog") == 0) {
        c->log_syslog = v[1] == 'y';
        return 0;
    }
    return -1;
}

static int apply_max_msg(struct config *c, const char *v)
{
    return parse_u32(v, 1024, 65535, &c->max_msg_bytes);
}

static int apply_max_headers(struct config *c, const char *v)
{
    return parse_u32(v, 16, 128, &c->max_headers);
}

static int apply_domain(struct config *c, const char *v)
{
    size_t n = strlen(v);
    if (c->domain_count >= 16 || n == 0 || n >= sizeof(c->domains[0]) || strpbrk(v, " :;@<>")) {
        return -1;
    }
    for (size_t i = 0; i <= n; i++) {
        c->domains[c->domain_count][i] = (char)((v[i] >= 'A' && v[i] <= 'Z') ? v[i] | 0x20 : v[i]);
    }
    c->domain_count++;
    return 0;
}

static int apply_inside(struct config *c, const char *v)
{
    if (c->inside_count >= 16 || sip_cidr_parse(v, &c->inside[c->inside_count]) != 0) {
        return -1;
    }
    c->inside_count++;
    return 0;
}

static int apply_upstream(struct config *c, const char *v)
{
    if ((strncmp(v, "sip:", 4) != 0 && strncmp(v, "sips:", 5) != 0) ||
        strlen(v) >= sizeof(c->upstream)) {
        return -1;
    }
    strcpy(c->upstream, v);
    return 0;
}

static int apply_upstream_user(struct config *c, const char *v)
{
    if (v[0] == '\0' || strlen(v) >= sizeof(c->upstream_user) || strpbrk(v, " :;@<>\"\r\n")) {
        return -1;
    }
    strcpy(c->upstream_user, v);
    return 0;
}

static int apply_upstream_password(struct config *c, const char *v)
{
    if (strlen(v) >= sizeof(c->upstream_password) || strpbrk(v, "\r\n")) {
        return -1;
    }
    strcpy(c->upstream_password, v);
    return 0;
}

/* the first line of FILE (mode 0600 advised: it is the trunk's password) */
static int apply_upstream_password_file(struct config *c, const char *v)
{
    FILE *f = fopen(v, "r");
    if (f == NULL) {
        return -1;
    }
    char line[sizeof(c->upstream_password) + 2];
    bool ok = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    if (!ok) {
        return -1;
    }
    line[strcspn(line, "\r\n")] = '\0';
    int rc = apply_upstream_password(c, line);
    explicit_bzero(line, sizeof(line));
    return rc;
}

static int apply_upstream_domain(struct config *c, const char *v)
{
    if (v[0] == '\0' || strlen(v) >= sizeof(c->upstream_domain) || strpbrk(v, " ;@<>\"")) {
        return -1;
    }
    strcpy(c->upstream_domain, v);
    return 0;
}

static int apply_upstream_expires(struct config *c, const char *v)
{
    return parse_u32(v, 0, 86400, &c->upstream_expires_s);
}

static int apply_advertise(struct config *c, const char *v)
{
    if (strlen(v) == 0 || strlen(v) >= sizeof(c->advertise) || strpbrk(v, " ;<>@")) {
        return -1;
    }
    strcpy(c->advertise, v);
    return 0;
}

static int apply_t1(struct config *c, const char *v)
{
    return parse_u32(v, 10, 60000, &c->t1_ms);
}

static int apply_t2(struct config *c, const char *v)
{
    return parse_u32(v, 100, 600000, &c->t2_ms);
}

static int apply_t4(struct config *c, const char *v)
{
    return parse_u32(v, 100, 600000, &c->t4_ms);
}

static int apply_max_txn(struct config *c, const char *v)
{
    return parse_u32(v, 16, 4194304, &c->max_transactions);
}

static int apply_max_reg(struct config *c, const char *v)
{
    return parse_u32(v, 16, 16777216, &c->max_registrations);
}

static int apply_rtp_ports(struct config *c, const char *v)
{
    uint32_t lo, hi;
    char extra;
    if (sscanf(v, "%u-%u%c", &lo, &hi, &extra) != 2 || lo < 1024 || hi > 65535 || hi < lo + 3) {
        return -1;
    }
    c->rtp_port_min = (uint16_t)lo;
    c->rtp_port_max = (uint16_t)hi;
    return 0;
}

static int apply_media_timeout(struct config *c, const char *v)
{
    return parse_u32(v, 5, 86400, &c->media_timeout_s);
}

static int apply_media_fastpath(struct config *c, const char *v)
{
    static const char *const names[] = {"off", "auto", "kernel"};
    for (unsigned i = 0; i < 3; i++) {
        if (strcmp(v, names[i]) == 0) {
            c->media_fastpath = (uint8_t)i;
            return 0;
        }
    }
    return -1;
}

static int apply_media_relay(struct config *c, const char *v)
{
    if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0) {
        c->media_relay = strcmp(v, "yes") == 0;
        return 0;
    }
    return -1;
}

static int apply_public_address(struct config *c, const char *v)
{
    struct sip_peer ip;
    if (sip_peer_from_text((struct sip_str){v, strlen(v)}, 0, &ip) != 0 ||
        strlen(v) >= sizeof(c->public_address)) {
        return -1;
    }
    strcpy(c->public_address, v);
    return 0;
}

static int apply_nat_keepalive(struct config *c, const char *v)
{
    return parse_u32(v, 0, 3600, &c->nat_keepalive_s);
}

static int apply_path(char *out, size_t cap, const char *v)
{
    if (*v == '\0' || strlen(v) >= cap || access(v, R_OK) != 0) {
        return -1;
    }
    snprintf(out, cap, "%s", v);
    return 0;
}

static int apply_tls_cert(struct config *c, const char *v)
{
    return apply_path(c->tls_cert, sizeof(c->tls_cert), v);
}

static int apply_tls_key(struct config *c, const char *v)
{
    return apply_path(c->tls_key, sizeof(c->tls_key), v);
}

static int apply_tls_ca(struct config *c, const char *v)
{
    return apply_path(c->tls_ca, sizeof(c->tls_ca), v);
}

static int apply_tls_verify(struct config *c, const char *v)
{
    if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0) {
        return -1;
    }
    c->tls_verify = v[0] == 'y';
    return 0;
}

static int apply_tls_client_auth(struct config *c, const char *v)
{
    static const char *const modes[] = {"off", "optional", "required"};
    for (uint8_t i = 0; i < 3; i++) {
        if (strcmp(v, modes[i]) == 0) {
            c->tls_client_auth = i;
            return 0;
        }
    }
    return -1;
}

static int apply_srtp_outside(struct config *c, const char *v)
{
    static const char *const modes[] = {"off", "optional", "required"};
    for (uint8_t i = 0; i < 3; i++) {
        if (strcmp(v, modes[i]) == 0) {
            c->srtp_outside = i;
            return 0;
        }
    }
    return -1;
}

/* SUITE[,SUITE...]: each one of sip/sdes.h's, none twice. The default offers the suite every
 * SDES peer has first, then the AEAD ones (RFC 7714), then the short tag. */
#define SRTP_SUITES_DEFAULT                                                                        \
    "AES_CM_128_HMAC_SHA1_80,AEAD_AES_128_GCM,AEAD_AES_256_GCM,AES_CM_128_HMAC_SHA1_32"

static int apply_srtp_suites(struct config *c, const char *v)
{
    uint8_t n = 0;
    while (*v != '\0') {
        const char *end = strchr(v, ',');
        size_t len = end ? (size_t)(end - v) : strlen(v);
        enum sdes_suite s = sdes_suite_of(sip_str_make(v, len));
        if (s == SDES_NONE || n >= 4 || memchr(c->srtp_suites, s, n) != NULL) {
            return -1;
        }
        c->srtp_suites[n++] = (uint8_t)s;
        v += len + (end ? 1 : 0);
    }
    if (n == 0) {
        return -1;
    }
    c->srtp_suite_count = n;
    return 0;
}

static int apply_max_conn(struct config *c, const char *v)
{
    return parse_u32(v, 1, 65535, &c->max_connections);
}

static int apply_max_conn_ip(struct config *c, const char *v)
{
    return parse_u32(v, 1, 65535, &c->max_connections_per_ip);
}

static int apply_tcp_idle(struct config *c, const char *v)
{
    return parse_u32(v, 10, 86400, &c->tcp_idle_timeout_s);
}

static int apply_send_queue(struct config *c, const char *v)
{
    return parse_u32(v, 65536, 67108864, &c->max_send_queue);
}

static int apply_dns_server(struct config *c, const char *v)
{
    char ip[64];
    const char *colon = strrchr(v, ':');
    struct sip_peer p;
    if (strlen(v) >= sizeof(c->dns_server)) {
        return -1;
    }
    if (v[0] == '[') {
        const char *close = strchr(v, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
            return -1;
        }
        snprintf(ip, sizeof(ip), "%.*s", (int)(close - v - 1), v + 1);
    } else if (colon != NULL && strchr(v, ':') == colon) {
        snprintf(ip, sizeof(ip), "%.*s", (int)(colon - v), v);
        uint32_t port;
        if (parse_u32(colon + 1, 1, 65535, &port) != 0) {
            return -1;
        }
    } else {
        snprintf(ip, sizeof(ip), "%s", v);
    }
    if (sip_peer_from_text(sip_str_make(ip, strlen(ip)), 53, &p) != 0) {
        return -1;
    }
    snprintf(c->dns_server, sizeof(c->dns_server), "%s", v);
    return 0;
}

/* [inside:|outside:]CIDR */
static int parse_acl(const char *v, struct acl_entry *e)
{
    e->side = ACL_BOTH;
    if (strncmp(v, "inside:", 7) == 0) {
        e->side = ACL_INSIDE;
        v += 7;
    } else if (strncmp(v, "outside:", 8) == 0) {
        e->side = ACL_OUTSIDE;
        v += 8;
    }
    return sip_cidr_parse(v, &e->net);
}

static int apply_allow(struct config *c, const char *v)
{
    if (c->allow_count >= 32 || parse_acl(v, &c->allow[c->allow_count]) != 0) {
        return -1;
    }
    c->allow_count++;
    return 0;
}

static int apply_deny(struct config *c, const char *v)
{
    if (c->deny_count >= 32 || parse_acl(v, &c->deny[c->deny_count]) != 0) {
        return -1;
    }
    c->deny_count++;
    return 0;
}

static int apply_rate_limit(struct config *c, const char *v)
{
    return parse_u32(v, 0, 1000000, &c->rate_limit);
}

static int apply_max_auth_fail(struct config *c, const char *v)
{
    return parse_u32(v, 0, 100000, &c->max_auth_failures);
}

static int apply_ban_time(struct config *c, const char *v)
{
    return parse_u32(v, 1, 86400, &c->ban_time_s);
}

static int apply_users(struct config *c, const char *v)
{
    return apply_path(c->users, sizeof(c->users), v);
}

static int apply_secret_file(struct config *c, const char *v)
{
    /* may not exist yet: created at start (src/secret.c) */
    if (*v == '\0' || strlen(v) >= sizeof(c->secret_file)) {
        return -1;
    }
    snprintf(c->secret_file, sizeof(c->secret_file), "%s", v);
    return 0;
}

static int apply_state_dir(struct config *c, const char *v)
{
    if (strcmp(v, "off") == 0) {
        c->state_dir[0] = '\0';
        return 0;
    }
    /* may not exist yet: made at start (src/state.c) */
    if (*v != '/' || strlen(v) >= sizeof(c->state_dir) - 16) {
        return -1;
    }
    snprintf(c->state_dir, sizeof(c->state_dir), "%s", v);
    return 0;
}

/* parse_yes_no: "yes" or "no" into *out; 0, or -1. */
static int parse_yes_no(const char *v, bool *out)
{
    if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0) {
        return -1;
    }
    *out = v[0] == 'y';
    return 0;
}

static int apply_state_recover(struct config *c, const char *v)
{
    return parse_yes_no(v, &c->state_recover);
}

static int apply_open_registrar(struct config *c, const char *v)
{
    return parse_yes_no(v, &c->open_registrar);
}

static int apply_max_source_txn(struct config *c, const char *v)
{
    return parse_u32(v, 0, 1000000, &c->max_source_transactions);
}

static int apply_max_source_calls(struct config *c, const char *v)
{
    return parse_u32(v, 0, 1000000, &c->max_source_calls);
}

static int apply_max_callee_calls(struct config *c, const char *v)
{
    return parse_u32(v, 0, 1000000, &c->max_callee_calls);
}

static int apply_threads(struct config *c, const char *v)
{
    return parse_u32(v, 0, 64, &c->threads);
}

static int apply_min_expires(struct config *c, const char *v)
{
    return parse_u32(v, 1, 86400, &c->min_expires);
}

static int apply_max_expires(struct config *c, const char *v)
{
    return parse_u32(v, 60, 604800, &c->max_expires);
}

static int apply_drain(struct config *c, const char *v)
{
    return parse_u32(v, 0, 3600, &c->drain_timeout_s);
}

static int apply_config(struct config *c, const char *v)
{
    if (strlen(v) >= sizeof(c->config_path)) {
        return -1;
    }
    strcpy(c->config_path, v);
    return 0;
}

static int apply_check(struct config *c, const char *v)
{
    (void)v;
    c->check_only = true;
    return 0;
}

static const struct opt_def opts[] = {
    {"listen", 'l', "PROTO:ADDR:PORT",
     "udp:0.0.0.0:5060 tcp:0.0.0.0:5060, and tls:0.0.0.0:5061 with --tls-cert",
     "udp:, tcp: or tls: then ADDR:PORT, IPv6 addresses in brackets (tcp:[::]:5060)",
     "Listen for SIP on this transport and address; repeat for several.", apply_listen, OPT_REPEAT},
    {"log-level", 'L', "LEVEL", "info", "one of error, warn, info, debug",
     "Log events of this level and more severe.", apply_log_level, 0},
    {"log", 0, "SINK", "stderr", "stderr or syslog", "Where log lines go.", apply_log, 0},
    {"max-msg-size", 0, "BYTES", "65535", "an integer from 1024 to 65535",
     "Largest SIP message accepted; larger ones are refused with 513.", apply_max_msg, 0},
    {"max-headers", 0, "COUNT", "128", "an integer from 16 to 128",
     "Most header fields (list elements count one each) accepted in one message.",
     apply_max_headers, 0},
    {"domain", 'd', "DOMAIN", "localhost, the host name and own addresses",
     "a host name of at most 63 characters",
     "Serve this domain: act as its registrar and route its users; repeat for several.",
     apply_domain, OPT_REPEAT},
    {"inside", 'i', "CIDR", "127.0.0.0/8 ::1 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 fc00::/7",
     "an IPv4 or IPv6 network, e.g. 192.168.0.0/16",
     "Trusted network whose requests are relayed anywhere; repeat for several.", apply_inside,
     OPT_REPEAT},
    {"upstream", 'u', "URI", NULL, "a sip: or sips: URI, e.g. sip:203.0.113.5:5060",
     "Send requests for domains sipring does not serve to this next hop.", apply_upstream, 0},
    {"upstream-user", 0, "USER", NULL, "a SIP user name",
     "Trunk mode: register at --upstream as USER and answer its digest challenges.",
     apply_upstream_user, 0},
    {"upstream-password", 0, "PASSWORD", NULL, "text (visible in ps: prefer the file)",
     "The trunk's password.", apply_upstream_password, 0},
    {"upstream-password-file", 0, "FILE", NULL, "a readable file",
     "Read the trunk's password from the first line of FILE.", apply_upstream_password_file, 0},
    {"upstream-domain", 0, "DOMAIN", "the host of --upstream", "a domain",
     "Domain of the trunk's address of record (sip:USER@DOMAIN).", apply_upstream_domain, 0},
    {"upstream-expires", 0, "SECONDS", "600", "an integer from 0 (do not register) to 86400",
     "Registration interval asked of the upstream; refreshed at 3/4 of what it grants.",
     apply_upstream_expires, 0},
    {"advertise", 'a', "HOST[:PORT]", "the listen address, or the first interface address",
     "a host or IP with an optional port", "Address put in Via and Record-Route.", apply_advertise,
     0},
    {"t1", 0, "MS", "500", "an integer from 10 to 60000",
     "SIP timer T1 (RTT estimate) in milliseconds.", apply_t1, 0},
    {"t2", 0, "MS", "4000", "an integer from 100 to 600000",
     "SIP timer T2 (maximum retransmit interval) in milliseconds.", apply_t2, 0},
    {"t4", 0, "MS", "5000", "an integer from 100 to 600000",
     "SIP timer T4 (network lifetime of a message) in milliseconds.", apply_t4, 0},
    {"max-transactions", 0, "COUNT", "262144", "an integer from 16 to 4194304",
     "Most transactions at once; beyond, requests get 503.", apply_max_txn, 0},
    {"max-registrations", 0, "COUNT", "65536", "an integer from 16 to 16777216",
     "Most registered contacts at once (all workers); beyond, REGISTER gets 503.", apply_max_reg,
     0},
    {"media-relay", 0, "yes|no", "yes", "yes or no",
     "Anchor the media of every call on sipring's RTP relay, rewriting SDP.", apply_media_relay, 0},
    {"media-fastpath", 0, "auto|kernel|off", "auto", "auto, kernel or off",
     "Relay the RTP of latched plain IPv4 streams in the kernel (a tc program); auto falls back "
     "to the io_uring relay with one log line where BPF is not available, kernel refuses to "
     "start without it.",
     apply_media_fastpath, 0},
    {"rtp-ports", 0, "MIN-MAX", "30000-39999",
     "two ports from 1024 to 65535, MIN-MAX, at least 4 apart",
     "Ports for relayed RTP/RTCP pairs (even RTP, odd RTCP).", apply_rtp_ports, 0},
    {"media-timeout", 0, "SECONDS", "60", "an integer from 5 to 86400",
     "Close a call's relay ports after this long without a packet.", apply_media_timeout, 0},
    {"public-address", 0, "IP", "", "an IPv4 or IPv6 address",
     "Address put in SDP sent outside (behind 1:1 NAT: the public one).", apply_public_address, 0},
    {"nat-keepalive", 0, "SECONDS", "30", "an integer from 0 to 3600",
     "OPTIONS to UAs registered from behind NAT this often (0: never).", apply_nat_keepalive, 0},
    {"tls-cert", 0, "FILE", NULL, "a readable PEM file",
     "Certificate chain (leaf first) sipring shows as TLS server, and as client when asked.",
     apply_tls_cert, 0},
    {"tls-key", 0, "FILE", NULL, "a readable PEM file", "Private key of --tls-cert.", apply_tls_key,
     0},
    {"tls-ca", 0, "FILE", "/etc/ssl/certs/ca-certificates.crt", "a readable PEM file",
     "CA certificates that TLS peers are verified against.", apply_tls_ca, 0},
    {"tls-verify", 0, "yes|no", "yes", "yes or no",
     "Check a TLS server's chain against --tls-ca and its name against the target.",
     apply_tls_verify, 0},
    {"tls-client-auth", 0, "MODE", "off", "off, optional or required",
     "Ask TLS clients for a certificate (verified against --tls-ca).", apply_tls_client_auth, 0},
    {"srtp-outside", 0, "MODE", "off", "off, optional or required",
     "SRTP (SDES keys) on the outside leg of calls between the sides, plain RTP inside.",
     apply_srtp_outside, 0},
    {"srtp-suites", 0, "LIST", SRTP_SUITES_DEFAULT, "a comma-separated list of those four suites",
     "SRTP suites offered, in this order, and accepted from the outside.", apply_srtp_suites, 0},
    {"max-connections", 0, "COUNT", "4096", "an integer from 1 to 65535",
     "Most TCP and TLS connections at once, in and out.", apply_max_conn, 0},
    {"max-connections-per-ip", 0, "COUNT", "64", "an integer from 1 to 65535",
     "Most TCP and TLS connections from one IP address.", apply_max_conn_ip, 0},
    {"tcp-idle-timeout", 0, "SECONDS", "600", "an integer from 10 to 86400",
     "Close a TCP or TLS connection after this long without traffic.", apply_tcp_idle, 0},
    {"max-send-queue", 0, "BYTES", "1048576", "an integer from 65536 to 67108864",
     "Bytes queued for one slow TCP or TLS peer before its connection is closed.", apply_send_queue,
     0},
    {"dns-server", 0, "IP[:PORT]", "the first nameserver of /etc/resolv.conf",
     "an IPv4 address, or an IPv6 one in brackets, with an optional port",
     "Nameserver for locating the SIP servers of domains (NAPTR, SRV, A, AAAA).", apply_dns_server,
     0},
    {"allow", 0, "[SIDE:]CIDR", NULL,
     "a network, optionally after inside: or outside: (outside:203.0.113.0/24)",
     "Accept SIP only from these networks (repeat; none: from everywhere).", apply_allow,
     OPT_REPEAT},
    {"deny", 0, "[SIDE:]CIDR", NULL,
     "a network, optionally after inside: or outside: (outside:0.0.0.0/0)",
     "Ignore SIP and connections from these networks, before --allow (repeat).", apply_deny,
     OPT_REPEAT},
    {"rate-limit", 0, "REQUESTS", "500", "an integer from 0 to 1000000",
     "Requests per second one outside IP may send (twice that in a burst); beyond, it is "
     "banned. 0: no limit.",
     apply_rate_limit, 0},
    {"ban-time", 0, "SECONDS", "60", "an integer from 1 to 86400",
     "How long a source over --rate-limit or --max-auth-failures is ignored.", apply_ban_time, 0},
    {"max-auth-failures", 0, "COUNT", "10", "an integer from 0 to 100000",
     "Failed authentications one IP may have within a minute before it is banned (0: no "
     "limit).",
     apply_max_auth_fail, 0},
    {"users", 0, "FILE", NULL, "a readable file of user:realm:HA1 lines",
     "Challenge REGISTERs to served domains and calls from the inside (digest, RFC 8760).",
     apply_users, 0},
    {"secret-file", 0, "FILE", NULL, "a file path (created with mode 0600 if missing)",
     "The key that makes sipring's Record-Route proofs, branches and Contact tokens "
     "unforgeable; instances and restarts that share it recognise each other's. Without it, "
     "the file secret in --state-dir (with --state-dir off, a random key per process).",
     apply_secret_file, 0},
    {"hep", 0, "[udp:]ADDR:PORT", "off", "IP:PORT ([IPv6]:PORT), or off",
     "Send a copy of every SIP message sipring receives and sends (TLS as plaintext) as HEP "
     "version 3 over UDP to this capture server (Homer, sngrep -L).",
     apply_hep, 0},
    {"call-log", 0, "FILE", "off", "a file path, or off",
     "Append one JSON object per ended call (a line each: Call-ID, parties, sides, times, "
     "status, and per stream codec, SRTP, packets and bytes each way, and from RTCP loss, "
     "jitter, round trip, R-factor and MOS) to this file, written at most a second after the "
     "call ends. It is opened with O_APPEND: rotate it with copytruncate.",
     apply_call_log, 0},
    {"hep-id", 0, "ID", "2001", "an integer from 0 to 4294967295",
     "The capture agent id in the HEP packets, to tell this edge from others.", apply_hep_id, 0},
    {"metrics", 0, "ADDR:PORT", "off", "IP:PORT ([IPv6]:PORT), or off",
     "Serve GET /metrics (Prometheus text format) over HTTP on this address; keep it on "
     "loopback or a management network: it has no authentication.",
     apply_metrics, 0},
    {"state-dir", 0, "DIR", "/var/lib/sipring", "an absolute path, or off",
     "Where registrations and NAT bindings are kept across restarts (state.db, SQLite) and, "
     "without --secret-file, the key (secret). $STATE_DIRECTORY (systemd's StateDirectory=) "
     "when set; off: in memory only.",
     apply_state_dir, 0},
    {"state-recover", 0, "yes|no", "no", "yes or no",
     "A store that cannot be read at start is moved aside (state.db.corrupt) and sipring starts "
     "empty with a warning; by default it is an error.",
     apply_state_recover, 0},
    {"open-registrar", 0, "yes|no", "no", "yes or no",
     "Without --users, accept REGISTER from the outside too (anyone can then bind any user "
     "of the served domains); by default only --inside registers.",
     apply_open_registrar, 0},
    {"max-source-transactions", 0, "COUNT", "1000", "an integer from 0 to 1000000",
     "Live transactions one outside IP may hold per worker; beyond, 503 with Retry-After. 0: "
     "no cap.",
     apply_max_source_txn, 0},
    {"max-source-calls", 0, "COUNT", "32", "an integer from 0 to 1000000",
     "Unanswered calls with relayed media one outside IP may hold per worker; beyond, 503 "
     "with Retry-After. 0: no cap.",
     apply_max_source_calls, 0},
    {"max-callee-calls", 0, "COUNT", "16", "an integer from 0 to 1000000",
     "Unanswered calls with relayed media from outside sources (not the upstream) one "
     "Request-URI may have per worker; beyond, 503 with Retry-After. 0: no cap.",
     apply_max_callee_calls, 0},
    {"threads", 0, "COUNT", "0", "an integer from 0 to 64",
     "Worker threads, each with its own ring and sockets; 0: one per online CPU.", apply_threads,
     0},
    {"min-expires", 0, "SECONDS", "60", "an integer from 1 to 86400",
     "Shortest registration accepted (shorter: 423 with Min-Expires).", apply_min_expires, 0},
    {"max-expires", 0, "SECONDS", "3600", "an integer from 60 to 604800",
     "Longest registration granted.", apply_max_expires, 0},
    {"drain-timeout", 0, "SECONDS", "10", "an integer from 0 to 3600",
     "On SIGTERM or SIGINT, refuse new transactions and wait at most this long for the running "
     "ones.",
     apply_drain, 0},
    {"config", 'c', "FILE", NULL, "a readable file path",
     "Read options from FILE (name = value lines); command-line options override it.", apply_config,
     OPT_CLI_ONLY},
    {"check-config", 0, NULL, NULL, "", "Validate the configuration, report problems, exit.",
     apply_check, OPT_CLI_ONLY | OPT_NO_ARG},
    {"help", 'h', NULL, NULL, "", "Print this help and exit.", NULL, OPT_CLI_ONLY | OPT_NO_ARG},
    {"version", 'V', NULL, NULL, "", "Print the version and exit.", NULL,
     OPT_CLI_ONLY | OPT_NO_ARG},
};
#define OPT_COUNT (sizeof(opts) / sizeof(opts[0]))

void options_help(void *vout)
{
    FILE *out = vout;
    fprintf(out, "Usage: sipring [OPTION]...\nSIP edge proxy with media relay.\n\n");
    for (size_t i = 0; i < OPT_COUNT; i++) {
        const struct opt_def *o = &opts[i];
        char left[64];
        if (o->short_name) {
            snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        } else {
            snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        }
        fprintf(out, "  %-30s %s", left, o->help);
        if (o->def) {
            fprintf(out, " (default: %s)", o->def);
        }
        fputc('\n', out);
    }
    fprintf(out, "\nEvery option but --config, --check-config, --help and --version may also be "
                 "set in the config file.\nSee sipring(8).\n");
}

static const struct opt_def *find_opt(const char *name)
{
    for (size_t i = 0; i < OPT_COUNT; i++) {
        if (strcmp(opts[i].name, name) == 0) {
            return &opts[i];
        }
    }
    return NULL;
}

static int apply_one(struct config *c, const struct opt_def *o, const char *v, const char *where)
{
    if (o->apply(c, v) != 0) {
        fprintf(stderr, "sipring: %s--%s: bad value '%s': expected %s\n", where, o->name, v,
                o->accepted);
        return -1;
    }
    return 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n')) {
        *--e = '\0';
    }
    return s;
}

/* Reads the config file; options already given on the command line (cli_set) are skipped,
 * except that a repeatable option given on the command line replaces the file's values. */
static int load_file(struct config *c, const bool *cli_set)
{
    FILE *f = fopen(c->config_path, "r");
    if (f == NULL) {
        fprintf(stderr, "sipring: --config: cannot open '%s': %s\n", c->config_path,
                strerror(errno));
        return -1;
    }
    char buf[1024], where[600];
    int lineno = 0, bad = 0;
    while (fgets(buf, sizeof(buf), f) != NULL) {
        lineno++;
        char *hash = strchr(buf, '#');
        if (hash != NULL) {
            *hash = '\0';
        }
        char *line = trim(buf);
        if (*line == '\0') {
            continue;
        }
        snprintf(where, sizeof(where), "%s:%d: ", c->config_path, lineno);
        char *eq = strchr(line, '=');
        if (eq == NULL) {
            fprintf(stderr, "sipring: %sexpected 'name = value'\n", where);
            bad = 1;
            continue;
        }
        *eq = '\0';
        char *name = trim(line), *value = trim(eq + 1);
        const struct opt_def *o = find_opt(name);
        if (o == NULL || (o->flags & OPT_CLI_ONLY)) {
            fprintf(stderr, "sipring: %sunknown option '%s'\n", where, name);
            bad = 1;
            continue;
        }
        if (cli_set[o - opts]) {
            continue;
        }
        bad |= apply_one(c, o, value, where) != 0;
    }
    fclose(f);
    return bad ? -1 : 0;
}

static void set_defaults(struct config *c)
{
    memset(c, 0, sizeof(*c));
    c->log_level = LOG_LVL_INFO;
    c->max_msg_bytes = 65535;
    c->max_headers = 128;
    c->t1_ms = 500;
    c->t2_ms = 4000;
    c->t4_ms = 5000;
    c->max_transactions = 262144;
    c->max_registrations = 65536;
    c->min_expires = 60;
    c->max_expires = 3600;
    c->drain_timeout_s = 10;
    c->media_relay = true;
    c->media_fastpath = MEDIA_FASTPATH_AUTO;
    c->rtp_port_min = 30000;
    c->rtp_port_max = 39999;
    c->media_timeout_s = 60;
    c->nat_keepalive_s = 30;
    c->tls_verify = true;
    c->max_connections = 4096;
    c->max_connections_per_ip = 64;
    c->tcp_idle_timeout_s = 600;
    c->max_send_queue = 1 << 20;
    c->rate_limit = 500;
    c->ban_time_s = 60;
    c->max_auth_failures = 10;
    c->max_source_transactions = 1000;
    c->max_source_calls = 32;
    c->max_callee_calls = 16;
    c->upstream_expires_s = 600;
    c->hep_id = 2001;
    apply_srtp_suites(c, SRTP_SUITES_DEFAULT);
    /* systemd's StateDirectory= names the folder it made for the unit (systemd.exec(5)) */
    const char *sd = getenv("STATE_DIRECTORY");
    snprintf(c->state_dir, sizeof(c->state_dir), "%s",
             sd != NULL && sd[0] == '/' && strchr(sd, ':') == NULL ? sd : "/var/lib/sipring");
}

enum options_result options_load(struct config *c, int argc, char **argv)
{
    struct option lopts[OPT_COUNT + 1];
    char shorts[2 * OPT_COUNT + 2] = ":";
    size_t sn = 1;
    for (size_t i = 0; i < OPT_COUNT; i++) {
        lopts[i] = (struct option){opts[i].name,
                                   (opts[i].flags & OPT_NO_ARG) ? no_argument : required_argument,
                                   NULL, 256 + (int)i};
        if (opts[i].short_name) {
            shorts[sn++] = (char)opts[i].short_name;
            if (!(opts[i].flags & OPT_NO_ARG)) {
                shorts[sn++] = ':';
            }
        }
    }
    lopts[OPT_COUNT] = (struct option){0};
    shorts[sn] = '\0';

    set_defaults(c);
    bool cli_set[OPT_COUNT] = {0};
    int ch, bad = 0;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, shorts, lopts, NULL)) != -1) {
        const struct opt_def *o = NULL;
        if (ch >= 256) {
            o = &opts[ch - 256];
        } else if (ch == '?' || ch == ':') {
            fprintf(stderr, "sipring: %s '%s' (see --help)\n",
                    ch == '?' ? "unknown option" : "missing value for", argv[optind - 1]);
            return OPTIONS_EXIT_USAGE;
        } else {
            for (size_t i = 0; i < OPT_COUNT; i++) {
                if (opts[i].short_name == ch) {
                    o = &opts[i];
                }
            }
        }
        if (strcmp(o->name, "help") == 0) {
            options_help(stdout);
            return OPTIONS_EXIT_OK;
        }
        if (strcmp(o->name, "version") == 0) {
            printf("sipring %s\n", SIPRING_VERSION);
            return OPTIONS_EXIT_OK;
        }
        cli_set[o - opts] = true;
        if (apply_one(c, o, optarg ? optarg : "", "") != 0) {
            return OPTIONS_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sipring: unexpected argument '%s' (see --help)\n", argv[optind]);
        return OPTIONS_EXIT_USAGE;
    }
    if (c->config_path[0] != '\0' && load_file(c, cli_set) != 0) {
        bad = 1;
    }
    if (c->listen_count == 0) {
        apply_listen(c, "udp:0.0.0.0:5060");
        apply_listen(c, "tcp:0.0.0.0:5060");
        if (c->tls_cert[0] != '\0') {
            apply_listen(c, "tls:0.0.0.0:5061");
        }
    }
    if (c->tls_ca[0] == '\0' && access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0) {
        snprintf(c->tls_ca, sizeof(c->tls_ca), "/etc/ssl/certs/ca-certificates.crt");
    }
    if (c->upstream_user[0] != '\0' && c->upstream[0] == '\0') {
        fprintf(stderr, "sipring: --upstream-user needs --upstream\n");
        bad = 1;
    }
    if (c->upstream_user[0] != '\0' && c->upstream_password[0] == '\0') {
        fprintf(stderr,
                "sipring: --upstream-user needs --upstream-password or --upstream-password-file\n");
        bad = 1;
    }
    if ((c->tls_cert[0] != '\0') != (c->tls_key[0] != '\0')) {
        fprintf(stderr, "sipring: --tls-cert and --tls-key go together\n");
        bad = 1;
    }
    for (size_t i = 0; i < c->listen_count; i++) {
        if (c->listen[i].proto == LISTEN_TLS && c->tls_cert[0] == '\0') {
            fprintf(stderr, "sipring: --listen %s needs --tls-cert and --tls-key\n",
                    c->listen[i].text);
            bad = 1;
        }
    }
    if (c->inside_count == 0) {
        static const char *const defaults[] = {"127.0.0.0/8",   "::1/128",        "10.0.0.0/8",
                                               "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"};
        for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
            apply_inside(c, defaults[i]);
        }
    }
    if (bad) {
        return c->check_only ? OPTIONS_EXIT_BAD : OPTIONS_EXIT_USAGE;
    }
    if (c->check_only) {
        printf("sipring: configuration OK\n");
        return OPTIONS_EXIT_OK;
    }
    return OPTIONS_RUN;
}

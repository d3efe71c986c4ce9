/* src/snapshot.c: builds and frees configuration snapshots; see snapshot.h. */
#include "snapshot.h"

#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tls/conn.h"
#include "auth.h"
#include "net.h"

/* Our own addresses: the listen addresses, and for a wildcard one every interface address. */
static void self_addresses(const struct config *cfg, struct sip_proxy_cfg *pc)
{
    struct ifaddrs *ifs = NULL;
    getifaddrs(&ifs);
    for (size_t i = 0; i < cfg->listen_count; i++) {
        struct sip_peer lp;
        net_peer_of((const struct sockaddr *)&cfg->listen[i].addr, &lp);
        static const uint8_t zero[16];
        bool wildcard = memcmp(lp.ip, zero, lp.family == 6 ? 16 : 4) == 0;
        if (cfg->listen[i].proto == LISTEN_TCP && pc->tcp_port == 0) {
            pc->tcp_port = lp.port;
        } else if (cfg->listen[i].proto == LISTEN_TLS && pc->tls_port == 0) {
            pc->tls_port = lp.port;
        }
        bool known = false;
        for (size_t k = 0; k < pc->self_count; k++) {
            known |= sip_peer_eq(&pc->self[k], &lp);
        }
        if (known) {
            continue; /* TCP on UDP's address and port */
        }
        if (!wildcard && pc->self_count < SIP_PROXY_MAX_SELF) {
            pc->self[pc->self_count++] = lp;
            continue;
        }
        for (struct ifaddrs *a = ifs; a != NULL; a = a->ifa_next) {
            if (a->ifa_addr == NULL || pc->self_count >= SIP_PROXY_MAX_SELF ||
                a->ifa_addr->sa_family != (lp.family == 6 ? AF_INET6 : AF_INET)) {
                continue;
            }
            struct sip_peer ip;
            net_peer_of(a->ifa_addr, &ip);
            ip.port = lp.port;
            bool dup = false;
            for (size_t k = 0; k < pc->self_count; k++) {
                dup |= sip_peer_eq(&pc->self[k], &ip);
            }
            if (!dup) {
                pc->self[pc->self_count++] = ip;
            }
        }
    }
    freeifaddrs(ifs);
}

/* The proxy's view of the configuration (pc is filled from scratch). */
static void make_proxy_cfg(const struct config *cfg, struct sip_proxy_cfg *out)
{
    memset(out, 0, sizeof(*out));
    self_addresses(cfg, out);
    if (cfg->advertise[0] != '\0') {
        snprintf(out->advertise, sizeof(out->advertise), "%s", cfg->advertise);
    } else {
        /* The first non-loopback address we have, else the first one. */
        size_t pick = 0;
        for (size_t i = 0; i < out->self_count; i++) {
            if (!(out->self[i].family == 4 && out->self[i].ip[0] == 127)) {
                pick = i;
                break;
            }
        }
        char host[48];
        sip_peer_host_text(&out->self[pick], host, sizeof(host));
        snprintf(out->advertise, sizeof(out->advertise), "%.47s:%u", host, out->self[pick].port);
    }
    for (size_t i = 0; i < cfg->domain_count; i++) {
        snprintf(out->domains[out->domain_count++], sizeof(out->domains[0]), "%s", cfg->domains[i]);
    }
    if (cfg->domain_count == 0) {
        snprintf(out->domains[out->domain_count++], sizeof(out->domains[0]), "localhost");
        char host[64];
        if (gethostname(host, sizeof(host)) == 0) {
            host[sizeof(host) - 1] = '\0';
            snprintf(out->domains[out->domain_count++], sizeof(out->domains[0]), "%s", host);
        }
    }
    memcpy(out->inside, cfg->inside, sizeof(out->inside));
    out->inside_count = cfg->inside_count;
    snprintf(out->upstream, sizeof(out->upstream), "%s", cfg->upstream);
    out->timers = (struct sip_timers){cfg->t1_ms, cfg->t2_ms, cfg->t4_ms};
    out->max_transactions = cfg->max_transactions;
    out->min_expires = cfg->min_expires;
    out->max_expires = cfg->max_expires;
    out->default_expires = cfg->max_expires < 3600 ? cfg->max_expires : 3600;
    out->nat_keepalive_ms = cfg->nat_keepalive_s * 1000;
    out->open_registrar = cfg->open_registrar;
    out->limits = (struct sip_limits){cfg->max_msg_bytes, cfg->max_headers, SIP_MAX_VIA};
    out->source_txn_max = cfg->max_source_transactions;
    if (cfg->public_address[0] != '\0') {
        const char *colon = strrchr(out->advertise, ':');
        bool v6 = strchr(cfg->public_address, ':') != NULL;
        snprintf(out->public_advertise, sizeof(out->public_advertise), "%s%s%s%s", v6 ? "[" : "",
                 cfg->public_address, v6 ? "]" : "",
                 colon && out->advertise[strlen(out->advertise) - 1] != ']' ? colon : "");
    }
}

static void make_guard_cfg(const struct config *c, struct guard_cfg *g)
{
    memcpy(g->allow, c->allow, sizeof(g->allow));
    memcpy(g->deny, c->deny, sizeof(g->deny));
    g->allow_count = c->allow_count;
    g->deny_count = c->deny_count;
    memcpy(g->inside, c->inside, sizeof(g->inside));
    g->inside_count = c->inside_count;
    g->rate_limit = c->rate_limit;
    g->ban_time_s = c->ban_time_s;
    g->max_auth_failures = c->max_auth_failures;
}

static void make_media_cfg(const struct config *c, struct media_cfg *m)
{
    m->rtp_port_min = c->rtp_port_min;
    m->rtp_port_max = c->rtp_port_max;
    snprintf(m->public_address, sizeof(m->public_address), "%s", c->public_address);
    m->timeout_s = c->media_timeout_s;
    m->max_source_calls = c->max_source_calls;
    m->max_callee_calls = c->max_callee_calls;
    memcpy(m->inside, c->inside, sizeof(m->inside));
    m->inside_count = c->inside_count;
    m->srtp.mode = (enum media_srtp_mode)c->srtp_outside;
    m->srtp.suite_count = c->srtp_suite_count;
    memcpy(m->srtp.suites, c->srtp_suites, sizeof(m->srtp.suites));
}

struct snapshot *snapshot_build(const struct config *cfg, const struct snapshot *prev,
                                struct sip_mac mac, unsigned holders, char *err, size_t err_cap)
{
    struct snapshot *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, err_cap, "out of memory");
        return NULL;
    }
    atomic_init(&s->refs, holders);
    s->gen = prev != NULL ? prev->gen + 1 : 0;
    s->cfg = *cfg;
    make_proxy_cfg(cfg, &s->pc);
    s->pc.mac = mac;
    make_guard_cfg(cfg, &s->guard);
    make_media_cfg(cfg, &s->media);
    /* One TLS context for both directions: the server certificate is also what sipring shows
     * when a server asks for a client certificate. Read again on every reload, so that a
     * renewed certificate under the same file name is taken. */
    struct tls_ctx_cfg tc = {cfg->tls_cert, cfg->tls_key, cfg->tls_ca,
                             (enum tls_client_auth)cfg->tls_client_auth, cfg->tls_verify};
    char why[300];
    s->tls = tls_ctx_new(&tc, why, sizeof(why));
    if (s->tls == NULL) {
        snprintf(err, err_cap, "TLS: %s", why);
        free(s);
        return NULL;
    }
    s->conns = (struct conns_cfg){cfg->max_connections,    cfg->max_connections_per_ip,
                                  cfg->tcp_idle_timeout_s, cfg->max_send_queue,
                                  cfg->max_msg_bytes,      s->tls};
    if (cfg->users[0] != '\0') {
        s->users = auth_users_load(cfg->users);
        if (s->users == NULL) {
            snprintf(err, err_cap, "--users %s: cannot be used (see above)", cfg->users);
            tls_ctx_free(s->tls);
            free(s);
            return NULL;
        }
        if (prev != NULL && prev->users != NULL) {
            auth_users_carry(s->users, prev->users);
        }
    }
    return s;
}

void snapshot_drop(struct snapshot *s)
{
    if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1) {
        return;
    }
    tls_ctx_free(s->tls);
    auth_users_free(s->users);
    free(s);
}

void snapshot_restart_only(const struct config *x, const struct config *y, char *out, size_t cap)
{
    struct {
        bool differs;
        const char *name;
    } items[] = {
        {x->listen_count != y->listen_count || memcmp(x->listen, y->listen, sizeof(x->listen)) != 0,
         "listen"},
        {strcmp(x->advertise, y->advertise) != 0, "advertise"},
        {x->threads != y->threads, "threads"},
        {x->max_transactions != y->max_transactions, "max-transactions"},
        {x->max_registrations != y->max_registrations, "max-registrations"},
        {y->max_connections > x->max_connections, "a higher max-connections"},
        {x->media_relay != y->media_relay, "media-relay"},
        {x->media_fastpath != y->media_fastpath, "media-fastpath"},
        {x->rtp_port_min != y->rtp_port_min || x->rtp_port_max != y->rtp_port_max, "rtp-ports"},
        {strcmp(x->public_address, y->public_address) != 0, "public-address"},
        {strcmp(x->dns_server, y->dns_server) != 0, "dns-server"},
        {strcmp(x->secret_file, y->secret_file) != 0, "secret-file"},
        {strcmp(x->state_dir, y->state_dir) != 0, "state-dir"},
        {strcmp(x->metrics.text, y->metrics.text) != 0, "metrics"},
        {strcmp(x->hep.text, y->hep.text) != 0 || x->hep_id != y->hep_id, "hep"},
        {(x->users[0] == '\0') != (y->users[0] == '\0'), "users on or off"},
        {strcmp(x->upstream_user, y->upstream_user) != 0 ||
             strcmp(x->upstream_domain, y->upstream_domain) != 0 ||
             x->upstream_expires_s != y->upstream_expires_s,
         "upstream-user, -domain and -expires"},
    };
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
        if (items[i].differs && n < cap) {
            int w = snprintf(out + n, cap - n, "%s%s", n ? ", " : "", items[i].name);
            n += w > 0 ? (size_t)w : 0;
        }
    }
}

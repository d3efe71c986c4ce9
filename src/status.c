/* src/status.c: see status.h. */
#include "status.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "textbuf.h"

static void str(struct textbuf *o, const char *s)
{
    textbuf_json_str(o, s);
}

void status_page_args(const char *query, size_t *limit, size_t *offset)
{
    *limit = 100;
    *offset = 0;
    for (const char *q = query; q != NULL && *q;) {
        unsigned long v = 0;
        if (strncmp(q, "limit=", 6) == 0) {
            v = strtoul(q + 6, NULL, 10);
            *limit = v == 0 ? 1 : v > STATUS_LIMIT_MAX ? STATUS_LIMIT_MAX : v;
        } else if (strncmp(q, "offset=", 7) == 0) {
            v = strtoul(q + 7, NULL, 10);
            *offset = v > 100000000ul ? 100000000ul : v;
        }
        q = strchr(q, '&');
        q = q ? q + 1 : NULL;
    }
}

static void cidr(struct textbuf *o, const struct sip_cidr *c)
{
    char ip[64];
    inet_ntop(c->family == 6 ? AF_INET6 : AF_INET, c->ip, ip, sizeof(ip));
    textbuf_put(o, "\"%s/%u\"", ip, c->bits);
}

size_t status_render(char *buf, size_t cap, const struct status_info *in)
{
    struct textbuf o = {buf, cap, 0, false};
    const struct config *c = in->cfg;
    textbuf_put(&o, "{\"version\": ");
    str(&o, in->version);
    textbuf_put(&o, ", \"start_time\": %llu, \"uptime_seconds\": %llu, \"workers\": %u",
                (unsigned long long)in->start_time_s,
                (unsigned long long)(in->now_s - in->start_time_s), in->workers);
    textbuf_put(&o, ", \"registrations\": %llu, \"nat_bindings\": %llu",
                (unsigned long long)in->registrations, (unsigned long long)in->nat_bindings);
    textbuf_put(&o, ", \"listeners\": [");
    for (size_t i = 0; i < c->listen_count; i++) {
        textbuf_put(&o, "%s", i ? ", " : "");
        str(&o, c->listen[i].text);
    }
    /* the running configuration as started, without secrets: file names, never contents */
    textbuf_put(&o, "], \"config\": {\"advertise\": ");
    str(&o, c->advertise);
    textbuf_put(&o, ", \"domains\": [");
    for (size_t i = 0; i < c->domain_count; i++) {
        textbuf_put(&o, "%s", i ? ", " : "");
        str(&o, c->domains[i]);
    }
    textbuf_put(&o, "], \"inside\": [");
    for (size_t i = 0; i < c->inside_count; i++) {
        textbuf_put(&o, "%s", i ? ", " : "");
        cidr(&o, &c->inside[i]);
    }
    textbuf_put(&o, "], \"upstream\": ");
    str(&o, c->upstream);
    textbuf_put(&o, ", \"upstream_user\": ");
    str(&o, c->upstream_user);
    textbuf_put(&o, ", \"users_file\": ");
    str(&o, c->users);
    textbuf_put(&o, ", \"state_dir\": ");
    str(&o, c->state_dir);
    textbuf_put(&o, ", \"call_log\": ");
    str(&o, c->call_log);
    textbuf_put(&o, ", \"hep\": ");
    str(&o, c->hep.text);
    textbuf_put(&o,
                ", \"media_relay\": %s, \"rtp_ports\": \"%u-%u\", \"max_transactions\": %u, "
                "\"max_registrations\": %u, \"max_connections\": %u, \"rate_limit\": %u, "
                "\"max_auth_failures\": %u, \"min_expires\": %u, \"max_expires\": %u, "
                "\"t1_ms\": %u}}\n",
                c->media_relay ? "true" : "false", c->rtp_port_min, c->rtp_port_max,
                c->max_transactions, c->max_registrations, c->max_connections, c->rate_limit,
                c->max_auth_failures, c->min_expires, c->max_expires, c->t1_ms);
    return textbuf_len(&o);
}

size_t status_render_registrations(char *buf, size_t cap, const struct sip_binding *b, size_t n,
                                   size_t total, size_t offset, uint64_t now_ms)
{
    struct textbuf o = {buf, cap, 0, false};
    textbuf_put(&o, "{\"total\": %zu, \"offset\": %zu, \"registrations\": [", total, offset);
    for (size_t i = 0; i < n; i++) {
        char ip[64], flow[96];
        sip_peer_host_text(&b[i].received, ip, sizeof(ip));
        snprintf(flow, sizeof(flow), "%s:%s:%u",
                 b[i].received.transport == SIP_TP_TLS   ? "tls"
                 : b[i].received.transport == SIP_TP_TCP ? "tcp"
                                                         : "udp",
                 ip, b[i].received.port);
        textbuf_put(&o, "%s\n  {\"aor\": ", i ? "," : "");
        str(&o, b[i].aor);
        textbuf_put(&o, ", \"contact\": ");
        str(&o, b[i].contact);
        textbuf_put(&o, ", \"flow\": ");
        str(&o, flow);
        textbuf_put(&o, ", \"expires_in\": %llu, \"behind_nat\": %s, \"outbound\": %s, ",
                    (unsigned long long)(b[i].expires_at_ms > now_ms
                                             ? (b[i].expires_at_ms - now_ms) / 1000
                                             : 0),
                    b[i].behind_nat ? "true" : "false", b[i].outbound ? "true" : "false");
        textbuf_put(&o, "\"flow_failed\": %s, \"path\": ", b[i].flow_failed ? "true" : "false");
        str(&o, b[i].path);
        textbuf_put(&o, "}");
    }
    textbuf_put(&o, "]}\n");
    return textbuf_len(&o);
}

size_t status_render_bans(char *buf, size_t cap, const struct metrics_sample *w, unsigned n,
                          uint64_t now_ms)
{
    struct textbuf o = {buf, cap, 0, false};
    struct guard_ban all[METRICS_BANS * 4];
    size_t k = 0;
    for (unsigned i = 0; i < n; i++) {
        for (uint32_t j = 0; j < w[i].nbans && j < METRICS_BANS; j++) {
            const struct guard_ban *b = &w[i].bans[j];
            size_t at = 0;
            while (at < k && !(all[at].family == b->family && memcmp(all[at].ip, b->ip, 16) == 0)) {
                at++;
            }
            if (at == k) {
                if (k == sizeof(all) / sizeof(all[0])) {
                    continue;
                }
                all[k++] = *b;
            } else {
                all[at].until_ms = b->until_ms > all[at].until_ms ? b->until_ms : all[at].until_ms;
                all[at].dropped += b->dropped;
                all[at].auth |= b->auth;
            }
        }
    }
    textbuf_put(&o, "{\"total\": %zu, \"bans\": [", k);
    for (size_t i = 0; i < k; i++) {
        char ip[64];
        inet_ntop(all[i].family == 6 ? AF_INET6 : AF_INET, all[i].ip, ip, sizeof(ip));
        textbuf_put(&o,
                    "%s\n  {\"ip\": \"%s\", \"reason\": \"%s\", \"seconds_left\": %llu, "
                    "\"dropped\": %llu}",
                    i ? "," : "", ip, all[i].auth ? "auth_failures" : "rate_limit",
                    (unsigned long long)(all[i].until_ms > now_ms
                                             ? (all[i].until_ms - now_ms + 999) / 1000
                                             : 0),
                    (unsigned long long)all[i].dropped);
    }
    textbuf_put(&o, "]}\n");
    return textbuf_len(&o);
}

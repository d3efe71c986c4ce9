/* src/metrics.c: see metrics.h. Names follow Prometheus' conventions: a sipring_ prefix,
 * counters ending in _total, units in the name (_seconds, _bytes), # HELP and # TYPE once per
 * family, labels for what an admin slices by (method, class, status, reason, direction). */
#include "metrics.h"

#include <stdio.h>
#include <string.h>

#include "textbuf.h"

void metrics_board_init(struct metrics_board *b)
{
    pthread_mutex_init(&b->mu, NULL);
    memset(&b->s, 0, sizeof(b->s));
}

void metrics_publish(struct metrics_board *b, const struct metrics_sample *s)
{
    pthread_mutex_lock(&b->mu);
    b->s = *s;
    pthread_mutex_unlock(&b->mu);
}

void metrics_read(struct metrics_board *b, struct metrics_sample *out)
{
    pthread_mutex_lock(&b->mu);
    *out = b->s;
    pthread_mutex_unlock(&b->mu);
}

static void family(struct textbuf *o, const char *name, const char *type, const char *help)
{
    textbuf_put(o, "# HELP sipring_%s %s\n# TYPE sipring_%s %s\n", name, help, name, type);
}

/* one(o, name, type, help, value): a family with a single unlabelled sample */
static void one(struct textbuf *o, const char *name, const char *type, const char *help, uint64_t v)
{
    family(o, name, type, help);
    textbuf_put(o, "sipring_%s %llu\n", name, (unsigned long long)v);
}

/* labeled: a family of one sample per value of one label */
struct label_value {
    const char *value;
    uint64_t v;
};

static void labeled(struct textbuf *o, const char *name, const char *help, const char *label,
                    const struct label_value *l, size_t n)
{
    family(o, name, "counter", help);
    for (size_t i = 0; i < n; i++) {
        textbuf_put(o, "sipring_%s{%s=\"%s\"} %llu\n", name, label, l[i].value,
                    (unsigned long long)l[i].v);
    }
}

#define LABELED(o, name, help, label, ...)                                                         \
    do {                                                                                           \
        const struct label_value l_[] = {__VA_ARGS__};                                             \
        labeled(o, name, help, label, l_, sizeof(l_) / sizeof(l_[0]));                             \
    } while (0)

/* the sum over the workers of the uint64_t at byte offset `off` of a sample */
static uint64_t sum_at(const struct metrics_sample *w, unsigned n, size_t off)
{
    uint64_t t = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t v;
        memcpy(&v, (const char *)&w[i] + off, sizeof(v));
        t += v;
    }
    return t;
}

#define SUM(field) sum_at(w, n, offsetof(struct metrics_sample, field))

static const char *const method_names[SIP_METHOD_SLOTS] = {
    "other",     "INVITE", "ACK",     "BYE",  "CANCEL", "OPTIONS", "REGISTER", "PRACK",
    "SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO", "REFER",  "MESSAGE", "UPDATE",   "other"};

static void histogram(struct textbuf *o, const char *name, const char *help,
                      const struct metrics_sample *w, unsigned n, size_t off)
{
    family(o, name, "histogram", help);
    uint64_t cum = 0;
    for (size_t b = 0; b <= SIP_SETUP_BUCKETS; b++) {
        cum += sum_at(w, n, off + offsetof(struct sip_setup_hist, bucket) + b * sizeof(uint64_t));
        if (b < SIP_SETUP_BUCKETS) {
            textbuf_put(o, "sipring_%s_bucket{le=\"%g\"} %llu\n", name, sip_setup_le_ms[b] / 1000.0,
                        (unsigned long long)cum);
        } else {
            textbuf_put(o, "sipring_%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
        }
    }
    uint64_t sum_ms = sum_at(w, n, off + offsetof(struct sip_setup_hist, sum_ms));
    textbuf_put(o, "sipring_%s_sum %.3f\nsipring_%s_count %llu\n", name, sum_ms / 1000.0, name,
                (unsigned long long)sum_at(w, n, off + offsetof(struct sip_setup_hist, count)));
}

size_t metrics_render(char *buf, size_t cap, const struct metrics_sample *w, unsigned n,
                      const struct metrics_globals *g)
{
    struct textbuf o = {buf, cap, 0, false};

    family(&o, "build_info", "gauge", "The running version (value 1).");
    textbuf_put(&o, "sipring_build_info{version=\"%s\"} 1\n", g->version);
    one(&o, "start_time_seconds", "gauge", "When the process started, in Unix time.",
        g->start_time_s);
    one(&o, "workers", "gauge", "Worker threads, each with its own ring.", g->workers);

    family(&o, "requests_total", "counter", "SIP requests received, by method.");
    for (size_t m = 1; m < SIP_METHOD_SLOTS - 1; m++) {
        textbuf_put(&o, "sipring_requests_total{method=\"%s\"} %llu\n", method_names[m],
                    (unsigned long long)SUM(proxy.requests[m]));
    }
    textbuf_put(
        &o, "sipring_requests_total{method=\"other\"} %llu\n",
        (unsigned long long)(SUM(proxy.requests[0]) + SUM(proxy.requests[SIP_METHOD_SLOTS - 1])));
    family(&o, "responses_total", "counter",
           "SIP responses received (from next hops), by status class.");
    for (int c = 1; c <= 6; c++) {
        textbuf_put(&o, "sipring_responses_total{class=\"%dxx\"} %llu\n", c,
                    (unsigned long long)SUM(proxy.responses[c]));
    }
    family(&o, "replies_total", "counter",
           "SIP responses sipring made itself (100 Trying, challenges, refusals), by class.");
    for (int c = 1; c <= 6; c++) {
        textbuf_put(&o, "sipring_replies_total{class=\"%dxx\"} %llu\n", c,
                    (unsigned long long)SUM(proxy.replies[c]));
    }
    one(&o, "messages_bad_total", "counter", "Datagrams and frames that did not parse as SIP.",
        SUM(proxy.bad));
    one(&o, "transactions", "gauge",
        "Transactions held (those lingering after their answer included).", SUM(txn_in_use));
    one(&o, "transactions_refused_total", "counter",
        "Requests answered 503 because the transaction pool was full or sipring was draining.",
        SUM(proxy.txn_refused));

    one(&o, "calls_started_total", "counter", "Initial INVITEs (no To tag) received.",
        SUM(proxy.calls_started));
    one(&o, "calls_answered_total", "counter", "Initial INVITEs whose 2xx went back to the caller.",
        SUM(proxy.calls_answered));
    one(&o, "calls_ended_total", "counter", "BYEs relayed.", SUM(proxy.calls_ended));
    uint64_t answered = SUM(proxy.calls_answered), ended = SUM(proxy.calls_ended);
    one(&o, "calls_active", "gauge", "Answered calls whose BYE has not passed yet.",
        answered > ended ? answered - ended : 0);
    family(&o, "calls_failed_total", "counter",
           "Initial INVITEs answered with a final status of 300 or more (digest challenges "
           "included), by status.");
    bool any = false;
    for (int s = 0; s < 400; s++) {
        uint64_t v = SUM(proxy.calls_failed[s]);
        if (v != 0) {
            textbuf_put(&o, "sipring_calls_failed_total{status=\"%d\"} %llu\n", s + 300,
                        (unsigned long long)v);
            any = true;
        }
    }
    if (!any) {
        textbuf_put(&o, "sipring_calls_failed_total{status=\"487\"} 0\n");
    }
    histogram(&o, "call_ringing_seconds", "From an initial INVITE to its first 18x upstream.", w, n,
              offsetof(struct metrics_sample, proxy.to_ringing));
    histogram(&o, "call_setup_seconds", "From an initial INVITE to its 2xx upstream.", w, n,
              offsetof(struct metrics_sample, proxy.to_answer));

    one(&o, "registrations", "gauge", "Live contacts of registered AORs.", g->registrations);
    one(&o, "nat_bindings", "gauge",
        "NAT bindings: contacts registered from behind NAT and Contacts stood in for.",
        g->nat_bindings);
    if (g->state_on) {
        one(&o, "state_writes_total", "counter", "Changes written to the state store.",
            g->state_written);
        one(&o, "state_write_failures_total", "counter",
            "Changes not written to the state store (kept in memory only).", g->state_lost);
    }

    one(&o, "media_sessions_opened_total", "counter", "Relay sessions opened (one per call).",
        SUM(media.sessions_opened));
    one(&o, "media_sessions", "gauge", "Relay sessions open.", SUM(media_open));
    one(&o, "media_sessions_timed_out_total", "counter", "Relay sessions closed by silence.",
        SUM(media.sessions_timed_out));
    LABELED(&o, "media_packets_total", "RTP and RTCP packets relayed, by direction.", "direction",
            {"outbound", SUM(media.packets_dir[0])}, {"inbound", SUM(media.packets_dir[1])});
    LABELED(&o, "media_bytes_total", "RTP and RTCP payload bytes relayed, by direction.",
            "direction", {"outbound", SUM(media.bytes_dir[0])},
            {"inbound", SUM(media.bytes_dir[1])});
    LABELED(&o, "media_dropped_total", "Relay packets dropped, by reason.", "reason",
            {"stranger", SUM(media.dropped_stranger)}, {"not_rtp", SUM(media.dropped_bad)},
            {"no_destination", SUM(media.dropped_no_dest)}, {"srtp_check", SUM(media.srtp_failed)});
    one(&o, "media_fastpath_packets_total", "counter",
        "Of the packets relayed, those the kernel's fast path relayed (--media-fastpath).",
        SUM(media.fast_packets));
    one(&o, "media_fastpath_legs_total", "counter",
        "Stream legs handed to the kernel's fast path once latched.", SUM(media.fast_streams));
    one(&o, "media_port_exhaustion_total", "counter",
        "Calls refused 503 because the relay had no free ports (--rtp-ports).",
        SUM(media.port_exhausted));
    one(&o, "srtp_streams_total", "counter", "Streams whose outside leg sipring secured.",
        SUM(media.srtp_streams));
    one(&o, "srtp_plain_offers_refused_total", "counter",
        "Plain RTP offers from the outside refused (--srtp-outside required).",
        SUM(media.srtp_refused));

    one(&o, "stream_connections", "gauge", "TCP and TLS connections open.", SUM(conns_open));
    one(&o, "stream_connections_accepted_total", "counter", "Connections accepted.",
        SUM(conns.accepted));
    one(&o, "stream_connections_opened_total", "counter", "Connections sipring opened.",
        SUM(conns.opened));
    LABELED(&o, "stream_connections_closed_total",
            "Connections refused or closed by sipring, by reason.", "reason",
            {"refused", SUM(conns.refused)}, {"failed", SUM(conns.failed)},
            {"slow_reader", SUM(conns.slow_closed)}, {"idle", SUM(conns.idle_closed)},
            {"bad_framing", SUM(conns.bad_framing)});
    one(&o, "tls_handshake_failures_total", "counter", "TLS handshakes that failed.",
        SUM(conns.tls_failed));

    one(&o, "dns_queries_total", "counter", "DNS queries sent.", SUM(dns_queries));
    one(&o, "dns_failures_total", "counter", "Names found to have no SIP server.",
        SUM(dns_failures));
    one(&o, "dns_cache_hits_total", "counter",
        "Lookups answered without a query (cache, /etc/hosts).", SUM(dns_cache_hits));

    LABELED(&o, "guard_dropped_total", "Messages sipring ignored, by reason.", "reason",
            {"acl", SUM(guard.denied)}, {"rate_limit", SUM(guard.rate_dropped)},
            {"scanner", SUM(proxy.scanners)}, {"not_relayed", SUM(proxy.not_relayed)},
            {"stray_response", SUM(proxy.stray_responses)},
            {"source_transactions", SUM(proxy.source_capped)},
            {"source_calls", SUM(media.source_capped)}, {"callee_calls", SUM(media.callee_capped)});
    uint64_t auth_bans = 0; /* every worker counts every auth ban: the largest is the count */
    for (unsigned i = 0; i < n; i++) {
        auth_bans = w[i].guard.auth_bans > auth_bans ? w[i].guard.auth_bans : auth_bans;
    }
    LABELED(&o, "guard_bans_total", "Sources banned, by reason.", "reason",
            {"rate_limit", SUM(guard.bans)}, {"auth_failures", auth_bans});
    one(&o, "auth_failures_total", "counter", "Digest credentials that did not verify.",
        SUM(proxy.auth_failed));

    family(&o, "worker_loop_turns_total", "counter", "Event loop turns, by worker.");
    for (unsigned i = 0; i < n; i++) {
        textbuf_put(&o, "sipring_worker_loop_turns_total{worker=\"%u\"} %llu\n", i,
                    (unsigned long long)w[i].loop_turns);
    }
    family(&o, "worker_handovers_total", "counter",
           "Messages another worker received for this one's Call-IDs, by worker.");
    for (unsigned i = 0; i < n; i++) {
        textbuf_put(&o, "sipring_worker_handovers_total{worker=\"%u\"} %llu\n", i,
                    (unsigned long long)w[i].handed_in);
    }
    one(&o, "udp_sent_total", "counter", "UDP datagrams sent.", SUM(tx));
    one(&o, "udp_send_drops_total", "counter", "UDP sends dropped: no send slot free.",
        SUM(send_drops));
    one(&o, "icmp_unreachable_total", "counter",
        "ICMP errors for what sipring sent over UDP (a next hop with nothing listening).",
        SUM(icmp_errors));
    return textbuf_len(&o);
}

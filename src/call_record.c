/* src/call_record.c: see call_record.h. */
#include "call_record.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *side(bool inside)
{
    return inside ? "inside" : "outside";
}

/* iso_time: the wall-clock time of monotonic instant t, RFC 3339 in UTC with ms */
static void iso_time(char *out, size_t cap, uint64_t t, const struct call_clock *clock)
{
    uint64_t unix_ms = clock->unix_ms - (clock->mono_ms > t ? clock->mono_ms - t : 0);
    time_t s = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(unix_ms % 1000));
}

/* setup_ms: INVITE to its final answer (2xx or failure), or 0 while it has none */
static uint64_t setup_ms(const struct sip_call *c)
{
    if (c->answer_ms) {
        return c->answer_ms - c->start_ms;
    }
    return c->state == SIP_CALL_ENDED && c->end_ms > c->start_ms ? c->end_ms - c->start_ms : 0;
}

static void dir_json(struct textbuf *o, const char *name, const struct sip_call_dir *d)
{
    textbuf_put(o, "\"%s\": {\"packets\": %llu, \"bytes\": %llu", name,
                (unsigned long long)d->packets, (unsigned long long)d->bytes);
    if (d->quality_known) {
        textbuf_put(o,
                    ", \"loss_pct\": %.2f, \"jitter_ms\": %.1f, \"r_factor\": %.1f, \"mos\": %.2f",
                    d->loss_pct, d->jitter_ms, d->r_factor, d->mos);
    } else {
        textbuf_put(o, ", \"loss_pct\": null, \"jitter_ms\": null, \"r_factor\": null, "
                       "\"mos\": null");
    }
    textbuf_put(o, "}");
}

void call_record_json(struct textbuf *o, const struct sip_call_record *rec,
                      const struct call_clock *clock)
{
    const struct sip_call *c = &rec->call;
    char id[SIP_CALL_ID_MAX + 1], when[64];
    snprintf(id, sizeof(id), "%.*s", (int)c->call_id_len, c->call_id);
    textbuf_put(o, "{\"call_id\": ");
    textbuf_json_str(o, id);
    textbuf_put(o, ", \"from\": ");
    textbuf_json_str(o, c->from);
    textbuf_put(o, ", \"to\": ");
    textbuf_json_str(o, c->to);
    iso_time(when, sizeof(when), c->start_ms, clock);
    textbuf_put(o,
                ", \"caller_side\": \"%s\", \"callee_side\": \"%s\", \"state\": \"%s\", "
                "\"start\": \"%s\"",
                side(c->caller_inside), side(c->callee_inside), sip_call_state_name(c->state),
                when);
    if (c->ring_ms) {
        textbuf_put(o, ", \"ring_ms\": %llu", (unsigned long long)(c->ring_ms - c->start_ms));
    } else {
        textbuf_put(o, ", \"ring_ms\": null");
    }
    uint64_t until = c->state == SIP_CALL_ENDED ? c->end_ms : clock->mono_ms;
    uint64_t dur = c->answer_ms && until > c->answer_ms ? until - c->answer_ms : 0;
    textbuf_put(o, ", \"setup_ms\": %llu, \"duration_s\": %.3f, \"status\": %u",
                (unsigned long long)setup_ms(c), (double)dur / 1000, c->status);
    if (c->state == SIP_CALL_ENDED) {
        iso_time(when, sizeof(when), c->end_ms, clock);
        textbuf_put(o, ", \"end\": \"%s\", \"ended_by\": \"%s\"", when, sip_call_end_name(c->end));
    }
    textbuf_put(o, ", \"streams\": [");
    for (unsigned i = 0; i < rec->nstreams && i < SIP_CALL_STREAMS; i++) {
        const struct sip_call_stream *s = &rec->stream[i];
        textbuf_put(o, "%s{\"codec\": ", i ? ", " : "");
        textbuf_json_str(o, s->codec);
        textbuf_put(o, ", \"srtp\": %s, ", s->srtp ? "true" : "false");
        if (s->rtt_known) {
            textbuf_put(o, "\"rtt_ms\": %u, ", s->rtt_ms);
        } else {
            textbuf_put(o, "\"rtt_ms\": null, ");
        }
        dir_json(o, "caller_to_callee", &s->dir[0]);
        textbuf_put(o, ", ");
        dir_json(o, "callee_to_caller", &s->dir[1]);
        textbuf_put(o, "}");
    }
    textbuf_put(o, "]}");
}

/* printable: s[0..n) with what is not printable ASCII as '?': a log line stays one line
 * whatever a peer wrote */
static void printable(char *out, size_t cap, const char *s, size_t n)
{
    size_t k = 0;
    for (; k < n && k + 1 < cap; k++) {
        unsigned char ch = (unsigned char)s[k];
        out[k] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    out[k] = '\0';
}

static void dir_text(struct textbuf *o, const char *name, const struct sip_call_dir *d)
{
    textbuf_put(o, " %s %llu packets %llu bytes", name, (unsigned long long)d->packets,
                (unsigned long long)d->bytes);
    if (d->quality_known) {
        textbuf_put(o, " loss %.1f%% jitter %.1f ms R %.1f MOS %.2f", d->loss_pct, d->jitter_ms,
                    d->r_factor, d->mos);
    }
    textbuf_put(o, ";");
}

void call_record_line(char *out, size_t cap, const struct sip_call_record *rec)
{
    if (cap == 0) {
        return;
    }
    const struct sip_call *c = &rec->call;
    uint64_t dur = c->answer_ms && c->end_ms > c->answer_ms ? c->end_ms - c->answer_ms : 0;
    struct textbuf o = {out, cap, 0, false};
    char id[SIP_CALL_ID_MAX + 1], from[SIP_CALL_PARTY_MAX], to[SIP_CALL_PARTY_MAX];
    printable(id, sizeof(id), c->call_id, c->call_id_len);
    printable(from, sizeof(from), c->from, strlen(c->from));
    printable(to, sizeof(to), c->to, strlen(c->to));
    bool by = c->end == SIP_CALL_END_CALLER || c->end == SIP_CALL_END_CALLEE;
    textbuf_put(&o,
                "call ended: Call-ID %s from %s (%s) to %s (%s), status %u, setup %.3f s, "
                "duration %.3f s, %s %s;",
                id, from, side(c->caller_inside), to, side(c->callee_inside), c->status,
                (double)setup_ms(c) / 1000, (double)dur / 1000,
                by ? "hung up by" : "end:", sip_call_end_name(c->end));
    for (unsigned i = 0; i < rec->nstreams && i < SIP_CALL_STREAMS; i++) {
        const struct sip_call_stream *s = &rec->stream[i];
        textbuf_put(&o, " stream %u %s %s", i, s->codec[0] ? s->codec : "?",
                    s->srtp ? "SRTP" : "RTP");
        if (s->rtt_known) {
            textbuf_put(&o, " rtt %u ms", s->rtt_ms);
        }
        textbuf_put(&o, ":");
        dir_text(&o, "caller->callee", &s->dir[0]);
        dir_text(&o, "callee->caller", &s->dir[1]);
    }
    if (o.full) {
        out[cap - 1] = '\0'; /* cut: vsnprintf wrote as much as fitted */
    }
}

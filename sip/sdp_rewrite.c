/* sip/sdp_rewrite.c: see sdp_rewrite.h. Line by line: lines the relay does not care about are
 * copied as they are. */
#include "sdp_rewrite.h"

#include <stdio.h>
#include <string.h>

struct out {
    char *p;
    size_t cap, len;
    bool overflow;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->overflow || n > o->cap - o->len) {
        o->overflow = true;
        return;
    }
    if (n == 0) {
        return; /* s may be an unset slice (NULL): memcpy's arguments must not be */
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static bool starts(struct sip_str line, const char *prefix)
{
    size_t n = strlen(prefix);
    return line.len >= n && memcmp(line.p, prefix, n) == 0;
}

static const char *addrtype(const char *addr)
{
    return strchr(addr, ':') ? "IP6" : "IP4";
}

static void put_conn(struct out *o, const char *addr)
{
    puts_(o, "IN ");
    puts_(o, addrtype(addr));
    puts_(o, " ");
    puts_(o, addr);
}

/* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address> (RFC 4566
 * §5.2): the first three fields stay, the address part becomes ours. */
static void put_origin(struct out *o, struct sip_str v, const char *addr)
{
    size_t fields = 0, i = 0;
    while (i < v.len && fields < 3) {
        if (v.p[i] == ' ') {
            fields++;
        }
        i++;
    }
    if (fields < 3) {
        put(o, v.p, v.len); /* not what sdp_parse accepted: leave it */
        return;
    }
    put(o, v.p, i);
    put_conn(o, addr);
}

/* put_proto: the profile after change (RFC 3711 §12: the S in RTP/SAVP is the only difference) */
static void put_proto(struct out *o, struct sip_str proto, enum sdp_profile_change change)
{
    static const struct sip_str plain[] = {SIP_STR_LIT("RTP/AVP"), SIP_STR_LIT("RTP/AVPF")};
    static const struct sip_str secure[] = {SIP_STR_LIT("RTP/SAVP"), SIP_STR_LIT("RTP/SAVPF")};
    for (unsigned i = 0; i < 2 && change != SDP_PROFILE_KEEP; i++) {
        const struct sip_str *from = change == SDP_PROFILE_PLAIN ? secure : plain;
        const struct sip_str *to = change == SDP_PROFILE_PLAIN ? plain : secure;
        if (sip_str_eq(proto, from[i])) {
            put(o, to[i].p, to[i].len);
            return;
        }
    }
    put(o, proto.p, proto.len);
}

/* m=<media> <port>[/<number of ports>] <proto> <fmt> ... (RFC 4566 §5.14); proto is the parsed
 * profile, a slice of v. */
static void put_media(struct out *o, struct sip_str v, uint16_t port, struct sip_str proto,
                      enum sdp_profile_change change)
{
    const char *sp = memchr(v.p, ' ', v.len);
    if (sp == NULL) {
        put(o, v.p, v.len);
        return;
    }
    size_t at = (size_t)(sp - v.p) + 1, end = at;
    while (end < v.len && v.p[end] >= '0' && v.p[end] <= '9') {
        end++;
    }
    bool refused = end == at + 1 && v.p[at] == '0';
    put(o, v.p, at);
    if (refused) {
        puts_(o, "0");
    } else {
        char num[8];
        int n = snprintf(num, sizeof(num), "%u", port);
        put(o, num, (size_t)n);
    }
    if (proto.p < v.p + end || proto.p + proto.len > v.p + v.len) {
        put(o, v.p + end, v.len - end);
        return;
    }
    put(o, v.p + end, (size_t)(proto.p - (v.p + end)));
    put_proto(o, proto, change);
    const char *after = proto.p + proto.len;
    put(o, after, (size_t)(v.p + v.len - after));
}

static bool is_ice_line(struct sip_str line)
{
    static const char *const ice[] = {"a=candidate:",   "a=remote-candidates:", "a=ice-ufrag:",
                                      "a=ice-pwd:",     "a=ice-options:",       "a=ice-lite",
                                      "a=ice-mismatch", "a=end-of-candidates",  "a=ice-pacing:"};
    for (size_t i = 0; i < sizeof(ice) / sizeof(ice[0]); i++) {
        if (starts(line, ice[i])) {
            return true;
        }
    }
    return false;
}

long sdp_rewrite(const struct sdp *s, struct sip_str body, const struct sdp_rewrite *rw, char *out,
                 size_t cap)
{
    struct out o = {out, cap, 0, false};
    int media = -1;
    size_t i = 0;
    while (i < body.len) {
        const char *nl = memchr(body.p + i, '\n', body.len - i);
        size_t end = nl ? (size_t)(nl - body.p) : body.len;
        struct sip_str line = {body.p + i, end - i};
        if (line.len > 0 && line.p[line.len - 1] == '\r') {
            line.len--;
        }
        i = nl ? end + 1 : body.len;
        if (line.len == 0) {
            continue;
        }
        if (starts(line, "m=")) {
            if (media >= 0 && media < SDP_MAX_MEDIA) {
                put(&o, rw->crypto[media].p, rw->crypto[media].len);
            }
            media++;
        }
        uint16_t port = media >= 0 && media < SDP_MAX_MEDIA ? rw->port[media] : 0;
        if (rw->strip_ice && is_ice_line(line)) {
            continue;
        }
        if (media >= 0 && media < SDP_MAX_MEDIA && rw->strip_crypto[media] &&
            starts(line, "a=crypto:")) {
            continue;
        }
        if (starts(line, "o=")) {
            puts_(&o, "o=");
            put_origin(&o, (struct sip_str){line.p + 2, line.len - 2}, rw->addr);
        } else if (starts(line, "c=")) {
            puts_(&o, "c=");
            put_conn(&o, rw->addr);
        } else if (starts(line, "m=") && media < s->media_count) {
            puts_(&o, "m=");
            put_media(&o, (struct sip_str){line.p + 2, line.len - 2}, port, s->media[media].proto,
                      rw->profile[media]);
        } else if (starts(line, "a=rtcp:") && media >= 0 && media < s->media_count) {
            /* RFC 3605: a=rtcp:<port> [IN IP4 <addr>]; with rtcp-mux RTCP shares the RTP port */
            char num[8];
            const struct sdp_media *m = &s->media[media];
            snprintf(num, sizeof(num), "%u", m->rtcp_mux ? port : (unsigned)port + 1);
            puts_(&o, "a=rtcp:");
            puts_(&o, num);
            if (m->rtcp_conn.is_set) {
                puts_(&o, " ");
                put_conn(&o, rw->addr);
            }
        } else {
            put(&o, line.p, line.len);
        }
        puts_(&o, "\r\n");
    }
    if (media >= 0 && media < SDP_MAX_MEDIA) {
        put(&o, rw->crypto[media].p, rw->crypto[media].len);
    }
    return o.overflow ? -1 : (long)o.len;
}

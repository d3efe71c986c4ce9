/* sip/dns.c: DNS query building and response reading; see dns.h. */
#include "dns.h"

#include <stdio.h>
#include <string.h>

long sip_dns_query(uint8_t *out, size_t cap, uint16_t id, const char *name, enum sip_dns_type type)
{
    size_t n = strlen(name);
    if (n > 0 && name[n - 1] == '.') {
        n--;
    }
    if (n == 0 || n > 253 || cap < 12 + n + 2 + 4) {
        return -1;
    }
    uint8_t *p = out;
    const uint8_t hdr[12] = {id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}; /* RD */
    memcpy(p, hdr, 12);
    p += 12;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || name[i] == '.') {
            size_t label = i - start;
            if (label == 0 || label > 63) {
                return -1;
            }
            *p++ = (uint8_t)label;
            memcpy(p, name + start, label);
            p += label;
            start = i + 1;
        }
    }
    *p++ = 0;
    *p++ = 0;
    *p++ = (uint8_t)type;
    *p++ = 0;
    *p++ = 1; /* IN */
    return p - out;
}

/* read_name: the (possibly compressed) name at *off into out (lower case, dotted); advances
 * *off past it in the message. Pointers must point backwards, so loops cannot happen. */
static int read_name(const uint8_t *m, size_t len, size_t *off, char *out, size_t cap)
{
    size_t pos = *off, o = 0;
    bool jumped = false;
    for (int guard = 0; guard < 128; guard++) {
        if (pos >= len) {
            return -1;
        }
        uint8_t l = m[pos];
        if ((l & 0xc0) == 0xc0) {
            if (pos + 1 >= len) {
                return -1;
            }
            size_t ptr = (size_t)(l & 0x3f) << 8 | m[pos + 1];
            if (ptr >= pos) {
                return -1;
            }
            if (!jumped) {
                *off = pos + 2;
            }
            jumped = true;
            pos = ptr;
            continue;
        }
        if (l & 0xc0) {
            return -1;
        }
        if (l == 0) {
            if (!jumped) {
                *off = pos + 1;
            }
            out[o] = '\0';
            return 0;
        }
        if (pos + 1 + l > len || o + l + 2 > cap) {
            return -1;
        }
        if (o > 0) {
            out[o++] = '.';
        }
        for (size_t i = 0; i < l; i++) {
            char c = (char)m[pos + 1 + i];
            out[o++] = (char)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
        }
        pos += 1 + l;
    }
    return -1;
}

static uint16_t u16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* read_string: an RFC 1035 character-string at *off (length byte, then bytes). */
static int read_string(const uint8_t *m, size_t end, size_t *off, char *out, size_t cap)
{
    if (*off >= end || *off + 1 + m[*off] > end) {
        return -1;
    }
    size_t l = m[*off];
    size_t k = l < cap - 1 ? l : cap - 1;
    for (size_t i = 0; i < k; i++) {
        char c = (char)m[*off + 1 + i];
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
    }
    out[k] = '\0';
    *off += 1 + l;
    return 0;
}

static int read_rr(const uint8_t *m, size_t len, size_t *off, struct sip_dns_rr *rr, bool *keep)
{
    if (read_name(m, len, off, rr->owner, sizeof(rr->owner)) != 0 || *off + 10 > len) {
        return -1;
    }
    const uint8_t *p = m + *off;
    rr->type = u16(p);
    uint16_t cls = u16(p + 2);
    rr->ttl = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
    size_t rdlen = u16(p + 8);
    size_t rd = *off + 10, end = rd + rdlen;
    if (end > len) {
        return -1;
    }
    *off = end;
    *keep = false;
    if (cls != 1) {
        return 0;
    }
    if (rr->type == SIP_DNS_A && rdlen == 4) {
        memcpy(rr->u.ip, m + rd, 4);
        *keep = true;
    } else if (rr->type == SIP_DNS_AAAA && rdlen == 16) {
        memcpy(rr->u.ip, m + rd, 16);
        *keep = true;
    } else if (rr->type == SIP_DNS_SRV && rdlen >= 7) {
        rr->u.srv.priority = u16(m + rd);
        rr->u.srv.weight = u16(m + rd + 2);
        rr->u.srv.port = u16(m + rd + 4);
        size_t t = rd + 6;
        if (read_name(m, end, &t, rr->u.srv.target, sizeof(rr->u.srv.target)) != 0) {
            return -1;
        }
        *keep = true;
    } else if (rr->type == SIP_DNS_NAPTR && rdlen >= 7) {
        rr->u.naptr.order = u16(m + rd);
        rr->u.naptr.preference = u16(m + rd + 2);
        size_t t = rd + 4;
        char regexp[256];
        if (read_string(m, end, &t, rr->u.naptr.flags, sizeof(rr->u.naptr.flags)) != 0 ||
            read_string(m, end, &t, rr->u.naptr.service, sizeof(rr->u.naptr.service)) != 0 ||
            read_string(m, end, &t, regexp, sizeof(regexp)) != 0 ||
            read_name(m, end, &t, rr->u.naptr.replacement, sizeof(rr->u.naptr.replacement)) != 0) {
            return -1;
        }
        *keep = true;
    }
    return 0;
}

int sip_dns_parse(const uint8_t *m, size_t len, struct sip_dns_answer *out)
{
    memset(out, 0, offsetof(struct sip_dns_answer, rr));
    if (len < 12 || !(m[2] & 0x80)) {
        return -1; /* too short, or not a response */
    }
    out->id = u16(m);
    out->truncated = (m[2] & 0x02) != 0;
    out->rcode = m[3] & 0x0f;
    size_t qd = u16(m + 4), an = u16(m + 6), ns = u16(m + 8), ar = u16(m + 10);
    size_t off = 12;
    char skip[SIP_DNS_NAME_MAX];
    for (size_t i = 0; i < qd; i++) {
        if (read_name(m, len, &off, skip, sizeof(skip)) != 0 || off + 4 > len) {
            return -1;
        }
        off += 4;
    }
    for (size_t i = 0; i < an + ns + ar; i++) {
        struct sip_dns_rr scratch;
        struct sip_dns_rr *rr = out->count < SIP_DNS_MAX_RR ? &out->rr[out->count] : &scratch;
        bool keep = false;
        if (read_rr(m, len, &off, rr, &keep) != 0) {
            return out->count > 0 ? 0 : -1; /* keep what was whole */
        }
        bool authority = i >= an && i < an + ns;
        if (keep && !authority && out->count < SIP_DNS_MAX_RR) {
            out->count++;
        }
    }
    return 0;
}

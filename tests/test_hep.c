/* tests/test_hep.c: the HEP3 encoder (sip/hep.c) read back chunk by chunk: header and total
 * length, family, protocol, addresses, ports, time, capture id and the message itself, for
 * IPv4 over UDP and IPv6 over TCP; too small a buffer is refused, not overrun. */
#include <criterion/criterion.h>
#include <string.h>

#include "hep.h"

struct seen {
    uint8_t family, proto, type;
    uint8_t src[16], dst[16];
    uint16_t sport, dport;
    uint32_t sec, usec, id;
    const uint8_t *msg;
    size_t msg_len, chunks;
};

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

static struct seen decode(const uint8_t *p, size_t n)
{
    struct seen s;
    memset(&s, 0, sizeof(s));
    cr_assert(n >= 6 && memcmp(p, "HEP3", 4) == 0);
    cr_assert_eq(rd16(p + 4), n, "the total length is the packet's");
    for (size_t o = 6; o < n;) {
        cr_assert(o + 6 <= n);
        uint16_t vendor = rd16(p + o), type = rd16(p + o + 2), len = rd16(p + o + 4);
        cr_assert(vendor == 0 && len >= 6 && o + len <= n);
        const uint8_t *v = p + o + 6;
        size_t vl = len - 6u;
        switch (type) {
        case 1:
            s.family = v[0];
            break;
        case 2:
            s.proto = v[0];
            break;
        case 3:
        case 5:
            memcpy(s.src, v, vl);
            break;
        case 4:
        case 6:
            memcpy(s.dst, v, vl);
            break;
        case 7:
            s.sport = rd16(v);
            break;
        case 8:
            s.dport = rd16(v);
            break;
        case 9:
            s.sec = rd32(v);
            break;
        case 10:
            s.usec = rd32(v);
            break;
        case 11:
            s.type = v[0];
            break;
        case 12:
            s.id = rd32(v);
            break;
        case 15:
            s.msg = v;
            s.msg_len = vl;
            break;
        default:
            cr_assert_fail("unknown chunk %u", type);
        }
        s.chunks++;
        o += len;
    }
    return s;
}

Test(hep, ipv4_udp)
{
    struct sip_peer a, b;
    cr_assert_eq(sip_peer_from_text(sip_str_make("192.0.2.1", 9), 5060, &a), 0);
    cr_assert_eq(sip_peer_from_text(sip_str_make("198.51.100.7", 12), 40000, &b), 0);
    const char msg[] = "OPTIONS sip:x SIP/2.0\r\n\r\n";
    uint8_t out[512];
    /* two pieces, as the proxy's builder hands a message over */
    struct iovec iov[2] = {{(void *)msg, 10}, {(void *)(msg + 10), sizeof(msg) - 11}};
    long n = sip_hep_encode(out, sizeof(out), &a, &b, 1796000000123456ull, 2001, iov, 2);
    cr_assert_gt(n, 0);
    struct seen s = decode(out, (size_t)n);
    cr_expect_eq(s.chunks, 11);
    cr_expect(s.family == 2 && s.proto == 17 && s.type == 1 && s.id == 2001);
    cr_expect(memcmp(s.src, a.ip, 4) == 0 && memcmp(s.dst, b.ip, 4) == 0);
    cr_expect(s.sport == 5060 && s.dport == 40000);
    cr_expect(s.sec == 1796000000u && s.usec == 123456u);
    cr_expect(s.msg_len == sizeof(msg) - 1 && memcmp(s.msg, msg, s.msg_len) == 0);
    cr_expect_eq(sip_hep_encode(out, 100, &a, &b, 0, 1, iov, 2), -1);
}

Test(hep, ipv6_tcp)
{
    struct sip_peer a, b;
    cr_assert_eq(sip_peer_from_text(sip_str_make("2001:db8::1", 11), 5061, &a), 0);
    cr_assert_eq(sip_peer_from_text(sip_str_make("2001:db8::2", 11), 50000, &b), 0);
    a.transport = b.transport = SIP_TP_TLS;
    char msg[1000];
    memset(msg, 'x', sizeof(msg));
    uint8_t out[1000 + SIP_HEP_OVERHEAD];
    struct iovec one = {msg, sizeof(msg)};
    long n = sip_hep_encode(out, sizeof(out), &a, &b, 5, 9, &one, 1);
    cr_assert_gt(n, 0);
    cr_expect_leq((size_t)n, sizeof(out), "the overhead bound holds for IPv6");
    struct seen s = decode(out, (size_t)n);
    cr_expect(s.family == 10 && s.proto == 6);
    cr_expect(memcmp(s.src, a.ip, 16) == 0 && memcmp(s.dst, b.ip, 16) == 0);
    cr_expect_eq(s.msg_len, sizeof(msg));
}

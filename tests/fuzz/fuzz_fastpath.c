/* tests/fuzz/fuzz_fastpath.c: the media fast path's tc program (src/media_fastpath.bpf.c), the
 * kernel half of the relay, run by the kernel itself on arbitrary packets (BPF_PROG_TEST_RUN).
 * Needs root and BPF, as the fast path does (CI has both).
 *
 * One latched leg is in the map: relay port 30000 takes packets from 192.0.2.7:4000 to
 * 198.51.100.9:5000, from sipring's 203.0.113.1:30002. Each input is one frame: an Ethernet,
 * IPv4 and UDP header the harness writes from the input's first bytes (so that the interesting
 * cases, the latched source and the relay port, are reached often) followed by the rest as
 * payload, or, when the first byte says so, the raw input as the whole frame.
 * Oracles:
 * - RTP Bleed in the kernel: a frame is changed only if it is IPv4/UDP to port 30000 from
 *   exactly the latched source, and looks like RTP (version 2, not an RTCP type); anything
 *   else comes back unchanged with TC_ACT_UNSPEC (handed on to sipring);
 * - a changed frame carries the entry's addresses and ports and the same payload, and its IPv4
 *   and UDP checksums verify if they did before (a zero UDP checksum stays zero);
 * - the verdicts are only UNSPEC, OK (a local destination) or REDIRECT. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include "media_fastpath_map.h"

extern const unsigned char sipring_fastpath_obj[];
extern const size_t sipring_fastpath_obj_len;

static int prog_fd = -1;
static struct bpf_object *obj; /* loaded once, for the whole run */
static const uint32_t SRC = 0xc0000207, DST = 0xc6336409, OUT = 0xcb007101; /* host order */

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    (void)level;
    (void)fmt;
    (void)ap;
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    libbpf_set_print(quiet);
    obj = bpf_object__open_mem(sipring_fastpath_obj, sipring_fastpath_obj_len, NULL);
    struct bpf_map *rodata = obj ? bpf_object__find_map_by_name(obj, ".rodata") : NULL;
    struct fastpath_ports ports = {30000, 30099};
    if (rodata == NULL || bpf_map__set_initial_value(rodata, &ports, sizeof(ports)) != 0 ||
        bpf_object__load(obj) != 0) {
        fprintf(stderr,
                "fuzz_fastpath: the BPF program does not load here (root and BPF needed)\n");
        exit(1);
    }
    prog_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "sipring_relay"));
    int map_fd = bpf_object__find_map_fd_by_name(obj, "streams");
    struct fastpath_stream e = {.src_ip = htonl(SRC),
                                .src_port = htons(4000),
                                .out_port = htons(30002),
                                .out_ip = htonl(OUT),
                                .dst_ip = htonl(DST),
                                .dst_port = htons(5000),
                                .ifindex = 1};
    uint32_t key = 30000;
    if (prog_fd < 0 || bpf_map_update_elem(map_fd, &key, &e, BPF_ANY) != 0) {
        fprintf(stderr, "fuzz_fastpath: no program or map\n");
        exit(1);
    }
    return 0;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)sum;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    }
    if (n & 1) {
        sum += (uint32_t)p[n - 1] << 8;
    }
    return sum;
}

/* udp_ok: the UDP checksum of the IPv4 frame f verifies (or is zero: none) */
static bool udp_ok(const uint8_t *f, size_t len)
{
    const uint8_t *ip = f + 14, *udp = ip + 20;
    size_t ulen = len - 34;
    if (udp[6] == 0 && udp[7] == 0) {
        return true;
    }
    uint32_t sum = csum_add(0, ip + 12, 8);
    sum += 17 + (uint32_t)ulen;
    sum = csum_add(sum, udp, ulen);
    return csum_fold(sum) == 0xffff;
}

static void ip_csum(uint8_t *ip)
{
    ip[10] = ip[11] = 0;
    uint16_t c = (uint16_t)~csum_fold(csum_add(0, ip, 20));
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
}

static bool ip_ok(const uint8_t *ip)
{
    return csum_fold(csum_add(0, ip, 20)) == 0xffff;
}

static void udp_csum(uint8_t *f, size_t len)
{
    uint8_t *ip = f + 14, *udp = ip + 20;
    size_t ulen = len - 34;
    udp[6] = udp[7] = 0;
    uint32_t sum = csum_add(0, ip + 12, 8);
    sum += 17 + (uint32_t)ulen;
    sum = csum_add(sum, udp, ulen);
    uint16_t c = (uint16_t)~csum_fold(sum);
    c = c ? c : 0xffff;
    udp[6] = (uint8_t)(c >> 8);
    udp[7] = (uint8_t)c;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t in[1600], out[1700];
    size_t len;
    if (size < 3) {
        return 0;
    }
    uint8_t mode = data[0], pick = data[1];
    data += 2;
    size -= 2;
    bool raw = (mode & 7) == 0;
    if (raw) {
        len = size < sizeof(in) ? size : sizeof(in);
        memcpy(in, data, len);
    } else {
        size_t pay = size < sizeof(in) - 42 ? size : sizeof(in) - 42;
        len = 42 + pay;
        memset(in, 0, 42);
        in[12] = 0x08; /* IPv4 */
        uint8_t *ip = in + 14, *udp = ip + 20;
        ip[0] = (mode & 0x08) ? 0x46 : 0x45; /* now and then an IHL with options */
        put16(ip + 2, (uint16_t)(len - 14));
        ip[6] = (mode & 0x10) ? 0x20 : 0; /* now and then a fragment */
        ip[8] = 64;
        ip[9] = (mode & 0x20) ? 6 : 17; /* now and then TCP */
        put32(ip + 12, (pick & 1) ? SRC : SRC + 1);
        put32(ip + 16, 0x7f000001);
        put16(udp, (pick & 2) ? 4000 : 4001);
        put16(udp + 2, (pick & 4) ? 30000 : (pick & 8) ? 30001 : 29999);
        put16(udp + 4, (uint16_t)(len - 34));
        memcpy(in + 42, data, pay);
        ip_csum(ip);
        if (!(mode & 0x40)) {
            udp_csum(in, len);
        }
    }
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = (uint32_t)len,
                .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
    if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
        return 0; /* the kernel refused the frame itself (too short for Ethernet) */
    }
    int rc = (int)opts.retval;
    if (rc != TC_ACT_UNSPEC && rc != TC_ACT_OK && rc != TC_ACT_REDIRECT) {
        abort();
    }
    bool changed = opts.data_size_out != len || memcmp(in, out, len) != 0;
    const uint8_t *ip = in + 14, *udp = ip + 20, *rtp = udp + 8;
    bool eligible =
        len >= 44 && in[12] == 0x08 && in[13] == 0 && ip[0] == 0x45 && ip[9] == 17 &&
        (ip[6] & 0x3f) == 0 && ip[7] == 0 &&
        ((uint32_t)ip[12] << 24 | (uint32_t)ip[13] << 16 | (uint32_t)ip[14] << 8 | ip[15]) == SRC &&
        udp[0] == 4000 >> 8 && udp[1] == (4000 & 0xff) && udp[2] == 30000 >> 8 &&
        udp[3] == (30000 & 0xff) && (rtp[0] & 0xc0) == 0x80 && !(rtp[1] >= 192 && rtp[1] <= 223);
    if (!eligible) {
        if (changed || rc != TC_ACT_UNSPEC) {
            abort(); /* the kernel took a packet that was sipring's to judge */
        }
        return 0;
    }
    if (!changed) {
        if (rc != TC_ACT_UNSPEC) {
            abort(); /* a verdict without the rewrite that goes with it */
        }
        return 0;
    }
    const uint8_t *oip = out + 14, *oudp = oip + 20;
    if (ip_ok(ip) && !ip_ok(oip)) {
        abort(); /* an IPv4 header checksum that verified does not after the rewrite (a bad one
                  * stays bad: the receiver drops it, as the stack here would have) */
    }
    uint32_t s =
        (uint32_t)oip[12] << 24 | (uint32_t)oip[13] << 16 | (uint32_t)oip[14] << 8 | oip[15];
    uint32_t d =
        (uint32_t)oip[16] << 24 | (uint32_t)oip[17] << 16 | (uint32_t)oip[18] << 8 | oip[19];
    if (s != OUT || d != DST || (oudp[0] << 8 | oudp[1]) != 30002 ||
        (oudp[2] << 8 | oudp[3]) != 5000 || memcmp(out + 42, in + 42, len - 42) != 0) {
        abort(); /* not where the entry says, or the payload touched */
    }
    if (udp_ok(in, len) && !udp_ok(out, len)) {
        abort(); /* a checksum that verified before does not after the rewrite */
    }
    return 0;
}

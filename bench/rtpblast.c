/* bench/rtpblast.c: sends K RTP streams of 20 ms G.711 packets (172 bytes) from one socket to
 * the relay ports listed in a file, spread evenly over each 20 ms, and counts what arrives on one
 * sink socket. With a blast port, a second socket also floods that relay port as fast as it can
 * (the legitimate source of that stream gone mad), to see whether the other streams survive.
 *
 * With RTPBLAST_SRTP_KEY set (base64 master key + salt, AES_CM_128_HMAC_SHA1_80), every packet
 * is sent as SRTP (protected once per sequence number with libsrtp, the same bytes to every
 * stream: each relay stream has its own receive context).
 *
 * usage: rtpblast SRC_PORT SINK_PORT SECONDS PORTS_FILE [BLAST_PORT]
 * prints: sent N received N blast N blast_received N translated N seconds S blaster_us N
 * (received: the K streams only; translated: packets that arrived with another length than
 * sent, i.e. with an SRTP tag added or removed; blaster_us: its own CPU time) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <srtp2/srtp.h>

#define MAXS 20000
#define PKT 172

static volatile int running = 1;
static unsigned long long received, blasted, blast_received, translated;
static int sent_len = PKT;
static int sink_fd;
static int blast_port;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int udp(int port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int big = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        perror("bind");
        exit(1);
    }
    return fd;
}

static void *sink(void *arg)
{
    (void)arg;
    struct mmsghdr m[64];
    struct iovec iov[64];
    static char buf[64][2048];
    for (int i = 0; i < 64; i++) {
        iov[i] = (struct iovec){buf[i], sizeof(buf[i])};
        m[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
    }
    struct timeval tv = {0, 200000};
    setsockopt(sink_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (running) {
        int n = recvmmsg(sink_fd, m, 64, 0, NULL);
        for (int i = 0; i < n; i++) {
            /* SRTP adds or removes its tag: another length than sent was translated */
            translated += (int)m[i].msg_len != sent_len;
            /* the blaster marks its packets with SSRC 0xbeef0000 */
            if (m[i].msg_len >= 12 && (unsigned char)buf[i][8] == 0xbe &&
                (unsigned char)buf[i][9] == 0xef) {
                blast_received++;
            } else {
                received++;
            }
        }
    }
    return NULL;
}

static void *blaster(void *arg)
{
    (void)arg;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)blast_port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    unsigned char pkt[PKT] = {0x80, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xef, 0, 0};
    struct mmsghdr m[64];
    struct iovec iov = {pkt, sizeof(pkt)};
    for (int i = 0; i < 64; i++) {
        m[i].msg_hdr = (struct msghdr){
            .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov, .msg_iovlen = 1};
    }
    while (running) {
        int n = sendmmsg(fd, m, 64, 0);
        if (n > 0) {
            __atomic_add_fetch(&blasted, (unsigned long long)n, __ATOMIC_RELAXED);
        }
    }
    return NULL;
}

static int b64(char c)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(t, c) : NULL;
    return p ? (int)(p - t) : -1;
}

/* srtp_sender: an outbound AES_CM_128_HMAC_SHA1_80 session for the base64 key, or NULL. */
static srtp_t srtp_sender(const char *key64)
{
    unsigned char key[64];
    unsigned acc = 0, bits = 0;
    size_t n = 0;
    for (const char *c = key64; *c && *c != '=' && n < sizeof(key); c++) {
        int v = b64(*c);
        if (v < 0) {
            return NULL;
        }
        acc = acc << 6 | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            key[n++] = (unsigned char)(acc >> bits);
        }
    }
    srtp_policy_t pol;
    memset(&pol, 0, sizeof(pol));
    srtp_crypto_policy_set_rtp_default(&pol.rtp);
    srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
    pol.ssrc.type = ssrc_any_outbound;
    pol.key = key;
    pol.window_size = 128;
    srtp_t s = NULL;
    if (n != 30 || srtp_init() != srtp_err_status_ok ||
        srtp_create(&s, &pol) != srtp_err_status_ok) {
        return NULL;
    }
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: rtpblast SRC_PORT SINK_PORT SECONDS PORTS_FILE [BLAST_PORT]\n");
        return 2;
    }
    int src = udp(atoi(argv[1]));
    sink_fd = udp(atoi(argv[2]));
    double secs = atof(argv[3]);
    static struct sockaddr_in dst[MAXS];
    int k = 0, port;
    FILE *f = fopen(argv[4], "r");
    while (f && k < MAXS && fscanf(f, "%d", &port) == 1) {
        if (port <= 0) {
            fprintf(stderr, "stream %d has no relay port\n", k);
            return 1;
        }
        dst[k] = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        dst[k].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        k++;
    }
    blast_port = argc > 5 ? atoi(argv[5]) : 0;
    pthread_t st, bt;
    pthread_create(&st, NULL, sink, NULL);
    if (blast_port) {
        pthread_create(&bt, NULL, blaster, NULL);
    }
    const char *key64 = getenv("RTPBLAST_SRTP_KEY");
    srtp_t srtp = key64 ? srtp_sender(key64) : NULL;
    if (key64 && srtp == NULL) {
        fprintf(stderr, "RTPBLAST_SRTP_KEY: not a 30-byte base64 key, or libsrtp failed\n");
        return 1;
    }
    unsigned char pkt[PKT + SRTP_MAX_TRAILER_LEN] = {0x80, 0};
    int len = PKT;
    unsigned long long sent = 0;
    double t0 = now_s(), next = t0;
    unsigned seq = 0;
    /* 20 slices of 1 ms per 20 ms: each stream sends once per 20 ms, streams spread out */
    while (now_s() - t0 < secs) {
        memset(pkt + 12, 0, PKT - 12);
        pkt[2] = (unsigned char)(seq >> 8);
        pkt[3] = (unsigned char)seq;
        len = PKT;
        if (srtp != NULL && srtp_protect(srtp, pkt, &len) != srtp_err_status_ok) {
            fprintf(stderr, "srtp_protect failed\n");
            return 1;
        }
        sent_len = len;
        for (int slice = 0; slice < 20; slice++) {
            for (int i = slice; i < k; i += 20) {
                if (sendto(src, pkt, (size_t)len, 0, (struct sockaddr *)&dst[i], sizeof(dst[i])) ==
                    len) {
                    sent++;
                }
            }
            next += 0.001;
            double d = next - now_s();
            if (d > 0) {
                struct timespec ts = {0, (long)(d * 1e9)};
                nanosleep(&ts, NULL);
            }
        }
        seq++;
    }
    double t1 = now_s();
    usleep(300000); /* the last packets in flight */
    running = 0;
    pthread_join(st, NULL);
    if (blast_port) {
        pthread_join(bt, NULL);
    }
    /* its own CPU (all threads): the floor of a run, which a kernel relay adds to */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    unsigned long long cpu_us =
        (unsigned long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000ull +
        (unsigned long long)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    printf("sent %llu received %llu blast %llu blast_received %llu translated %llu seconds %.2f "
           "blaster_us %llu\n",
           sent, received, blasted, blast_received, translated, t1 - t0, cpu_us);
    return 0;
}

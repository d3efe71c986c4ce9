/* bench/parse_bench.c: SIP parsing throughput of sipring, libosip2 and sofia-sip, in one run,
 * on the same message mix (corpus/sip/bench: REGISTER, INVITE with SDP, 200 OK with
 * Record-Route, BYE), each parser made to deliver the same fields: request line or status,
 * every Via (host, port, branch), From/To URI and tag, Call-ID, CSeq, Max-Forwards, every
 * Contact/Route/Record-Route URI host, Content-Length and the body.
 *
 * Usage: parse_bench CORPUS_DIR [seconds per parser]   Prints one row per parser and ratios. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_MSGS 16

static char *msgs[MAX_MSGS];
static size_t lens[MAX_MSGS];
static size_t nmsgs;
volatile size_t sink; /* keeps the field reads from being optimised away */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Each parser's field reads live in a file of their own: the three libraries' headers define
 * clashing macros (SIP_METHOD_*, SP). */
int run_sipring(const char *buf, size_t len);

int run_osip(const char *buf, size_t len);
void bench_osip_init(void);
int run_sofia(const char *buf, size_t len);

struct row {
    const char *name;
    int (*fn)(const char *, size_t);
    double msgs_per_s;
    double mb_per_s;
};

static void measure(struct row *r, double seconds)
{
    for (size_t i = 0; i < nmsgs; i++) {
        if (r->fn(msgs[i], lens[i]) != 0) {
            fprintf(stderr, "%s cannot parse message %zu\n", r->name, i);
            exit(1);
        }
    }
    size_t count = 0, bytes = 0;
    double t0 = now_s(), t;
    do {
        for (int k = 0; k < 1000; k++) {
            size_t i = count % nmsgs;
            r->fn(msgs[i], lens[i]);
            bytes += lens[i];
            count++;
        }
        t = now_s() - t0;
    } while (t < seconds);
    r->msgs_per_s = (double)count / t;
    r->mb_per_s = (double)bytes / t / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_BENCH_DIR [seconds]\n", argv[0]);
        return 2;
    }
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    DIR *d = opendir(argv[1]);
    struct dirent *e;
    size_t total = 0;
    while (d && (e = readdir(d)) && nmsgs < MAX_MSGS) {
        if (strstr(e->d_name, ".sip") == NULL) {
            continue;
        }
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
        FILE *f = fopen(path, "rb");
        msgs[nmsgs] = malloc(70000);
        lens[nmsgs] = fread(msgs[nmsgs], 1, 70000, f);
        total += lens[nmsgs++];
        fclose(f);
    }
    if (nmsgs == 0) {
        fprintf(stderr, "no .sip files in %s\n", argv[1]);
        return 1;
    }
    bench_osip_init();
    struct row rows[] = {{"sipring", run_sipring, 0, 0},
                         {"libosip2", run_osip, 0, 0},
                         {"sofia-sip", run_sofia, 0, 0}};
    printf("mix: %zu messages, %.0f B average, %.1f s per parser\n", nmsgs,
           (double)total / (double)nmsgs, seconds);
    printf("%-10s %14s %10s %14s\n", "parser", "messages/s", "MB/s", "sipring is");
    for (size_t i = 0; i < 3; i++) {
        measure(&rows[i], seconds);
    }
    for (size_t i = 0; i < 3; i++) {
        printf("%-10s %14.0f %10.1f %13.1fx\n", rows[i].name, rows[i].msgs_per_s, rows[i].mb_per_s,
               rows[0].mb_per_s / rows[i].mb_per_s);
    }
    return 0;
}

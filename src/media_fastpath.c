/* src/media_fastpath.c: loads and attaches the media fast path (see media_fastpath.h). */
#include "media_fastpath.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <pthread.h>
#include <time.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* the BPF object, built by meson from media_fastpath.bpf.c (src/embed.py) */
extern const unsigned char sipring_fastpath_obj[];
extern const size_t sipring_fastpath_obj_len;

/* tcx (Linux 6.6): a link per interface, owned by its fd, gone with the process. Bookworm's
 * headers (the 6.1 uapi, libbpf 1.1) do not name it yet. */
#define FASTPATH_TCX_INGRESS 46

#define FASTPATH_IFACES 64
#define FASTPATH_ADDR_TTL_S 10 /* how long the address -> interface table is trusted */

struct fastpath {
    struct bpf_object *obj;
    int map_fd;
    int link_fd[FASTPATH_IFACES];
    unsigned nlinks;
    uint32_t lo_index;
    /* the host's IPv4 addresses and their interfaces, read with getifaddrs at most every
     * FASTPATH_ADDR_TTL_S (a netlink dump is too dear for each call); the workers share it */
    pthread_mutex_t mu;
    time_t addrs_at;
    unsigned naddrs;
    struct {
        uint32_t ip, ifindex;
    } addr[FASTPATH_IFACES];
};

/* quiet: libbpf's own messages stay out of sipring's log (the reason a load failed is told
 * once, by the caller) */
static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    (void)level;
    (void)fmt;
    (void)ap;
    return 0;
}

struct fastpath *fastpath_open(uint16_t port_min, uint16_t port_max, char *err, size_t cap)
{
    libbpf_set_print(quiet);
    struct fastpath *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&f->mu, NULL);
    f->lo_index = if_nametoindex("lo");
    LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "sipring_relay");
    f->obj = bpf_object__open_mem(sipring_fastpath_obj, sipring_fastpath_obj_len, &oo);
    if (f->obj == NULL) {
        snprintf(err, cap, "the BPF object does not open (%s)", strerror(errno));
        free(f);
        return NULL;
    }
    struct bpf_map *rodata = bpf_object__find_map_by_name(f->obj, ".rodata");
    struct fastpath_ports range = {port_min, port_max};
    if (rodata == NULL || bpf_map__set_initial_value(rodata, &range, sizeof(range)) != 0) {
        snprintf(err, cap, "the BPF object has no port range to set");
        fastpath_close(f);
        return NULL;
    }
    if (bpf_object__load(f->obj) != 0) {
        snprintf(err, cap, "the kernel refused the BPF program (%s)", strerror(errno));
        fastpath_close(f);
        return NULL;
    }
    struct bpf_program *prog = bpf_object__find_program_by_name(f->obj, "sipring_relay");
    f->map_fd = bpf_object__find_map_fd_by_name(f->obj, "streams");
    if (prog == NULL || f->map_fd < 0) {
        snprintf(err, cap, "the BPF object lacks its program or map");
        fastpath_close(f);
        return NULL;
    }
    int prog_fd = bpf_program__fd(prog);
    struct if_nameindex *ifs = if_nameindex();
    int last_errno = 0;
    for (struct if_nameindex *i = ifs; i != NULL && i->if_index != 0; i++) {
        if (f->nlinks == FASTPATH_IFACES) {
            break;
        }
        int fd = bpf_link_create(prog_fd, (int)i->if_index, FASTPATH_TCX_INGRESS, NULL);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        f->link_fd[f->nlinks++] = fd;
    }
    if (ifs != NULL) {
        if_freenameindex(ifs);
    }
    if (f->nlinks == 0) {
        snprintf(err, cap, "no interface took the tc program (%s)",
                 last_errno ? strerror(last_errno) : "no interfaces");
        fastpath_close(f);
        return NULL;
    }
    return f;
}

void fastpath_close(struct fastpath *f)
{
    if (f == NULL) {
        return;
    }
    for (unsigned i = 0; i < f->nlinks; i++) {
        close(f->link_fd[i]);
    }
    bpf_object__close(f->obj);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static void read_addrs(struct fastpath *f)
{
    struct ifaddrs *all;
    f->naddrs = 0;
    if (getifaddrs(&all) != 0) {
        return;
    }
    for (struct ifaddrs *a = all; a != NULL && f->naddrs < FASTPATH_IFACES; a = a->ifa_next) {
        if (a->ifa_addr != NULL && a->ifa_addr->sa_family == AF_INET) {
            f->addr[f->naddrs].ip = ((struct sockaddr_in *)a->ifa_addr)->sin_addr.s_addr;
            f->addr[f->naddrs].ifindex = if_nametoindex(a->ifa_name);
            f->naddrs++;
        }
    }
    freeifaddrs(all);
}

int fastpath_route(struct fastpath *f, uint32_t src_ip, uint32_t dst_ip, uint32_t *ifindex,
                   bool *local)
{
    if ((ntohl(dst_ip) >> 24) == 127) {
        *local = true;
        *ifindex = f->lo_index;
        return f->lo_index ? 0 : -1;
    }
    int rc = -1;
    pthread_mutex_lock(&f->mu);
    time_t now = time(NULL);
    if (now - f->addrs_at >= FASTPATH_ADDR_TTL_S) {
        read_addrs(f);
        f->addrs_at = now;
    }
    *local = false;
    for (unsigned i = 0; i < f->naddrs; i++) {
        if (f->addr[i].ip == dst_ip) {
            *local = true; /* a phone on this host: delivered through the loopback */
            *ifindex = f->lo_index;
            rc = f->lo_index ? 0 : -1;
            break;
        }
        if (f->addr[i].ip == src_ip && f->addr[i].ifindex != 0) {
            *ifindex = f->addr[i].ifindex;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

unsigned fastpath_interfaces(const struct fastpath *f)
{
    return f != NULL ? f->nlinks : 0;
}

int fastpath_put(struct fastpath *f, uint16_t port, const struct fastpath_stream *s)
{
    uint32_t key = port;
    return bpf_map_update_elem(f->map_fd, &key, s, BPF_ANY) == 0 ? 0 : -1;
}

int fastpath_get(struct fastpath *f, uint16_t port, struct fastpath_stream *out)
{
    uint32_t key = port;
    return bpf_map_lookup_elem(f->map_fd, &key, out) == 0 ? 0 : -1;
}

void fastpath_del(struct fastpath *f, uint16_t port)
{
    uint32_t key = port;
    bpf_map_delete_elem(f->map_fd, &key);
}

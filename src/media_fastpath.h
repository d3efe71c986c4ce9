/* src/media_fastpath.h: the media fast path (issue 17, item 3, --media-fastpath): a tc ingress
 * program (media_fastpath.bpf.c, built into the binary) that relays the RTP of latched plain
 * streams inside the kernel, and the map through which sipring tells it which legs to carry
 * and reads what it carried. One per process, shared by the workers (the bpf() calls on the
 * map are thread-safe); its links to the interfaces end with the process, so a crash leaves no
 * program behind that would relay for a dead sipring.
 *
 * What the program does not take (strangers, RTCP, SRTP, IPv6, a packet that does not look like
 * RTP) reaches sipring's sockets as before: the io_uring relay stays the path for everything
 * and the fallback when BPF is not available. */
#ifndef SIPRING_SRC_MEDIA_FASTPATH_H
#define SIPRING_SRC_MEDIA_FASTPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media_fastpath_map.h"

struct fastpath;

/* fastpath_open: loads the program for the relay ports [port_min, port_max] and attaches it to
 * every interface that is up. NULL with the reason in err when BPF is not available here (no
 * privilege, an old kernel, no interface took it). */
struct fastpath *fastpath_open(uint16_t port_min, uint16_t port_max, char *err, size_t cap);
void fastpath_close(struct fastpath *f);

/* fastpath_interfaces: how many interfaces carry the program. */
unsigned fastpath_interfaces(const struct fastpath *f);

/* fastpath_route: where a packet from our address src_ip to dst_ip (both network order) is to
 * be redirected: *local when dst_ip is an address of this host (then *ifindex is the
 * loopback's), else the interface that holds src_ip. 0, or -1 when neither is known (the leg
 * stays on the io_uring path). */
int fastpath_route(struct fastpath *f, uint32_t src_ip, uint32_t dst_ip, uint32_t *ifindex,
                   bool *local);

/* fastpath_put: packets to relay port `port` from s->src go to s->dst from now on (the counters
 * in s start at zero). 0, or -1 (the map is full: that leg stays on the io_uring path). */
int fastpath_put(struct fastpath *f, uint16_t port, const struct fastpath_stream *s);
/* fastpath_get: the entry of port with its counters; 0, or -1 when it has none. */
int fastpath_get(struct fastpath *f, uint16_t port, struct fastpath_stream *out);
void fastpath_del(struct fastpath *f, uint16_t port);

#endif

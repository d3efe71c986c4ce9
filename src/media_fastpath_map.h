/* src/media_fastpath_map.h: what the media fast path's BPF program (media_fastpath.bpf.c) and
 * its loader (media_fastpath.c) share: one entry per latched leg, keyed by the relay port its
 * packets arrive at (host order). Addresses and ports in network order, as in the packet. */
#ifndef SIPRING_SRC_MEDIA_FASTPATH_MAP_H
#define SIPRING_SRC_MEDIA_FASTPATH_MAP_H

#include <linux/types.h>

#define FASTPATH_MAX_STREAMS 65536
#define FASTPATH_LOCAL 1

/* the relay's port range, the program's read-only data */
struct fastpath_ports {
    __u32 min, max;
};

struct fastpath_stream {
    __u32 src_ip; /* the leg's latched source: only its packets take the fast path */
    __u16 src_port;
    __u16 out_port; /* sipring's relay port facing the destination: the new source port */
    __u32 out_ip;   /* sipring's address facing the destination (its SDP address there) */
    __u32 dst_ip;   /* the other leg's latched address */
    __u16 dst_port;
    __u16 flags;   /* FASTPATH_LOCAL: dst is an address of this host */
    __u32 ifindex; /* where it goes out (or, local, comes in again) */
    __u32 pad;
    __u64 packets, bytes; /* relayed by the program (written there, read by sipring) */
    __u64 last_ns;        /* bpf_ktime_get_ns() of the last one: CLOCK_MONOTONIC */
};

#endif

/* src/media_fastpath.bpf.c: the kernel half of the media fast path (issue 17, item 3), a tc
 * ingress program in direct-action mode (attached with tcx, or as a classic cls_bpf filter).
 *
 * For each leg sipring has latched, userspace puts an entry in `streams`, keyed by the relay
 * port the leg's packets arrive at: the source they must come from (the latched address) and
 * where they go (the other leg's latched address, from sipring's port facing it). A packet to
 * such a port from exactly that source, that looks like RTP (version 2, not an RTCP type), has
 * its addresses, ports and checksums rewritten and is redirected: out of the interface the
 * route to the new destination takes (the neighbour's address filled in by the kernel), or on
 * up this host's stack when the destination is one of its addresses. Redirected
 * packets do not pass the host's netfilter hooks: NAT rules for media on the sipring host
 * itself need --media-fastpath off. Everything else (a stranger, RTCP, SRTP legs, IPv6, fragments, IP options)
 * goes on to the stack untouched, where the io_uring relay decides as it always did: RTP Bleed
 * protection stays the latching sipring does, and RTCP stays where the call records read it.
 *
 * Returns TC_ACT_UNSPEC for what is not its own, so other tc programs on the interface (another
 * sipring's, with its own ports) still see the packet. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "media_fastpath_map.h"

#ifndef AF_INET
#define AF_INET 2
#endif

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, FASTPATH_MAX_STREAMS);
    __type(key, __u32); /* the relay port, host order */
    __type(value, struct fastpath_stream);
} streams SEC(".maps");

/* the relay's port range: one comparison keeps every other UDP packet off the hash */
const volatile struct fastpath_ports ports = {0, 0};

#define IP_CSUM_OFF (ETH_HLEN + offsetof(struct iphdr, check))
#define UDP_CSUM_OFF (ETH_HLEN + sizeof(struct iphdr) + offsetof(struct udphdr, check))
#define IP_SRC_OFF (ETH_HLEN + offsetof(struct iphdr, saddr))
#define IP_DST_OFF (ETH_HLEN + offsetof(struct iphdr, daddr))
#define UDP_SRC_OFF (ETH_HLEN + sizeof(struct iphdr) + offsetof(struct udphdr, source))
#define UDP_DST_OFF (ETH_HLEN + sizeof(struct iphdr) + offsetof(struct udphdr, dest))

SEC("tc")
int sipring_relay(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct udphdr *udp = (void *)(ip + 1);
    __u8 *rtp = (void *)(udp + 1);
    if ((void *)(rtp + 2) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->version != 4 ||
        ip->ihl != 5 || ip->protocol != IPPROTO_UDP || (ip->frag_off & bpf_htons(0x3fff)) != 0) {
        return TC_ACT_UNSPEC;
    }
    __u32 port = bpf_ntohs(udp->dest);
    if (port < ports.min || port > ports.max) {
        return TC_ACT_UNSPEC;
    }
    struct fastpath_stream *s = bpf_map_lookup_elem(&streams, &port);
    if (s == NULL || s->src_ip != ip->saddr || s->src_port != udp->source) {
        return TC_ACT_UNSPEC; /* not latched here, or not the latched source: userspace's */
    }
    /* RTP only (RFC 3550 §5.1: version 2); RTCP (RFC 5761 §4: 192-223) goes up for the
     * quality the call records read */
    if ((rtp[0] & 0xc0) != 0x80 || (rtp[1] >= 192 && rtp[1] <= 223)) {
        return TC_ACT_UNSPEC;
    }
    __u32 len = skb->len - (ETH_HLEN + sizeof(struct iphdr) + sizeof(struct udphdr)); /* RTP */
    __u32 old_src = ip->saddr, old_dst = ip->daddr, new_src = s->out_ip, new_dst = s->dst_ip;
    __u16 old_sport = udp->source, old_dport = udp->dest;
    __u16 new_sport = s->out_port, new_dport = s->dst_port;
    /* the UDP checksum covers the pseudo-header's addresses; a zero one (none) stays zero */
    bpf_l4_csum_replace(skb, UDP_CSUM_OFF, old_src, new_src,
                        BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | sizeof(new_src));
    bpf_l4_csum_replace(skb, UDP_CSUM_OFF, old_dst, new_dst,
                        BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | sizeof(new_dst));
    bpf_l4_csum_replace(skb, UDP_CSUM_OFF, old_sport, new_sport,
                        BPF_F_MARK_MANGLED_0 | sizeof(new_sport));
    bpf_l4_csum_replace(skb, UDP_CSUM_OFF, old_dport, new_dport,
                        BPF_F_MARK_MANGLED_0 | sizeof(new_dport));
    bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_src, new_src, sizeof(new_src));
    bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_dst, new_dst, sizeof(new_dst));
    bpf_skb_store_bytes(skb, IP_SRC_OFF, &new_src, sizeof(new_src), 0);
    bpf_skb_store_bytes(skb, IP_DST_OFF, &new_dst, sizeof(new_dst), 0);
    bpf_skb_store_bytes(skb, UDP_SRC_OFF, &new_sport, sizeof(new_sport), 0);
    bpf_skb_store_bytes(skb, UDP_DST_OFF, &new_dport, sizeof(new_dport), 0);
    __sync_fetch_and_add(&s->packets, 1);
    __sync_fetch_and_add(&s->bytes, len);
    s->last_ns = bpf_ktime_get_ns();
    if (s->flags & FASTPATH_LOCAL) {
        /* a destination on this host (a phone here, the tests' loopback): on up the stack,
         * which delivers it to the socket it is now for (a redirect into the loopback's
         * ingress would lose the route and meet 127/8's martian check) */
        return TC_ACT_OK;
    }
    /* out of the interface the route names, the next hop's address from the neighbour table
     * (no FIB lookup here: that one is refused on hosts that do not forward) */
    return bpf_redirect_neigh(s->ifindex, NULL, 0, 0);
}

char LICENSE[] SEC("license") =
    "Dual MIT/GPL"; /* GPL-compatible: the kernel offers the FIB lookup then */

/* src/net.h: the socket side of sipring that is not the ring's: UDP listener sockets and
 * their options, the conversion between sip_peer and sockaddr, and the ICMP errors the kernel
 * queues on a UDP socket (IP_RECVERR). No state: every function works on what it is given. */
#ifndef SIPRING_SRC_NET_H
#define SIPRING_SRC_NET_H

#include <stddef.h>
#include <sys/socket.h>

#include "../sip/peer.h"
#include "options.h"

/* net_share_port: the options that let every worker bind the same listen address
 * (SO_REUSEADDR, SO_REUSEPORT; IPv6 only on an IPv6 socket). */
void net_share_port(int fd, int family);

/* net_udp_listener: one worker's socket on a UDP listen address: SO_REUSEPORT lets every worker
 * bind it (the kernel spreads datagrams over them by source address and port), a 4 MB receive
 * buffer, and ICMP errors for what is sent from it queued on it (IP_RECVERR), so that a next
 * hop with nothing listening fails its branches at once instead of after timer B. -1 on
 * failure (logged). */
int net_udp_listener(const struct listen_addr *l);

/* net_peer_of: a sockaddr_in or sockaddr_in6 as a sip_peer (transport UDP, no connection). */
void net_peer_of(const void *sockaddr, struct sip_peer *p);

/* net_sockaddr_of: a sip_peer as a sockaddr; returns its length. */
socklen_t net_sockaddr_of(const struct sip_peer *p, struct sockaddr_storage *ss);

/* net_read_icmp: reads the ICMP errors queued on UDP socket fd (at most 64; the rest wait for
 * the next error completion, and timer B still ends any branch missed). Each "port", "host" or
 * "network unreachable" names the destination of a datagram that failed: unreachable(ctx, to)
 * is called with it (UDP). Other errors (a path MTU) are read and dropped. Returns how many
 * peers were reported. The kernel matched each error to a datagram we sent (addresses and
 * ports); an attacker who forges one for a next hop it knows ends the branches waiting on that
 * hop now, as it could by forging a 503. */
size_t net_read_icmp(int fd, void (*unreachable)(void *ctx, const struct sip_peer *to), void *ctx);

#endif

/* sip/hep.h: HEP version 3 (the Homer Encapsulation Protocol, as Homer, sngrep and Kamailio's
 * siptrace speak it): a copy of one SIP message with where it went, for a capture server.
 * Encoding only, sans-I/O: src/ sends the datagram. A packet is "HEP3", its total length, then
 * chunks of (vendor 0, type, length including the 6-byte chunk head, value), all big-endian:
 * 1 IP family (2 = IPv4, 10 = IPv6), 2 IP protocol (17 UDP, 6 TCP; TLS is sent as its
 * plaintext over TCP), 3/4 or 5/6 source and destination address, 7/8 ports, 9/10 time in
 * seconds and microseconds, 11 protocol type (1 = SIP), 12 capture agent id, 15 the message. */
#ifndef SIPRING_SIP_HEP_H
#define SIPRING_SIP_HEP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "peer.h"

#define SIP_HEP_OVERHEAD 128 /* the chunks around the message, at most: 123 with IPv6 */

/* sip_hep_encode: the HEP3 packet for the message iov[0..n) (gathered, as the proxy sends it)
 * sent from src to dst at unix_us; its length, or -1 when cap is too small or the packet would
 * pass 65535 bytes. */
long sip_hep_encode(uint8_t *out, size_t cap, const struct sip_peer *src,
                    const struct sip_peer *dst, uint64_t unix_us, uint32_t capture_id,
                    const struct iovec *iov, size_t n);

#endif

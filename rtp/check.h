/* rtp/check.h: sanity checks of RTP and RTCP headers (RFC 3550 §5.1, §6.4; RFC 5761 §4 for
 * telling them apart on one port). Reads the packet only. */
#ifndef SIPRING_RTP_CHECK_H
#define SIPRING_RTP_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rtp_kind {
    RTP_KIND_BAD = 0, /* not RTP/RTCP: too short, wrong version, inconsistent lengths */
    RTP_KIND_RTP,
    RTP_KIND_RTCP,
};

/* rtp_check: what p[0..len) is. RTP needs version 2, at least 12 bytes plus its CSRC list,
 * extension and padding; RTCP needs version 2, packet type 192-223 (RFC 5761 §4: the second
 * byte of RTCP is 192-223, which RTP with marker bit can only reach with payload types 64-95,
 * which RFC 5761 reserves) and a first length that fits. */
enum rtp_kind rtp_check(const uint8_t *p, size_t len);

#endif

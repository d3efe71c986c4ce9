/* src/media.h: the media relay of one worker: implements sip/media.h with rtp/ streams and
 * RTP/RTCP sockets on the worker's ring.
 *
 * Ownership: a call's session and sockets belong to the worker that owns its Call-ID (the one
 * whose proxy saw its SDP). Each relay socket has a multishot recvmsg into the worker's small
 * buffer group (MEDIA_BUF_GROUP); a packet lives in that buffer from its completion until
 * media_on_recv() returns (it is copied into a send slot when relayed). Closing a socket cancels
 * its receive by user_data; the port goes to the back of the free queue. */
#ifndef SIPRING_SRC_MEDIA_H
#define SIPRING_SRC_MEDIA_H

#include <liburing.h>
#include <stdint.h>

#include "../sip/media.h"
#include "media_srtp.h"
#include "options.h"

struct worker;
struct media;

/* What the relay reads of the configuration (a part of the running snapshot). The port range
 * and the public address are read once, by media_new (the sockets and SDP addresses of calls
 * in progress depend on them): changing them needs a restart. */
struct media_cfg {
    uint16_t rtp_port_min, rtp_port_max; /* at start only */
    char public_address[48];             /* at start only; "": the inside address */
    uint32_t timeout_s;                  /* --media-timeout */
    uint32_t max_source_calls;           /* unanswered calls per outside source; 0: no cap */
    uint32_t max_callee_calls;           /* unanswered calls from outside per callee; 0: no cap */
    struct sip_cidr inside[16];          /* the side of a packet's source */
    size_t inside_count;
    struct media_srtp_cfg srtp; /* --srtp-outside and --srtp-suites, for calls set up from now */
};

struct media_stats {
    uint64_t sessions_opened, sessions_timed_out, relayed, dropped_stranger, dropped_bad,
        dropped_no_dest, port_exhausted;
    uint64_t srtp_streams;  /* streams whose outside leg sipring secures */
    uint64_t srtp_failed;   /* packets that failed SRTP checks (forged, replayed) or protection */
    uint64_t srtp_refused;  /* plain offers from the outside refused (--srtp-outside required) */
    uint64_t source_capped; /* new calls refused: their outside source had too many unanswered */
    uint64_t
        callee_capped; /* new calls refused: their callee had too many unanswered from outside */
    /* relayed, by direction: [0] from the inside out, [1] from the outside in */
    uint64_t packets_dir[2], bytes_dir[2];
    uint64_t fast_packets; /* of those, relayed by the kernel's fast path (media_fastpath.h) */
    uint64_t fast_streams; /* legs handed to the fast path */
};

/* media_new: the relay of worker w (worker `share` of `shares`), advertising inside_addr to the
 * inside and cfg->public_address (or inside_addr) to the outside. cfg is borrowed (it must
 * outlive the relay or the next media_set_cfg). NULL on failure (logged). */
struct fastpath;
/* fp: the kernel's fast path for latched plain RTP (shared by the workers), or NULL. */
struct media *media_new(struct worker *w, const struct media_cfg *cfg, unsigned share,
                        unsigned shares, const char *inside_addr, struct fastpath *fp);
void media_free(struct media *m);

/* media_set_cfg: the settings from now on (SIGHUP; borrowed likewise). Calls in progress keep
 * their SRTP state; the new SRTP settings apply to offers from now on. */
void media_set_cfg(struct media *m, const struct media_cfg *cfg);

/* media_iface: the interface to give the proxy (sip_proxy_set_media). */
struct sip_media *media_iface(struct media *m);

/* media_on_recv: a completion of a relay socket's receive; payload is the user_data payload. */
void media_on_recv(struct media *m, uint64_t payload, const struct io_uring_cqe *cqe);

/* media_end_turn: gives this turn's receive buffers back in one batch. */
void media_end_turn(struct media *m);

/* media_on_timer: closes sessions silent for longer than --media-timeout. */
void media_on_timer(struct media *m, uint64_t now_ms);

/* media_open_sessions: sessions holding ports now. */
size_t media_open_sessions(const struct media *m);
const struct media_stats *media_get_stats(const struct media *m);

#endif

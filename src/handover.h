/* src/handover.h: what one worker posts to another's ring (IORING_OP_MSG_RING): a message
 * the kernel delivered to the wrong worker for its Call-ID, bytes for a connection the other
 * worker holds, a peer found unreachable, a failed authentication, a control word (drain,
 * stop), a new configuration snapshot.
 *
 * Ownership: a struct handoff is malloc'd by the sender and freed by the receiver after
 * handling it (or by the sender, when the post fails and comes back as RING_OP_POST_FAILED).
 * Every post is counted in all->inflight until consumed, so that at shutdown nobody leaves
 * while a post to it is under way. */
#ifndef SIPRING_SRC_HANDOVER_H
#define SIPRING_SRC_HANDOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../sip/peer.h"
#include "ring.h"
#include "worker.h"

/* A message between workers: a received message to handle (from = its source), one to send
 * on a connection the target owns (from = the destination, name = its TLS name), or a peer
 * found unreachable (no data). */
struct handoff {
    struct sip_peer from;
    char name[64];
    uint32_t len;
    char data[];
};

/* handover_post: posts user_data `data` (ring_ud) to worker `to`'s ring, counted in flight. */
void handover_post(struct worker *w, unsigned to, uint64_t data);

/* handover_ctrl_all: posts control word c (RING_OP_CTRL) to every other worker. */
void handover_ctrl_all(struct worker *w, unsigned c);

/* handover_message: a copy of iov[0..n) with `from` and `name` (NULL: none), as operation op,
 * to worker `owner`. False when it must be dealt with here (stopping, or out of memory). */
bool handover_message(struct worker *w, enum ring_op op, unsigned owner,
                      const struct sip_peer *from, const char *name, const struct iovec *iov,
                      size_t n);

#endif

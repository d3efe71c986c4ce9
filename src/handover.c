/* src/handover.c: messages between workers over IORING_OP_MSG_RING; see handover.h. */
#include "handover.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* post: queues a MSG_RING carrying data to worker `to`. Every post is counted in inflight
 * until its target consumes it, so that nobody leaves while a post to it is under way. */
void handover_post(struct worker *w, unsigned to, uint64_t data)
{
    struct io_uring_sqe *sqe = worker_sqe(w);
    atomic_fetch_add(&w->all->inflight, 1);
    io_uring_prep_msg_ring(sqe, w->all->w[to].ring.ring_fd, 0, data, 0);
    io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_POST_FAILED, data));
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

void handover_ctrl_all(struct worker *w, unsigned c)
{
    for (unsigned i = 0; i < w->all->count; i++) {
        if (i != w->id) {
            handover_post(w, i, ring_ud(RING_OP_CTRL, c));
        }
    }
}

bool handover_message(struct worker *w, enum ring_op op, unsigned owner,
                      const struct sip_peer *from, const char *name, const struct iovec *iov,
                      size_t n)
{
    size_t plen = 0;
    for (size_t i = 0; i < n; i++) {
        plen += iov[i].iov_len;
    }
    struct handoff *h = malloc(sizeof(*h) + plen);
    if (h == NULL) {
        return false;
    }
    /* Count first, then look at stop: a worker that saw stop and inflight 0 is gone, and this
     * order guarantees we see its stop if our count came too late for it. */
    atomic_fetch_add(&w->all->inflight, 1);
    if (atomic_load(&w->all->stop)) {
        atomic_fetch_sub(&w->all->inflight, 1);
        free(h);
        return false;
    }
    h->from = *from;
    snprintf(h->name, sizeof(h->name), "%s", name ? name : "");
    h->len = (uint32_t)plen;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(h->data + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    struct io_uring_sqe *sqe = worker_sqe(w);
    io_uring_prep_msg_ring(sqe, w->all->w[owner].ring.ring_fd, 0, ring_ud(op, (uintptr_t)h), 0);
    io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_POST_FAILED, ring_ud(op, (uintptr_t)h)));
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    w->handed_out++;
    return true;
}

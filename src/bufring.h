/* src/bufring.h: a provided-buffer ring (io_uring buffer group) mapped by hand, since liburing
 * 2.3 has no io_uring_setup_buf_ring. Ownership: a buffer belongs to the kernel until a
 * completion names it; the completion's handler owns it until bufring_put(), and the puts of a
 * loop turn reach the kernel together with bufring_flush(). */
#ifndef SIPRING_SRC_BUFRING_H
#define SIPRING_SRC_BUFRING_H

#include <liburing.h>

struct bufring {
    struct io_uring_buf_ring *br;
    char *bufs;
    unsigned count; /* a power of two */
    unsigned size;
    unsigned pending; /* put since the last flush */
    unsigned short group;
};

/* bufring_setup: maps count buffers of size bytes and registers them as group on ring.
 * Returns 0, or a negative errno (nothing is left mapped). */
int bufring_setup(struct bufring *b, struct io_uring *ring, unsigned short group, unsigned count,
                  unsigned size);

/* bufring_buf: the memory of buffer bid. */
static inline char *bufring_buf(const struct bufring *b, unsigned bid)
{
    return b->bufs + (size_t)bid * b->size;
}

/* bufring_put: gives buffer bid back; it reaches the kernel at the next flush. */
void bufring_put(struct bufring *b, unsigned bid);

/* bufring_flush: publishes every buffer put since the last flush. */
void bufring_flush(struct bufring *b);

/* bufring_free: unmaps the buffers (after the ring is gone). */
void bufring_free(struct bufring *b);

#endif

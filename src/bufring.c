/* src/bufring.c: see bufring.h. */
#include "bufring.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

int bufring_setup(struct bufring *b, struct io_uring *ring, unsigned short group, unsigned count,
                  unsigned size)
{
    memset(b, 0, sizeof(*b));
    size_t ring_bytes = count * sizeof(struct io_uring_buf);
    void *mem = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    void *bufs = mmap(NULL, (size_t)count * size, PROT_READ | PROT_WRITE,
                      MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    int rc = (mem == MAP_FAILED || bufs == MAP_FAILED) ? -errno : 0;
    if (rc == 0) {
        b->br = mem;
        b->bufs = bufs;
        b->count = count;
        b->size = size;
        b->group = group;
        io_uring_buf_ring_init(b->br);
        struct io_uring_buf_reg reg = {
            .ring_addr = (unsigned long)b->br, .ring_entries = count, .bgid = group};
        rc = io_uring_register_buf_ring(ring, &reg, 0);
    }
    if (rc != 0) {
        if (mem != MAP_FAILED) {
            munmap(mem, ring_bytes);
        }
        if (bufs != MAP_FAILED) {
            munmap(bufs, (size_t)count * size);
        }
        memset(b, 0, sizeof(*b));
        return rc;
    }
    for (unsigned i = 0; i < count; i++) {
        bufring_put(b, i);
    }
    bufring_flush(b);
    return 0;
}

void bufring_put(struct bufring *b, unsigned bid)
{
    io_uring_buf_ring_add(b->br, bufring_buf(b, bid), b->size, (unsigned short)bid,
                          io_uring_buf_ring_mask(b->count), (int)b->pending);
    b->pending++;
}

void bufring_flush(struct bufring *b)
{
    if (b->pending > 0) {
        io_uring_buf_ring_advance(b->br, (int)b->pending);
        b->pending = 0;
    }
}

void bufring_free(struct bufring *b)
{
    if (b->bufs != NULL) {
        munmap(b->bufs, (size_t)b->count * b->size);
        munmap(b->br, b->count * sizeof(struct io_uring_buf));
    }
    memset(b, 0, sizeof(*b));
}

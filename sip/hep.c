/* sip/hep.c: see hep.h. */
#include "hep.h"

#include <string.h>

struct w {
    uint8_t *p;
    size_t n;
};

static void be16(struct w *w, uint16_t v)
{
    w->p[w->n++] = (uint8_t)(v >> 8);
    w->p[w->n++] = (uint8_t)v;
}

static void chunk(struct w *w, uint16_t type, const void *v, size_t len)
{
    be16(w, 0); /* vendor: generic */
    be16(w, type);
    be16(w, (uint16_t)(6 + len));
    memcpy(w->p + w->n, v, len);
    w->n += len;
}

static void chunk8(struct w *w, uint16_t type, uint8_t v)
{
    chunk(w, type, &v, 1);
}

static void chunk16(struct w *w, uint16_t type, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    chunk(w, type, b, 2);
}

static void chunk32(struct w *w, uint16_t type, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    chunk(w, type, b, 4);
}

long sip_hep_encode(uint8_t *out, size_t cap, const struct sip_peer *src,
                    const struct sip_peer *dst, uint64_t unix_us, uint32_t capture_id,
                    const struct iovec *iov, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        len += iov[i].iov_len;
    }
    size_t total = SIP_HEP_OVERHEAD + len;
    if (total > cap || total > 65535 || src->family != dst->family) {
        return -1;
    }
    bool v6 = src->family == 6;
    struct w w = {out, 0};
    memcpy(out, "HEP3", 4);
    w.n = 6; /* the length goes here at the end */
    chunk8(&w, 1, v6 ? 10 : 2);
    chunk8(&w, 2, src->transport == SIP_TP_UDP ? 17 : 6);
    chunk(&w, v6 ? 5 : 3, src->ip, v6 ? 16 : 4);
    chunk(&w, v6 ? 6 : 4, dst->ip, v6 ? 16 : 4);
    chunk16(&w, 7, src->port);
    chunk16(&w, 8, dst->port);
    chunk32(&w, 9, (uint32_t)(unix_us / 1000000u));
    chunk32(&w, 10, (uint32_t)(unix_us % 1000000u));
    chunk8(&w, 11, 1);
    chunk32(&w, 12, capture_id);
    be16(&w, 0); /* the message: gathered straight from the iovec */
    be16(&w, 15);
    be16(&w, (uint16_t)(6 + len));
    for (size_t i = 0; i < n; i++) {
        memcpy(out + w.n, iov[i].iov_base, iov[i].iov_len);
        w.n += iov[i].iov_len;
    }
    out[4] = (uint8_t)(w.n >> 8);
    out[5] = (uint8_t)w.n;
    return (long)w.n;
}

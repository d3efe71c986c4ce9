/* sip/build.c: iovec layout of an edited message. */
#include "build.h"

#include <stdarg.h>
#include <stdio.h>

void sip_build_init(struct sip_build *b, const struct sip_msg *m, struct iovec *iov, size_t iov_cap,
                    char *scratch, size_t scratch_cap)
{
    memset(b, 0, sizeof(*b));
    b->m = m;
    b->iov = iov;
    b->iov_cap = iov_cap;
    b->scratch = scratch;
    b->scratch_cap = scratch_cap;
}

struct sip_str sip_build_fmt(struct sip_build *b, const char *fmt, ...)
{
    size_t room = b->scratch_cap - b->scratch_used;
    char *out = b->scratch + b->scratch_used;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room) {
        b->err = true;
        return sip_str_make(out, 0);
    }
    b->scratch_used += (size_t)n;
    return sip_str_make(out, (size_t)n);
}

void sip_build_prepend(struct sip_build *b, struct sip_str line)
{
    if (b->top_n >= SIP_BUILD_MAX_EDITS) {
        b->err = true;
        return;
    }
    b->top[b->top_n++] = line;
}

void sip_build_append(struct sip_build *b, struct sip_str line)
{
    if (b->tail_n >= SIP_BUILD_MAX_EDITS) {
        b->err = true;
        return;
    }
    b->tail[b->tail_n++] = line;
}

void sip_build_remove(struct sip_build *b, const struct sip_hdr *h)
{
    if (b->removed_n >= SIP_BUILD_MAX_EDITS) {
        b->err = true;
        return;
    }
    b->removed[b->removed_n++] = (uint16_t)(h - b->m->hdr);
}

void sip_build_replace(struct sip_build *b, const struct sip_hdr *h, struct sip_str line)
{
    if (b->repl_n >= SIP_BUILD_MAX_EDITS) {
        b->err = true;
        return;
    }
    b->repl_idx[b->repl_n] = (uint16_t)(h - b->m->hdr);
    b->repl_line[b->repl_n++] = line;
}

void sip_build_pop_via(struct sip_build *b)
{
    const struct sip_hdr *h = sip_msg_first(b->m, SIP_HDR_VIA);
    if (h != NULL) {
        sip_build_remove(b, h);
    }
}

void sip_build_start_line(struct sip_build *b, struct sip_str line)
{
    b->start_line = line;
}

void sip_build_body(struct sip_build *b, struct sip_str body)
{
    b->body_set = true;
    b->body = body;
}

static void emit(struct sip_build *b, const void *p, size_t len)
{
    if (len == 0) {
        return;
    }
    if (b->iov_n >= b->iov_cap) {
        b->err = true;
        return;
    }
    /* Adjacent slices of the same buffer merge into one iovec. */
    if (b->iov_n > 0) {
        struct iovec *last = &b->iov[b->iov_n - 1];
        if ((const char *)last->iov_base + last->iov_len == (const char *)p) {
            last->iov_len += len;
            return;
        }
    }
    b->iov[b->iov_n++] = (struct iovec){(void *)p, len};
}

static void emit_str(struct sip_build *b, struct sip_str s)
{
    emit(b, s.p, s.len);
}

/* What happens to element i: -1 removed, 0 kept, k>0 replaced by repl_line[k-1]. */
static int fate(const struct sip_build *b, uint16_t i)
{
    const struct sip_msg *m = b->m;
    for (uint8_t k = 0; k < b->removed_n; k++) {
        if (b->removed[k] == i) {
            return -1;
        }
    }
    for (uint8_t k = 0; k < b->repl_n; k++) {
        if (b->repl_idx[k] == i) {
            return k + 1;
        }
    }
    if (b->body_set && m->hdr[i].type == SIP_HDR_CONTENT_LENGTH) {
        return -1;
    }
    return 0;
}

/* Emits the header line holding elements first..end-1, applying their fates. */
static void emit_line(struct sip_build *b, uint16_t first, uint16_t end)
{
    const struct sip_msg *m = b->m;
    bool touched = false;
    for (uint16_t i = first; i < end; i++) {
        touched |= fate(b, i) != 0;
    }
    if (!touched) {
        emit_str(b, m->hdr[first].line);
        return;
    }
    bool any_kept = false;
    for (uint16_t i = first; i < end; i++) {
        int f = fate(b, i);
        if (f > 0) {
            emit_str(b, b->repl_line[f - 1]);
        } else if (f == 0) {
            /* Survivors of a touched list line are re-joined on one line of their own. */
            if (!any_kept) {
                emit_str(b, m->hdr[i].name);
                emit(b, ": ", 2);
            } else {
                emit(b, ", ", 2);
            }
            emit_str(b, m->hdr[i].value);
            any_kept = true;
        }
    }
    if (any_kept) {
        emit(b, "\r\n", 2);
    }
}

long sip_build_finish(struct sip_build *b)
{
    const struct sip_msg *m = b->m;
    /* Start line with its line end: everything before the first header line. */
    const char *hdr_start = m->hdr_count > 0 ? m->hdr[0].line.p : m->head.p + m->head.len - 2;
    if (sip_str_is_set(b->start_line)) {
        emit_str(b, b->start_line);
    } else {
        emit(b, m->buf, (size_t)(hdr_start - m->buf));
    }
    for (int k = b->top_n - 1; k >= 0; k--) {
        emit_str(b, b->top[k]);
    }
    for (uint16_t i = 0; i < m->hdr_count;) {
        uint16_t end = i + 1;
        while (end < m->hdr_count && m->hdr[end].line_first == i) {
            end++;
        }
        emit_line(b, i, end);
        i = end;
    }
    for (uint8_t k = 0; k < b->tail_n; k++) {
        emit_str(b, b->tail[k]);
    }
    struct sip_str body = m->body;
    if (b->body_set) {
        body = b->body;
        emit_str(b, sip_build_fmt(b, "Content-Length: %zu\r\n", body.len));
    }
    emit(b, "\r\n", 2);
    emit_str(b, body);
    if (b->err) {
        return -1;
    }
    long total = 0;
    for (size_t k = 0; k < b->iov_n; k++) {
        total += (long)b->iov[k].iov_len;
    }
    return total;
}

long sip_build_flatten(const struct iovec *iov, size_t n, char *out, size_t cap)
{
    size_t used = 0;
    for (size_t k = 0; k < n; k++) {
        if (iov[k].iov_len > cap - used) {
            return -1;
        }
        memcpy(out + used, iov[k].iov_base, iov[k].iov_len);
        used += iov[k].iov_len;
    }
    return (long)used;
}

/* src/textbuf.h: bounded text output for the pages the HTTP listener serves (metrics.c,
 * status.c): appends with printf formats into a caller's buffer and remembers when one did not
 * fit, so that a page too big is refused whole instead of cut. */
#ifndef SIPRING_SRC_TEXTBUF_H
#define SIPRING_SRC_TEXTBUF_H

#include <stdbool.h>
#include <stddef.h>

struct textbuf {
    char *p;
    size_t cap, n;
    bool full; /* something did not fit: the text is incomplete */
};

/* textbuf_put: appends the formatted text, or marks the buffer full. */
void textbuf_put(struct textbuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* textbuf_json_str: s as a JSON string (RFC 8259 §7): quote, backslash and control characters
 * escaped; bytes above 0x7f pass as they are (SIP text is ASCII, RFC 3261 §25; anything else
 * is what a peer wrote). */
void textbuf_json_str(struct textbuf *t, const char *s);

/* textbuf_len: the text's length, or 0 when it did not fit. */
size_t textbuf_len(const struct textbuf *t);

#endif

/* src/textbuf.c: see textbuf.h. */
#include "textbuf.h"

#include <stdarg.h>
#include <stdio.h>

void textbuf_put(struct textbuf *t, const char *fmt, ...)
{
    if (t->full) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(t->p + t->n, t->cap - t->n, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= t->cap - t->n) {
        t->full = true;
        return;
    }
    t->n += (size_t)w;
}

size_t textbuf_len(const struct textbuf *t)
{
    return t->full ? 0 : t->n;
}

void textbuf_json_str(struct textbuf *t, const char *s)
{
    textbuf_put(t, "\"");
    for (const unsigned char *c = (const unsigned char *)s; *c && !t->full; c++) {
        if (*c == '"' || *c == '\\') {
            textbuf_put(t, "\\%c", *c);
        } else if (*c < 0x20 || *c == 0x7f) {
            textbuf_put(t, "\\u%04x", *c);
        } else {
            textbuf_put(t, "%c", *c);
        }
    }
    textbuf_put(t, "\"");
}

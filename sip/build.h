/* sip/build.h: building an outgoing message as an iovec list from a parsed one plus edits
 * (RFC 3261 §16.6: add Via, Record-Route, decrement Max-Forwards, rewrite Contact/SDP).
 *
 * Untouched bytes are referenced, not copied: the iovecs point into the parsed message's buffer,
 * into the caller's scratch buffer (new header lines, numbers) and into slices the caller passed
 * (which must stay valid until the iovecs have been sent or copied).
 *
 * Usage: sip_build_init(); any number of edits; sip_build_finish() once. Every edit records what
 * to do; finish lays the iovecs out in message order. An edit that does not fit the fixed edit
 * lists or the scratch buffer makes finish fail with -1 (b->err is set), never truncates. */
#ifndef SIPRING_SIP_BUILD_H
#define SIPRING_SIP_BUILD_H

#include <sys/uio.h>

#include "msg.h"

#define SIP_BUILD_MAX_EDITS 16

struct sip_build {
    const struct sip_msg *m;
    struct iovec *iov;
    size_t iov_cap;
    size_t iov_n;
    char *scratch;
    size_t scratch_cap;
    size_t scratch_used;
    struct sip_str top[SIP_BUILD_MAX_EDITS]; /* new lines before the first header */
    struct sip_str tail[SIP_BUILD_MAX_EDITS];
    uint16_t removed[SIP_BUILD_MAX_EDITS];
    uint16_t repl_idx[SIP_BUILD_MAX_EDITS];
    struct sip_str repl_line[SIP_BUILD_MAX_EDITS];
    uint8_t top_n, tail_n, removed_n, repl_n;
    bool body_set;
    bool err;
    struct sip_str start_line; /* replacement start line with CRLF, or unset */
    struct sip_str body;
};

/* sip_build_init: starts building from m into iov[0..iov_cap) with scratch[0..scratch_cap). */
void sip_build_init(struct sip_build *b, const struct sip_msg *m, struct iovec *iov, size_t iov_cap,
                    char *scratch, size_t scratch_cap);

/* sip_build_fmt: printf into the scratch buffer; returns the slice (empty and b->err on
 * overflow). Used to make header lines: sip_build_fmt(b, "Via: %s\r\n", ...). */
struct sip_str sip_build_fmt(struct sip_build *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* sip_build_prepend: inserts a complete header line (with CRLF) before all headers; lines
 * prepended later come first, so a new Via or Record-Route lands above the existing ones. */
void sip_build_prepend(struct sip_build *b, struct sip_str line);

/* sip_build_append: adds a complete header line after the last header. */
void sip_build_append(struct sip_build *b, struct sip_str line);

/* sip_build_remove: removes one header element (a list element alone, keeping its siblings). */
void sip_build_remove(struct sip_build *b, const struct sip_hdr *h);

/* sip_build_replace: replaces one header element by a complete header line. */
void sip_build_replace(struct sip_build *b, const struct sip_hdr *h, struct sip_str line);

/* sip_build_pop_via: removes the top Via element (a response on its way back, §16.7 step 3). */
void sip_build_pop_via(struct sip_build *b);

/* sip_build_start_line: replaces the start line; `line` includes its CRLF. */
void sip_build_start_line(struct sip_build *b, struct sip_str line);

/* sip_build_body: replaces the body; Content-Length is rewritten to match. */
void sip_build_body(struct sip_build *b, struct sip_str body);

/* sip_build_finish: lays out the iovecs. Returns the total byte length, or -1 if an edit did
 * not fit (b->err) or iov_cap is too small. b->iov_n holds the number of iovecs. */
long sip_build_finish(struct sip_build *b);

/* sip_build_flatten: copies iov[0..n) into out[0..cap); returns the length or -1 if too small. */
long sip_build_flatten(const struct iovec *iov, size_t n, char *out, size_t cap);

#endif

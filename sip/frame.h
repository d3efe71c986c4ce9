/* sip/frame.h: cutting a byte stream (TCP, TLS) into SIP messages, RFC 3261 §18.3.
 *
 * A stream carries messages back to back, each ending Content-Length bytes after its blank
 * line, and CRLF keepalives between them (RFC 5626 §3.5.1: a double CRLF "ping" is answered
 * with a single CRLF "pong"). The framer only finds boundaries: it looks at the header block
 * for Content-Length and nothing else, so the full parse happens once, on the whole message. */
#ifndef SIPRING_SIP_FRAME_H
#define SIPRING_SIP_FRAME_H

#include <stddef.h>

enum sip_frame_kind {
    SIP_FRAME_AGAIN = 0, /* no whole message yet: read more */
    SIP_FRAME_MESSAGE,   /* buf[skip .. skip+len) is one message */
    SIP_FRAME_PING,      /* a double CRLF: answer "\r\n"; skip bytes consumed */
    SIP_FRAME_BAD,       /* no Content-Length, a bad one, or over max: the stream cannot be
                            resynchronised and must be closed */
};

struct sip_frame {
    enum sip_frame_kind kind;
    size_t skip; /* keepalive CRLFs before the message (or the ping's length) */
    size_t len;  /* the message, from its first byte to the end of its body */
};

/* sip_frame_next: the next frame in buf[0..n); messages longer than max are BAD. */
struct sip_frame sip_frame_next(const char *buf, size_t n, size_t max);

#endif

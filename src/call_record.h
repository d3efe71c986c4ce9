/* src/call_record.h: how a call is written for people and programs (issue 15): one log line
 * per ended call, and one JSON object per call for --call-log (a line each) and /calls (a page
 * of them). Times in a record are monotonic ms; `clock` turns them into wall-clock time. No
 * I/O: the caller writes what these return. */
#ifndef SIPRING_SRC_CALL_RECORD_H
#define SIPRING_SRC_CALL_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "../sip/calls.h"
#include "textbuf.h"

/* A monotonic instant and the wall-clock time (Unix ms) at it, taken together. */
struct call_clock {
    uint64_t mono_ms, unix_ms;
};

/* call_record_json: rec as one JSON object (no line end) appended to o. A call still running
 * (state before SIP_CALL_ENDED) is described as of clock.mono_ms. */
void call_record_json(struct textbuf *o, const struct sip_call_record *rec,
                      const struct call_clock *clock);

/* call_record_line: the log line of an ended call into out (cap bytes, NUL-terminated,
 * truncated if need be). */
void call_record_line(char *out, size_t cap, const struct sip_call_record *rec);

#endif

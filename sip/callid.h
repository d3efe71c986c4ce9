/* sip/callid.h: finds a raw message's Call-ID without a full parse, to choose the worker that
 * owns the message before anything else is done with it. Reads buf only; keeps nothing. */
#ifndef SIPRING_SIP_CALLID_H
#define SIPRING_SIP_CALLID_H

#include <stddef.h>
#include <stdint.h>

/* sip_callid_hash: a 32-bit hash (FNV-1a) of the value of the first Call-ID header ("Call-ID"
 * or the compact "i", any case) in the header section of buf, with surrounding whitespace left
 * out, so that a request, its retransmissions, its responses, CANCEL and ACK hash alike. The
 * value is compared byte for byte, as RFC 3261 §20.8 compares Call-IDs. Returns 0 when there is
 * no Call-ID (such a message is malformed and may be handled anywhere). */
uint32_t sip_callid_hash(const char *buf, size_t len);

#endif

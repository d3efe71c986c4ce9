/* sip/decode.h: decoders for single header elements, used by the message parser and by code that
 * decodes a header value it holds outside a message (e.g. a stored Path). */
#ifndef SIPRING_SIP_DECODE_H
#define SIPRING_SIP_DECODE_H

#include "msg.h"

/* sip_via_decode: one via-parm element (RFC 3261 §20.42):
 *   via-parm = sent-protocol LWS sent-by *( SEMI via-params )
 * Returns 0, or -1 if malformed. */
int sip_via_decode(struct sip_str value, struct sip_via *v);

/* sip_addr_decode: ( name-addr / addr-spec ) *( SEMI generic-param ), as in From, To, Contact,
 * Route, Record-Route and Path; a lone "*" only if allow_star (Contact). Returns 0 or -1. */
int sip_addr_decode(struct sip_str value, struct sip_addr *a, bool allow_star);

/* sip_list_split: splits a header value at top-level commas (outside quotes and <>),
 * calling each element trimmed. Returns 0, or the first non-zero return of fn. */
typedef int (*sip_list_fn)(void *ctx, struct sip_str element);
int sip_list_split(struct sip_str value, sip_list_fn fn, void *ctx);

#endif

/* sip/locate.h: RFC 3263 server location as a state machine, sans-I/O: NAPTR (RFC 3403), then
 * SRV (RFC 2782), then A and AAAA, with the records cached for their TTL, failures (NXDOMAIN, no
 * records, no answer) for SIP_LOCATE_NEGATIVE_S, and a hosts table (/etc/hosts' text, read by
 * src/) consulted before DNS for addresses.
 *
 * src/ drives it: sip_locate_find answers from what is known, or records what must be asked;
 * sip_locate_next_question hands out each question to send (src/ builds it with sip_dns_query
 * under a random id and calls sip_locate_sent); sip_locate_on_answer takes a parsed answer, and
 * sip_locate_on_timer retries (three tries a second apart) and gives up. Both say when a
 * lookup completed, so that src/ re-runs the parked requests (sip_proxy_on_resolved). Time is
 * passed in; randomness (SRV weights) comes from the caller's seed.
 *
 * Ownership: the locator copies every name and record it keeps; out arrays are the caller's. */
#ifndef SIPRING_SIP_LOCATE_H
#define SIPRING_SIP_LOCATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns.h"
#include "peer.h"
#include "resolve.h"

#define SIP_LOCATE_NEGATIVE_S 30 /* how long a failure is remembered */
#define SIP_LOCATE_TRY_MS 1000
#define SIP_LOCATE_TRIES 3

struct sip_locate;

/* sip_locate_new: an empty locator; seed drives the SRV weight draws. NULL if out of memory. */
struct sip_locate *sip_locate_new(uint32_t seed);
void sip_locate_free(struct sip_locate *l);

/* sip_locate_add_hosts: reads hosts-file text ("IP name [name...]", '#' comments); returns the
 * number of names taken (the table holds 256). */
size_t sip_locate_add_hosts(struct sip_locate *l, const char *text, size_t len);

/* sip_locate_set_asking: whether there is a nameserver to ask; without one every name that is
 * not an address nor in the hosts table has no server. */
void sip_locate_set_asking(struct sip_locate *l, bool asking);

/* sip_locate_find: as sip_resolver_ops.locate: the servers of `host` (transport -1 or the one
 * the URI names, port 0 or the URI's) into out[0..max), 0 when not known yet (the questions it
 * needs are queued), -1 when it has no SIP server or too many lookups are under way. */
int sip_locate_find(struct sip_locate *l, const char *host, int transport, uint16_t port,
                    struct sip_peer *out, size_t max, uint64_t now_ms);

/* A question to send: the caller builds it with sip_dns_query(name, type) under an id of its
 * choosing and reports that id with sip_locate_sent. */
struct sip_locate_question {
    unsigned slot;
    uint16_t type;
    const char *name; /* valid until the next call into the locator */
};

/* sip_locate_next_question: the next question due now (new, or a retry), or false. */
bool sip_locate_next_question(struct sip_locate *l, uint64_t now_ms, struct sip_locate_question *q);
/* sip_locate_sent: question `slot` went out under `id`. */
void sip_locate_sent(struct sip_locate *l, unsigned slot, uint16_t id, uint64_t now_ms);

/* sip_locate_on_answer: an answer from the nameserver (any id: one matching no question is
 * ignored). Returns true when a lookup completed. */
bool sip_locate_on_answer(struct sip_locate *l, const struct sip_dns_answer *a, uint64_t now_ms);

/* What a timer turn gave up on, for one log line each (bounded by the questions in flight). */
struct sip_locate_gave_up {
    char name[SIP_DNS_NAME_MAX];
    uint16_t type;
};

/* sip_locate_on_timer: questions unanswered for SIP_LOCATE_TRIES tries fail (remembered as no
 * records); their names go to gave_up[0..max) (*n of them). Returns true when a lookup
 * completed. Retries due are handed out by sip_locate_next_question. */
bool sip_locate_on_timer(struct sip_locate *l, uint64_t now_ms, struct sip_locate_gave_up *gave_up,
                         size_t max, size_t *n);

/* sip_locate_next_deadline: when sip_locate_on_timer has work (UINT64_MAX: never). */
uint64_t sip_locate_next_deadline(const struct sip_locate *l);

/* sip_locate_failed_name: the last lookup that found no SIP server since the previous call,
 * into out (for one log line); false when there was none. */
bool sip_locate_failed_name(struct sip_locate *l, char *out, size_t cap);

#endif

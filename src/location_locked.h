/* src/location_locked.h: makes a location store safe to share between worker threads by
 * wrapping its operations in a reader-writer lock. Lookups (one per request to a served
 * domain) share the lock; registrations and expiry take it alone. The wrapper does not own the
 * inner store. */
#ifndef SIPRING_SRC_LOCATION_LOCKED_H
#define SIPRING_SRC_LOCATION_LOCKED_H

#include "../sip/location.h"

/* location_locked_new: a store that forwards to inner under a lock; NULL if out of memory.
 * location_locked_free releases the wrapper only. */
struct sip_location *location_locked_new(struct sip_location *inner);
void location_locked_free(struct sip_location *loc);

#endif

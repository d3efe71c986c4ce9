/* src/state.h: registrations and NAT bindings that survive a restart (issue 15). The in-memory
 * location store stays what every request reads; this module keeps an SQLite copy of it under
 * --state-dir, written behind it by one writer thread: a save or remove appends the change to a
 * journal (a copy, under a mutex held for the append only), and the writer takes the journal
 * every STATE_FLUSH_MS and writes it in one transaction. No REGISTER waits for a disk; a kill -9
 * loses at most the changes of the last STATE_FLUSH_MS plus one write (about 0.2 s), a power
 * loss the WAL's unsynced tail (synchronous=NORMAL).
 *
 * Why SQLite (WAL mode): Debian ships a static archive, an admin can read the store with the
 * sqlite3 shell while sipring runs (WAL readers do not block the writer), and a corrupt file is
 * detected and named at start. LMDB would be faster, but has no static archive in Debian and no
 * shell, and the store is written a few hundred times per second at most.
 *
 * What is kept: every binding of the location store (registrations, "masq:" Contact tokens
 * with their flow), with its expiry in Unix milliseconds (the store's clock is monotonic and
 * starts again at a reboot). A binding over TCP or TLS comes back with its flow failed: its
 * connection died with the process (RFC 5626 §5.3: the UA must register a new one). */
#ifndef SIPRING_SRC_STATE_H
#define SIPRING_SRC_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../sip/location.h"

#define STATE_FLUSH_MS 100

struct state_store;

/* state_open: opens (creating it and dir when missing) dir/state.db and checks it. A file that
 * is not a readable store is an error (NULL, reason in err), or, with recover, moved aside to
 * state.db.corrupt and replaced by an empty store (a warning is logged). */
struct state_store *state_open(const char *dir, bool recover, char *err, size_t cap);

/* state_load: every unexpired binding into inner (not journaled); expired rows are deleted.
 * mono_now and wall_now are the two clocks now, in ms. Returns the count loaded, or -1 (err). */
long state_load(struct state_store *s, struct sip_location *inner, uint64_t mono_now,
                uint64_t wall_now, char *err, size_t cap);

/* state_wrap: a location store that forwards to inner and journals every save and remove into
 * s. The caller serializes calls to it (location_locked goes around it). */
struct sip_location *state_wrap(struct state_store *s, struct sip_location *inner);

/* state_start: starts the writer thread. 0, or -1. */
int state_start(struct state_store *s);

/* state_close: writes what is left, stops the writer and closes the file; frees s and the
 * wrapper. */
void state_close(struct state_store *s);

/* state_stats: changes written, and changes that could not be (the journal was full or a
 * write failed; they are in memory only, and the next change of the binding writes it). */
void state_stats(struct state_store *s, uint64_t *written, uint64_t *lost);

#endif

/* src/secret.h: the process's secret: read from --secret-file (created with 32 random bytes
 * and mode 0600 when missing, so that restarts and instances sharing the file agree) or drawn
 * at random for this process; and the keys derived from it, one per use, so that no MAC made
 * for one purpose verifies for another. */
#ifndef SIPRING_SRC_SECRET_H
#define SIPRING_SRC_SECRET_H

#include <stdint.h>

#include "../sip/proxy.h"

struct tls_hmac_key;
struct secret {
    uint8_t mac_key[32];      /* Record-Route proofs, branches, Contact tokens (sip_mac) */
    uint8_t nonce_key[32];    /* digest nonces (src/auth.c) */
    struct tls_hmac_key *mac; /* mac_key, ready to sign with (secret_load makes it) */
};

/* secret_load: from path (or random when path is "" or NULL) into *s. 0, or -1 after one log
 * line saying why (unreadable, wrong size, or a file others may read). */
int secret_load(const char *path, struct secret *s);

/* secret_mac: the sip_mac over s->mac_key (borrowed: s must outlive the proxies). */
struct sip_mac secret_mac(const struct secret *s);

#endif

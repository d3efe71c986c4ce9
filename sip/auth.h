/* sip/auth.h: HTTP digest authentication for SIP (RFC 3261 §22, RFC 7616, RFC 8760): reading
 * the credentials of an Authorization or Proxy-Authorization header, and the interface through
 * which the proxy has them checked. The hashing, the users and the nonces live behind the
 * interface in src/ (BoringSSL): sip/ stays free of crypto. */
#ifndef SIPRING_SIP_AUTH_H
#define SIPRING_SIP_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "peer.h"

/* The parameters of one Digest credential; slices into the message, quotes removed. */
struct sip_digest {
    struct sip_str username, realm, nonce, uri, response, algorithm, cnonce, opaque, qop, nc;
};

/* sip_digest_parse: "Digest name=value, ..." into out. Returns 0, or -1 if the scheme is not
 * Digest or a parameter is malformed. Unknown parameters are skipped. */
int sip_digest_parse(struct sip_str value, struct sip_digest *out);

enum sip_auth_result {
    SIP_AUTH_OK = 0,       /* verified */
    SIP_AUTH_CHALLENGE,    /* no credentials for the realm, or a stale nonce: challenge */
    SIP_AUTH_FAILED,       /* wrong credentials, unknown user, replayed nc: challenge, and count */
    SIP_AUTH_FORBIDDEN,    /* valid credentials, but not for this AOR (REGISTER): 403, and count */
    SIP_AUTH_LOCKED,       /* the account is in a back-off after failures: 403 */
    SIP_AUTH_LOCKED_WRONG, /* the same answer (403), and wrong credentials: count the source */
};

struct sip_auth_ops {
    /* check: the credentials in m's Authorization (proxy_auth false) or Proxy-Authorization
     * headers for realm. For CHALLENGE and FAILED, out gets the WWW-Authenticate (or
     * Proxy-Authenticate) lines to send, CRLF-terminated, one per algorithm. */
    enum sip_auth_result (*check)(void *self, const struct sip_msg *m, bool proxy_auth,
                                  const char *realm, uint64_t now_ms, char *out, size_t cap);
};

struct sip_auth {
    const struct sip_auth_ops *ops;
    void *self;
};

/* The client side: sipring's own credentials for its upstream (trunk mode), answering the
 * challenges the upstream sends for requests sipring forwards or originates there. */
struct sip_credentials_ops {
    /* answer: the value of an Authorization (or Proxy-Authorization) header answering the
     * challenge ch (a parsed WWW-Authenticate or Proxy-Authenticate value) for a request with
     * method and Request-URI uri: "Digest username=...". Returns its length, or -1 when the
     * algorithm (MD5 and SHA-256 only) or qop (auth, or none) is not supported or cap is too
     * small. */
    long (*answer)(void *self, const struct sip_digest *ch, struct sip_str method,
                   struct sip_str uri, char *out, size_t cap);
};

struct sip_credentials {
    const struct sip_credentials_ops *ops;
    void *self;
};

#endif

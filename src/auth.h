/* src/auth.h: digest authentication behind sip/auth.h: the users file (--users,
 * "user:realm:HA1[:AOR,...]" lines, an MD5 HA1 of 32 hex digits or a SHA-256 one of 64, both
 * allowed for one user; the AORs the account may register, name@realm when none are listed),
 * nonces (the time they were made, the worker that made them and an HMAC of both and the realm
 * under the process key: no state until they come back; valid AUTH_NONCE_S seconds, then
 * "stale"), qop=auth with nc replay refused, and the challenges (SHA-256 first, RFC 8760 §2.4,
 * then MD5).
 *
 * The users are loaded once (auth_users_load) and shared; each worker has an auth_checker with
 * its own table of the nonce counts seen, and a nonce counts only on the worker that made it
 * (another worker answers it with a fresh challenge, stale=true), so a sniffed REGISTER
 * replayed under a new Call-ID meets the table that knows its nc. Failed authentications are
 * counted per account across workers: more than max_failures within a minute lock the account
 * (credentials are not checked, SIP_AUTH_LOCKED) for 10 s, doubling with each lock up to 15
 * minutes, until a success. */
#ifndef SIPRING_SRC_AUTH_H
#define SIPRING_SRC_AUTH_H

#include <stdint.h>

#include "../sip/auth.h"

#define AUTH_NONCE_S 300

struct auth_users;
struct auth_checker;

/* auth_users_load: reads path; NULL with one line per problem on stderr (file:line). */
struct auth_users *auth_users_load(const char *path);
void auth_users_free(struct auth_users *u);
size_t auth_users_count(const struct auth_users *u);

/* auth_users_carry: a reloaded users file keeps each account's failures and lock (by name
 * and realm) from the one it replaces, so that a reload does not unlock an account under
 * attack. Failures counted on the old file while the workers swap are lost (a moment). */
void auth_users_carry(struct auth_users *to, const struct auth_users *from);

struct auth_checker *auth_checker_new(const struct auth_users *u, const uint8_t key[32],
                                      unsigned worker, uint32_t max_failures);
/* auth_checker_set_users: the users (borrowed until the next call) and failure limit from
 * now on (SIGHUP); the nonce counts seen stay. */
void auth_checker_set_users(struct auth_checker *c, const struct auth_users *u,
                            uint32_t max_failures);
void auth_checker_free(struct auth_checker *c);
struct sip_auth *auth_checker_iface(struct auth_checker *c);

/* The client side (trunk mode, --upstream-user/--upstream-password): answers challenges with
 * sipring's own username and password. The password stays in this object only (never logged);
 * one per worker, as the cnonce counter is not shared. */
struct auth_client;

struct auth_client *auth_client_new(const char *user, const char *password);
/* auth_client_set_password: a new password from now on (SIGHUP); -1 if too long. */
int auth_client_set_password(struct auth_client *c, const char *password);
void auth_client_free(struct auth_client *c);
struct sip_credentials *auth_client_iface(struct auth_client *c);

#endif

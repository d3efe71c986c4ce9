/* src/auth.h: digest authentication behind sip/auth.h: the users file (--users, "user:realm:HA1"
 * lines, an MD5 HA1 of 32 hex digits or a SHA-256 one of 64, both allowed for one user), nonces
 * (the time they were made and an HMAC of it and the realm under a key of this process: no
 * state until they come back; valid AUTH_NONCE_S seconds, then "stale"), qop=auth with nc
 * replay refused, and the challenges (SHA-256 first, RFC 8760 §2.4, then MD5).
 *
 * The users are loaded once (auth_users_load) and shared read-only; each worker has an
 * auth_checker with its own table of the nonce counts seen (a replay is caught on the worker
 * that owns the Call-ID: a retried REGISTER keeps its Call-ID). */
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

struct auth_checker *auth_checker_new(const struct auth_users *u, const uint8_t key[32]);
void auth_checker_free(struct auth_checker *c);
struct sip_auth *auth_checker_iface(struct auth_checker *c);

/* The client side (trunk mode, --upstream-user/--upstream-password): answers challenges with
 * sipring's own username and password. The password stays in this object only (never logged);
 * one per worker, as the cnonce counter is not shared. */
struct auth_client;

struct auth_client *auth_client_new(const char *user, const char *password);
void auth_client_free(struct auth_client *c);
struct sip_credentials *auth_client_iface(struct auth_client *c);

#endif

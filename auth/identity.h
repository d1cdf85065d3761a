/*
 * identity.h - who is calling: turns the credentials of a request (a bearer
 * token, an API key, or nothing in auth mode "none") into an identity with
 * permissions, and applies the writer-actor rule. Pure; time is passed in.
 * RS256/ES256 slot in here later.
 */
#ifndef SG_IDENTITY_H
#define SG_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>

#include "acl.h"
#include "apikey.h"
#include "common.h"
#include "jwt.h"

struct identity {
	bool open;          /* auth mode none: everything allowed */
	char sub[JWT_SUB_MAX + 1];
	int64_t exp;        /* seconds; 0: never expires (mode none) */
	struct acl_perms perms; /* owned */
};

struct identity_cfg {
	bool open;                         /* auth.mode == none */
	const struct jwt_verifier *jwt;    /* borrowed */
	const struct acl_perms *defaults;  /* borrowed: without a sync claim */
	const struct apikey_set *keys;     /* borrowed; NULL: no API keys */
};

/*
 * Authenticates token[0..len) (len 0 or token NULL: no credentials).
 * Returns 0 and fills *out, or GW_EUNAUTH / GW_EEXPIRED with err->msg
 * (never containing the token). In open mode everything passes as
 * subject "anonymous".
 */
int identity_from_token(const struct identity_cfg *cfg, const char *token,
			size_t len, int64_t now_s, struct identity *out,
			struct gw_error *err);
/*
 * Authenticates an API key key[0..len) (an X-API-Key header) against
 * cfg->keys: subject "svc:<name>", the key's permissions, no expiry.
 * Returns 0 and fills *out, or GW_EUNAUTH with err->msg (never containing
 * the key). In open mode everything passes as subject "anonymous".
 */
int identity_from_api_key(const struct identity_cfg *cfg, const char *key,
			  size_t len, struct identity *out,
			  struct gw_error *err);
/*
 * The credentials of one request: a token (NULL: none) or an API key
 * (NULL: no X-API-Key header; "" with len 0 is a key, and invalid). Both
 * at once are refused with GW_EUNAUTH: a request is one caller. Otherwise
 * identity_from_api_key or identity_from_token.
 */
int identity_from_request(const struct identity_cfg *cfg, const char *token,
			  size_t tlen, const char *key, size_t klen,
			  int64_t now_s, struct identity *out,
			  struct gw_error *err);
void identity_release(struct identity *id);
/* Moves src into dst (dst released first). */
void identity_move(struct identity *dst, struct identity *src);

/* May id do op on collection? */
bool identity_allows(const struct identity *id, enum acl_op op,
		     const char *collection);
/*
 * The actor a write runs as: requested (may be NULL: the subject) checked
 * against the writer-actor rule. Copies it into out (129 bytes). Returns 0
 * or GW_EFORBIDDEN.
 */
int identity_actor(const struct identity *id, const char *requested,
		   char *out);

/* Extracts the token from an Authorization header value ("Bearer x",
 * scheme case-insensitive). Returns 0 with the token in tok and len, or GW_EUNAUTH. */
int identity_bearer(const char *header, const char **tok, size_t *len);

#endif

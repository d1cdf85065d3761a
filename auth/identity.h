/*
 * identity.h - who is calling: turns the credentials of a request (a bearer
 * token, or nothing in auth mode "none") into an identity with permissions,
 * and applies the writer-actor rule. Pure; time is passed in.
 * API keys and RS256/ES256 slot in here later.
 */
#ifndef SG_IDENTITY_H
#define SG_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>

#include "acl.h"
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

/*
 * jwt.h - JSON Web Token (JWS compact serialization) verification and, for
 * dev tooling, HS256 signing. Pure: no sockets, time is passed in.
 *
 * RFC 8725 rules: the verifier decides the algorithm from its keys, never
 * from the token; each key is bound to exactly one algorithm; "none" is
 * never accepted; duplicate JSON keys, unknown "crit" entries and
 * non-canonical base64url are rejected. Only HS256 keys exist today;
 * struct jwt_key has room for RS256/ES256 keys (a later issue).
 */
#ifndef SG_JWT_H
#define SG_JWT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common.h"

enum jwt_alg { JWT_ALG_HS256 = 1 };

#define JWT_HS256_MIN_SECRET 32     /* RFC 7518 3.2: at least the hash size */
#define JWT_DEFAULT_MAX_LEN 8192    /* longer tokens are refused unread */
#define JWT_SUB_MAX 128

struct jwt_key {
	enum jwt_alg alg;
	unsigned char *secret; /* owned (HS256), cleansed on release */
	size_t secret_len;
};

struct jwt_verifier {
	struct jwt_key *keys; /* owned array */
	size_t nkeys;
	char *issuer;         /* owned; NULL: "iss" not checked */
	char *audience;       /* owned; NULL: "aud" not checked */
	int64_t leeway_s;     /* applied to exp and nbf (DESIGN: 30) */
	size_t max_token_len; /* 0 means JWT_DEFAULT_MAX_LEN */
};

struct jwt_claims {
	char sub[JWT_SUB_MAX + 1]; /* validated: actor alphabet, 1..128 */
	int64_t exp;               /* seconds since the epoch */
	bool has_nbf;
	int64_t nbf;
	json_t *sync;              /* new reference to the "sync" claim, or NULL */
};

/* Zeroes v. */
void jwt_verifier_init(struct jwt_verifier *v);
/*
 * Adds an HS256 key (copies secret). Returns 0, GW_EBADREQ when the secret
 * is shorter than JWT_HS256_MIN_SECRET bytes, or GW_ENOMEM.
 */
int jwt_verifier_add_hs256(struct jwt_verifier *v, const unsigned char *secret,
			   size_t len, struct gw_error *err);
/* Frees what v owns (secrets cleansed); v is left zeroed. */
void jwt_verifier_release(struct jwt_verifier *v);

/*
 * Verifies token[0..len) at time now_s (seconds). On success returns 0 and
 * fills *out (release it with jwt_claims_release). Otherwise returns
 * GW_EEXPIRED when the token is valid but exp + leeway <= now, and
 * GW_EUNAUTH for anything else (malformed, bad signature, alg not allowed,
 * missing/ill-typed sub or exp, nbf in the future, iss/aud mismatch, a sub
 * outside the actor alphabet or with pattern characters). err->msg says
 * why, never echoing the token or signature.
 */
int jwt_verify(const struct jwt_verifier *v, const char *token, size_t len,
	       int64_t now_s, struct jwt_claims *out, struct gw_error *err);
/* Drops the "sync" reference; safe on a zeroed struct. */
void jwt_claims_release(struct jwt_claims *c);

/*
 * Signs claims (borrowed) as an HS256 JWT with secret. Returns a new
 * malloc'd NUL-terminated token, or NULL on failure. For dev tooling
 * (syncgate --make-token) and tests.
 */
char *jwt_sign_hs256(const unsigned char *secret, size_t len,
		     const json_t *claims);

#endif

/*
 * jwt.h - JSON Web Token (JWS compact serialization) verification and, for
 * dev tooling, HS256 signing. Pure: no sockets, time is passed in.
 *
 * RFC 8725 rules: the verifier decides the algorithm from its keys, never
 * from the token; each key is bound to exactly one algorithm (an HS256
 * secret is never a public key and a public key never an HMAC secret);
 * "none" is never accepted; duplicate JSON keys, unknown "crit" entries and
 * non-canonical base64url are rejected; "jku", "x5u", "jwk" and "x5c" are
 * ignored (never fetched, never used).
 *
 * Keys: HS256 secrets, RS256 and ES256 public keys (jwt_sig.h loads them,
 * jwks.h reads JWK Sets). A key with a kid is used only for tokens with
 * that kid or none; a key without a kid for any token of its algorithm.
 */
#ifndef SG_JWT_H
#define SG_JWT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common.h"

enum jwt_alg { JWT_ALG_HS256 = 1, JWT_ALG_RS256 = 2, JWT_ALG_ES256 = 3 };

#define JWT_HS256_MIN_SECRET 32     /* RFC 7518 3.2: at least the hash size */
#define JWT_DEFAULT_MAX_LEN 8192    /* longer tokens are refused unread */
#define JWT_SUB_MAX 128
#define JWT_KID_MAX 256             /* longer kids: a malformed header */
#define JWT_KEYS_MAX 64             /* per key list (configured, fetched) */

struct evp_pkey_st; /* OpenSSL's EVP_PKEY */

struct jwt_key {
	enum jwt_alg alg;
	unsigned char *secret; /* owned (HS256), cleansed on release */
	size_t secret_len;
	struct evp_pkey_st *pkey; /* owned (RS256, ES256) */
	char *kid;             /* owned; NULL: any kid */
};

/*
 * Called by jwt_verify for an RS256 or ES256 token whose kid no key has
 * (before the signature is known: rate-limit what it does).
 */
typedef void (*jwt_unknown_kid_fn)(void *ctx, const char *kid);

struct jwt_verifier {
	struct jwt_key *keys; /* owned array: the configured keys */
	size_t nkeys;
	struct jwt_key *remote; /* owned array: fetched keys (JWKS URL) */
	size_t nremote;
	jwt_unknown_kid_fn unknown_kid; /* NULL: nobody to tell */
	void *unknown_kid_ctx;
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
/*
 * Adds a public key (takes pk, whose algorithm jwt_pkey_alg decides) under
 * kid (copied; NULL: none). want, when not 0, must be that algorithm.
 * Returns 0, or GW_EBADREQ / GW_ENOMEM (pk freed then too).
 */
int jwt_verifier_add_pkey(struct jwt_verifier *v, struct evp_pkey_st *pk,
			  const char *kid, enum jwt_alg want,
			  struct gw_error *err);
/*
 * Replaces the fetched keys with keys[0..n) (taken; the old ones freed).
 * Safe between two jwt_verify calls: verification holds no key after it
 * returns.
 */
void jwt_verifier_set_remote(struct jwt_verifier *v, struct jwt_key *keys,
			     size_t n);
/* Appends k (moved: *k is zeroed) to keys[0..*n); 0, GW_EBADREQ past
 * JWT_KEYS_MAX, or GW_ENOMEM (k released then). */
int jwt_keys_push(struct jwt_key **keys, size_t *n, struct jwt_key *k,
		  struct gw_error *err);
/* Frees keys[0..n) and the array. */
void jwt_keys_free(struct jwt_key *keys, size_t n);
/* "HS256", "RS256", "ES256" to the enum; 0 for anything else. */
enum jwt_alg jwt_alg_parse(const char *s);
const char *jwt_alg_name(enum jwt_alg alg);
/* Frees what v owns (secrets cleansed); v is left zeroed. */
void jwt_verifier_release(struct jwt_verifier *v);

/*
 * Verifies token[0..len) at time now_s (seconds). On success returns 0 and
 * fills *out (release it with jwt_claims_release). Otherwise returns
 * GW_EEXPIRED when the token is valid but exp + leeway <= now, and
 * GW_EUNAUTH for anything else (malformed, bad signature, alg not allowed,
 * a kid no key of the algorithm has, missing/ill-typed sub or exp, nbf
 * in the future, iss/aud mismatch, a sub outside the actor alphabet or
 * with pattern characters). err->msg says
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

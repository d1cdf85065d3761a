/*
 * jwks.h - JSON Web Key Sets (RFC 7517) to verifier keys: RSA keys ("n",
 * "e") become RS256 keys, EC P-256 keys ("crv", "x", "y") ES256 keys. A
 * key whose "use" is not "sig", whose "alg" is not the one its type allows,
 * of another type or curve (symmetric "oct" keys included: HMAC secrets
 * never come from a key set), with private members, an RSA key under 2048
 * bits or a point off the curve is skipped, and counted. Pure: no I/O but
 * jwks_read_file.
 */
#ifndef SG_JWKS_H
#define SG_JWKS_H

#include <stddef.h>

#include "common.h"
#include "jwt.h"

#define JWKS_MAX_BYTES (1024 * 1024) /* larger key sets are refused */

struct jwks_report {
	size_t used;      /* keys appended */
	size_t ignored;   /* entries skipped */
	char why[128];    /* why the first one was skipped; "" when none */
};

/*
 * Parses json[0..len) as a JWK Set ({"keys":[...]}, duplicate names
 * refused) and appends each usable key to keys[0..*n) (jwt_keys_push).
 * Returns 0 (rep says how many were used and skipped; zero used is not an
 * error here), or GW_EBADREQ when the document is no JWK Set, GW_ENOMEM;
 * keys appended before a failure stay appended.
 */
int jwks_parse(const char *json, size_t len, struct jwt_key **keys,
	       size_t *n, struct jwks_report *rep, struct gw_error *err);

/*
 * Reads a whole file of at most max bytes into a new NUL-terminated
 * buffer. 0 and *out, *len; or GW_EBADREQ (err names the path and why).
 */
int jwks_read_file(const char *path, size_t max, char **out, size_t *len,
		   struct gw_error *err);

/*
 * Whether url may serve keys: https://, or http:// to a loopback address
 * (127.0.0.0/8, [::1], localhost), since keys over plain HTTP from
 * anywhere else would let the network sign tokens. 0 or GW_EBADREQ.
 */
int jwks_url_check(const char *url, struct gw_error *err);

#endif

/*
 * fuzz_jwks.c - libFuzzer target for jwks_parse: any input either is no
 * key set (and adds nothing) or yields only RS256 and ES256 keys that
 * jwt_pkey_alg accepts, never more than JWT_KEYS_MAX, each counted; the
 * keys then go through a verifier's swap (jwt_verifier_set_remote) and a
 * verification, and everything is freed (ASan's leak check).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jwks.h"
#include "jwt.h"
#include "jwt_sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char tok[] =
		"eyJhbGciOiJFUzI1NiIsImtpZCI6ImUifQ."
		"eyJzdWIiOiJhbGljZSIsImV4cCI6MTcwMDAwMDEwMH0."
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	struct jwt_key *keys = NULL;
	struct jwks_report rep;
	struct gw_error e = {0, ""};
	struct jwt_verifier v;
	struct jwt_claims c;
	size_t n = 0;
	int rc;

	rc = jwks_parse((const char *)data, size, &keys, &n, &rep, &e);
	check(rc == 0 || rc == GW_EBADREQ || rc == GW_ENOMEM);
	check(n <= JWT_KEYS_MAX);
	if (rc == 0)
		check(rep.used == n);
	else
		check(e.msg[0] != '\0');
	for (size_t i = 0; i < n; i++) {
		enum jwt_alg alg = 0;

		check(keys[i].pkey != NULL && keys[i].secret == NULL);
		check(keys[i].alg == JWT_ALG_RS256 ||
		      keys[i].alg == JWT_ALG_ES256);
		check(jwt_pkey_alg(keys[i].pkey, &alg, NULL) == 0 &&
		      alg == keys[i].alg);
		check(!keys[i].kid ||
		      (keys[i].kid[0] && strlen(keys[i].kid) <= JWT_KID_MAX));
	}
	jwt_verifier_init(&v);
	jwt_verifier_set_remote(&v, keys, n);
	/* an all-zero signature never verifies (r = 0) */
	check(jwt_verify(&v, tok, sizeof(tok) - 1, 1700000000, &c, &e) ==
	      GW_EUNAUTH);
	jwt_claims_release(&c);
	jwt_verifier_release(&v);
	return 0;
}

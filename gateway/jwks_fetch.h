/*
 * jwks_fetch.h - keeps a verifier's fetched keys (jwt.h "remote") in step
 * with a JWK Set URL: fetched at start, every refresh_s, and when a token
 * names a kid no key has (at most once per min_refresh_s), over the
 * resolver's libcurl-on-libuv client (GET, no redirects, body capped at
 * JWKS_MAX_BYTES, hard timeout). A failed fetch, or a set with no usable
 * key, keeps the keys there were. Loop thread only: keys are swapped in a
 * resolver callback, between two (synchronous) verifications.
 */
#ifndef SG_JWKS_FETCH_H
#define SG_JWKS_FETCH_H

#include <stdbool.h>
#include <uv.h>

#include "jwt.h"

struct jwks_fetch;

struct jwks_fetch_opts {
	const char *url;        /* copied; jwks_url_check must accept it */
	int refresh_s;          /* between two scheduled fetches */
	int min_refresh_s;      /* between two fetches an unknown kid starts */
	int timeout_ms;         /* one whole fetch */
	const char *user_agent; /* copied */
};

/* Starts the first fetch; v (borrowed, must outlive f) gets the keys and
 * its unknown_kid hook. NULL on OOM or when libcurl cannot start. */
struct jwks_fetch *jwks_fetch_new(uv_loop_t *loop, struct jwt_verifier *v,
				  const struct jwks_fetch_opts *o);
/* Stops fetching (a fetch in flight is dropped), unhooks the verifier,
 * which keeps its keys; freed once libuv closed the timer. NULL: no-op. */
void jwks_fetch_free(struct jwks_fetch *f);
/* Whether one fetch has brought keys yet. */
bool jwks_fetch_loaded(const struct jwks_fetch *f);

#endif

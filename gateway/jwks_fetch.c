/*
 * jwks_fetch.c - the JWK Set URL client. An adapter: libuv for the timer,
 * resolver.h (libcurl's multi-socket API on the loop) for the GET; the
 * document itself is read by jwks.c, which is pure.
 */
#include "jwks_fetch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jwks.h"
#include "log.h"
#include "resolver.h"

struct jwks_fetch {
	uv_loop_t *loop;         /* borrowed */
	struct jwt_verifier *v;  /* borrowed */
	struct resolver *res;    /* owned; one call at a time */
	uv_timer_t timer;        /* the next fetch */
	char *url;               /* owned */
	uint64_t refresh_ms;
	uint64_t min_ms;
	int timeout_ms;
	uint64_t last_start;     /* uv_now of the last fetch started */
	uint64_t due;            /* uv_now the timer fires at */
	unsigned failures;       /* in a row, for the retry backoff */
	bool started;            /* a fetch was ever started */
	bool inflight;
	bool loaded;
	bool freeing;
};

static void fetch_start(struct jwks_fetch *f);

static void timer_cb(uv_timer_t *t)
{
	fetch_start(t->data);
}

static void schedule(struct jwks_fetch *f, uint64_t delay_ms)
{
	f->due = uv_now(f->loop) + delay_ms;
	uv_timer_start(&f->timer, timer_cb, delay_ms, 0);
}

/* After a failure: min_refresh_s, doubling, never past refresh_s. */
static uint64_t retry_ms(const struct jwks_fetch *f)
{
	uint64_t d = f->min_ms;

	for (unsigned i = 1; i < f->failures && d < f->refresh_ms; i++)
		d *= 2;
	return d < f->refresh_ms ? d : f->refresh_ms;
}

static void failed(struct jwks_fetch *f, const char *why)
{
	f->failures++;
	log_warn("jwks: fetching %s failed (%s); keeping the %zu keys there "
		 "were, next try in %llu ms", f->url, why, f->v->nremote,
		 (unsigned long long)retry_ms(f));
	schedule(f, retry_ms(f));
}

static void on_done(void *arg, const struct resolver_result *r)
{
	struct jwks_fetch *f = arg;
	struct jwt_key *keys = NULL;
	struct jwks_report rep;
	struct gw_error e = {0, ""};
	char why[96];
	size_t n = 0;
	int rc;

	f->inflight = false;
	if (f->freeing)
		return;
	if (r->status != RESOLVER_OK) {
		failed(f, r->status == RESOLVER_TOO_BIG ? "answer too large"
							: r->detail);
		return;
	}
	if (r->http_status != 200) {
		snprintf(why, sizeof(why), "HTTP status %ld", r->http_status);
		failed(f, why);
		return;
	}
	rc = jwks_parse(r->body, r->len, &keys, &n, &rep, &e);
	if (rc || n == 0) {
		jwt_keys_free(keys, n);
		failed(f, rc ? e.msg : rep.ignored ? rep.why : "no keys");
		return;
	}
	jwt_verifier_set_remote(f->v, keys, n);
	f->loaded = true;
	f->failures = 0;
	if (rep.ignored)
		log_info("jwks: %zu keys from %s (%zu skipped; first: %s)", n,
			 f->url, rep.ignored, rep.why);
	else
		log_info("jwks: %zu keys from %s", n, f->url);
	schedule(f, f->refresh_ms);
}

static void fetch_start(struct jwks_fetch *f)
{
	static const char *const headers[] = {"Accept: application/json",
					      NULL};
	struct resolver_req req;
	int rc;

	if (f->inflight || f->freeing)
		return;
	memset(&req, 0, sizeof(req));
	req.url = f->url;
	req.headers = headers;
	req.timeout_ms = f->timeout_ms;
	req.get = true;
	f->started = true;
	f->last_start = uv_now(f->loop);
	uv_timer_stop(&f->timer);
	rc = resolver_call(f->res, &req, on_done, f);
	if (rc) {
		failed(f, "cannot start the request");
		return;
	}
	f->inflight = true;
}

/* The verifier's unknown_kid hook: runs inside jwt_verify, so it only
 * starts a call (resolver_call never calls back from inside). The token
 * that named the kid is refused now; the next one finds the new key. */
static void on_unknown_kid(void *ctx, const char *kid)
{
	struct jwks_fetch *f = ctx;
	uint64_t now = uv_now(f->loop);
	uint64_t earliest = f->last_start + f->min_ms;

	(void)kid; /* unauthenticated input: not logged */
	if (f->inflight || f->freeing)
		return;
	if (!f->started || now >= earliest) {
		log_info("jwks: a token names an unknown kid; refetching %s",
			 f->url);
		fetch_start(f);
	} else if (f->due > earliest) {
		schedule(f, earliest - now);
	}
}

struct jwks_fetch *jwks_fetch_new(uv_loop_t *loop, struct jwt_verifier *v,
				  const struct jwks_fetch_opts *o)
{
	struct jwks_fetch *f = calloc(1, sizeof(*f));
	struct resolver_opts ro;

	if (!f)
		return NULL;
	memset(&ro, 0, sizeof(ro));
	ro.max_inflight = 1;
	ro.body_max = JWKS_MAX_BYTES;
	ro.user_agent = o->user_agent;
	f->url = strdup(o->url);
	f->res = f->url ? resolver_new(loop, &ro) : NULL;
	if (!f->res) {
		free(f->url);
		free(f);
		return NULL;
	}
	f->loop = loop;
	f->v = v;
	f->refresh_ms = (uint64_t)o->refresh_s * 1000;
	f->min_ms = (uint64_t)o->min_refresh_s * 1000;
	f->timeout_ms = o->timeout_ms;
	uv_timer_init(loop, &f->timer);
	f->timer.data = f;
	v->unknown_kid = on_unknown_kid;
	v->unknown_kid_ctx = f;
	fetch_start(f);
	return f;
}

static void timer_closed(uv_handle_t *h)
{
	struct jwks_fetch *f = h->data;

	free(f->url);
	free(f);
}

void jwks_fetch_free(struct jwks_fetch *f)
{
	if (!f)
		return;
	f->freeing = true;
	if (f->v->unknown_kid_ctx == f) {
		f->v->unknown_kid = NULL;
		f->v->unknown_kid_ctx = NULL;
	}
	resolver_free(f->res); /* a call in flight ends here, ignored */
	f->res = NULL;
	uv_timer_stop(&f->timer);
	uv_close((uv_handle_t *)&f->timer, timer_closed);
}

bool jwks_fetch_loaded(const struct jwks_fetch *f)
{
	return f && f->loaded;
}

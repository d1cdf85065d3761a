/*
 * resolver.h - HTTP calls to the applications' conflict resolvers (DESIGN
 * section 4, "callback"), over libcurl's multi-socket API on the libuv loop:
 * never blocks, reuses connections (keep-alive), bounds calls in flight,
 * follows no redirect, speaks only http and https, caps the answer body.
 * Loop thread only.
 */
#ifndef SG_RESOLVER_H
#define SG_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct resolver;

struct resolver_opts {
	size_t max_inflight;   /* calls at once; past it resolver_call returns GW_EBUSY */
	size_t body_max;       /* answer bytes read at most; past it the call ends RESOLVER_TOO_BIG */
	const char *user_agent;/* copied; e.g. "syncgate/0.1.0" */
};

enum resolver_status {
	RESOLVER_OK,          /* an HTTP answer arrived (any status, see http_status) */
	RESOLVER_TIMEOUT,     /* no complete answer within timeout_ms */
	RESOLVER_UNREACHABLE, /* connection refused, reset, host not found */
	RESOLVER_TOO_BIG,     /* the body passed body_max: reading stopped there */
	RESOLVER_ERROR        /* anything else (also: resolver_free while in flight) */
};

struct resolver_result {
	enum resolver_status status;
	long http_status;        /* RESOLVER_OK: the HTTP status (3xx included: never followed) */
	const char *body;        /* borrowed for the duration of the callback; NUL-terminated; "" when none */
	size_t len;
	const char *detail;      /* short text for logs (curl's error), never NULL */
	double seconds;          /* time from resolver_call to the end */
};

typedef void (*resolver_done_fn)(void *arg, const struct resolver_result *r);

struct resolver_req {
	const char *url;                 /* copied; must start with http:// or https:// else GW_EBADREQ */
	const char *body;                /* copied */
	size_t len;
	const char *const *headers;      /* "Name: value" lines, NULL-terminated, copied; may be NULL */
	int timeout_ms;                  /* whole call, connect included; >= 1 */
	bool get;                        /* a GET (body ignored), e.g. a JWK Set */
};

/* NULL on OOM or when libcurl cannot start. */
struct resolver *resolver_new(uv_loop_t *loop, const struct resolver_opts *o);
/* Ends every call in flight (their callbacks run from inside this call with
 * RESOLVER_ERROR), then frees r once libuv has closed its handles (run the
 * loop afterwards). NULL is a no-op. Not from inside a resolver callback. */
void resolver_free(struct resolver *r);
/* Starts a POST (a GET when req->get). Returns 0 and then calls cb exactly
 * once, later, from the loop (never from inside resolver_call); or returns GW_EBUSY (max_inflight
 * calls already in flight), GW_EBADREQ (bad URL scheme) or GW_ENOMEM, and
 * then never calls cb. */
int resolver_call(struct resolver *r, const struct resolver_req *req,
		  resolver_done_fn cb, void *arg);
/* Calls in flight now. */
size_t resolver_inflight(const struct resolver *r);

#endif

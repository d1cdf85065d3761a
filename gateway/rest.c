/*
 * rest.c - the REST API's requests: the route table, what is decided on a
 * request's headers (path, method, token, permission, rate), the body with
 * its size cap, and the listener. Answering is rest_answer.c's, the
 * endpoints rest_handlers.c's (rest_req.h), driving MHD from libuv
 * rest_mhd.c's, files webroot.c's.
 */
#include "rest.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "httpcheck.h"
#include "identity.h"
#include "log.h"
#include "netaddr.h"
#include "ratelimit.h"
#include "sbuf.h"
#include "rest_mhd.h"
#include "rest_req.h"
#include "strx.h"

#define DISCARD_MAX (16 * 1024 * 1024) /* chunked overflow read and dropped */

/* ---- authentication ------------------------------------------------------ */

static int64_t mono_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Joins every X-Forwarded-For line, in order, with ",": a proxy that
 * adds its own line (HAProxy's option forwardfor) puts the address it saw
 * last, after any line the client wrote. */
static enum MHD_Result join_xff(void *cls, enum MHD_ValueKind kind,
				const char *key, const char *value)
{
	struct sbuf *sb = cls;

	(void)kind;
	if (key && value && strcasecmp(key, "X-Forwarded-For") == 0) {
		if (sb->len)
			sbuf_addc(sb, ',');
		sbuf_adds(sb, value);
	}
	return MHD_YES;
}

/* The address q comes from (behind a trusted proxy, the one its
 * X-Forwarded-For names). */
static void client_addr(struct req *q, char *out)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(q->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct netaddr_set *trusted = &q->r->app->cfg->trusted;
	char peer[NETADDR_STR_MAX + 1];
	struct sbuf xff = SBUF_INIT;

	netaddr_text(ci ? ci->client_addr : NULL, peer);
	if (netaddr_in(trusted, peer))
		MHD_get_connection_values(q->conn, MHD_HEADER_KIND, join_xff, &xff);
	/* (out of memory: the peer, which is the proxy) */
	netaddr_client(trusted, peer,
		       xff.len && !sbuf_failed(&xff) ? xff.buf : NULL, out);
	sbuf_release(&xff);
}

/* A failed authentication from addr ("": not counted). */
static void failed(struct req *q, const char *addr, int64_t now)
{
	const struct config *cfg = q->r->app->cfg;

	if (addr[0])
		rl_table_take(q->r->auth_fails, addr, cfg->auth_failures_per_s,
			      cfg->auth_failures_burst, now, NULL);
}

/* 0 with q->who set, or GW_EUNAUTH with why in msg (200 bytes), or
 * GW_ERATE when q's address has failed too often (nothing checked). */
static int authenticate(struct req *q, char *msg)
{
	struct app *app = q->r->app;
	const char *h = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
						    "Authorization");
	const char *tok = NULL, *key = NULL;
	size_t len = 0, klen = 0;
	struct gw_error e = {0, ""};
	char addr[NETADDR_STR_MAX + 1] = "";
	const struct config *cfg = app->cfg;
	int64_t now = mono_now_ms();
	int rc;

	/* an address that keeps failing gets 429 without a look at what it
	 * sends (brute force, or a flood of tokens to verify); in auth mode
	 * none nothing fails, and nothing is counted */
	if (!app->idcfg.open)
		client_addr(q, addr);
	if (addr[0] &&
	    !rl_table_has(q->r->auth_fails, addr, cfg->auth_failures_per_s,
			  cfg->auth_failures_burst, now, &q->retry_after)) {
		snprintf(msg, 200, "too many failed authentications from this "
			 "address; retry later");
		return GW_ERATE;
	}
	if (!app->dev_open && h && identity_bearer(h, &tok, &len)) {
		snprintf(msg, 200, "Authorization must be \"Bearer <token>\"");
		failed(q, addr, now);
		return GW_EUNAUTH;
	}
	/* with its length: the key is hashed exactly as sent */
	if (MHD_lookup_connection_value_n(q->conn, MHD_HEADER_KIND, "X-API-Key",
					  9, &key, &klen) != MHD_YES)
		key = NULL;
	rc = identity_from_request(&app->idcfg, tok, len, key, klen,
				   (int64_t)time(NULL), &q->who, &e);
	if (rc) {
		unsigned long dropped;

		if (log_refusal_ok(&dropped))
			log_msg(LOG_INFO, "req", q->id,
				"authentication failed: %s (%lu refusals not "
				"logged before)", e.msg, dropped);
		strx_copy(msg, 200, e.msg);
		failed(q, addr, now);
		return GW_EUNAUTH;
	}
	if (key && !q->who.open)
		log_msg(LOG_DEBUG, "req", q->id,
			"authenticated as \"%s\" (API key)", q->who.sub);
	return 0;
}

/* ---- routes -------------------------------------------------------------- */

/* What a request path names (parse_target). */
enum target {
	T_HEALTH,   /* /v1/health */
	T_READY,    /* /v1/ready */
	T_INFO,     /* /v1/info */
	T_METRICS,  /* /metrics */
	T_DEV_TOKEN, /* /v1/dev/token, in dev mode only */
	T_DOCS,     /* /v1/collections/{c}/docs */
	T_CHANGES,  /* /v1/collections/{c}/changes */
	T_CONFLICTS, /* /v1/collections/{c}/conflicts */
	T_DOC,      /* /v1/collections/{c}/docs/{id} */
	T_STATIC,   /* anything outside /v1: a file under web_root */
};

/* The Allow header of a 405 on each target. */
static const char *const allow_of[] = {
	[T_HEALTH] = "GET", [T_READY] = "GET", [T_INFO] = "GET",
	[T_METRICS] = "GET", [T_DEV_TOKEN] = "POST", [T_DOCS] = "GET", [T_CHANGES] = "GET",
	[T_CONFLICTS] = "GET",
	[T_DOC] = "GET, PUT, DELETE", [T_STATIC] = "GET",
};

enum { M_GET = 1, M_HEAD = 2, M_PUT = 4, M_DELETE = 8, M_POST = 16 };

/* What the token must allow on the route's collection. */
enum access { PUBLIC, READ, WRITE };

/* One row per target and method set; a method no row of its target lists
 * gets 405 with allow_of[target]. */
static const struct route {
	enum target target;
	unsigned methods;     /* M_* */
	enum access access;
	handler_fn fn;
} routes[] = {
	{T_HEALTH, M_GET | M_HEAD, PUBLIC, rest_h_health},
	{T_READY, M_GET | M_HEAD, PUBLIC, rest_h_ready},
	{T_INFO, M_GET | M_HEAD, PUBLIC, rest_h_info},
	{T_METRICS, M_GET | M_HEAD, PUBLIC, rest_h_metrics},
	{T_DEV_TOKEN, M_POST, PUBLIC, rest_h_dev_token},
	{T_DOCS, M_GET, READ, rest_h_list},
	{T_CHANGES, M_GET, READ, rest_h_changes},
	{T_CONFLICTS, M_GET, READ, rest_h_conflicts},
	{T_DOC, M_GET, READ, rest_h_doc_get},
	{T_DOC, M_PUT, WRITE, rest_h_doc_put},
	{T_DOC, M_DELETE, WRITE, rest_h_doc_delete},
	{T_STATIC, M_GET | M_HEAD, PUBLIC, rest_h_static},
};

static unsigned method_bit(const char *method)
{
	static const struct {
		const char *name;
		unsigned bit;
	} methods[] = {
		{"GET", M_GET}, {"HEAD", M_HEAD}, {"PUT", M_PUT}, {"DELETE", M_DELETE},
		{"POST", M_POST},
	};

	for (size_t i = 0; i < GW_ARRAY_LEN(methods); i++)
		if (strcmp(method, methods[i].name) == 0)
			return methods[i].bit;
	return 0;
}

/* rest: what follows /v1/collections/. The target, with q->coll (and
 * q->id_doc) filled in, or a negative GW_E* code with *why set. */
static int parse_collection(struct req *q, const char *rest, const char **why)
{
	const char *slash = strchr(rest, '/');
	size_t clen = slash ? (size_t)(slash - rest) : strlen(rest);
	const char *tail = slash ? slash + 1 : "";

	if (!names_collection_valid(rest, clen)) {
		*why = "collection must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$";
		return GW_EBADREQ;
	}
	memcpy(q->coll, rest, clen);
	q->coll[clen] = '\0';
	if (strcmp(tail, "docs") == 0)
		return T_DOCS;
	if (strcmp(tail, "changes") == 0)
		return T_CHANGES;
	if (strcmp(tail, "conflicts") == 0)
		return T_CONFLICTS;
	if (strncmp(tail, "docs/", 5) == 0) {
		const char *id = tail + 5;

		if (!names_id_valid(id, strlen(id))) {
			*why = "document id must match ^[A-Za-z0-9_.:@~-]{1,256}$";
			return GW_EBADREQ;
		}
		strx_copy(q->id_doc, sizeof(q->id_doc), id);
		return T_DOC;
	}
	*why = "no such endpoint";
	return GW_ENOTFOUND;
}

/* The target url names, or a negative GW_E* code with *why set. */
static int parse_target(struct req *q, const char *url, const char **why)
{
	static const struct {
		const char *path;
		enum target target;
	} fixed[] = {
		{"/v1/health", T_HEALTH},
		{"/v1/ready", T_READY},
		{"/v1/info", T_INFO},
		{"/metrics", T_METRICS},
	};

	if (strncmp(url, "/v1/collections/", 16) == 0)
		return parse_collection(q, url + 16, why);
	for (size_t i = 0; i < GW_ARRAY_LEN(fixed); i++)
		if (strcmp(url, fixed[i].path) == 0)
			return fixed[i].target;
	/* without --dev the path does not exist: 404 like any other */
	if (q->r->app->cfg->dev && strcmp(url, "/v1/dev/token") == 0)
		return T_DEV_TOKEN;
	if (strncmp(url, "/v1/", 4) == 0 || strcmp(url, "/v1") == 0) {
		*why = "no such endpoint";
		return GW_ENOTFOUND;
	}
	return T_STATIC;
}

/* One request of the authenticated caller against its rate; false with
 * the 429 decided when it has spent it. */
static bool rate_ok(struct req *q)
{
	const struct config *cfg = q->r->app->cfg;

	if (q->who.open || !q->r->rates)
		return true;
	if (rl_table_take(q->r->rates, q->who.sub, cfg->requests_per_s,
			  cfg->requests_burst, mono_now_ms(), &q->retry_after))
		return true;
	q->refuse = GW_ERATE;
	snprintf(q->refuse_msg, sizeof(q->refuse_msg),
		 "more than %d requests a second from this caller",
		 cfg->requests_per_s);
	return false;
}

/* Decides on the headers what the request gets: path first (400/404),
 * then method (405), then token and permission (401/403); q->rt when it
 * may go on, q->refuse otherwise. */
static void decide_route(struct req *q, const char *url, const char *method)
{
	static const struct route preflight = {T_STATIC, 0, PUBLIC,
					       rest_h_preflight};
	const char *why = NULL;
	int target = parse_target(q, url, &why);
	unsigned m = method_bit(method);
	const struct route *rt = NULL;

	/* a browser's CORS preflight: it carries no token, on any path */
	if (strcmp(method, "OPTIONS") == 0 &&
	    MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
					"Access-Control-Request-Method")) {
		q->rt = &preflight;
		return;
	}
	if (target < 0) {
		q->refuse = target;
		strx_copy(q->refuse_msg, sizeof(q->refuse_msg), why ? why : "");
		return;
	}
	for (size_t i = 0; i < GW_ARRAY_LEN(routes) && !rt; i++)
		if (routes[i].target == (enum target)target && (routes[i].methods & m))
			rt = &routes[i];
	if (!rt) {
		q->refuse = GW_EMETHOD;
		q->refuse_allow = allow_of[target];
		return;
	}
	if (rt->access != PUBLIC) {
		int rc = authenticate(q, q->refuse_msg);

		if (rc) {
			q->refuse = rc;
			return;
		}
		if (!rate_ok(q))
			return;
		if (!identity_allows(&q->who, rt->access == WRITE ? ACL_WRITE : ACL_READ,
				     q->coll)) {
			q->refuse = GW_EFORBIDDEN;
			strx_copy(q->refuse_msg, sizeof(q->refuse_msg),
				 rt->access == WRITE
					 ? "no write permission for this collection"
					 : "no read permission for this collection");
			return;
		}
	}
	q->rt = rt;
}

static enum MHD_Result send_refusal(struct req *q)
{
	if (q->refuse == GW_EMETHOD)
		return rest_send_405(q, q->refuse_allow);
	return rest_send_error(q, q->refuse, q->refuse_msg[0] ? q->refuse_msg : NULL);
}

/* ---- requests ------------------------------------------------------------ */

static enum MHD_Result count_field(void *cls, enum MHD_ValueKind kind,
				   const char *key, const char *value)
{
	GW_UNUSED(kind);
	GW_UNUSED(value);
	httpcheck_count(cls, key);
	return MHD_YES;
}

/* 0, or GW_EHEADERS/GW_EBADREQ with *why set (httpcheck_headers). */
static int check_headers(struct MHD_Connection *conn, const char *version,
			 const char **why)
{
	struct httpcheck_counts c = {0, 0, 0, 0};

	MHD_get_connection_values(conn, MHD_HEADER_KIND, count_field, &c);
	return httpcheck_headers(&c, version, why);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct rest *r = cls;
	struct req *q = *con_cls;

	if (!q) {
		const char *cl, *why = NULL;
		unsigned long long clen;
		int err;

		q = calloc(1, sizeof(*q));
		if (!q)
			return MHD_NO;
		q->r = r;
		q->conn = conn;
		q->id[0] = 'r';
		_Static_assert(sizeof(q->id) >= 1 + STRX_INT_MAX, "an id fits");
		strx_u64(q->id + 1, ++r->next_id);
		strx_copy(q->method, sizeof(q->method), method);
		strx_copy(q->path, sizeof(q->path), url);
		*con_cls = q;
		err = check_headers(conn, version, &why);
		if (err) {
			/* the request's framing is in doubt: answer, close */
			q->close_after = true;
			return rest_send_error(q, err, why);
		}
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		clen = cl ? strtoull(cl, NULL, 10) : 0;
		if (clen > (unsigned long long)r->app->cfg->body_max) {
			/* a client still sending would miss an early answer (its
			 * socket gets reset): read and drop the body, answer after;
			 * past DISCARD_MAX answer now and close */
			if (clen > DISCARD_MAX)
				return rest_send_error(q, GW_ETOOBIG, "request body too large");
			q->too_big = true;
		}
		/* who and what on the headers: a body is never kept for a
		 * request that is refused anyway */
		decide_route(q, url, method);
		if (q->refuse) {
			const char *ex = MHD_lookup_connection_value(
				conn, MHD_HEADER_KIND, "Expect");

			/* a client waiting for "100 Continue" gets the answer
			 * instead, and sends no body. A body on its way is read
			 * and dropped first (answered early, the client's
			 * socket would be reset under the answer); without one
			 * the next call is at once. */
			if (ex && strcasecmp(ex, "100-continue") == 0)
				return send_refusal(q);
			q->too_big = false;
			q->discard = true;
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (!q->too_big && !q->discard && q->body.len + *upload_size >
					   (size_t)r->app->cfg->body_max) {
			q->too_big = true;
			sbuf_release(&q->body);
		}
		if (q->too_big || q->discard) {
			q->discarded += *upload_size;
			if (q->discarded > DISCARD_MAX)
				return MHD_NO;
		} else {
			sbuf_add(&q->body, upload, *upload_size);
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (q->have_reply) {
		q->have_reply = false;
		return rest_send_result(q, &q->reply, NULL);
	}
	if (q->suspended)
		return MHD_YES;
	if (q->refuse)
		return send_refusal(q);
	if (q->too_big)
		return rest_send_error(q, GW_ETOOBIG, "request body too large");
	if (sbuf_failed(&q->body))
		return rest_send_error(q, GW_ENOMEM, NULL);
	if (r->closing && strncmp(url, "/v1/collections/", 16) == 0)
		return rest_send_error(q, GW_EUNAVAIL, "shutting down");
	return q->rt->fn(q, url);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *q = *con_cls;

	GW_UNUSED(cls);
	GW_UNUSED(conn);
	GW_UNUSED(toe);
	if (!q)
		return;
	*con_cls = NULL;
	if (q->suspended) {
		q->gone = true; /* rest_on_done frees it */
		return;
	}
	free(q->reply.body);
	identity_release(&q->who);
	sbuf_release(&q->body);
	free(q);
}

/* ---- the listener -------------------------------------------------------- */

struct rest *rest_start(struct app *app)
{
	struct rest *r = calloc(1, sizeof(*r));
	struct rest_mhd_routes hooks = {on_request, on_completed, NULL};

	if (!r)
		return NULL;
	r->app = app;
	/* clients that honour it (undici, curl) drop an idle connection
	 * before the server does, instead of sending into a closing one */
	snprintf(r->keep_alive, sizeof(r->keep_alive), "timeout=%d",
		 app->cfg->http_timeout_s);
	hooks.arg = r;
	/* a bucket per caller, for as many callers as could be busy at once */
	r->rates = rl_table_new(100000);
	r->auth_fails = rl_table_new(100000);
	r->mhd = r->rates && r->auth_fails ?
		rest_mhd_start(app->loop, app->cfg, &hooks) : NULL;
	if (!r->mhd) {
		rl_table_free(r->rates);
		rl_table_free(r->auth_fails);
		free(r);
		return NULL;
	}
	return r;
}

void rest_quiesce(struct rest *r)
{
	r->closing = true;
	rest_mhd_quiesce(r->mhd);
}

unsigned rest_inflight(const struct rest *r) { return r->inflight; }

void rest_stop(struct rest *r)
{
	if (!r)
		return;
	rest_mhd_stop(r->mhd);
	rl_table_free(r->rates);
	rl_table_free(r->auth_fails);
	free(r);
}

/*
 * rest.c - the REST API: the route table, the request body with its size
 * cap, authentication and permissions, the health/ready/info/metrics
 * endpoints, and the one place where a GW_E* code or a use case's result
 * becomes an HTTP status, headers and a JSON body (through the error
 * table). Documents go to sync.h's use cases; /v1/ready asks the Redis
 * store and link for their state. Driving MHD from libuv is rest_mhd.c's
 * job, files are webroot.c's.
 */
#include "rest.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "devtoken.h"
#include "httpcheck.h"
#include "identity.h"
#include "jwks_fetch.h"
#include "log.h"
#include "metrics.h"
#include "names.h"
#include "ratelimit.h"
#include "redis_live.h"
#include "redis_store.h"
#include "rest_mhd.h"
#include "sbuf.h"
#include "sync.h"
#include "version.h"
#include "webroot.h"

#define DISCARD_MAX (16 * 1024 * 1024) /* chunked overflow read and dropped */

struct rest {
	struct app *app;        /* borrowed */
	struct rest_mhd *mhd;   /* owned */
	unsigned inflight;      /* requests waiting for a use case */
	uint64_t next_id;
	bool closing;           /* quiesced: documents answer 503 */
	char keep_alive[24];    /* Keep-Alive: timeout=<limits.http_timeout_s> */
	struct rl_table *rates; /* owned: a bucket per caller */
};

struct req {
	struct rest *r;              /* borrowed */
	struct MHD_Connection *conn; /* borrowed from MHD */
	char id[24];
	struct sbuf body;
	size_t discarded;
	bool too_big;
	bool discard;     /* refused on its headers: its body is dropped */
	bool suspended;   /* waiting for a use case's answer */
	bool gone;        /* MHD finished with it while the use case runs */
	bool have_reply;
	bool close_after; /* answer with Connection: close (framing doubt) */
	struct sync_result reply; /* reply.body owned while have_reply */
	struct identity who;      /* owned once authenticated */
	const struct route *rt;   /* decided on the headers */
	int refuse;               /* or the answer decided on them (GW_E*) */
	const char *refuse_allow; /* 405: the methods */
	int retry_after;          /* 429: seconds */
	char refuse_msg[200];
	char coll[NAMES_COLLECTION_MAX + 1];
	char id_doc[NAMES_ID_MAX + 1];
	char method[8];
	char path[96];
};

/* ---- answering ----------------------------------------------------------- */

/* Headers an answer may carry besides the fixed ones. */
struct answer_meta {
	const char *etag;   /* NULL or "" when none */
	int retry_after;    /* seconds, 0: none */
	const char *allow;  /* 405 */
	bool replayed;      /* Idempotent-Replayed: true */
};

static enum MHD_Result send_body(struct req *q, int status, char *body,
				 size_t len, const char *ctype,
				 const struct answer_meta *meta)
{
	bool close_after = q->close_after;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Request-Id", q->id);
	if (meta && meta->etag && meta->etag[0])
		MHD_add_response_header(resp, "ETag", meta->etag);
	if (meta && meta->retry_after) {
		char ra[16];

		snprintf(ra, sizeof(ra), "%d", meta->retry_after);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	if (meta && meta->allow)
		MHD_add_response_header(resp, "Allow", meta->allow);
	if (meta && meta->replayed)
		MHD_add_response_header(resp, "Idempotent-Replayed", "true");
	if (close_after)
		MHD_add_response_header(resp, "Connection", "close");
	else
		MHD_add_response_header(resp, "Keep-Alive", q->r->keep_alive);
	ret = MHD_queue_response(q->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	metrics.http_requests++;
	if (status >= 500)
		log_msg(LOG_WARN, "req", q->id, "%s %s -> %d", q->method, q->path, status);
	else
		log_msg(LOG_DEBUG, "req", q->id, "%s %s -> %d", q->method, q->path, status);
	return ret;
}

/* {"error":{"code","message"}<extra>}: the body of every error answer;
 * NULL on OOM. */
static char *error_body(int err, const char *message, const char *extra,
			size_t elen, size_t *len)
{
	struct sbuf sb = SBUF_INIT;
	const char *code = gw_err_code(err);

	if (!message || !*message)
		message = gw_err_message(err);
	sbuf_adds(&sb, "{\"error\":{\"code\":");
	sbuf_add_json_str(&sb, code, strlen(code));
	sbuf_adds(&sb, ",\"message\":");
	sbuf_add_json_str(&sb, message, strlen(message));
	sbuf_addc(&sb, '}');
	if (extra)
		sbuf_add(&sb, extra, elen);
	sbuf_addc(&sb, '}');
	if (sbuf_failed(&sb)) {
		sbuf_release(&sb);
		return NULL;
	}
	return sbuf_detach(&sb, len);
}

/* A use case's result as an HTTP answer (r->body is taken): the status
 * from the error table (201 for a creation, else 200), Retry-After with
 * every 503, the ETag, and the idempotent replay mark. */
static enum MHD_Result send_result(struct req *q, struct sync_result *r,
				   const char *allow)
{
	struct answer_meta meta = {r->etag, 0, allow, r->replayed};
	char *body = r->body;
	size_t len = r->len;
	int status;

	r->body = NULL;
	if (r->err) {
		char *extra = body;

		status = gw_err_http(r->err);
		body = error_body(r->err, r->message, extra, len, &len);
		free(extra);
		if (!body)
			return MHD_NO;
	} else {
		status = r->created ? MHD_HTTP_CREATED : MHD_HTTP_OK;
	}
	if (status == gw_err_http(GW_EUNAVAIL))
		meta.retry_after = 1;
	if (r->err == GW_ERATE)
		meta.retry_after = q->retry_after > 0 ? q->retry_after : 1;
	return send_body(q, status, body, len, "application/json", &meta);
}

static enum MHD_Result send_error(struct req *q, int err, const char *msg)
{
	struct sync_result r;

	memset(&r, 0, sizeof(r));
	r.err = err;
	if (msg)
		snprintf(r.message, sizeof(r.message), "%s", msg);
	return send_result(q, &r, NULL);
}

static enum MHD_Result send_json(struct req *q, int status, const char *json)
{
	char *b = strdup(json);

	if (!b)
		return MHD_NO;
	return send_body(q, status, b, strlen(b), "application/json", NULL);
}

static enum MHD_Result send_405(struct req *q, const char *allow)
{
	struct sync_result r;

	memset(&r, 0, sizeof(r));
	r.err = GW_EMETHOD;
	return send_result(q, &r, allow);
}

/* A use case answered (later, from the loop): keep the result and let MHD
 * call us again. */
static void on_done(void *arg, struct sync_result *reply)
{
	struct req *q = arg;

	q->r->inflight--;
	if (q->gone) {
		free(reply->body);
		identity_release(&q->who);
		sbuf_release(&q->body);
		free(q);
		return;
	}
	q->reply = *reply;
	q->have_reply = true;
	q->suspended = false;
	rest_mhd_resume(q->r->mhd, q->conn);
}

/* A use case's start: 0 means its answer comes later (suspend until
 * on_done); an error is answered now. */
static enum MHD_Result started(struct req *q, int rc, const struct gw_error *e)
{
	if (rc)
		return send_error(q, rc, e->msg);
	q->suspended = true;
	q->r->inflight++;
	MHD_suspend_connection(q->conn);
	return MHD_YES;
}

/* ---- handlers ------------------------------------------------------------ */

/* Every handler answers q (or suspends it for a use case); url is the decoded
 * path, which only the static files need. */
typedef enum MHD_Result (*handler_fn)(struct req *q, const char *url);

static enum MHD_Result h_health(struct req *q, const char *url)
{
	GW_UNUSED(url);
	return send_json(q, MHD_HTTP_OK, "{\"status\":\"ok\"}");
}

static enum MHD_Result h_ready(struct req *q, const char *url)
{
	struct app *app = q->r->app;
	const char *why = NULL;
	struct sbuf sb = SBUF_INIT;

	GW_UNUSED(url);
	if (app->draining)
		why = "shutting down";
	else if (!store_ready(app->store))
		why = store_status(app->store);
	else if (!live_ready(app->live))
		why = "redis subscriber link not established";
	else if (app->jwks && !jwks_fetch_loaded(app->jwks))
		why = "no keys from auth.jwks_url yet";
	if (!why)
		return send_json(q, MHD_HTTP_OK, "{\"ready\":true}");
	sbuf_adds(&sb, "{\"ready\":false,\"reason\":");
	sbuf_add_json_str(&sb, why, strlen(why));
	sbuf_addc(&sb, '}');
	if (sbuf_failed(&sb)) {
		sbuf_release(&sb);
		return MHD_NO;
	}
	{
		struct answer_meta meta = {NULL, 1, NULL, false};
		size_t len = sb.len;

		return send_body(q, gw_err_http(GW_EUNAVAIL), sbuf_detach(&sb, NULL),
				 len, "application/json", &meta);
	}
}

static enum MHD_Result h_info(struct req *q, const char *url)
{
	struct app *app = q->r->app;
	struct sbuf sb = SBUF_INIT, ws_url = SBUF_INIT;
	const char *host = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
						       "Host");
	size_t len;

	GW_UNUSED(url);
	if (app->cfg->ws_public_url[0]) {
		sbuf_adds(&ws_url, app->cfg->ws_public_url);
	} else {
		char h[HTTPCHECK_HOST_MAX + 1];

		httpcheck_public_host(host, h);
		sbuf_addf(&ws_url, "ws://%s:%d/v1/ws", h, app->cfg->ws_port);
	}
	sbuf_adds(&sb, "{\"name\":\"syncgate\",\"version\":\"" SYNCGATE_VERSION "\",\"node\":");
	sbuf_add_json_str(&sb, app->node, strlen(app->node));
	sbuf_adds(&sb, ",\"ws_url\":");
	sbuf_add_json_str(&sb, ws_url.buf ? ws_url.buf : "", ws_url.len);
	sbuf_adds(&sb, app->dev_open ? ",\"auth\":\"none\",\"warning\":\"auth is off: "
				       "anyone may read and write everything (dev only)\""
				     : ",\"auth\":\"jwt\"");
	sbuf_adds(&sb, app->cfg->dev ? ",\"dev\":true}" : "}");
	sbuf_release(&ws_url);
	if (sbuf_failed(&sb)) {
		sbuf_release(&sb);
		return MHD_NO;
	}
	len = sb.len;
	return send_body(q, MHD_HTTP_OK, sbuf_detach(&sb, NULL), len,
			 "application/json", NULL);
}

static enum MHD_Result h_metrics(struct req *q, const char *url)
{
	struct sbuf sb = SBUF_INIT;
	size_t len;

	GW_UNUSED(url);
	metrics_render(&sb);
	if (sbuf_failed(&sb)) {
		sbuf_release(&sb);
		return MHD_NO;
	}
	len = sb.len;
	return send_body(q, MHD_HTTP_OK, sbuf_detach(&sb, NULL), len,
			 "text/plain; version=0.0.4; charset=utf-8", NULL);
}

static enum MHD_Result h_static(struct req *q, const char *url)
{
	enum MHD_Result ret;
	int err = webroot_serve(q->conn, q->r->app->cfg->web_root, url,
				q->r->keep_alive, &ret);

	if (err == GW_ENOTFOUND)
		return send_error(q, GW_ENOTFOUND, NULL);
	if (err)
		return MHD_NO;
	metrics.http_requests++;
	return ret;
}

/* POST /v1/dev/token (routed only in dev mode): an all-permissions token
 * for the body's sub and ttl_s; with auth.mode none, no token at all. */
static enum MHD_Result h_dev_token(struct req *q, const char *url)
{
	struct app *app = q->r->app;
	struct devtoken_req dr;
	struct gw_error e = {0, ""};
	struct sbuf sb = SBUF_INIT;
	int64_t now = (int64_t)time(NULL);
	char *tok;
	size_t len;

	GW_UNUSED(url);
	if (devtoken_parse(q->body.buf, q->body.len, app->cfg->json_depth, &dr, &e))
		return send_error(q, GW_EBADREQ, e.msg);
	if (app->dev_open)
		return send_json(q, MHD_HTTP_OK,
				 "{\"token\":null,\"auth\":\"none\",\"dev\":true}");
	tok = devtoken_mint(app->cfg->jwt_secret, strlen(app->cfg->jwt_secret),
			    dr.sub, now, dr.ttl_s);
	if (!tok)
		return send_error(q, GW_EINTERNAL, "cannot mint a token");
	sbuf_adds(&sb, "{\"token\":");
	sbuf_add_json_str(&sb, tok, strlen(tok));
	sbuf_adds(&sb, ",\"sub\":");
	sbuf_add_json_str(&sb, dr.sub, strlen(dr.sub));
	sbuf_addf(&sb, ",\"expires_at\":%lld,\"dev\":true}",
		  (long long)(now + dr.ttl_s));
	memset(tok, 0, strlen(tok));
	free(tok);
	if (sbuf_failed(&sb)) {
		sbuf_release(&sb);
		return MHD_NO;
	}
	log_msg(LOG_INFO, "req", q->id, "dev token minted for \"%s\" (%lld s)",
		dr.sub, (long long)dr.ttl_s);
	len = sb.len;
	return send_body(q, MHD_HTTP_OK, sbuf_detach(&sb, NULL), len,
			 "application/json", NULL);
}

/* ---- documents ----------------------------------------------------------- */

/* 0 with q->who set, or GW_EUNAUTH with why in msg (200 bytes). */
static int authenticate(struct req *q, char *msg)
{
	struct app *app = q->r->app;
	const char *h = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
						    "Authorization");
	const char *tok = NULL, *key = NULL;
	size_t len = 0, klen = 0;
	struct gw_error e = {0, ""};
	int rc;

	if (!app->dev_open && h && identity_bearer(h, &tok, &len)) {
		snprintf(msg, 200, "Authorization must be \"Bearer <token>\"");
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
		snprintf(msg, 200, "%s", e.msg);
		return GW_EUNAUTH;
	}
	if (key && !q->who.open)
		log_msg(LOG_DEBUG, "req", q->id,
			"authenticated as \"%s\" (API key)", q->who.sub);
	return 0;
}

static bool query_bool(struct req *q, const char *name)
{
	const char *v = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND,
						    name);

	return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

/* limit query argument: 1..max, default 100. -1 when malformed. */
static long query_limit(struct req *q)
{
	const char *v = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND,
						    "limit");
	long max = q->r->app->cfg->list_limit_max, n;
	char *end;

	if (!v)
		return max < 100 ? max : 100;
	n = strtol(v, &end, 10);
	if (!*v || *end || n < 1 || n > max)
		return -1;
	return n;
}

/* A header's value, or NULL. */
static const char *header(struct req *q, const char *name)
{
	return MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result doc_write(struct req *q, bool is_delete)
{
	struct sync_write_req w;
	struct gw_error e = {0, ""};

	memset(&w, 0, sizeof(w));
	w.coll = q->coll;
	w.id = q->id_doc;
	w.is_delete = is_delete;
	w.if_match = header(q, "If-Match");
	w.idem_key = header(q, "Idempotency-Key");
	w.body = q->body.buf ? q->body.buf : "";
	w.len = q->body.len;
	w.who = &q->who;
	w.req_id = q->id;
	return started(q, sync_write(q->r->app->sync, &w, on_done, q, &e), &e);
}

static enum MHD_Result h_doc_put(struct req *q, const char *url)
{
	GW_UNUSED(url);
	return doc_write(q, false);
}

static enum MHD_Result h_doc_delete(struct req *q, const char *url)
{
	GW_UNUSED(url);
	return doc_write(q, true);
}

static enum MHD_Result h_doc_get(struct req *q, const char *url)
{
	struct gw_error e = {0, ""};

	GW_UNUSED(url);
	return started(q, sync_get(q->r->app, q->coll, q->id_doc,
				   query_bool(q, "include_deleted"), on_done, q, &e),
		       &e);
}

/* A query argument that is absent or empty: NULL. */
static const char *query_arg(struct req *q, const char *name)
{
	const char *v = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND,
						    name);

	return v && *v ? v : NULL;
}

static enum MHD_Result h_list(struct req *q, const char *url)
{
	long limit = query_limit(q);
	struct gw_error e = {0, ""};

	GW_UNUSED(url);
	if (limit < 0)
		return send_error(q, GW_EBADREQ, "limit must be an integer in 1..max");
	return started(q, sync_list(q->r->app, q->coll, query_arg(q, "cursor"),
				    (size_t)limit, query_bool(q, "include_deleted"),
				    on_done, q, &e), &e);
}

/* The change log and the conflict trail read alike: since, limit. */
typedef int (*since_read_fn)(struct app *app, const char *coll, const char *since,
			     size_t limit, sync_done_fn done, void *arg,
			     struct gw_error *err);

static enum MHD_Result since_page(struct req *q, since_read_fn read)
{
	long limit = query_limit(q);
	struct gw_error e = {0, ""};

	if (limit < 0)
		return send_error(q, GW_EBADREQ, "limit must be an integer in 1..max");
	return started(q, read(q->r->app, q->coll, query_arg(q, "since"),
			       (size_t)limit, on_done, q, &e), &e);
}

static enum MHD_Result h_changes(struct req *q, const char *url)
{
	GW_UNUSED(url);
	return since_page(q, sync_changes);
}

static enum MHD_Result h_conflicts(struct req *q, const char *url)
{
	GW_UNUSED(url);
	return since_page(q, sync_conflicts);
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
	{T_HEALTH, M_GET | M_HEAD, PUBLIC, h_health},
	{T_READY, M_GET | M_HEAD, PUBLIC, h_ready},
	{T_INFO, M_GET | M_HEAD, PUBLIC, h_info},
	{T_METRICS, M_GET | M_HEAD, PUBLIC, h_metrics},
	{T_DEV_TOKEN, M_POST, PUBLIC, h_dev_token},
	{T_DOCS, M_GET, READ, h_list},
	{T_CHANGES, M_GET, READ, h_changes},
	{T_CONFLICTS, M_GET, READ, h_conflicts},
	{T_DOC, M_GET, READ, h_doc_get},
	{T_DOC, M_PUT, WRITE, h_doc_put},
	{T_DOC, M_DELETE, WRITE, h_doc_delete},
	{T_STATIC, M_GET | M_HEAD, PUBLIC, h_static},
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
		snprintf(q->id_doc, sizeof(q->id_doc), "%s", id);
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
	struct timespec ts;
	int64_t now;

	if (q->who.open || !q->r->rates)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (rl_table_take(q->r->rates, q->who.sub, cfg->requests_per_s,
			  cfg->requests_burst, now, &q->retry_after))
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
	const char *why = NULL;
	int target = parse_target(q, url, &why);
	unsigned m = method_bit(method);
	const struct route *rt = NULL;

	if (target < 0) {
		q->refuse = target;
		snprintf(q->refuse_msg, sizeof(q->refuse_msg), "%s", why ? why : "");
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
		if (authenticate(q, q->refuse_msg)) {
			q->refuse = GW_EUNAUTH;
			return;
		}
		if (!rate_ok(q))
			return;
		if (!identity_allows(&q->who, rt->access == WRITE ? ACL_WRITE : ACL_READ,
				     q->coll)) {
			q->refuse = GW_EFORBIDDEN;
			snprintf(q->refuse_msg, sizeof(q->refuse_msg), "%s",
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
		return send_405(q, q->refuse_allow);
	return send_error(q, q->refuse, q->refuse_msg[0] ? q->refuse_msg : NULL);
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
		snprintf(q->id, sizeof(q->id), "r%llu", (unsigned long long)++r->next_id);
		snprintf(q->method, sizeof(q->method), "%.7s", method);
		snprintf(q->path, sizeof(q->path), "%.95s", url);
		*con_cls = q;
		err = check_headers(conn, version, &why);
		if (err) {
			/* the request's framing is in doubt: answer, close */
			q->close_after = true;
			return send_error(q, err, why);
		}
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		clen = cl ? strtoull(cl, NULL, 10) : 0;
		if (clen > (unsigned long long)r->app->cfg->body_max) {
			/* a client still sending would miss an early answer (its
			 * socket gets reset): read and drop the body, answer after;
			 * past DISCARD_MAX answer now and close */
			if (clen > DISCARD_MAX)
				return send_error(q, GW_ETOOBIG, "request body too large");
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
		return send_result(q, &q->reply, NULL);
	}
	if (q->suspended)
		return MHD_YES;
	if (q->refuse)
		return send_refusal(q);
	if (q->too_big)
		return send_error(q, GW_ETOOBIG, "request body too large");
	if (sbuf_failed(&q->body))
		return send_error(q, GW_ENOMEM, NULL);
	if (r->closing && strncmp(url, "/v1/collections/", 16) == 0)
		return send_error(q, GW_EUNAVAIL, "shutting down");
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
		q->gone = true; /* on_done frees it */
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
	r->mhd = r->rates ? rest_mhd_start(app->loop, app->cfg, &hooks) : NULL;
	if (!r->mhd) {
		rl_table_free(r->rates);
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
	free(r);
}

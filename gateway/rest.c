/*
 * rest.c - libmicrohttpd adapter: routes, body accumulation with a size cap,
 * authentication, and the one place where a GW_E* error becomes an HTTP
 * status and a JSON error body. Documents go through sync.c; nothing here
 * knows about Redis.
 */
#include "rest.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpcheck.h"
#include "identity.h"
#include "log.h"
#include "metrics.h"
#include "names.h"
#include "redis_live.h"
#include "redis_store.h"
#include "rest_mhd.h"
#include "sbuf.h"
#include "sync.h"
#include "webroot.h"

#define VERSION "0.1.0"
#define DISCARD_MAX (16 * 1024 * 1024) /* chunked overflow read and dropped */

struct rest {
	struct app *app;        /* borrowed */
	struct rest_mhd *mhd;   /* owned */
	unsigned inflight;      /* requests waiting for sync.c */
	uint64_t next_id;
	bool closing;           /* quiesced: documents answer 503 */
};

struct req {
	struct rest *r;
	struct MHD_Connection *conn;
	char id[24];
	struct sbuf body;
	size_t discarded;
	bool too_big;
	bool suspended;   /* waiting for sync.c */
	bool gone;        /* MHD finished with it while sync.c still runs */
	bool have_reply;
	bool close_after; /* answer with Connection: close (framing doubt) */
	struct sync_reply reply;
	struct identity who;
	char coll[NAMES_COLLECTION_MAX + 1];
	char id_doc[NAMES_ID_MAX + 1];
	char if_match[80];
	char method[8];
	char path[96];
};

/* ---- answering ----------------------------------------------------------- */

static enum MHD_Result send_body(struct req *q, int status, char *body,
				 size_t len, const char *ctype,
				 const struct sync_reply *meta, const char *allow)
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
	if (meta && meta->etag[0])
		MHD_add_response_header(resp, "ETag", meta->etag);
	if (meta && meta->retry_after) {
		char ra[16];

		snprintf(ra, sizeof(ra), "%d", meta->retry_after);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	if (allow)
		MHD_add_response_header(resp, "Allow", allow);
	if (close_after)
		MHD_add_response_header(resp, "Connection", "close");
	ret = MHD_queue_response(q->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	metrics.http_requests++;
	if (status >= 500)
		log_msg(LOG_WARN, "req", q->id, "%s %s -> %d", q->method, q->path, status);
	else
		log_msg(LOG_DEBUG, "req", q->id, "%s %s -> %d", q->method, q->path, status);
	return ret;
}

static enum MHD_Result send_reply(struct req *q, struct sync_reply *r)
{
	char *body = r->body;

	r->body = NULL;
	return send_body(q, r->status, body, r->len, "application/json", r, NULL);
}

static enum MHD_Result send_error(struct req *q, int err, const char *msg)
{
	struct sync_reply r;

	sync_error(&r, err, msg, NULL);
	return send_reply(q, &r);
}

static enum MHD_Result send_json(struct req *q, int status, const char *json)
{
	char *b = strdup(json);

	if (!b)
		return MHD_NO;
	return send_body(q, status, b, strlen(b), "application/json", NULL, NULL);
}

static enum MHD_Result send_405(struct req *q, const char *allow)
{
	struct sync_reply r;

	sync_error(&r, GW_EMETHOD, NULL, NULL);
	return send_body(q, r.status, r.body, r.len, "application/json", &r, allow);
}

/* sync.c answered: keep the reply and let MHD call us again. */
static void on_done(void *arg, struct sync_reply *reply)
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

static void go_async(struct req *q)
{
	q->suspended = true;
	q->r->inflight++;
	MHD_suspend_connection(q->conn);
}

/* ---- simple endpoints ------------------------------------------------------ */

static enum MHD_Result do_ready(struct req *q)
{
	struct app *app = q->r->app;
	const char *why = NULL;
	struct sbuf sb = SBUF_INIT;

	if (app->draining)
		why = "shutting down";
	else if (!store_ready(app->store))
		why = store_status(app->store);
	else if (!live_ready(app->live))
		why = "redis subscriber link not established";
	if (!why)
		return send_json(q, 200, "{\"ready\":true}");
	sbuf_adds(&sb, "{\"ready\":false,\"reason\":");
	sbuf_add_json_str(&sb, why, strlen(why));
	sbuf_addc(&sb, '}');
	if (sbuf_failed(&sb)) {
		sbuf_release(&sb);
		return MHD_NO;
	}
	{
		struct sync_reply meta = {.retry_after = 1};
		size_t len = sb.len;

		return send_body(q, 503, sbuf_detach(&sb, NULL), len,
				 "application/json", &meta, NULL);
	}
}

static enum MHD_Result do_info(struct req *q)
{
	struct app *app = q->r->app;
	struct sbuf sb = SBUF_INIT, url = SBUF_INIT;
	const char *host = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
						       "Host");
	size_t len;

	if (app->cfg->ws_public_url[0]) {
		sbuf_adds(&url, app->cfg->ws_public_url);
	} else {
		char h[HTTPCHECK_HOST_MAX + 1];

		httpcheck_public_host(host, h);
		sbuf_addf(&url, "ws://%s:%d/v1/ws", h, app->cfg->ws_port);
	}
	sbuf_adds(&sb, "{\"name\":\"syncgate\",\"version\":\"" VERSION "\",\"node\":");
	sbuf_add_json_str(&sb, app->node, strlen(app->node));
	sbuf_adds(&sb, ",\"ws_url\":");
	sbuf_add_json_str(&sb, url.buf ? url.buf : "", url.len);
	sbuf_adds(&sb, app->dev_open ? ",\"auth\":\"none\",\"warning\":\"auth is off: "
				       "anyone may read and write everything (dev only)\"}"
				     : ",\"auth\":\"jwt\"}");
	sbuf_release(&url);
	if (sbuf_failed(&sb)) {
		sbuf_release(&sb);
		return MHD_NO;
	}
	len = sb.len;
	return send_body(q, 200, sbuf_detach(&sb, NULL), len, "application/json",
			 NULL, NULL);
}

static enum MHD_Result do_metrics(struct req *q)
{
	struct sbuf sb = SBUF_INIT;
	size_t len;

	metrics_render(&sb);
	if (sbuf_failed(&sb)) {
		sbuf_release(&sb);
		return MHD_NO;
	}
	len = sb.len;
	return send_body(q, 200, sbuf_detach(&sb, NULL), len,
			 "text/plain; version=0.0.4; charset=utf-8", NULL, NULL);
}

static enum MHD_Result do_static(struct req *q, const char *url)
{
	enum MHD_Result ret;
	int err = webroot_serve(q->conn, q->r->app->cfg->web_root, url, &ret);

	if (err == GW_ENOTFOUND)
		return send_error(q, GW_ENOTFOUND, NULL);
	if (err)
		return MHD_NO;
	metrics.http_requests++;
	return ret;
}

/* ---- documents -------------------------------------------------------------- */

static int authenticate(struct req *q)
{
	struct app *app = q->r->app;
	const char *h = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
						    "Authorization");
	const char *tok = NULL;
	size_t len = 0;
	struct gw_error e = {0, ""};
	int rc;

	if (!app->dev_open && h && identity_bearer(h, &tok, &len)) {
		send_error(q, GW_EUNAUTH, "Authorization must be \"Bearer <token>\"");
		return -1;
	}
	rc = identity_from_token(&app->idcfg, tok, len, (int64_t)time(NULL), &q->who, &e);
	if (rc) {
		log_msg(LOG_INFO, "req", q->id, "authentication failed: %s", e.msg);
		send_error(q, GW_EUNAUTH, e.msg);
		return -1;
	}
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

static enum MHD_Result do_docs(struct req *q, const char *method, bool one,
			       const char *what)
{
	struct app *app = q->r->app;
	bool write = strcmp(method, "PUT") == 0 || strcmp(method, "DELETE") == 0;

	if (one && !write && strcmp(method, "GET") != 0)
		return send_405(q, "GET, PUT, DELETE");
	if (!one && strcmp(method, "GET") != 0)
		return send_405(q, "GET");
	if (authenticate(q))
		return MHD_YES;
	if (!identity_allows(&q->who, write ? ACL_WRITE : ACL_READ, q->coll))
		return send_error(q, GW_EFORBIDDEN,
				  write ? "no write permission for this collection"
					: "no read permission for this collection");
	if (one && write) {
		struct sync_write_req w;
		const char *im = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
							     "If-Match");

		if (im && strlen(im) >= sizeof(q->if_match))
			return send_error(q, GW_EPRECOND, "If-Match does not name a version");
		if (im)
			snprintf(q->if_match, sizeof(q->if_match), "%s", im);
		memset(&w, 0, sizeof(w));
		w.coll = q->coll;
		w.id = q->id_doc;
		w.is_delete = method[0] == 'D';
		w.if_match = im ? q->if_match : NULL;
		w.body = q->body.buf ? q->body.buf : "";
		w.len = q->body.len;
		w.who = &q->who;
		w.req_id = q->id;
		go_async(q);
		sync_write(app, &w, on_done, q);
		return MHD_YES;
	}
	if (one) {
		go_async(q);
		sync_get(app, q->coll, q->id_doc, query_bool(q, "include_deleted"),
			 on_done, q);
		return MHD_YES;
	}
	{
		long limit = query_limit(q);
		const char *arg;

		if (limit < 0)
			return send_error(q, GW_EBADREQ, "limit must be an integer in 1..max");
		if (strcmp(what, "docs") == 0) {
			arg = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND,
							  "cursor");
			go_async(q);
			sync_list(app, q->coll, arg && *arg ? arg : NULL, (size_t)limit,
				  query_bool(q, "include_deleted"), on_done, q);
		} else {
			arg = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND,
							  "since");
			go_async(q);
			sync_changes(app, q->coll, arg && *arg ? arg : NULL,
				     (size_t)limit, on_done, q);
		}
	}
	return MHD_YES;
}

/* /v1/collections/{c}/docs[/{id}] and /v1/collections/{c}/changes */
static enum MHD_Result route_collections(struct req *q, const char *method,
					 const char *rest)
{
	const char *slash = strchr(rest, '/');
	size_t clen = slash ? (size_t)(slash - rest) : strlen(rest);
	const char *tail = slash ? slash + 1 : "";

	if (!names_collection_valid(rest, clen))
		return send_error(q, GW_EBADREQ,
				  "collection must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$");
	memcpy(q->coll, rest, clen);
	q->coll[clen] = '\0';
	if (strcmp(tail, "docs") == 0)
		return do_docs(q, method, false, "docs");
	if (strcmp(tail, "changes") == 0)
		return do_docs(q, method, false, "changes");
	if (strncmp(tail, "docs/", 5) == 0) {
		const char *id = tail + 5;

		if (!names_id_valid(id, strlen(id)))
			return send_error(q, GW_EBADREQ,
					  "document id must match ^[A-Za-z0-9_.:@~-]{1,256}$");
		snprintf(q->id_doc, sizeof(q->id_doc), "%s", id);
		return do_docs(q, method, true, "doc");
	}
	return send_error(q, GW_ENOTFOUND, "no such endpoint");
}

static enum MHD_Result route(struct req *q, const char *url, const char *method)
{
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

	if (strncmp(url, "/v1/collections/", 16) == 0)
		return route_collections(q, method, url + 16);
	if (strcmp(url, "/v1/health") == 0)
		return get ? send_json(q, 200, "{\"status\":\"ok\"}") : send_405(q, "GET");
	if (strcmp(url, "/v1/ready") == 0)
		return get ? do_ready(q) : send_405(q, "GET");
	if (strcmp(url, "/v1/info") == 0)
		return get ? do_info(q) : send_405(q, "GET");
	if (strcmp(url, "/metrics") == 0)
		return get ? do_metrics(q) : send_405(q, "GET");
	if (strncmp(url, "/v1/", 4) == 0 || strcmp(url, "/v1") == 0)
		return send_error(q, GW_ENOTFOUND, "no such endpoint");
	if (!get)
		return send_405(q, "GET");
	return do_static(q, url);
}

static int check_headers(struct MHD_Connection *conn, const char *version,
			 const char **why);

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
		return MHD_YES;
	}
	if (*upload_size) {
		if (!q->too_big && q->body.len + *upload_size >
					   (size_t)r->app->cfg->body_max) {
			q->too_big = true;
			sbuf_release(&q->body);
		}
		if (q->too_big) {
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
		return send_reply(q, &q->reply);
	}
	if (q->suspended)
		return MHD_YES;
	if (q->too_big)
		return send_error(q, GW_ETOOBIG, "request body too large");
	if (sbuf_failed(&q->body))
		return send_error(q, GW_ENOMEM, NULL);
	if (r->closing && strncmp(url, "/v1/collections/", 16) == 0)
		return send_error(q, GW_EUNAVAIL, "shutting down");
	return route(q, url, method);
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

/* ---- the listener ------------------------------------------------------------ */

struct rest *rest_start(struct app *app)
{
	struct rest *r = calloc(1, sizeof(*r));
	struct rest_mhd_routes routes = {on_request, on_completed, NULL};

	if (!r)
		return NULL;
	r->app = app;
	routes.arg = r;
	r->mhd = rest_mhd_start(app->loop, app->cfg, &routes);
	if (!r->mhd) {
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
	free(r);
}

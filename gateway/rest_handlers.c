/*
 * rest_handlers.c - the REST endpoints behind the route table: health,
 * ready, info, metrics, static files, the dev token, and the document
 * reads and writes, which go to sync.h's use cases.
 */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devtoken.h"
#include "httpcheck.h"
#include "jwks_fetch.h"
#include "log.h"
#include "metrics.h"
#include "redis_live.h"
#include "redis_store.h"
#include "rest_req.h"
#include "version.h"
#include "webroot.h"
/* ---- handlers ------------------------------------------------------------ */



enum MHD_Result rest_h_health(struct req *q, const char *url)
{
	GW_UNUSED(url);
	return rest_send_json(q, MHD_HTTP_OK, "{\"status\":\"ok\"}");
}

enum MHD_Result rest_h_ready(struct req *q, const char *url)
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
		return rest_send_json(q, MHD_HTTP_OK, "{\"ready\":true}");
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

		return rest_send_body(q, gw_err_http(GW_EUNAVAIL), sbuf_detach(&sb, NULL),
				 len, "application/json", &meta);
	}
}

enum MHD_Result rest_h_info(struct req *q, const char *url)
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
	return rest_send_body(q, MHD_HTTP_OK, sbuf_detach(&sb, NULL), len,
			 "application/json", NULL);
}

enum MHD_Result rest_h_metrics(struct req *q, const char *url)
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
	return rest_send_body(q, MHD_HTTP_OK, sbuf_detach(&sb, NULL), len,
			 "text/plain; version=0.0.4; charset=utf-8", NULL);
}

enum MHD_Result rest_h_static(struct req *q, const char *url)
{
	enum MHD_Result ret;
	int err = webroot_serve(q->conn, q->r->app->cfg->web_root, url,
				q->r->keep_alive, &ret);

	if (err == GW_ENOTFOUND)
		return rest_send_error(q, GW_ENOTFOUND, NULL);
	if (err)
		return MHD_NO;
	metrics.http_requests++;
	return ret;
}

/* POST /v1/dev/token (routed only in dev mode): an all-permissions token
 * for the body's sub and ttl_s; with auth.mode none, no token at all. */
enum MHD_Result rest_h_dev_token(struct req *q, const char *url)
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
		return rest_send_error(q, GW_EBADREQ, e.msg);
	if (app->dev_open)
		return rest_send_json(q, MHD_HTTP_OK,
				 "{\"token\":null,\"auth\":\"none\",\"dev\":true}");
	tok = devtoken_mint(app->cfg->jwt_secret, strlen(app->cfg->jwt_secret),
			    dr.sub, now, dr.ttl_s);
	if (!tok)
		return rest_send_error(q, GW_EINTERNAL, "cannot mint a token");
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
	return rest_send_body(q, MHD_HTTP_OK, sbuf_detach(&sb, NULL), len,
			 "application/json", NULL);
}

/* ---- documents ----------------------------------------------------------- */

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
	return rest_started(q, sync_write(q->r->app->sync, &w, rest_on_done, q, &e), &e);
}

enum MHD_Result rest_h_doc_put(struct req *q, const char *url)
{
	GW_UNUSED(url);
	return doc_write(q, false);
}

enum MHD_Result rest_h_doc_delete(struct req *q, const char *url)
{
	GW_UNUSED(url);
	return doc_write(q, true);
}

enum MHD_Result rest_h_doc_get(struct req *q, const char *url)
{
	struct gw_error e = {0, ""};

	GW_UNUSED(url);
	return rest_started(q, sync_get(q->r->app, q->coll, q->id_doc,
				   query_bool(q, "include_deleted"), rest_on_done, q, &e),
		       &e);
}

/* A query argument that is absent or empty: NULL. */
static const char *query_arg(struct req *q, const char *name)
{
	const char *v = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND,
						    name);

	return v && *v ? v : NULL;
}

enum MHD_Result rest_h_list(struct req *q, const char *url)
{
	long limit = query_limit(q);
	struct gw_error e = {0, ""};

	GW_UNUSED(url);
	if (limit < 0)
		return rest_send_error(q, GW_EBADREQ, "limit must be an integer in 1..max");
	return rest_started(q, sync_list(q->r->app, q->coll, query_arg(q, "cursor"),
				    (size_t)limit, query_bool(q, "include_deleted"),
				    rest_on_done, q, &e), &e);
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
		return rest_send_error(q, GW_EBADREQ, "limit must be an integer in 1..max");
	return rest_started(q, read(q->r->app, q->coll, query_arg(q, "since"),
			       (size_t)limit, rest_on_done, q, &e), &e);
}

enum MHD_Result rest_h_changes(struct req *q, const char *url)
{
	GW_UNUSED(url);
	return since_page(q, sync_changes);
}

enum MHD_Result rest_h_conflicts(struct req *q, const char *url)
{
	GW_UNUSED(url);
	return since_page(q, sync_conflicts);
}

/* A CORS preflight (OPTIONS with Access-Control-Request-Method): 204 with
 * what the origin may send (rest_answer.c adds the CORS headers), or 403
 * for an origin not in cors_origins. */
enum MHD_Result rest_h_preflight(struct req *q, const char *url)
{
	const char *origin = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
							 "Origin");
	char *empty = calloc(1, 1);

	GW_UNUSED(url);
	if (!httpcheck_origin_listed(q->r->app->cfg->cors_origins, origin)) {
		free(empty);
		return rest_send_error(q, GW_EFORBIDDEN,
				       "this origin may not call the API "
				       "(cors_origins)");
	}
	if (!empty)
		return rest_send_error(q, GW_ENOMEM, NULL);
	return rest_send_body(q, 204, empty, 0, "text/plain", NULL);
}

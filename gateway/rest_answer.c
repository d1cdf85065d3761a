/*
 * rest_answer.c - answering REST requests: the one place where a GW_E* code
 * or a use case's result becomes an HTTP status, headers and a JSON body
 * (through the error table), and the suspend/resume around use cases.
 */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpcheck.h"
#include "log.h"
#include "metrics.h"
#include "rest_mhd.h"
#include "rest_req.h"
#include "strx.h"
/* ---- answering ----------------------------------------------------------- */



/* A page of an origin in cors_origins may read the answer (and the
 * headers a client needs); any other origin gets nothing that lets it. */
static void cors_headers(struct req *q, struct MHD_Response *resp)
{
	const char *origin = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
							 "Origin");

	if (!q->r->app->cfg->cors_origins[0])
		return;
	MHD_add_response_header(resp, "Vary", "Origin");
	if (!httpcheck_origin_listed(q->r->app->cfg->cors_origins, origin))
		return;
	MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
	MHD_add_response_header(resp, "Access-Control-Expose-Headers",
				"ETag, Retry-After, X-Request-Id, Idempotent-Replayed");
	if (strcmp(q->method, "OPTIONS") == 0) {
		MHD_add_response_header(resp, "Access-Control-Allow-Methods",
					"GET, HEAD, PUT, DELETE");
		MHD_add_response_header(resp, "Access-Control-Allow-Headers",
					"Authorization, Content-Type, If-Match, "
					"Idempotency-Key, X-API-Key");
		MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
	}
}

enum MHD_Result rest_send_body(struct req *q, int status, char *body,
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
	cors_headers(q, resp);
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
enum MHD_Result rest_send_result(struct req *q, struct sync_result *r,
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
	return rest_send_body(q, status, body, len, "application/json", &meta);
}

enum MHD_Result rest_send_error(struct req *q, int err, const char *msg)
{
	struct sync_result r;

	memset(&r, 0, sizeof(r));
	r.err = err;
	if (msg)
		strx_copy(r.message, sizeof(r.message), msg);
	return rest_send_result(q, &r, NULL);
}

enum MHD_Result rest_send_json(struct req *q, int status, const char *json)
{
	char *b = strdup(json);

	if (!b)
		return MHD_NO;
	return rest_send_body(q, status, b, strlen(b), "application/json", NULL);
}

enum MHD_Result rest_send_405(struct req *q, const char *allow)
{
	struct sync_result r;

	memset(&r, 0, sizeof(r));
	r.err = GW_EMETHOD;
	return rest_send_result(q, &r, allow);
}

/* A use case answered (later, from the loop): keep the result and let MHD
 * call us again. */
void rest_on_done(void *arg, struct sync_result *reply)
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
 * rest_on_done); an error is answered now. */
enum MHD_Result rest_started(struct req *q, int rc, const struct gw_error *e)
{
	if (rc)
		return rest_send_error(q, rc, e->msg);
	q->suspended = true;
	q->r->inflight++;
	MHD_suspend_connection(q->conn);
	return MHD_YES;
}

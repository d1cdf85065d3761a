/*
 * sync_resolve.c - the write pipeline's resolver step (callback policy):
 * the signed request, the answer's checks, and the fallback when it cannot
 * be used. Talks to resolvers only through resolver.h. Part of
 * sync_write.c's pipeline (sync_write_ctx.h).
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hex.h"
#include "log.h"
#include "resolver.h"
#include "sync_write_ctx.h"
#include "strx.h"

#define RESOLVER_ROUNDS 3 /* resolver answers thrown away before the fallback */

/* The resolver's answer cannot be used: the fallback policy decides, on
 * the same stored document, and from now on for this write. */
static void fall_back(struct wctx *w, const char *reason, const char *detail)
{
	w->fallback_reason = reason;
	metrics_fallback(reason);
	log_msg(LOG_WARN, "req", w->req_id,
		"collection \"%s\" id \"%s\": resolver not used (%s%s%s); fallback %s",
		w->coll, w->id, reason, detail && *detail ? ": " : "",
		detail ? detail : "",
		policy_name(w->policy ? w->policy->fallback : POLICY_LWW));
	wctx_decide(w);
}

static void resolved(void *arg, const struct resolver_result *r)
{
	struct wctx *w = arg;
	struct app *app = w->sy->app;
	struct doc_limits lim;
	struct decide_in in;
	const char *reason = NULL;

	metrics.resolver_inflight--;
	w->asked = true;
	w->resolver_ms = (int64_t)(r->seconds * 1000);
	w->resolver_status = r->status == RESOLVER_OK ? r->http_status : 0;
	switch (r->status) {
	case RESOLVER_OK:
		if (r->http_status < 200 || r->http_status > 299)
			reason = RESOLUTION_HTTP_STATUS;
		break;
	case RESOLVER_TIMEOUT:
		reason = RESOLUTION_TIMEOUT;
		break;
	case RESOLVER_UNREACHABLE:
		reason = RESOLUTION_UNREACHABLE;
		break;
	case RESOLVER_TOO_BIG:
		reason = RESOLUTION_BODY_TOO_LARGE;
		break;
	case RESOLVER_ERROR:
	default:
		reason = RESOLUTION_ERROR;
		break;
	}
	lim.data_max = (size_t)app->cfg->data_max;
	lim.depth_max = app->cfg->json_depth;
	if (!reason)
		resolution_parse(r->body, r->len, &lim, &w->ans, &reason);
	metrics_resolver_call(reason ? reason : "ok");
	if (reason) {
		char detail[96];

		if (r->status == RESOLVER_OK)
			snprintf(detail, sizeof(detail), "HTTP %ld", r->http_status);
		else
			strx_copy(detail, sizeof(detail), r->detail);
		fall_back(w, reason, detail);
		return;
	}
	/* keep the answer as understood, compact, for the trail */
	sbuf_release(&w->answer_json);
	sbuf_adds(&w->answer_json, "{\"data\":");
	sbuf_add(&w->answer_json, w->ans.deleted ? "null" : w->ans.data_json,
		 w->ans.deleted ? 4 : w->ans.data_json_len);
	sbuf_adds(&w->answer_json, w->ans.deleted ? ",\"deleted\":true}"
						  : ",\"deleted\":false}");
	memset(&in, 0, sizeof(in));
	in.stored = &w->stored;
	in.write = &w->w;
	in.collection = w->coll;
	in.id = w->id;
	in.writer = w->writer;
	in.is_delete = w->is_delete;
	in.policy = POLICY_CALLBACK;
	in.now_ms = wall_ms();
	{
		int64_t ts = w->dec.ts;

		decide_out_release(&w->dec);
		decide_resolved(&in, w->ans.data, w->ans.data_json,
				w->ans.data_json_len, w->ans.deleted, &w->dec);
		w->dec.ts = ts;
	}
	if (w->dec.kind != DECIDE_APPLY) {
		fall_back(w, RESOLUTION_ERROR, w->dec.message);
		return;
	}
	wctx_store(w);
}

/* Asks the resolver about the conflict in w->dec (DECIDE_RESOLVE). */
void wctx_ask_resolver(struct wctx *w)
{
	struct app *app = w->sy->app;
	const struct coll_policy *p = w->policy;
	struct sbuf body = SBUF_INIT;
	unsigned char rnd[RESOLUTION_ID_LEN / 2];
	char id[RESOLUTION_ID_LEN + 1], sig[RESOLUTION_SIG_LEN + 1];
	char h_id[64 + RESOLUTION_ID_LEN], h_ts[64], h_sig[64 + RESOLUTION_SIG_LEN];
	const char *headers[5];
	struct resolver_req req;
	int64_t left = w->resolve_by_ms - mono_ms(), ts = (int64_t)time(NULL);
	int rc;

	if (w->resolver_rounds >= RESOLVER_ROUNDS) {
		fall_back(w, RESOLUTION_CONTENTION,
			  "the stored document kept changing during resolution");
		return;
	}
	if (left < 1) {
		fall_back(w, RESOLUTION_TIMEOUT, "no time left for the resolver");
		return;
	}
	if (!app->resolver) {
		fall_back(w, RESOLUTION_ERROR, "the gateway is shutting down");
		return;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		fall_back(w, RESOLUTION_ERROR, "no randomness for a request id");
		return;
	}
	hex_encode(rnd, sizeof(rnd), id);
	resolution_request(id, w->coll, w->id, &w->stored, &w->dec.next, &body);
	if (sbuf_failed(&body) ||
	    resolution_sign(p->secret, p->secret_len, ts, body.buf, body.len, sig)) {
		sbuf_release(&body);
		fall_back(w, RESOLUTION_ERROR, "cannot build the request");
		return;
	}
	snprintf(h_id, sizeof(h_id), "X-Syncgate-Request-Id: %s", id);
	snprintf(h_ts, sizeof(h_ts), "X-Syncgate-Timestamp: %lld", (long long)ts);
	snprintf(h_sig, sizeof(h_sig), "X-Syncgate-Signature: %s", sig);
	headers[0] = "Content-Type: application/json";
	headers[1] = h_id;
	headers[2] = h_ts;
	headers[3] = h_sig;
	headers[4] = NULL;
	memset(&req, 0, sizeof(req));
	req.url = p->resolver_url;
	req.body = body.buf;
	req.len = body.len;
	req.headers = headers;
	req.timeout_ms = left > p->resolver_timeout_ms ? p->resolver_timeout_ms
						       : (int)left;
	w->resolver_rounds++;
	rc = resolver_call(app->resolver, &req, resolved, w);
	sbuf_release(&body);
	if (rc == 0)
		metrics.resolver_inflight++;
	if (rc) {
		w->resolver_rounds--;
		fall_back(w, rc == GW_EBUSY ? RESOLUTION_OVERLOADED : RESOLUTION_ERROR,
			  rc == GW_EBUSY ? "too many resolver calls in flight" : NULL);
		return;
	}
	log_msg(LOG_DEBUG, "req", w->req_id, "collection \"%s\" id \"%s\": "
		"asking the resolver (request %s)", w->coll, w->id, id);
}

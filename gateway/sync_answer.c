/*
 * sync_answer.c - the write pipeline's answers: the members after the
 * stored document, the conflict report and trail entry, 409s and no-ops,
 * and keeping what a write that changed nothing leaves behind (record.lua:
 * a refused conflict, a keyed answer), answering from idempotency records.
 * Part of sync_write.c's pipeline (sync_write_ctx.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "log.h"
#include "redis_store.h"
#include "sync_write_ctx.h"
#include "trail.h"
#include "strx.h"

/* Answers from an idempotency record (the first answer of this key). */
void wctx_answer_record(struct wctx *w, const char *rec, size_t len)
{
	struct idem_answer a;
	struct sync_result r;
	char fp[IDEM_HEX_LEN + 1];

	if (idem_record_parse(rec, len, fp, &a)) {
		log_msg(LOG_ERROR, "req", w->req_id,
			"collection \"%s\": unreadable idempotency record", w->coll);
		wctx_fail(w, GW_EINTERNAL, "the idempotency record is unreadable");
		return;
	}
	if (strcmp(fp, w->fp) != 0) {
		wctx_fail(w, GW_EIDEMMISMATCH,
			   "this Idempotency-Key was used with another request "
			   "(method, document, If-Match or body)");
		return;
	}
	memset(&r, 0, sizeof(r));
	r.err = a.err;
	r.created = a.created;
	r.replayed = true;
	strx_copy(r.etag, sizeof(r.etag), a.etag);
	strx_copy(r.message, sizeof(r.message), a.message);
	if (a.body && a.len) {
		r.body = malloc(a.len + 1);
		if (!r.body) {
			wctx_fail(w, GW_ENOMEM, NULL);
			return;
		}
		memcpy(r.body, a.body, a.len);
		r.body[a.len] = '\0';
		r.len = a.len;
	}
	wctx_finish(w, &r, MW_ALREADY_APPLIED);
}

void wctx_strip_unreadable(struct sync_result *r)
{
	struct sbuf wrapped = SBUF_INIT, out = SBUF_INIT;
	const char *p = r->body;
	size_t n = r->len;
	json_t *v;

	if (!r->body || !r->len)
		return;
	if (r->err) {
		/* the members after the error object: ,"stored":{..},... */
		if (p[0] != ',')
			return;
		sbuf_addc(&wrapped, '{');
		sbuf_add(&wrapped, p + 1, n - 1);
		sbuf_addc(&wrapped, '}');
		p = wrapped.buf;
		n = wrapped.len;
	}
	v = sbuf_failed(&wrapped) ? NULL : json_loadb(p, n, 0, NULL);
	sbuf_release(&wrapped);
	if (!json_is_object(v)) {
		/* not ours to guess: answer nothing rather than too much */
		json_decref(v);
		free(r->body);
		r->body = NULL;
		r->len = 0;
		return;
	}
	json_object_del(v, "data");
	json_object_del(v, "stored");
	jsonx_dump(v, &out);
	json_decref(v);
	free(r->body);
	r->body = NULL;
	r->len = 0;
	if (sbuf_failed(&out)) {
		sbuf_release(&out);
		return;
	}
	if (r->err) {
		/* back to members: drop the braces, lead with a comma */
		if (out.len > 2) {
			out.buf[0] = ',';
			out.len--;
			out.buf[out.len] = '\0';
		} else {
			sbuf_release(&out);
			return;
		}
	}
	r->body = sbuf_detach(&out, &r->len);
}

void wctx_conflict_report(struct wctx *w, struct sbuf *sb)
{
	const char *policy = policy_name(w->conflict);

	sbuf_addf(sb, ",\"conflict\":{\"policy\":\"%s\",\"winner\":\"%s\"", policy,
		  w->dec.winner ? w->dec.winner : "stored");
	if (w->fallback_reason)
		sbuf_addf(sb, ",\"fallback\":\"%s\",\"reason\":\"%s\"",
			  policy_name(w->policy ? w->policy->fallback : POLICY_LWW),
			  w->fallback_reason);
	sbuf_addc(sb, '}');
}

/* The answer's members after the document: "applied", "conflict", '}'. */
void wctx_build_tail(struct wctx *w)
{
	sbuf_release(&w->tail);
	sbuf_adds(&w->tail, w->dec.applied ? ",\"applied\":true" : ",\"applied\":false");
	if (w->dec.conflict)
		wctx_conflict_report(w, &w->tail);
	sbuf_addc(&w->tail, '}');
}

/* The incoming document as the resolver and the trail see it. */
static void incoming_doc(struct wctx *w, struct doc *d)
{
	doc_init(d);
	strx_copy(d->collection, sizeof(d->collection), w->coll);
	strx_copy(d->id, sizeof(d->id), w->id);
	strx_copy(d->actor, sizeof(d->actor), w->writer);
	d->timestamp = w->dec.ts;
	d->deleted = w->is_delete;
	d->version = w->w.version; /* borrowed: not released */
	if (!w->is_delete) {
		d->data_json = w->w.data_json;
		d->data_json_len = w->w.data_json_len;
	}
}

/* The conflict trail entry of this round's decision, up to "offset":". */
void wctx_build_trail(struct wctx *w, bool changed)
{
	struct trail_entry t;
	struct doc in;

	incoming_doc(w, &in);
	memset(&t, 0, sizeof(t));
	t.collection = w->coll;
	t.id = w->id;
	t.policy = w->conflict;
	t.winner = w->dec.winner ? w->dec.winner : "stored";
	t.fallback = w->policy ? w->policy->fallback : POLICY_LWW;
	t.reason = w->fallback_reason;
	t.changed = changed;
	t.stored = &w->stored;
	t.incoming = &in;
	t.asked = w->asked;
	t.resolver_status = w->resolver_status;
	t.resolver_ms = w->resolver_ms;
	t.answer = w->answer_json.len ? w->answer_json.buf : NULL;
	t.answer_len = w->answer_json.len;
	t.request_id = w->req_id;
	t.node = w->sy->app->node;
	t.time_ms = wall_ms();
	sbuf_release(&w->trail);
	trail_entry_prefix(&t, &w->trail);
}

static void recorded(void *arg, int err, const char *rec, size_t len)
{
	struct wctx *w = arg;
	struct sync_result r = w->res;
	enum metrics_write_result mr;

	memset(&w->res, 0, sizeof(w->res));
	if (rec) { /* another attempt of this key answered first */
		free(r.body);
		wctx_answer_record(w, rec, len);
		return;
	}
	if (err)
		log_msg(LOG_WARN, "req", w->req_id,
			"collection \"%s\": conflict or answer not recorded (%s)",
			w->coll, gw_err_code(err));
	mr = r.err == 0 ? MW_ALREADY_APPLIED : MW_REJECTED;
	if (r.err == GW_ECONFLICT)
		metrics_conflict(w->conflict, "stored");
	wctx_finish(w, &r, mr);
}

/*
 * Answers r (taken), after keeping what it leaves behind: the trail entry
 * of a refused conflict, the record of a keyed write. Without either, at
 * once.
 */
void wctx_answer_unchanged(struct wctx *w, struct sync_result *r)
{
	struct store_record_args a;
	bool keep = w->has_key && (r->err == 0 || r->err == GW_ECONFLICT ||
				   r->err == GW_EINVVER || r->err == GW_EPRECOND ||
				   r->err == GW_ENOTFOUND);
	struct app *app = w->sy->app;

	if (!keep && !w->trail.len) {
		wctx_finish(w, r, r->err ? MW_REJECTED : MW_ALREADY_APPLIED);
		return;
	}
	sbuf_release(&w->rec);
	if (keep) {
		struct idem_answer ia;

		memset(&ia, 0, sizeof(ia));
		ia.err = r->err;
		ia.created = r->created;
		strx_copy(ia.etag, sizeof(ia.etag), r->etag);
		strx_copy(ia.message, sizeof(ia.message), r->message);
		idem_record_head(w->fp, &ia, &w->rec);
		if (r->body)
			sbuf_add(&w->rec, r->body, r->len);
	}
	if (sbuf_failed(&w->rec) || sbuf_failed(&w->trail)) {
		free(r->body);
		wctx_fail(w, GW_ENOMEM, NULL);
		return;
	}
	memset(&a, 0, sizeof(a));
	a.coll = w->coll;
	a.conflict = w->trail.len ? w->trail.buf : NULL;
	a.conflict_len = w->trail.len;
	a.conflict_history = w->conflict_history;
	a.scope = keep ? w->scope : NULL;
	a.rec = w->rec.buf;
	a.rec_len = w->rec.len;
	a.idem_ttl_s = app->cfg->idempotency_ttl_s;
	w->res = *r;
	if (!app->store || store_record(app->store, &a, recorded, w)) {
		/* nothing kept: the answer itself still stands */
		recorded(w, GW_ENOMEM, NULL, 0);
	}
}

/* r with sb's bytes as its body (sb is taken), answered unchanged. */
static void answer_built(struct wctx *w, struct sync_result *r, struct sbuf *sb)
{
	if (sbuf_failed(sb)) {
		sbuf_release(sb);
		wctx_fail(w, GW_ENOMEM, NULL);
		return;
	}
	r->body = sbuf_detach(sb, &r->len);
	wctx_answer_unchanged(w, r);
}

/* The stored document plus applied false: rules 3 and 4. */
void wctx_answer_noop(struct wctx *w)
{
	struct sync_result r;
	struct sbuf sb = SBUF_INIT;

	memset(&r, 0, sizeof(r));
	vv_etag(&w->stored.version, r.etag);
	sbuf_add(&sb, w->stored_json.buf, w->stored_json.len - 1);
	sbuf_adds(&sb, ",\"applied\":false}");
	answer_built(w, &r, &sb);
}

/* 409 conflict with the stored document (reject, or its fallback). */
void wctx_answer_reject(struct wctx *w)
{
	struct sync_result r;
	struct sbuf sb = SBUF_INIT;

	memset(&r, 0, sizeof(r));
	r.err = GW_ECONFLICT;
	strx_copy(r.message, sizeof(r.message),
		 w->dec.message ? w->dec.message : "");
	vv_etag(&w->stored.version, r.etag);
	sbuf_adds(&sb, ",\"stored\":");
	sbuf_add(&sb, w->stored_json.buf, w->stored_json.len);
	wctx_conflict_report(w, &sb);
	wctx_build_trail(w, false);
	answer_built(w, &r, &sb);
}

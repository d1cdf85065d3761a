/*
 * sync_write.c - the write pipeline (DESIGN.md sections 4-6): validate,
 * wait for the document (one write in flight per document here: doclock),
 * read what is stored (and the idempotency record), decide, ask the
 * resolver when the callback policy meets a conflict, store atomically on
 * the condition that the stored document is still the one decided on, and
 * decide again from the top when it moved on. Talks to Redis only through
 * redis_store.h and to clients only through struct sync_result; the
 * answers are sync_answer.c's, the resolver step sync_resolve.c's.
 */
#include "sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "log.h"
#include "offset.h"
#include "redis_store.h"
#include "seen.h"
#include "sync_write_ctx.h"
#include "strx.h"

struct sync *sync_new(struct app *app)
{
	struct sync *sy = calloc(1, sizeof(*sy));

	if (!sy)
		return NULL;
	sy->app = app;
	sy->locks = doclock_new();
	if (!sy->locks) {
		free(sy);
		return NULL;
	}
	return sy;
}

void sync_free(struct sync *sy)
{
	if (!sy)
		return;
	doclock_free(sy->locks);
	free(sy);
}

/* ---- the end of a write ----------------------------------------------- */

static void round_release(struct wctx *w)
{
	decide_out_release(&w->dec);
	resolution_answer_release(&w->ans);
	doc_release(&w->stored);
	w->have_stored = false;
	sbuf_release(&w->stored_json);
	sbuf_release(&w->next);
	sbuf_release(&w->trail);
	sbuf_release(&w->tail);
	sbuf_release(&w->rec);
	sbuf_release(&w->answer_json);
	w->asked = false;
	w->resolver_status = 0;
	w->resolver_ms = 0;
}

static int round_start(struct wctx *w);
static int round_count(struct wctx *w);
static void got_stored(struct wctx *w, int err, const char *json, size_t len,
		       const char *rec, size_t rlen);

/* Answers (res is taken) and frees w, without handing its document on. */
static void finish_one(struct wctx *w, struct sync_result *res,
		       enum metrics_write_result mr)
{
	metrics_write(mr, mono_s() - w->t0);
	if (res->replayed)
		metrics.idempotent_replays++;
	if (!w->can_read)
		wctx_strip_unreadable(res);
	w->done(w->arg, res);
	round_release(w);
	doc_write_release(&w->w);
	free(w->res.body);
	free(w);
}

/* Answers (res is taken), frees w and hands the document to the next
 * write waiting for it; one that cannot even start answers at once and
 * passes it on in turn (a loop, not a recursion: the queue may be long
 * when Redis goes away). */
void wctx_finish(struct wctx *w, struct sync_result *res,
			 enum metrics_write_result mr)
{
	struct sync *sy = w->sy;
	struct doclock_waiter *next;
	char coll[NAMES_COLLECTION_MAX + 1], id[NAMES_ID_MAX + 1];

	memcpy(coll, w->coll, sizeof(coll));
	memcpy(id, w->id, sizeof(id));
	finish_one(w, res, mr);
	while ((next = doclock_release(sy->locks, coll, id)) != NULL) {
		struct wctx *n = (struct wctx *)(void *)next;
		struct sync_result r;
		int rc = round_start(n);

		if (rc == 0)
			break;
		memset(&r, 0, sizeof(r));
		r.err = rc;
		finish_one(n, &r, MW_ERROR);
	}
}

void wctx_fail(struct wctx *w, int err, const char *msg)
{
	struct sync_result r;
	enum metrics_write_result mr = MW_ERROR;

	if (err == GW_ECONFLICT || err == GW_EINVVER || err == GW_EPRECOND ||
	    err == GW_EIDEMMISMATCH)
		mr = MW_REJECTED;
	memset(&r, 0, sizeof(r));
	r.err = err;
	if (msg)
		strx_copy(r.message, sizeof(r.message), msg);
	wctx_finish(w, &r, mr);
}

/* ---- storing ------------------------------------------------------------ */

/* A rotation the write path started (rotate_lost): its answer is the new
 * head, which seen and the hub learn. */
struct rotation {
	struct app *app;
	char coll[NAMES_COLLECTION_MAX + 1];
};

static void rotated_cb(void *arg, int err, const char *epoch, uint64_t seq,
		       uint64_t base)
{
	struct rotation *rt = arg;

	(void)base;
	if (!err) {
		seen_observe(rt->app->seen, rt->coll, epoch, seq, NULL);
		hub_wrote(rt->app->hub, rt->coll, epoch);
	}
	free(rt);
}

/* Redis showed coll below what was seen (top) in epoch: a lost tail. The
 * collection gets a new epoch (rotate.lua: once, and not again within its
 * interval); a failure to even ask leaves it to the next write. */
static void rotate_lost(struct app *app, const char *coll, const char *epoch,
			uint64_t top)
{
	struct rotation *rt = calloc(1, sizeof(*rt));

	if (!rt)
		return;
	rt->app = app;
	strx_copy(rt->coll, sizeof(rt->coll), coll);
	if (store_rotate(app->store, coll, epoch, top, rotated_cb, rt))
		free(rt);
}

static void stored_cb(void *arg, int err, enum store_write_result sr,
		      const char *epoch, uint64_t seq, const char *rec,
		      size_t rlen)
{
	struct wctx *w = arg;
	struct app *app = w->sy->app;
	struct sync_result r;
	struct sbuf sb = SBUF_INIT;
	char off[OFFSET_STR_MAX];
	uint64_t top;
	int rc;

	if (err) {
		wctx_fail(w, err, err == GW_EINTERNAL ? "the write could not be stored"
						       : NULL);
		return;
	}
	switch (sr) {
	case SW_IDEM:
		wctx_answer_record(w, rec, rlen);
		return;
	case SW_CHANGED:
		/* someone else wrote first (or the document a presumed round
		 * took for absent exists): decide again, from the document the
		 * script found */
		if (!w->presumed)
			metrics.write_rounds++;
		w->presumed = false;
		if ((rc = round_count(w))) {
			wctx_fail(w, rc, NULL);
			return;
		}
		got_stored(w, 0, rec, rlen, NULL, 0);
		return;
	case SW_STALE:
		/* Redis shows another epoch, or less than this gateway saw */
		if (seen_observe(app->seen, w->coll, epoch, seq, &top) != SEEN_BEHIND) {
			hub_wrote(app->hub, w->coll, epoch);
			if ((rc = round_start(w)))
				wctx_fail(w, rc, NULL);
			return;
		}
		log_msg(LOG_WARN, "req", w->req_id,
			"write to \"%s\" refused: redis lost changes, new epoch pending",
			w->coll);
		rotate_lost(app, w->coll, epoch, top);
		wctx_fail(w, GW_EUNAVAIL, "the collection's change log is being "
					   "re-established; retry");
		return;
	case SW_OK:
		break;
	}
	seen_raise(app->seen, w->coll, epoch, seq);
	hub_wrote(app->hub, w->coll, epoch);
	offset_format(epoch, seq, off);
	sbuf_reserve(&sb, w->next.len + strlen(off) + 1 + w->tail.len);
	/* the stored document with its offset, without the closing brace,
	 * then the tail: the same bytes the idempotency record keeps */
	sbuf_add(&sb, w->next.buf, w->next.len);
	sbuf_adds(&sb, off);
	sbuf_addc(&sb, '"');
	sbuf_add(&sb, w->tail.buf, w->tail.len);
	if (sbuf_failed(&sb)) {
		sbuf_release(&sb);
		wctx_fail(w, GW_ENOMEM, NULL);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.created = w->dec.created;
	memcpy(r.etag, w->etag, sizeof(r.etag));
	r.body = sbuf_detach(&sb, &r.len);
	if (w->dec.conflict)
		metrics_conflict(w->conflict, w->dec.winner);
	wctx_finish(w, &r, !w->dec.conflict ? MW_APPLIED :
			    strcmp(w->dec.winner, "resolver") == 0 ? MW_RESOLVED :
			    w->dec.applied ? MW_APPLIED : MW_CONFLICT);
}

/* Stores w->dec.next on the condition that the stored document is still
 * the one decided on. Returns 0 (stored_cb follows), or an error (then
 * nothing was sent). */
static int store_start(struct wctx *w)
{
	struct app *app = w->sy->app;
	struct store_write_args a;
	char known[OFFSET_EPOCH_MAX + 1];
	char expected[OFFSET_STR_MAX];
	struct offset tail;
	uint64_t min_seq;

	vv_etag(&w->dec.next.version, w->etag);
	sbuf_release(&w->next);
	doc_serialize(&w->dec.next, false, &w->next);
	wctx_build_tail(w);
	if (w->dec.conflict)
		wctx_build_trail(w, true);
	else
		sbuf_release(&w->trail);
	sbuf_release(&w->rec);
	if (w->has_key) {
		struct idem_answer ia;

		memset(&ia, 0, sizeof(ia));
		ia.created = w->dec.created;
		memcpy(ia.etag, w->etag, sizeof(ia.etag));
		idem_record_head(w->fp, &ia, &w->rec);
	}
	if (sbuf_failed(&w->next) || sbuf_failed(&w->tail) ||
	    sbuf_failed(&w->trail) || sbuf_failed(&w->rec))
		return GW_ENOMEM;
	seen_get(app->seen, w->coll, known, &min_seq);
	memset(&a, 0, sizeof(a));
	a.coll = w->coll;
	a.id = w->id;
	/* write.lua reads the offset off the stored document's tail: send
	 * what it will find there ("" for a document without the tail, which
	 * the write then replaces; "-" for none at all) */
	a.expected = w->have_stored ? "" : "-";
	if (w->have_stored &&
	    doc_stored_offset(w->stored_json.buf, w->stored_json.len, &tail) == 0) {
		offset_format(tail.epoch, tail.seq, expected);
		a.expected = expected;
	}
	a.doc = w->next.buf;
	a.doc_len = w->next.len;
	a.known_epoch = known;
	a.min_seq = min_seq;
	a.history = w->history;
	a.conflict = w->trail.len ? w->trail.buf : NULL;
	a.conflict_len = w->trail.len;
	a.conflict_history = w->conflict_history;
	a.scope = w->has_key ? w->scope : NULL;
	a.rec_head = w->rec.buf;
	a.rec_head_len = w->rec.len;
	a.answer_tail = w->tail.buf;
	a.answer_tail_len = w->tail.len;
	a.idem_ttl_s = app->cfg->idempotency_ttl_s;
	if (!app->store)
		return GW_EUNAVAIL;
	return store_write(app->store, &a, stored_cb, w) ? GW_ENOMEM : 0;
}

void wctx_store(struct wctx *w)
{
	int rc = store_start(w);

	if (rc)
		wctx_fail(w, rc, NULL);
}

/* ---- deciding ---------------------------------------------------------------- */

/* Fills w->dec: this round's write decided against w->stored (or no
 * document). */
static void decide_round(struct wctx *w)
{
	struct app *app = w->sy->app;
	struct decide_in in;

	memset(&in, 0, sizeof(in));
	in.stored = w->have_stored ? &w->stored : NULL;
	in.write = &w->w;
	in.collection = w->coll;
	in.id = w->id;
	in.writer = w->writer;
	in.is_delete = w->is_delete;
	in.if_match = w->has_if_match ? w->if_match : NULL;
	in.policy = w->conflict;
	if (w->conflict == POLICY_CALLBACK && w->fallback_reason)
		in.policy = w->policy ? w->policy->fallback : POLICY_LWW;
	in.now_ms = wall_ms();
	in.clamp_ms = app->cfg->lww_clamp_ms;
	in.server_clock = strcmp(app->cfg->lww_clock, "server") == 0;
	in.subject = w->subject;
	in.devices_max = app->cfg->actors_per_subject;
	decide_out_release(&w->dec);
	decide_write(&in, &w->dec);
}

/* Decides this round's write and acts on the decision. */
void wctx_decide(struct wctx *w)
{
	decide_round(w);
	switch (w->dec.kind) {
	case DECIDE_FAIL:
		if (w->dec.err == GW_ECONFLICT && w->have_stored) {
			wctx_answer_reject(w);
		} else {
			struct sync_result r;

			memset(&r, 0, sizeof(r));
			r.err = w->dec.err;
			strx_copy(r.message, sizeof(r.message),
				 w->dec.message ? w->dec.message : "");
			wctx_answer_unchanged(w, &r);
		}
		return;
	case DECIDE_NOOP:
		wctx_answer_noop(w);
		return;
	case DECIDE_RESOLVE:
		wctx_ask_resolver(w);
		return;
	case DECIDE_APPLY:
		wctx_store(w);
		return;
	}
}

static void got_stored(struct wctx *w, int err, const char *json, size_t len,
		       const char *rec, size_t rlen)
{
	struct gw_error e;

	if (err) {
		wctx_fail(w, err, NULL);
		return;
	}
	if (rec) {
		wctx_answer_record(w, rec, rlen);
		return;
	}
	round_release(w);
	if (json) {
		if (doc_parse_stored(json, len, &w->stored, &e) || len < 2) {
			log_msg(LOG_ERROR, "req", w->req_id,
				"collection \"%s\" id \"%s\": stored document unreadable",
				w->coll, w->id);
			wctx_fail(w, GW_EINTERNAL, "the stored document is unreadable");
			return;
		}
		w->have_stored = true;
		sbuf_add(&w->stored_json, json, len);
		if (sbuf_failed(&w->stored_json)) {
			wctx_fail(w, GW_ENOMEM, NULL);
			return;
		}
	}
	wctx_decide(w);
}

static void got_doc(void *arg, int err, const char *json, size_t len)
{
	got_stored(arg, err, json, len, NULL, 0);
}

static void got_read(void *arg, int err, const char *json, size_t len,
		     const char *rec, size_t rlen)
{
	got_stored(arg, err, json, len, rec, rlen);
}

/* Counts a new round. Returns 0, or GW_ERETRY once the write has spent
 * its time re-deciding. */
static int round_count(struct wctx *w)
{
	struct app *app = w->sy->app;

	if (++w->rounds == 1) {
		/* the write holds its document from now on: the time it may
		 * spend re-deciding counts from here, not from its arrival */
		w->give_up_ms = mono_ms() + app->cfg->write_retry_ms +
				(w->conflict == POLICY_CALLBACK
					 ? w->policy->resolver_timeout_ms : 0);
	} else if (mono_ms() > w->give_up_ms) {
		log_msg(LOG_WARN, "req", w->req_id,
			"write to \"%s\"/\"%s\": stored document kept changing "
			"(%d rounds)", w->coll, w->id, w->rounds - 1);
		return GW_ERETRY;
	}
	return 0;
}

/*
 * A write with neither a version, If-Match nor a delete is decided the
 * same way whether or not a document is stored, except for the version it
 * gets: so its first round takes the document for absent and goes straight
 * to the write script, which refuses ("changed") if one exists and hands it
 * back for the next round. A new document costs one Redis round trip, an
 * existing one what it cost before.
 */
static bool presume_absent(const struct wctx *w)
{
	return w->rounds == 1 && !w->w.has_version && !w->has_if_match &&
	       !w->is_delete;
}

/* Starts a new round: reads the stored document (and the key's record), or
 * presumes it absent. Returns 0, or an error (then nothing was started). */
static int round_start(struct wctx *w)
{
	struct app *app = w->sy->app;
	int rc = round_count(w);

	if (rc)
		return rc;
	if (!app->store)
		return GW_EUNAVAIL;
	if (presume_absent(w)) {
		round_release(w);
		decide_round(w);
		if (w->dec.kind == DECIDE_APPLY) {
			w->presumed = true;
			return store_start(w);
		}
		/* (cannot happen for such a write; read to be sure) */
	}
	w->presumed = false;
	if (w->has_key)
		return store_read(app->store, w->coll, w->id, w->scope, got_read, w);
	return store_get(app->store, w->coll, w->id, got_doc, w);
}

/* ---- the entry point ------------------------------------------------------------ */

int sync_write(struct sync *sy, const struct sync_write_req *req,
	       sync_done_fn done, void *arg, struct gw_error *err)
{
	struct app *app = sy->app;
	struct wctx *w;
	struct doc_limits lim;
	int64_t now = mono_ms();
	double t0 = mono_s();
	int rc;

	if (req->if_match && strlen(req->if_match) >= sizeof(w->if_match)) {
		metrics_write(MW_REJECTED, mono_s() - t0);
		return gw_fail(err, GW_EPRECOND, "If-Match does not name a version");
	}
	if (req->idem_key && !idem_key_valid(req->idem_key, strlen(req->idem_key))) {
		metrics_write(MW_ERROR, mono_s() - t0);
		return gw_fail(err, GW_EBADREQ, "Idempotency-Key must be 1 to %d "
				"visible ASCII characters", IDEM_KEY_MAX);
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		metrics_write(MW_ERROR, mono_s() - t0);
		return gw_fail(err, GW_ENOMEM, "out of memory");
	}
	lim.data_max = (size_t)app->cfg->data_max;
	lim.depth_max = app->cfg->json_depth;
	rc = doc_parse_write(req->body, req->len, req->is_delete, &lim, &w->w, err);
	if (rc)
		goto fail;
	if (identity_actor(req->who, w->w.has_actor ? w->w.actor : NULL, w->writer)) {
		rc = gw_fail(err, GW_EFORBIDDEN, "actor must be the token's subject or "
			     "start with \"<subject>:\"");
		goto fail;
	}
	if (!app->store || !store_ready(app->store)) {
		rc = gw_fail(err, GW_EUNAVAIL, "%s",
			     app->store ? store_status(app->store) : "shutting down");
		goto fail;
	}
	w->sy = sy;
	w->done = done;
	w->arg = arg;
	strx_copy(w->coll, sizeof(w->coll), req->coll);
	strx_copy(w->id, sizeof(w->id), req->id);
	strx_copy(w->req_id, sizeof(w->req_id), req->req_id ? req->req_id : "");
	w->is_delete = req->is_delete;
	w->can_read = identity_allows(req->who, ACL_READ, req->coll);
	strx_copy(w->subject, sizeof(w->subject), req->who->sub);
	if (req->if_match) {
		w->has_if_match = true;
		strx_copy(w->if_match, sizeof(w->if_match), req->if_match);
	}
	if (req->idem_key) {
		w->has_key = true;
		idem_scope(req->who->sub, req->idem_key, w->scope);
		idem_fingerprint(req->is_delete, req->id, req->if_match, req->body,
				 req->len, w->fp);
	}
	w->policy = policy_find(&app->cfg->colls, req->coll);
	w->conflict = w->policy ? w->policy->conflict : POLICY_LWW;
	w->history = w->policy && w->policy->history ? w->policy->history
						      : (uint64_t)app->cfg->history;
	w->conflict_history = w->policy && w->policy->conflict_history
				      ? w->policy->conflict_history
				      : (uint64_t)app->cfg->conflict_history;
	w->t0 = t0;
	w->resolve_by_ms = now + (w->conflict == POLICY_CALLBACK
					  ? w->policy->resolver_timeout_ms : 0);
	doc_init(&w->stored);
	doc_init(&w->dec.next);

	rc = doclock_acquire(sy->locks, w->coll, w->id, &w->lock,
			     (size_t)app->cfg->writes_waiting_max);
	if (rc == GW_ERATE) {
		rc = gw_fail(err, GW_ERATE, "too many writes are waiting for their "
			     "documents here; retry later");
		goto fail;
	}
	if (rc < 0) {
		rc = gw_fail(err, GW_ENOMEM, "out of memory");
		goto fail;
	}
	if (rc == 0) {
		metrics.write_waits++;
		return 0; /* the write before it hands the document over */
	}
	rc = round_start(w);
	if (rc) {
		doclock_release(sy->locks, w->coll, w->id); /* nobody waits yet */
		gw_fail(err, rc, "%s", gw_err_message(rc));
		goto fail;
	}
	return 0;
fail:
	/* answered without a callback: counted here (wctx_finish otherwise) */
	metrics_write(MW_ERROR, mono_s() - t0);
	doc_write_release(&w->w);
	free(w);
	return rc;
}

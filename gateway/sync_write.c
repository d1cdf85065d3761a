/*
 * sync_write.c - the write pipeline (DESIGN.md sections 4-6): validate,
 * wait for the document (one write in flight per document here: doclock),
 * read what is stored (and the idempotency record), decide, ask the
 * resolver when the callback policy meets a conflict, store atomically on
 * the condition that the stored document is still the one decided on, and
 * decide again from the top when it moved on. Talks to Redis only through
 * redis_store.h, to resolvers only through resolver.h, to clients only
 * through struct sync_result.
 */
#include "sync.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "decide.h"
#include "doc.h"
#include "doclock.h"
#include "hex.h"
#include "idem.h"
#include "log.h"
#include "metrics.h"
#include "offset.h"
#include "redis_store.h"
#include "resolution.h"
#include "resolver.h"
#include "sbuf.h"
#include "trail.h"

#define RESOLVER_ROUNDS 3 /* resolver answers thrown away before the fallback */

struct sync {
	struct app *app;         /* borrowed */
	struct doclock *locks;   /* owned */
};

struct wctx {
	struct doclock_waiter lock;  /* first: the lock hands us back by it */
	struct sync *sy;             /* borrowed */
	sync_done_fn done;
	void *arg;
	char coll[NAMES_COLLECTION_MAX + 1];
	char id[NAMES_ID_MAX + 1];
	bool is_delete;
	bool has_if_match;
	char if_match[80];
	char req_id[24];
	struct doc_write w;          /* owned: the parsed body */
	char writer[NAMES_ACTOR_MAX + 1];
	const struct coll_policy *policy; /* borrowed from the config; NULL: lww */
	enum conflict_policy conflict;
	uint64_t history, conflict_history;
	/* idempotency */
	bool has_key;
	char scope[IDEM_HEX_LEN + 1];
	char fp[IDEM_HEX_LEN + 1];
	/* time */
	double t0;                   /* monotonic seconds, for the latency */
	int64_t give_up_ms;          /* monotonic: stop re-deciding (503); set
					when the write gets its document */
	int64_t resolve_by_ms;       /* monotonic: the resolver budget's end */
	int rounds;
	int resolver_rounds;
	const char *fallback_reason; /* set once the resolver failed: the
					fallback policy decides from then on */
	/* the current round */
	bool have_stored;
	struct doc stored;           /* owned */
	struct sbuf stored_json;     /* owned: its bytes, for answers */
	struct decide_out dec;       /* owned; dec.next borrows w.data_json or
					ans.data_json: release dec first */
	struct sbuf next;            /* the document being stored, up to
					"offset":" */
	struct sbuf trail;           /* the conflict entry, up to "offset":" */
	struct sbuf tail;            /* the answer after the document */
	struct sbuf rec;             /* the idempotency record (head, or all) */
	struct sbuf answer_json;     /* the resolver's answer, compact */
	struct resolution_answer ans;
	bool asked;                  /* a resolver answered in this round */
	long resolver_status;
	int64_t resolver_ms;
	struct sync_result res;      /* the answer being recorded */
	char etag[VV_ETAG_LEN + 1];
};

static int64_t wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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
static void write_fail(struct wctx *w, int err, const char *msg);

/* Answers (res is taken) and frees w, without handing its document on. */
static void finish_one(struct wctx *w, struct sync_result *res,
		       enum metrics_write_result mr)
{
	metrics_write(mr, mono_s() - w->t0);
	if (res->replayed)
		metrics.idempotent_replays++;
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
static void write_finish(struct wctx *w, struct sync_result *res,
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

static void write_fail(struct wctx *w, int err, const char *msg)
{
	struct sync_result r;
	enum metrics_write_result mr = MW_ERROR;

	if (err == GW_ECONFLICT || err == GW_EINVVER || err == GW_EPRECOND ||
	    err == GW_EIDEMMISMATCH)
		mr = MW_REJECTED;
	memset(&r, 0, sizeof(r));
	r.err = err;
	if (msg)
		snprintf(r.message, sizeof(r.message), "%s", msg);
	write_finish(w, &r, mr);
}

/* Answers from an idempotency record (the first answer of this key). */
static void answer_record(struct wctx *w, const char *rec, size_t len)
{
	struct idem_answer a;
	struct sync_result r;
	char fp[IDEM_HEX_LEN + 1];

	if (idem_record_parse(rec, len, fp, &a)) {
		log_msg(LOG_ERROR, "req", w->req_id,
			"collection \"%s\": unreadable idempotency record", w->coll);
		write_fail(w, GW_EINTERNAL, "the idempotency record is unreadable");
		return;
	}
	if (strcmp(fp, w->fp) != 0) {
		write_fail(w, GW_EIDEMMISMATCH,
			   "this Idempotency-Key was used with another request "
			   "(method, document, If-Match or body)");
		return;
	}
	memset(&r, 0, sizeof(r));
	r.err = a.err;
	r.created = a.created;
	r.replayed = true;
	snprintf(r.etag, sizeof(r.etag), "%s", a.etag);
	snprintf(r.message, sizeof(r.message), "%s", a.message);
	if (a.body && a.len) {
		r.body = malloc(a.len + 1);
		if (!r.body) {
			write_fail(w, GW_ENOMEM, NULL);
			return;
		}
		memcpy(r.body, a.body, a.len);
		r.body[a.len] = '\0';
		r.len = a.len;
	}
	write_finish(w, &r, MW_ALREADY_APPLIED);
}

/* ---- answers: the tail after the document, the conflict report ---------- */

static void add_conflict_report(struct wctx *w, struct sbuf *sb)
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
static void build_tail(struct wctx *w)
{
	sbuf_release(&w->tail);
	sbuf_adds(&w->tail, w->dec.applied ? ",\"applied\":true" : ",\"applied\":false");
	if (w->dec.conflict)
		add_conflict_report(w, &w->tail);
	sbuf_addc(&w->tail, '}');
}

/* The incoming document as the resolver and the trail see it. */
static void incoming_doc(struct wctx *w, struct doc *d)
{
	doc_init(d);
	snprintf(d->collection, sizeof(d->collection), "%s", w->coll);
	snprintf(d->id, sizeof(d->id), "%s", w->id);
	snprintf(d->actor, sizeof(d->actor), "%s", w->writer);
	d->timestamp = w->dec.ts;
	d->deleted = w->is_delete;
	d->version = w->w.version; /* borrowed: not released */
	if (!w->is_delete) {
		d->data = w->w.data;
		d->data_json = w->w.data_json;
		d->data_json_len = w->w.data_json_len;
	}
}

/* The conflict trail entry of this round's decision, up to "offset":". */
static void build_trail(struct wctx *w, bool changed)
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

/* ---- answers that change nothing (recorded when the write has a key) ---- */

static void recorded(void *arg, int err, const char *rec, size_t len)
{
	struct wctx *w = arg;
	struct sync_result r = w->res;
	enum metrics_write_result mr;

	memset(&w->res, 0, sizeof(w->res));
	if (rec) { /* another attempt of this key answered first */
		free(r.body);
		answer_record(w, rec, len);
		return;
	}
	if (err)
		log_msg(LOG_WARN, "req", w->req_id,
			"collection \"%s\": conflict or answer not recorded (%s)",
			w->coll, gw_err_code(err));
	mr = r.err == 0 ? MW_ALREADY_APPLIED : MW_REJECTED;
	if (r.err == GW_ECONFLICT)
		metrics_conflict(w->conflict, "stored");
	write_finish(w, &r, mr);
}

/*
 * Answers r (taken), after keeping what it leaves behind: the trail entry
 * of a refused conflict, the record of a keyed write. Without either, at
 * once.
 */
static void answer_unchanged(struct wctx *w, struct sync_result *r)
{
	struct store_record_args a;
	bool keep = w->has_key && (r->err == 0 || r->err == GW_ECONFLICT ||
				   r->err == GW_EINVVER || r->err == GW_EPRECOND ||
				   r->err == GW_ENOTFOUND);
	struct app *app = w->sy->app;

	if (!keep && !w->trail.len) {
		write_finish(w, r, r->err ? MW_REJECTED : MW_ALREADY_APPLIED);
		return;
	}
	sbuf_release(&w->rec);
	if (keep) {
		struct idem_answer ia;

		memset(&ia, 0, sizeof(ia));
		ia.err = r->err;
		ia.created = r->created;
		snprintf(ia.etag, sizeof(ia.etag), "%s", r->etag);
		snprintf(ia.message, sizeof(ia.message), "%s", r->message);
		idem_record_head(w->fp, &ia, &w->rec);
		if (r->body)
			sbuf_add(&w->rec, r->body, r->len);
	}
	if (sbuf_failed(&w->rec) || sbuf_failed(&w->trail)) {
		free(r->body);
		write_fail(w, GW_ENOMEM, NULL);
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
		write_fail(w, GW_ENOMEM, NULL);
		return;
	}
	r->body = sbuf_detach(sb, &r->len);
	answer_unchanged(w, r);
}

/* The stored document plus applied false: rules 3 and 4. */
static void answer_noop(struct wctx *w)
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
static void answer_reject(struct wctx *w)
{
	struct sync_result r;
	struct sbuf sb = SBUF_INIT;

	memset(&r, 0, sizeof(r));
	r.err = GW_ECONFLICT;
	snprintf(r.message, sizeof(r.message), "%s",
		 w->dec.message ? w->dec.message : "");
	vv_etag(&w->stored.version, r.etag);
	sbuf_adds(&sb, ",\"stored\":");
	sbuf_add(&sb, w->stored_json.buf, w->stored_json.len);
	add_conflict_report(w, &sb);
	build_trail(w, false);
	answer_built(w, &r, &sb);
}

/* ---- storing ------------------------------------------------------------ */

static void stored_cb(void *arg, int err, enum store_write_result sr,
		      const char *epoch, uint64_t seq, const char *rec,
		      size_t rlen)
{
	struct wctx *w = arg;
	struct app *app = w->sy->app;
	struct sync_result r;
	struct sbuf sb = SBUF_INIT;
	char off[OFFSET_STR_MAX];
	int rc;

	if (err) {
		write_fail(w, err, err == GW_EINTERNAL ? "the write could not be stored"
						       : NULL);
		return;
	}
	switch (sr) {
	case SW_IDEM:
		answer_record(w, rec, rlen);
		return;
	case SW_CHANGED:
		/* someone else wrote first: decide again from the top */
		metrics.write_rounds++;
		if ((rc = round_start(w)))
			write_fail(w, rc, NULL);
		return;
	case SW_STALE:
		/* Redis shows another epoch, or less than this gateway saw */
		if (hub_observe(app->hub, w->coll, epoch, seq)) {
			if ((rc = round_start(w)))
				write_fail(w, rc, NULL);
			return;
		}
		log_msg(LOG_WARN, "req", w->req_id,
			"write to \"%s\" refused: redis lost changes, new epoch pending",
			w->coll);
		write_fail(w, GW_EUNAVAIL, "the collection's change log is being "
					   "re-established; retry");
		return;
	case SW_OK:
		break;
	}
	hub_observe(app->hub, w->coll, epoch, seq);
	offset_format(epoch, seq, off);
	/* the stored document with its offset, without the closing brace,
	 * then the tail: the same bytes the idempotency record keeps */
	sbuf_add(&sb, w->next.buf, w->next.len);
	sbuf_adds(&sb, off);
	sbuf_addc(&sb, '"');
	sbuf_add(&sb, w->tail.buf, w->tail.len);
	if (sbuf_failed(&sb)) {
		sbuf_release(&sb);
		write_fail(w, GW_ENOMEM, NULL);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.created = w->dec.created;
	memcpy(r.etag, w->etag, sizeof(r.etag));
	r.body = sbuf_detach(&sb, &r.len);
	if (w->dec.conflict)
		metrics_conflict(w->conflict, w->dec.winner);
	write_finish(w, &r, !w->dec.conflict ? MW_APPLIED :
			    strcmp(w->dec.winner, "resolver") == 0 ? MW_RESOLVED :
			    w->dec.applied ? MW_APPLIED : MW_CONFLICT);
}

/* Stores w->dec.next on the condition that the stored document is still
 * the one decided on. */
static void store_decision(struct wctx *w)
{
	struct app *app = w->sy->app;
	struct store_write_args a;
	char known[OFFSET_EPOCH_MAX + 1];
	uint64_t min_seq;

	vv_etag(&w->dec.next.version, w->etag);
	sbuf_release(&w->next);
	doc_serialize(&w->dec.next, false, &w->next);
	build_tail(w);
	if (w->dec.conflict)
		build_trail(w, true);
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
	    sbuf_failed(&w->trail) || sbuf_failed(&w->rec)) {
		write_fail(w, GW_ENOMEM, NULL);
		return;
	}
	hub_known(app->hub, w->coll, known, &min_seq);
	memset(&a, 0, sizeof(a));
	a.coll = w->coll;
	a.id = w->id;
	a.expected = w->have_stored ? w->stored.offset : "";
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
	if (!app->store || store_write(app->store, &a, stored_cb, w))
		write_fail(w, app->store ? GW_ENOMEM : GW_EUNAVAIL, NULL);
}

/* ---- the resolver ----------------------------------------------------------- */

static void decide_stored(struct wctx *w);

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
	decide_stored(w);
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
			snprintf(detail, sizeof(detail), "%s", r->detail);
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
	store_decision(w);
}

/* Asks the resolver about the conflict in w->dec (DECIDE_RESOLVE). */
static void ask_resolver(struct wctx *w)
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

/* ---- deciding ---------------------------------------------------------------- */

/* Decides this round's write against w->stored (or no document). */
static void decide_stored(struct wctx *w)
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
	decide_out_release(&w->dec);
	decide_write(&in, &w->dec);
	switch (w->dec.kind) {
	case DECIDE_FAIL:
		if (w->dec.err == GW_ECONFLICT && w->have_stored) {
			answer_reject(w);
		} else {
			struct sync_result r;

			memset(&r, 0, sizeof(r));
			r.err = w->dec.err;
			snprintf(r.message, sizeof(r.message), "%s",
				 w->dec.message ? w->dec.message : "");
			answer_unchanged(w, &r);
		}
		return;
	case DECIDE_NOOP:
		answer_noop(w);
		return;
	case DECIDE_RESOLVE:
		ask_resolver(w);
		return;
	case DECIDE_APPLY:
		store_decision(w);
		return;
	}
}

static void got_stored(struct wctx *w, int err, const char *json, size_t len,
		       const char *rec, size_t rlen)
{
	struct gw_error e;

	if (err) {
		write_fail(w, err, NULL);
		return;
	}
	if (rec) {
		answer_record(w, rec, rlen);
		return;
	}
	round_release(w);
	if (json) {
		if (doc_parse_stored(json, len, &w->stored, &e) || len < 2) {
			log_msg(LOG_ERROR, "req", w->req_id,
				"collection \"%s\" id \"%s\": stored document unreadable",
				w->coll, w->id);
			write_fail(w, GW_EINTERNAL, "the stored document is unreadable");
			return;
		}
		w->have_stored = true;
		sbuf_add(&w->stored_json, json, len);
		if (sbuf_failed(&w->stored_json)) {
			write_fail(w, GW_ENOMEM, NULL);
			return;
		}
	}
	decide_stored(w);
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

/* Reads the stored document (and the key's record): a new round. Returns
 * 0, or an error (then nothing was started). */
static int round_start(struct wctx *w)
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
	if (!app->store)
		return GW_EUNAVAIL;
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
	snprintf(w->coll, sizeof(w->coll), "%s", req->coll);
	snprintf(w->id, sizeof(w->id), "%s", req->id);
	snprintf(w->req_id, sizeof(w->req_id), "%s", req->req_id ? req->req_id : "");
	w->is_delete = req->is_delete;
	if (req->if_match) {
		w->has_if_match = true;
		snprintf(w->if_match, sizeof(w->if_match), "%s", req->if_match);
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
	/* answered without a callback: counted here (write_finish otherwise) */
	metrics_write(MW_ERROR, mono_s() - t0);
	doc_write_release(&w->w);
	free(w);
	return rc;
}

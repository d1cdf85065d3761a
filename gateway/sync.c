/*
 * sync.c - document use cases: the write pipeline (read stored, decide,
 * conditional atomic store, retry when the stored document moved on) and
 * the reads. Talks to Redis only through redis_store.h and to clients only
 * through sync_reply.
 */
#include "sync.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "decide.h"
#include "doc.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "offset.h"
#include "redis_store.h"
#include "sbuf.h"

#define WRITE_ROUNDS 16 /* decide-and-store attempts before 503 */

static int64_t now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Monotonic seconds with microseconds, for latencies. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sync_error(struct sync_reply *r, int err, const char *message,
		const char *extra)
{
	struct sbuf sb = SBUF_INIT;
	const char *code = gw_err_code(err);

	memset(r, 0, sizeof(*r));
	r->status = gw_err_http(err);
	if (r->status == 503)
		r->retry_after = 1;
	sbuf_adds(&sb, "{\"error\":{\"code\":");
	sbuf_add_json_str(&sb, code, strlen(code));
	sbuf_adds(&sb, ",\"message\":");
	if (!message)
		message = gw_err_message(err);
	sbuf_add_json_str(&sb, message, strlen(message));
	sbuf_addc(&sb, '}');
	if (extra)
		sbuf_adds(&sb, extra);
	sbuf_addc(&sb, '}');
	if (sbuf_failed(&sb)) {
		sbuf_release(&sb);
		r->status = 503;
		r->body = strdup("{\"error\":{\"code\":\"unavailable\",\"message\":\"out of memory\"}}");
		r->len = r->body ? strlen(r->body) : 0;
		return;
	}
	r->body = sbuf_detach(&sb, &r->len);
}

static void reply_sbuf(struct sync_reply *r, int status, struct sbuf *sb)
{
	if (sbuf_failed(sb)) {
		sbuf_release(sb);
		sync_error(r, GW_ENOMEM, NULL, NULL);
		return;
	}
	r->status = status;
	r->body = sbuf_detach(sb, &r->len);
}

static void etag_of(const struct doc *d, char *out)
{
	vv_etag(&d->version, out);
}

/* ---- writes ------------------------------------------------------------ */

struct wctx {
	struct app *app;
	struct sync_write_req req;
	sync_done_fn done;
	void *arg;
	struct doc_write w;
	char writer[NAMES_ACTOR_MAX + 1];
	enum decide_policy policy;
	uint64_t history;
	int rounds;
	double t0;
	struct sbuf next;          /* document being stored, up to "offset":" */
	struct decide_out dec;     /* the decision being stored */
	char etag[VV_ETAG_LEN + 1];
};

static void write_finish(struct wctx *w, struct sync_reply *r,
			 enum metrics_write_result res)
{
	metrics_write(res, now_s() - w->t0);
	w->done(w->arg, r);
	doc_write_release(&w->w);
	decide_out_release(&w->dec);
	sbuf_release(&w->next);
	free(w);
}

static void write_fail(struct wctx *w, int err, const char *msg)
{
	struct sync_reply r;
	enum metrics_write_result res = MW_ERROR;

	if (err == GW_ECONFLICT || err == GW_EINVVER || err == GW_EPRECOND)
		res = MW_REJECTED;
	sync_error(&r, err, msg, NULL);
	write_finish(w, &r, res);
}

static void write_round(struct wctx *w);

/* Answer with the stored document plus "applied" (and "conflict"). */
static void write_answer(struct wctx *w, const char *doc, size_t len,
			 int status, bool applied, enum metrics_write_result res)
{
	struct sbuf sb = SBUF_INIT;
	struct sync_reply r;

	memset(&r, 0, sizeof(r));
	sbuf_add(&sb, doc, len - 1); /* without the closing brace */
	sbuf_adds(&sb, applied ? ",\"applied\":true" : ",\"applied\":false");
	if (w->dec.conflict)
		sbuf_addf(&sb, ",\"conflict\":{\"policy\":\"%s\",\"winner\":\"%s\"}",
			  decide_policy_name(w->policy), w->dec.winner);
	sbuf_addc(&sb, '}');
	reply_sbuf(&r, status, &sb);
	memcpy(r.etag, w->etag, sizeof(r.etag));
	write_finish(w, &r, res);
}

static void stored_cb(void *arg, int err, enum store_write_result sr,
		      const char *epoch, uint64_t seq)
{
	struct wctx *w = arg;
	char off[OFFSET_STR_MAX];

	if (err) {
		write_fail(w, err, err == GW_EINTERNAL ? "the write could not be stored"
						       : NULL);
		return;
	}
	if (sr == SW_CHANGED) {
		write_round(w); /* someone else wrote first: decide again */
		return;
	}
	if (sr == SW_STALE) {
		/* Redis shows another epoch, or less than this gateway saw */
		if (hub_observe(w->app->hub, w->req.coll, epoch, seq)) {
			write_round(w);
			return;
		}
		log_msg(LOG_WARN, "req", w->req.req_id,
			"write to \"%s\" refused: redis lost changes, new epoch pending",
			 w->req.coll);
		write_fail(w, GW_EUNAVAIL, "the collection's change log is being "
					   "re-established; retry");
		return;
	}
	hub_observe(w->app->hub, w->req.coll, epoch, seq);
	offset_format(epoch, seq, off);
	sbuf_adds(&w->next, off);
	sbuf_adds(&w->next, "\"}");
	if (sbuf_failed(&w->next)) {
		write_fail(w, GW_ENOMEM, NULL);
		return;
	}
	write_answer(w, w->next.buf, w->next.len, w->dec.created ? 201 : 200,
		     w->dec.applied,
		     w->dec.applied ? MW_APPLIED : MW_CONFLICT);
}

static void got_stored(void *arg, int err, const char *json, size_t len)
{
	struct wctx *w = arg;
	struct app *app = w->app;
	struct doc stored;
	bool have = json != NULL;
	struct decide_in in;
	struct store_write_args a;
	char known[OFFSET_EPOCH_MAX + 1];
	uint64_t min_seq;
	struct gw_error e;

	if (err) {
		write_fail(w, err, NULL);
		return;
	}
	doc_init(&stored);
	if (have && doc_parse_stored(json, len, &stored, &e)) {
		log_msg(LOG_ERROR, "req", w->req.req_id,
			"collection \"%s\" id \"%s\": stored document unreadable",
			  w->req.coll, w->req.id);
		write_fail(w, GW_EINTERNAL, "the stored document is unreadable");
		return;
	}
	memset(&in, 0, sizeof(in));
	in.stored = have ? &stored : NULL;
	in.write = &w->w;
	in.collection = w->req.coll;
	in.id = w->req.id;
	in.writer = w->writer;
	in.is_delete = w->req.is_delete;
	in.if_match = w->req.if_match;
	in.policy = w->policy;
	in.now_ms = now_ms();
	in.clamp_ms = app->cfg->lww_clamp_ms;
	in.server_clock = strcmp(app->cfg->lww_clock, "server") == 0;
	decide_out_release(&w->dec);
	decide_write(&in, &w->dec);

	if (w->dec.kind == DECIDE_FAIL) {
		if (w->dec.err == GW_ECONFLICT && have) {
			struct sbuf extra = SBUF_INIT;
			struct sync_reply r;

			sbuf_adds(&extra, ",\"stored\":");
			sbuf_add(&extra, json, len);
			sbuf_addf(&extra, ",\"conflict\":{\"policy\":\"%s\",\"winner\":\"stored\"}",
				  decide_policy_name(w->policy));
			sync_error(&r, GW_ECONFLICT, w->dec.message,
				   sbuf_failed(&extra) ? NULL : extra.buf);
			etag_of(&stored, r.etag);
			sbuf_release(&extra);
			doc_release(&stored);
			write_finish(w, &r, MW_REJECTED);
			return;
		}
		doc_release(&stored);
		write_fail(w, w->dec.err, w->dec.message);
		return;
	}
	if (w->dec.kind == DECIDE_NOOP) {
		etag_of(&stored, w->etag);
		doc_release(&stored);
		write_answer(w, json, len, 200, false, MW_ALREADY_APPLIED);
		return;
	}

	/* DECIDE_APPLY: store it, provided the stored doc is still this one */
	etag_of(&w->dec.next, w->etag);
	sbuf_release(&w->next);
	doc_serialize(&w->dec.next, false, &w->next);
	if (sbuf_failed(&w->next)) {
		doc_release(&stored);
		write_fail(w, GW_ENOMEM, NULL);
		return;
	}
	hub_known(app->hub, w->req.coll, known, &min_seq);
	memset(&a, 0, sizeof(a));
	a.coll = w->req.coll;
	a.id = w->req.id;
	a.expected = have ? stored.offset : "";
	a.doc = w->next.buf;
	a.doc_len = w->next.len;
	a.known_epoch = known;
	a.min_seq = min_seq;
	a.history = w->history;
	store_write(app->store, &a, stored_cb, w);
	doc_release(&stored);
}

static void write_round(struct wctx *w)
{
	if (++w->rounds > WRITE_ROUNDS) {
		log_msg(LOG_WARN, "req", w->req.req_id,
			"write to \"%s\"/\"%s\": stored document kept changing",
			 w->req.coll, w->req.id);
		write_fail(w, GW_ERETRY, NULL);
		return;
	}
	store_get(w->app->store, w->req.coll, w->req.id, got_stored, w);
}

void sync_write(struct app *app, const struct sync_write_req *req,
		sync_done_fn done, void *arg)
{
	struct wctx *w = calloc(1, sizeof(*w));
	struct doc_limits lim;
	const struct coll_policy *p;
	struct gw_error e = {0, ""};
	struct sync_reply r;
	int rc;

	if (!w) {
		sync_error(&r, GW_ENOMEM, NULL, NULL);
		done(arg, &r);
		return;
	}
	w->app = app;
	w->req = *req;
	w->done = done;
	w->arg = arg;
	w->t0 = now_s();
	doc_init(&w->dec.next);
	lim.data_max = (size_t)app->cfg->data_max;
	lim.depth_max = app->cfg->json_depth;
	rc = doc_parse_write(req->body, req->len, req->is_delete, &lim, &w->w, &e);
	if (rc) {
		write_fail(w, rc, e.msg);
		return;
	}
	if (identity_actor(req->who, w->w.has_actor ? w->w.actor : NULL, w->writer)) {
		write_fail(w, GW_EFORBIDDEN,
			   "actor must be the token's subject or start with \"<subject>:\"");
		return;
	}
	p = config_policy(app->cfg, req->coll);
	w->policy = p ? p->conflict : POLICY_LWW;
	w->history = p && p->history ? p->history : (uint64_t)app->cfg->history;
	if (!store_ready(app->store)) {
		write_fail(w, GW_EUNAVAIL, store_status(app->store));
		return;
	}
	write_round(w);
}

/* ---- reads --------------------------------------------------------------- */

struct rctx {
	struct app *app;
	sync_done_fn done;
	void *arg;
	char coll[NAMES_COLLECTION_MAX + 1];
	bool include_deleted;
	bool has_since;
	struct offset since;
	size_t limit;
	char cursor_off[OFFSET_STR_MAX]; /* offset carried by a list cursor */
	char epoch[OFFSET_EPOCH_MAX + 1];
	uint64_t seq, base;
};

static struct rctx *rctx_new(struct app *app, const char *coll,
			     sync_done_fn done, void *arg)
{
	struct rctx *c = calloc(1, sizeof(*c));
	struct sync_reply r;

	if (!c) {
		sync_error(&r, GW_ENOMEM, NULL, NULL);
		done(arg, &r);
		return NULL;
	}
	c->app = app;
	c->done = done;
	c->arg = arg;
	snprintf(c->coll, sizeof(c->coll), "%s", coll);
	if (!store_ready(app->store)) {
		sync_error(&r, GW_EUNAVAIL, store_status(app->store), NULL);
		done(arg, &r);
		free(c);
		return NULL;
	}
	return c;
}

static void rctx_fail(struct rctx *c, int err)
{
	struct sync_reply r;

	sync_error(&r, err, NULL, NULL);
	c->done(c->arg, &r);
	free(c);
}

static void got_doc(void *arg, int err, const char *json, size_t len)
{
	struct rctx *c = arg;
	struct sync_reply r;
	struct doc d;
	struct sbuf sb = SBUF_INIT;

	if (err) {
		rctx_fail(c, err);
		return;
	}
	if (!json || doc_parse_stored(json, len, &d, NULL)) {
		if (json)
			log_error("collection \"%s\": stored document unreadable", c->coll);
		rctx_fail(c, json ? GW_EINTERNAL : GW_ENOTFOUND);
		return;
	}
	if (d.deleted && !c->include_deleted) {
		doc_release(&d);
		rctx_fail(c, GW_ENOTFOUND);
		return;
	}
	memset(&r, 0, sizeof(r));
	sbuf_add(&sb, json, len);
	reply_sbuf(&r, 200, &sb);
	etag_of(&d, r.etag);
	doc_release(&d);
	c->done(c->arg, &r);
	free(c);
}

void sync_get(struct app *app, const char *coll, const char *id,
	      bool include_deleted, sync_done_fn done, void *arg)
{
	struct rctx *c = rctx_new(app, coll, done, arg);

	if (!c)
		return;
	c->include_deleted = include_deleted;
	store_get(app->store, coll, id, got_doc, c);
}

static void got_page(void *arg, int err, const char *epoch, uint64_t seq,
		     const char *next, const struct hub_entry *docs, size_t n)
{
	struct rctx *c = arg;
	struct sync_reply r;
	struct sbuf sb = SBUF_INIT;
	char off[OFFSET_STR_MAX];

	if (err) {
		rctx_fail(c, err);
		return;
	}
	if (c->cursor_off[0])
		snprintf(off, sizeof(off), "%s", c->cursor_off);
	else
		offset_format(epoch, seq, off);
	sbuf_adds(&sb, "{\"docs\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			sbuf_addc(&sb, ',');
		sbuf_add(&sb, docs[i].doc, docs[i].len);
	}
	sbuf_adds(&sb, "],\"cursor\":");
	if (next && *next) {
		struct sbuf cur = SBUF_INIT;

		sbuf_adds(&cur, off);
		sbuf_addc(&cur, '/');
		sbuf_adds(&cur, next);
		if (!sbuf_failed(&cur))
			sbuf_add_json_str(&sb, cur.buf, cur.len);
		sbuf_release(&cur);
	} else {
		sbuf_adds(&sb, "null");
	}
	sbuf_adds(&sb, ",\"offset\":");
	sbuf_add_json_str(&sb, off, strlen(off));
	sbuf_addc(&sb, '}');
	memset(&r, 0, sizeof(r));
	reply_sbuf(&r, 200, &sb);
	c->done(c->arg, &r);
	free(c);
}

void sync_list(struct app *app, const char *coll, const char *cursor,
	       size_t limit, bool include_deleted, sync_done_fn done, void *arg)
{
	struct rctx *c;
	const char *after = "";
	struct sync_reply r;

	if (cursor) {
		/* "<epoch>:<seq>/<last id>" */
		const char *slash = strchr(cursor, '/');
		struct offset off;

		if (!slash || offset_parse(cursor, (size_t)(slash - cursor), &off) ||
		    !names_id_valid(slash + 1, strlen(slash + 1))) {
			sync_error(&r, GW_EBADREQ, "malformed cursor", NULL);
			done(arg, &r);
			return;
		}
		after = slash + 1;
	}
	c = rctx_new(app, coll, done, arg);
	if (!c)
		return;
	if (cursor)
		snprintf(c->cursor_off, sizeof(c->cursor_off), "%.*s",
			 (int)(strchr(cursor, '/') - cursor), cursor);
	store_list(app->store, coll, after, limit, include_deleted, got_page, c);
}

static void changes_reply(struct rctx *c, const struct hub_entry *e, size_t n,
			  const char *reset_reason)
{
	struct sbuf sb = SBUF_INIT;
	struct sync_reply r;
	char off[OFFSET_STR_MAX];
	uint64_t last = c->has_since ? c->since.seq : c->base;

	if (reset_reason) {
		offset_format(c->epoch, c->seq, off);
		sbuf_adds(&sb, "{\"changes\":[],\"offset\":");
		sbuf_add_json_str(&sb, off, strlen(off));
		sbuf_adds(&sb, ",\"reset\":true,\"reason\":");
		sbuf_add_json_str(&sb, reset_reason, strlen(reset_reason));
		sbuf_addc(&sb, '}');
	} else {
		sbuf_adds(&sb, "{\"changes\":[");
		for (size_t i = 0; i < n; i++) {
			if (i)
				sbuf_addc(&sb, ',');
			sbuf_add(&sb, e[i].doc, e[i].len);
			last = e[i].seq;
		}
		if (!c->has_since && n == 0)
			last = c->seq;
		offset_format(c->epoch, last, off);
		sbuf_adds(&sb, "],\"offset\":");
		sbuf_add_json_str(&sb, off, strlen(off));
		sbuf_adds(&sb, ",\"reset\":false}");
	}
	memset(&r, 0, sizeof(r));
	reply_sbuf(&r, 200, &sb);
	c->done(c->arg, &r);
	free(c);
}

static void got_changes(void *arg, int err, const struct hub_entry *e, size_t n)
{
	struct rctx *c = arg;

	if (err) {
		rctx_fail(c, err);
		return;
	}
	if (c->has_since && c->since.seq < c->seq &&
	    (n == 0 || e[0].seq > c->since.seq + 1)) {
		changes_reply(c, NULL, 0, "history_trimmed");
		return;
	}
	changes_reply(c, e, n, NULL);
}

static void got_head(void *arg, int err, const char *epoch, uint64_t seq,
		     uint64_t base)
{
	struct rctx *c = arg;
	uint64_t from;

	if (err) {
		rctx_fail(c, err);
		return;
	}
	snprintf(c->epoch, sizeof(c->epoch), "%s", epoch);
	c->seq = seq;
	c->base = base;
	if (c->has_since) {
		if (strcmp(c->since.epoch, epoch) != 0 || c->since.seq > seq) {
			changes_reply(c, NULL, 0, "epoch_changed");
			return;
		}
		if (c->since.seq < base) {
			changes_reply(c, NULL, 0, "history_trimmed");
			return;
		}
		if (c->since.seq == seq) {
			changes_reply(c, NULL, 0, NULL);
			return;
		}
		from = c->since.seq + 1;
	} else {
		from = base + 1;
	}
	store_log(c->app->store, c->coll, from, c->limit, got_changes, c);
}

void sync_changes(struct app *app, const char *coll, const char *since,
		  size_t limit, sync_done_fn done, void *arg)
{
	struct offset off;
	struct rctx *c;
	struct sync_reply r;

	if (since && offset_parse(since, strlen(since), &off)) {
		sync_error(&r, GW_EBADREQ, "since must be an offset \"<epoch>:<seq>\"",
			   NULL);
		done(arg, &r);
		return;
	}
	c = rctx_new(app, coll, done, arg);
	if (!c)
		return;
	c->limit = limit;
	if (since) {
		c->has_since = true;
		c->since = off;
	}
	store_meta(app->store, coll, got_head, c);
}

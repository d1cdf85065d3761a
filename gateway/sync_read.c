/*
 * sync_read.c - the read use cases: one document, list pages, the change
 * log and the conflict trail. Talks to Redis only through redis_store.h
 * and to clients only through struct sync_result (sync.h).
 */
#include "sync.h"

#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "log.h"
#include "offset.h"
#include "redis_store.h"
#include "sbuf.h"
#include "trail.h"
#include "strx.h"

#define TRAIL_ID_MAX 48 /* "<ms>-<n>": two 64-bit numbers */

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
	char trail_since[TRAIL_ID_MAX];
	char epoch[OFFSET_EPOCH_MAX + 1];
	uint64_t seq, base;
};

/* A context, or an error (err filled) when Redis is not ready or memory
 * is short. */
static struct rctx *rctx_new(struct app *app, const char *coll,
			     sync_done_fn done, void *arg, struct gw_error *err)
{
	struct rctx *c;

	if (!app->store || !store_ready(app->store)) {
		gw_fail(err, GW_EUNAVAIL, "%s",
			app->store ? store_status(app->store) : "shutting down");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		gw_fail(err, GW_ENOMEM, "out of memory");
		return NULL;
	}
	c->app = app;
	c->done = done;
	c->arg = arg;
	strx_copy(c->coll, sizeof(c->coll), coll);
	return c;
}

/* The first store call's return: on failure the context goes, no callback. */
static int started(struct rctx *c, int rc, struct gw_error *err)
{
	if (rc) {
		free(c);
		return gw_fail(err, rc, "out of memory");
	}
	return 0;
}

static void answer(struct rctx *c, struct sync_result *r)
{
	c->done(c->arg, r);
	free(c);
}

static void answer_err(struct rctx *c, int err)
{
	struct sync_result r;

	memset(&r, 0, sizeof(r));
	r.err = err;
	answer(c, &r);
}

/* Answers with sb's bytes (or GW_ENOMEM); etag may be NULL. */
static void answer_sbuf(struct rctx *c, struct sbuf *sb, const char *etag)
{
	struct sync_result r;

	if (sbuf_failed(sb)) {
		sbuf_release(sb);
		answer_err(c, GW_ENOMEM);
		return;
	}
	memset(&r, 0, sizeof(r));
	if (etag)
		strx_copy(r.etag, sizeof(r.etag), etag);
	r.body = sbuf_detach(sb, &r.len);
	answer(c, &r);
}

/* ---- one document ------------------------------------------------------- */

static void got_doc(void *arg, int err, const char *json, size_t len)
{
	struct rctx *c = arg;
	struct doc d;
	struct sbuf sb = SBUF_INIT;
	char etag[VV_ETAG_LEN + 1];

	if (err) {
		answer_err(c, err);
		return;
	}
	if (!json || doc_parse_stored(json, len, &d, NULL)) {
		if (json)
			log_error("collection \"%s\": stored document unreadable", c->coll);
		answer_err(c, json ? GW_EINTERNAL : GW_ENOTFOUND);
		return;
	}
	if (d.deleted && !c->include_deleted) {
		doc_release(&d);
		answer_err(c, GW_ENOTFOUND);
		return;
	}
	vv_etag(&d.version, etag);
	doc_release(&d);
	sbuf_add(&sb, json, len);
	answer_sbuf(c, &sb, etag);
}

int sync_get(struct app *app, const char *coll, const char *id,
	     bool include_deleted, sync_done_fn done, void *arg,
	     struct gw_error *err)
{
	struct rctx *c = rctx_new(app, coll, done, arg, err);

	if (!c)
		return err->code;
	c->include_deleted = include_deleted;
	return started(c, store_get(app->store, coll, id, got_doc, c), err);
}

/* ---- list pages ----------------------------------------------------------- */

static void got_page(void *arg, int err, const char *epoch, uint64_t seq,
		     const char *next, const struct hub_entry *docs, size_t n)
{
	struct rctx *c = arg;
	struct sbuf sb = SBUF_INIT;
	char off[OFFSET_STR_MAX];

	if (err) {
		answer_err(c, err);
		return;
	}
	if (c->cursor_off[0])
		strx_copy(off, sizeof(off), c->cursor_off);
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
		else
			sb.oom = true;
		sbuf_release(&cur);
	} else {
		sbuf_adds(&sb, "null");
	}
	sbuf_adds(&sb, ",\"offset\":");
	sbuf_add_json_str(&sb, off, strlen(off));
	sbuf_addc(&sb, '}');
	answer_sbuf(c, &sb, NULL);
}

int sync_list(struct app *app, const char *coll, const char *cursor,
	      size_t limit, bool include_deleted, sync_done_fn done, void *arg,
	      struct gw_error *err)
{
	struct rctx *c;
	const char *after = "";

	if (cursor) {
		/* "<epoch>:<seq>/<last id>" */
		const char *slash = strchr(cursor, '/');
		struct offset off;

		if (!slash || offset_parse(cursor, (size_t)(slash - cursor), &off) ||
		    !names_id_valid(slash + 1, strlen(slash + 1)))
			return gw_fail(err, GW_EBADREQ, "malformed cursor");
		after = slash + 1;
	}
	c = rctx_new(app, coll, done, arg, err);
	if (!c)
		return err->code;
	if (cursor)
		snprintf(c->cursor_off, sizeof(c->cursor_off), "%.*s",
			 (int)(strchr(cursor, '/') - cursor), cursor);
	return started(c, store_list(app->store, coll, after, limit,
				     include_deleted, got_page, c), err);
}

/* ---- the change log --------------------------------------------------------- */

static void changes_reply(struct rctx *c, const struct hub_entry *e, size_t n,
			  const char *reset_reason)
{
	struct sbuf sb = SBUF_INIT;
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
	answer_sbuf(c, &sb, NULL);
}

static void got_changes(void *arg, int err, const struct hub_entry *e, size_t n)
{
	struct rctx *c = arg;

	if (err) {
		answer_err(c, err);
		return;
	}
	if (c->has_since && c->since.seq < c->seq &&
	    (n == 0 || e[0].seq > c->since.seq + 1)) {
		changes_reply(c, NULL, 0, "history_trimmed");
		return;
	}
	/* rotated since the head read: answer the old epoch's part; the
	 * next call's head read gives the reset */
	changes_reply(c, e, hub_entries_in_epoch(c->epoch, e, n), NULL);
}

/* A head read's (or rotation's) answer: false when it failed (answered). */
static bool take_head(struct rctx *c, int err, const char *epoch, uint64_t seq,
		      uint64_t base)
{
	if (err) {
		answer_err(c, err);
		return false;
	}
	strx_copy(c->epoch, sizeof(c->epoch), epoch);
	c->seq = seq;
	c->base = base;
	return true;
}

/* After the rotation a `since` ahead of the head asked for: the reset
 * names the new epoch's head (or, when the collection was rotated a moment
 * ago and this one is refused, the head as it is). */
static void got_rotated(void *arg, int err, const char *epoch, uint64_t seq,
			uint64_t base)
{
	struct rctx *c = arg;

	if (take_head(c, err, epoch, seq, base))
		changes_reply(c, NULL, 0, "epoch_changed");
}

static void got_head(void *arg, int err, const char *epoch, uint64_t seq,
		     uint64_t base)
{
	struct rctx *c = arg;
	uint64_t from;

	if (!take_head(c, err, epoch, seq, base))
		return;
	if (c->has_since) {
		if (strcmp(c->since.epoch, epoch) == 0 && c->since.seq > seq) {
			/* the client holds changes Redis no longer has: a lost
			 * tail. A new epoch, or the client would later get other
			 * changes under offsets it holds */
			if (store_rotate(c->app->store, c->coll, epoch, c->since.seq,
					 got_rotated, c))
				answer_err(c, GW_ENOMEM);
			return;
		}
		if (strcmp(c->since.epoch, epoch) != 0) {
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
	if (store_log(c->app->store, c->coll, from, c->limit, got_changes, c))
		answer_err(c, GW_ENOMEM);
}

int sync_changes(struct app *app, const char *coll, const char *since,
		 size_t limit, sync_done_fn done, void *arg,
		 struct gw_error *err)
{
	struct offset off;
	struct rctx *c;

	if (since && offset_parse(since, strlen(since), &off))
		return gw_fail(err, GW_EBADREQ,
			       "since must be an offset \"<epoch>:<seq>\"");
	c = rctx_new(app, coll, done, arg, err);
	if (!c)
		return err->code;
	c->limit = limit;
	if (since) {
		c->has_since = true;
		c->since = off;
	}
	return started(c, store_meta(app->store, coll, got_head, c), err);
}

/* ---- the conflict trail ------------------------------------------------------ */

/* A trail cursor is a stream id: "<ms>-<n>", both decimal. */
static bool trail_id_valid(const char *s)
{
	size_t a = strspn(s, "0123456789"), b;

	if (a == 0 || a > 20 || s[a] != '-')
		return false;
	b = strspn(s + a + 1, "0123456789");
	return b > 0 && b <= 20 && s[a + 1 + b] == '\0';
}

static void got_trail(void *arg, int err, const struct store_trail_entry *e,
		      size_t n)
{
	struct rctx *c = arg;
	struct sbuf sb = SBUF_INIT;
	const char *cursor = c->trail_since;

	if (err) {
		answer_err(c, err);
		return;
	}
	sbuf_adds(&sb, "{\"conflicts\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			sbuf_addc(&sb, ',');
		/* the entry with its place in the trail after "type", the same
		 * bytes subscribers get (write.lua, record.lua) */
		if (!trail_is_entry(e[i].json, e[i].len)) {
			log_error("collection \"%s\": unreadable conflict trail entry %s",
				  c->coll, e[i].id);
			sbuf_release(&sb);
			answer_err(c, GW_EINTERNAL);
			return;
		}
		sbuf_add(&sb, e[i].json, TRAIL_ENTRY_START_LEN);
		sbuf_adds(&sb, "\"trail_id\":");
		sbuf_add_json_str(&sb, e[i].id, strlen(e[i].id));
		sbuf_addc(&sb, ',');
		sbuf_add(&sb, e[i].json + TRAIL_ENTRY_START_LEN,
			 e[i].len - TRAIL_ENTRY_START_LEN);
		cursor = e[i].id;
	}
	sbuf_adds(&sb, "],\"cursor\":");
	if (*cursor)
		sbuf_add_json_str(&sb, cursor, strlen(cursor));
	else
		sbuf_adds(&sb, "null");
	sbuf_addc(&sb, '}');
	answer_sbuf(c, &sb, NULL);
}

int sync_conflicts(struct app *app, const char *coll, const char *since,
		   size_t limit, sync_done_fn done, void *arg,
		   struct gw_error *err)
{
	struct rctx *c;

	if (since && !trail_id_valid(since))
		return gw_fail(err, GW_EBADREQ,
			       "since must be a trail cursor \"<number>-<number>\"");
	c = rctx_new(app, coll, done, arg, err);
	if (!c)
		return err->code;
	strx_copy(c->trail_since, sizeof(c->trail_since), since ? since : "");
	return started(c, store_conflicts(app->store, coll, c->trail_since, limit,
					  got_trail, c), err);
}

/*
 * hub.c - the per-collection delivery state machine (hub_sub.c has the
 * subscriptions' side: start, replay, the since check, sessions).
 * Pure: talks to Redis only through struct hub_backend and to clients only
 * through struct session. Must not include libwebsockets or hiredis.
 *
 * Per collection: `head` is the last seq delivered live; subscriptions in
 * S_LIVE have pos >= head and receive seq exactly when pos == seq - 1, so a
 * change reaches each subscription once and in order. Subscriptions in
 * S_REPLAY read the log themselves until they reach head. The highest seq
 * seen of each collection (evidence of a lost tail) is seen.c's, which the
 * hub raises as changes pass and asks on every head read.
 */
#include "hub.h"
#include "hub_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "log.h"
#include "map.h"
#include "metrics.h"
#include "names.h"
#include "offset.h"
#include "proto.h"
#include "seen.h"
#include "trail.h"
#include "strx.h"

struct hub *hub_new(const struct hub_backend *backend, struct seen *seen)
{
	struct hub *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->be = *backend;
	h->seen = seen;
	map_init(&h->colls);
	return h;
}

void hub_free(struct hub *h)
{
	struct map_entry *e;
	size_t pos;

	if (!h)
		return;
	for (e = map_first(&h->colls, &pos); e; e = map_next(&h->colls, e, &pos))
		free(e->val);
	map_release(&h->colls);
	free(h);
}

struct hub_coll *hub_coll_get(struct hub *h, const char *name, bool create)
{
	struct hub_coll *c = map_get(&h->colls, name);

	if (c || !create)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	strx_copy(c->name, sizeof(c->name), name);
	if (map_put(&h->colls, c->name, c)) {
		free(c);
		return NULL;
	}
	return c;
}

void hub_offset_of(const struct hub_coll *c, uint64_t seq, char *buf)
{
	offset_format(c->epoch, seq, buf);
}

/* ---- sending ---------------------------------------------------------- */

static void reset_all(struct hub_coll *c, const char *reason)
{
	for (struct hub_sub *s = c->subs; s; s = s->cnext)
		if (s->state != S_PENDING)
			hub_sub_reset(s, reason);
}

/* A backend read could not even be started: try again at a later tick. */
static void coll_call_failed(struct hub *h, struct hub_coll *c)
{
	c->busy = false;
	if (c->state != C_IDLE) {
		c->state = C_RETRY;
		c->retry_at = h->now_ms + RETRY_MS;
	}
}

/* Queues a shared message, creating it on first use (*m NULL). Returns 0,
 * or -1 when the session is closing or out of memory (then closed). */
static int enqueue_shared(struct session *sess, struct msg **m,
			  struct msg *(*make)(const char *, size_t),
			  const char *json, size_t len)
{
	if (!*m && !(*m = make(json, len))) {
		session_close(sess, gw_err_ws_close(GW_EINTERNAL), "out of memory");
		return -1;
	}
	return session_enqueue(sess, *m) ? -1 : 0;
}

/* Delivers one change at seq (== head + 1) to every live subscription,
 * preceded by the conflict entry it settled (when any) for those that
 * asked for conflicts. */
static void deliver(struct hub_coll *c, uint64_t seq, const char *doc,
		    size_t len, const char *conflict, size_t clen)
{
	struct msg *m = NULL, *cm = NULL;

	c->head = seq; /* seen already has it: the live message or head read
			* that made it known raised it */
	for (struct hub_sub *s = c->subs; s; s = s->cnext) {
		if (s->state != S_LIVE || s->pos != seq - 1)
			continue;
		s->pos = seq;
		if (conflict && s->conflicts &&
		    enqueue_shared(s->sess, &cm, proto_conflict, conflict, clen))
			continue;
		if (enqueue_shared(s->sess, &m, proto_change, doc, len) == 0)
			metrics.changes_delivered++;
	}
	msg_unref(m);
	msg_unref(cm);
}

/* A conflict that changed nothing, following the change at seq: to the
 * live subscriptions that asked for conflicts and stand right there. */
static void deliver_conflict(struct hub_coll *c, uint64_t seq,
			     const char *entry, size_t len)
{
	struct msg *cm = NULL;

	if (c->state != C_LIVE || seq != c->head)
		return; /* not in step with the changes: the trail keeps it */
	for (struct hub_sub *s = c->subs; s; s = s->cnext)
		if (s->state == S_LIVE && s->pos == seq && s->conflicts)
			enqueue_shared(s->sess, &cm, proto_conflict, entry, len);
	msg_unref(cm);
}

/* ---- collection state machine ------------------------------------------- */

/* Re-reads the collection's head (after the call in flight, if any). */
void hub_coll_meta(struct hub *h, struct hub_coll *c)
{
	if (c->busy) {
		c->resync = true;
		return;
	}
	c->busy = true;
	c->resync = false;
	if (c->state != C_OPENING)
		c->state = C_SYNCING;
	if (h->be.meta(h->be.ctx, c->name, NULL))
		coll_call_failed(h, c);
}

static void coll_repair(struct hub *h, struct hub_coll *c)
{
	uint64_t n = c->target - c->head;

	c->state = C_REPAIRING;
	c->busy = true;
	if (h->be.log(h->be.ctx, c->name, c->head + 1,
		      n > REPAIR_BATCH ? REPAIR_BATCH : (size_t)n, NULL))
		coll_call_failed(h, c);
}

/* A client's since is ahead of what Redis has in the same epoch: Redis lost
 * the tail. Rotate (rotate.lua: once, and not again within its interval);
 * the result comes back as a head read. */
void hub_coll_rotate(struct hub *h, struct hub_coll *c, uint64_t proof)
{
	if (proof > c->rotate_proof)
		c->rotate_proof = proof;
	if (c->busy)
		return; /* coll_continue rotates when the call in flight is done */
	c->busy = true;
	proof = c->rotate_proof;
	c->rotate_proof = 0;
	if (h->be.rotate(h->be.ctx, c->name, c->epoch, proof))
		coll_call_failed(h, c);
}

/* Subscribers whose since was ahead get their reset once the collection
 * is rotated (reset_all did it) or its rotation was refused (here). */
static void release_ahead(struct hub_coll *c)
{
	for (struct hub_sub *s = c->subs; s; s = s->cnext)
		if (s->state == S_CHECK && s->ahead && !s->busy) {
			s->ahead = false;
			hub_sub_reset(s, "epoch_changed");
		}
}

/* After a collection-level call: continue whatever is pending. */
static void coll_continue(struct hub *h, struct hub_coll *c)
{
	if (c->busy || c->state == C_OPENING || c->state == C_IDLE ||
	    c->state == C_RETRY)
		return;
	if (c->rotate_proof) {
		hub_coll_rotate(h, c, 0);
	} else if (c->resync) {
		hub_coll_meta(h, c);
	} else if (c->target > c->head) {
		coll_repair(h, c);
	} else {
		c->state = C_LIVE;
	}
}

static bool has_started_subs(const struct hub_coll *c)
{
	for (struct hub_sub *s = c->subs; s; s = s->cnext)
		if (s->state != S_PENDING)
			return true;
	return false;
}

static void coll_meta_result(struct hub *h, struct hub_coll *c, int rc,
			     const char *epoch, uint64_t seq)
{
	uint64_t top;

	c->busy = false;
	if (rc) {
		/* idle: nothing to do; opening: hub_on_open reads again */
		if (c->state != C_IDLE && c->state != C_OPENING) {
			c->state = C_RETRY;
			c->retry_at = h->now_ms + RETRY_MS;
		}
		/* a broken collection (keys of the wrong type) will not heal by
		 * itself: tell the waiting subscribers; Redis being away will */
		if (!c->synced && rc == GW_EINTERNAL)
			hub_fail_pending(h, c, rc);
		return;
	}
	if (seen_observe(h->seen, c->name, epoch, seq, &top) == SEEN_BEHIND) {
		/* Redis lost changes it had shown: new epoch, then reset */
		c->busy = true;
		if (h->be.rotate(h->be.ctx, c->name, epoch, top))
			coll_call_failed(h, c);
		return;
	}
	if (strcmp(c->epoch, epoch) != 0) {
		bool had = c->epoch[0] != '\0';

		if (had && c->state != C_IDLE) {
			metrics.epoch_changes++;
			log_warn("collection \"%s\": epoch %s -> %s (Redis lost or "
				 "replaced its change log); subscribers reset", c->name,
				 c->epoch, epoch);
		}
		strx_copy(c->epoch, sizeof(c->epoch), epoch);
		c->head = c->target = seq;
		if (had && c->state != C_IDLE)
			reset_all(c, "epoch_changed");
	} else if (c->state == C_IDLE || !has_started_subs(c)) {
		c->head = seq;
		if (c->target < seq)
			c->target = seq;
	} else if (seq > c->target) {
		c->target = seq;
	}
	release_ahead(c);
	if (c->state == C_IDLE || c->state == C_OPENING)
		return;
	c->state = C_LIVE;
	if (!c->synced) {
		c->synced = true;
		hub_start_pending(h, c);
	}
	coll_continue(h, c);
}

size_t hub_entries_in_epoch(const char *epoch, const struct hub_entry *e,
			    size_t n)
{
	struct offset off;

	for (size_t i = 0; i < n; i++)
		if (doc_stored_offset(e[i].doc, e[i].len, &off) == 0 &&
		    strcmp(off.epoch, epoch) != 0)
			return i;
	return n;
}

static void coll_log_result(struct hub *h, struct hub_coll *c, int rc,
			    const struct hub_entry *e, size_t n)
{
	size_t k;

	c->busy = false;
	if (c->state == C_IDLE)
		return;
	if (rc) {
		c->state = C_RETRY;
		c->retry_at = h->now_ms + RETRY_MS;
		return;
	}
	k = hub_entries_in_epoch(c->epoch, e, n);
	if (k < n) {
		/* the log is in another epoch past k: learn it (the head
		 * read resets every subscriber) after delivering the rest */
		c->resync = true;
		n = k;
	} else if (n == 0 || e[0].seq > c->head + 1) {
		/* the log no longer holds what was missed; re-read the head */
		c->head = c->target;
		c->resync = true;
		reset_all(c, "history_trimmed");
	}
	for (size_t i = 0; i < n; i++) {
		if (e[i].seq == c->head + 1) {
			metrics.gap_repairs++;
			deliver(c, e[i].seq, e[i].doc, e[i].len, e[i].conflict,
				e[i].clen);
		}
	}
	if (c->state == C_REPAIRING)
		c->state = C_LIVE;
	coll_continue(h, c);
}

/* ---- public: backend answers ------------------------------------------ */

void hub_on_open(struct hub *h, const char *coll)
{
	struct hub_coll *c = hub_coll_get(h, coll, false);

	if (!c || c->state == C_IDLE)
		return;
	if (c->state == C_OPENING)
		c->state = C_SYNCING;
	hub_coll_meta(h, c);
}

void hub_on_meta(struct hub *h, const char *coll, struct hub_sub *sub, int rc,
		 const char *epoch, uint64_t seq)
{
	struct hub_coll *c;

	if (sub) {
		if (!sub->dead)
			hub_sub_meta_result(h, sub, rc, epoch, seq);
		sub_unref(sub);
		return;
	}
	c = hub_coll_get(h, coll, false);
	if (c)
		coll_meta_result(h, c, rc, epoch ? epoch : "", seq);
}

void hub_on_log(struct hub *h, const char *coll, struct hub_sub *sub, int rc,
		const struct hub_entry *e, size_t n)
{
	struct hub_coll *c;

	if (sub) {
		if (!sub->dead)
			hub_sub_log_result(h, sub, rc, e, n);
		sub_unref(sub);
		return;
	}
	c = hub_coll_get(h, coll, false);
	if (c)
		coll_log_result(h, c, rc, e, n);
}

void hub_on_live(struct hub *h, const char *coll, const char *msg, size_t len)
{
	struct hub_coll *c = hub_coll_get(h, coll, false);
	const char *doc = msg, *conflict = NULL, *nl;
	size_t clen = 0;
	struct offset off;

	if (!c || c->state == C_IDLE)
		return;
	if (trail_is_entry(msg, len)) {
		nl = memchr(msg, '\n', len);
		if (!nl) {
			/* a conflict that changed nothing, after change off.seq */
			if (doc_stored_offset(msg, len, &off) == 0 &&
			    strcmp(off.epoch, c->epoch) == 0)
				deliver_conflict(c, off.seq, msg, len);
			return;
		}
		conflict = msg;
		clen = (size_t)(nl - msg);
		doc = nl + 1;
		len -= clen + 1;
	}
	if (doc_stored_offset(doc, len, &off))
		return;
	if (c->state != C_LIVE) {
		/* syncing or repairing: the log will provide it */
		if (!c->epoch[0]) {
			/* the first head read's answer sets target afresh and
			 * may predate this message: read the head once more */
			c->resync = true;
		} else if (strcmp(off.epoch, c->epoch) == 0) {
			if (off.seq > c->target)
				c->target = off.seq;
			/* seen is seen: if Redis later shows less, the tail was
			 * lost (rotate), not trimmed */
			seen_raise(h->seen, c->name, off.epoch, off.seq);
		} else {
			c->resync = true;
		}
		return;
	}
	if (strcmp(off.epoch, c->epoch) != 0) {
		hub_coll_meta(h, c);
		return;
	}
	seen_raise(h->seen, c->name, off.epoch, off.seq);
	if (off.seq <= c->head)
		return; /* already delivered (from the log) */
	if (off.seq == c->head + 1) {
		deliver(c, off.seq, doc, len, conflict, clen);
		return;
	}
	c->target = off.seq;
	coll_repair(h, c);
}

void hub_on_sub_lost(struct hub *h)
{
	struct map_entry *e;
	size_t pos;

	for (e = map_first(&h->colls, &pos); e; e = map_next(&h->colls, e, &pos)) {
		struct hub_coll *c = e->val;

		/* synced stays: head is still right for new subscribers */
		if (c->state != C_IDLE)
			c->state = C_OPENING;
	}
}

void hub_on_cmd_reconnected(struct hub *h)
{
	struct map_entry *e;
	size_t pos;

	for (e = map_first(&h->colls, &pos); e; e = map_next(&h->colls, e, &pos)) {
		struct hub_coll *c = e->val;

		if (c->state != C_IDLE && c->state != C_OPENING)
			hub_coll_meta(h, c);
	}
}

void hub_wrote(struct hub *h, const char *coll, const char *epoch)
{
	struct hub_coll *c = hub_coll_get(h, coll, false);

	if (c && c->state != C_IDLE && c->epoch[0] && strcmp(c->epoch, epoch) != 0)
		hub_coll_meta(h, c); /* a new epoch: learn it, reset subscribers */
}

void hub_tick(struct hub *h, int64_t now_ms)
{
	struct map_entry *e, *next;
	size_t pos, idle = 0;

	h->now_ms = now_ms;
	for (e = map_first(&h->colls, &pos); e; e = map_next(&h->colls, e, &pos)) {
		struct hub_coll *c = e->val;

		if (c->state == C_RETRY && now_ms >= c->retry_at) {
			c->state = C_SYNCING;
			hub_coll_meta(h, c);
		}
		for (struct hub_sub *s = c->subs; s; s = s->cnext) {
			if (!s->retry_at || now_ms < s->retry_at || s->busy)
				continue;
			s->retry_at = 0;
			if (s->state == S_REPLAY) {
				hub_sub_fetch(h, s);
			} else if (s->state == S_CHECK) {
				s->busy = true;
				if (h->be.meta(h->be.ctx, c->name, sub_ref(s)))
					hub_sub_call_failed(h, s);
			}
		}
		if (c->state == C_IDLE && !c->busy)
			idle++;
	}
	if (idle <= IDLE_CAP)
		return;
	/* forget idle collections (their tail-loss memory) past the cap */
	for (e = map_first(&h->colls, &pos); e && idle > IDLE_CAP / 2; e = next) {
		struct hub_coll *c = e->val;

		next = map_next(&h->colls, e, &pos);
		if (c->state == C_IDLE && !c->busy) {
			map_del(&h->colls, c->name);
			free(c);
			idle--;
		}
	}
}

size_t hub_collection_count(const struct hub *h) { return h->colls.count; }

bool hub_check_invariants(const struct hub *h)
{
	struct map_entry *e;
	size_t pos;

	for (e = map_first(&h->colls, &pos); e; e = map_next(&h->colls, e, &pos)) {
		struct hub_coll *c = e->val;
		size_t n = 0;

		for (struct hub_sub *s = c->subs; s; s = s->cnext) {
			n++;
			if (s->coll != c || s->dead || hub_find_sub(s->sess, c->name) != s)
				return false;
			if (s->state == S_LIVE && s->pos < c->head)
				return false;
		}
		if (n != c->nsubs || (n == 0 && c->state != C_IDLE))
			return false;
	}
	return true;
}

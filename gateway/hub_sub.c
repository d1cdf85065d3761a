/*
 * hub_sub.c - the subscriptions of the hub (hub.h): the two-way index of
 * sessions and collections, a subscription's start once its collection is
 * synced (subscribed, then replay from since, a since check against Redis,
 * or a reset), its replay in batches paused while the session queue is
 * over half full, and removal. hub.c runs the collections. Pure, like it.
 */
#include "hub.h"
#include "hub_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "proto.h"
#include "strx.h"

/* ---- starting and replay ------------------------------------------------ */

void hub_sub_reset(struct hub_sub *sub, const char *reason)
{
	char off[OFFSET_STR_MAX];

	hub_offset_of(sub->coll, sub->coll->head, off);
	sub->pos = sub->coll->head;
	sub->state = S_LIVE;
	sub->paused = false;
	sub->retry_at = 0;
	metrics.resets_sent++;
	session_enqueue_take(sub->sess, proto_reset(sub->coll->name, reason, off));
}

void hub_sub_call_failed(struct hub *h, struct hub_sub *sub)
{
	sub->busy = false;
	sub->retry_at = h->now_ms + RETRY_MS;
	sub_unref(sub); /* the reference the call would have given back */
}

void hub_sub_fetch(struct hub *h, struct hub_sub *sub)
{
	struct session *s = sub->sess;

	if (sub->busy || sub->dead || sub->state != S_REPLAY)
		return;
	if (sub->pos >= sub->coll->head) {
		sub->state = S_LIVE;
		return;
	}
	if (s->qbytes > s->qlimit / 2) {
		sub->paused = true;
		return;
	}
	sub->paused = false;
	sub->busy = true;
	if (h->be.log(h->be.ctx, sub->coll->name, sub->pos + 1, REPLAY_BATCH,
		      sub_ref(sub)))
		hub_sub_call_failed(h, sub);
}

/* The collection is synced: a subscription starts (subscribed message,
 * then replay, a since check or a reset). */
void hub_sub_start(struct hub *h, struct hub_sub *sub)
{
	struct hub_coll *c = sub->coll;
	char off[OFFSET_STR_MAX];

	hub_offset_of(c, c->head, off);
	sub->pos = c->head;
	sub->state = S_LIVE;
	session_enqueue_take(sub->sess, proto_subscribed(c->name, off, sub->ref));
	if (!sub->has_since)
		return;
	if (strcmp(sub->since.epoch, c->epoch) != 0) {
		hub_sub_reset(sub, "epoch_changed");
		/* the client may know a newer epoch than this hub (rotated by
		 * another gateway, nothing written since): re-read the head, or
		 * each reload-and-resubscribe would get this stale reset again */
		hub_coll_meta(h, c);
	} else if (sub->since.seq < c->head) {
		sub->pos = sub->since.seq;
		sub->state = S_REPLAY;
		hub_sub_fetch(h, sub);
	} else if (sub->since.seq > c->head) {
		/* ahead of what this gateway delivered: fine if Redis has it
		 * (another gateway was faster), a lost tail if not */
		sub->state = S_CHECK;
		sub->busy = true;
		if (h->be.meta(h->be.ctx, c->name, sub_ref(sub)))
			hub_sub_call_failed(h, sub);
	}
}

/* The first head read failed: subscribers waiting for it get an error
 * (and are removed) rather than silence; they may subscribe again. */
void hub_fail_pending(struct hub *h, struct hub_coll *c, int rc)
{
	struct hub_sub *s = c->subs, *next;

	for (; s; s = next) {
		next = s->cnext;
		if (s->state != S_PENDING)
			continue;
		session_enqueue_take(s->sess,
				     proto_error(gw_err_code(rc),
						 "cannot read the collection now; subscribe again later",
						 s->ref));
		hub_sub_remove(h, s);
	}
}

void hub_start_pending(struct hub *h, struct hub_coll *c)
{
	for (struct hub_sub *s = c->subs; s; s = s->cnext)
		if (s->state == S_PENDING)
			hub_sub_start(h, s);
}

void hub_sub_meta_result(struct hub *h, struct hub_sub *sub, int rc,
			    const char *epoch, uint64_t seq)
{
	struct hub_coll *c = sub->coll;

	sub->busy = false;
	if (sub->state != S_CHECK)
		return;
	if (rc) {
		/* since is not verified yet: deliver nothing, ask again later
		 * (never follow an offset Redis may have lost) */
		sub->retry_at = h->now_ms + RETRY_MS;
		return;
	}
	if (strcmp(epoch, c->epoch) != 0) {
		hub_sub_reset(sub, "epoch_changed");
		hub_coll_meta(h, c); /* this hub's epoch is stale: learn */
		return;
	}
	if (sub->since.seq > seq) {
		/* ahead of Redis: a lost tail; the reset comes with the new epoch */
		sub->ahead = true;
		hub_coll_rotate(h, c, sub->since.seq);
		return;
	}
	/* head may have passed since meanwhile: then replay the difference */
	sub->pos = sub->since.seq;
	sub->state = sub->pos < c->head ? S_REPLAY : S_LIVE;
	hub_sub_fetch(h, sub);
}

void hub_sub_log_result(struct hub *h, struct hub_sub *sub, int rc,
			   const struct hub_entry *e, size_t n)
{
	size_t k;
	bool stale = false;

	sub->busy = false;
	if (sub->state != S_REPLAY)
		return;
	if (rc) {
		/* Redis failed (not the log): read again later */
		sub->retry_at = h->now_ms + RETRY_MS;
		return;
	}
	k = hub_entries_in_epoch(sub->coll->epoch, e, n);
	if (k < n) {
		/* another epoch past k: the collection learns it and resets
		 * this subscription; until then, replay what is ours */
		stale = true;
		n = k;
		hub_coll_meta(h, sub->coll);
	} else if (n == 0 || e[0].seq > sub->pos + 1) {
		hub_sub_reset(sub, "history_trimmed");
		return;
	}
	for (size_t i = 0; i < n && sub->pos < sub->coll->head; i++) {
		if (e[i].seq != sub->pos + 1)
			continue;
		/* a batch can exceed the whole queue limit (500 changes of a
		 * few KiB): stop at half and let sub_fetch pause until
		 * hub_session_drained, instead of closing a reader that keeps
		 * up with 4008; the rest is read again from pos + 1 */
		if (sub->sess->qbytes > sub->sess->qlimit / 2)
			break;
		if (e[i].conflict && sub->conflicts &&
		    session_enqueue_take(sub->sess,
					 proto_conflict(e[i].conflict, e[i].clen)))
			return; /* the session is closing */
		if (session_enqueue_take(sub->sess, proto_change(e[i].doc, e[i].len)))
			return; /* the session is closing */
		metrics.changes_delivered++;
		sub->pos = e[i].seq;
	}
	if (stale)
		sub->retry_at = h->now_ms + RETRY_MS; /* unless reset by then */
	else
		hub_sub_fetch(h, sub);
}

/* ---- public: subscriptions ------------------------------------------- */

struct hub_sub *hub_find_sub(struct session *s, const char *coll)
{
	for (struct hub_sub *sub = s->subs; sub; sub = sub->snext)
		if (strcmp(sub->coll->name, coll) == 0)
			return sub;
	return NULL;
}

int hub_subscribe(struct hub *h, struct session *s, const char *coll,
		  const struct offset *since, const char *ref, bool conflicts)
{
	struct hub_coll *c;
	struct hub_sub *sub;

	if (hub_find_sub(s, coll))
		return GW_EBADREQ;
	c = hub_coll_get(h, coll, true);
	sub = calloc(1, sizeof(*sub));
	if (!c || !sub || (ref && !(sub->ref = strdup(ref)))) {
		free(sub);
		return GW_ENOMEM;
	}
	sub->refs = 1;
	sub->coll = c;
	sub->sess = s;
	sub->state = S_PENDING;
	sub->conflicts = conflicts;
	if (since) {
		sub->has_since = true;
		sub->since = *since;
	}
	sub->cnext = c->subs;
	if (c->subs)
		c->subs->cprev = sub;
	c->subs = sub;
	c->nsubs++;
	sub->snext = s->subs;
	if (s->subs)
		s->subs->sprev = sub;
	s->subs = sub;
	s->nsubs++;
	metrics.subscriptions++;

	if (c->state == C_IDLE) {
		c->state = C_OPENING;
		c->synced = false;
		h->be.open(h->be.ctx, c->name);
	} else if (c->synced) {
		hub_sub_start(h, sub);
	}
	return 0;
}

void hub_sub_remove(struct hub *h, struct hub_sub *sub)
{
	struct hub_coll *c = sub->coll;
	struct session *s = sub->sess;

	if (sub->cprev)
		sub->cprev->cnext = sub->cnext;
	else
		c->subs = sub->cnext;
	if (sub->cnext)
		sub->cnext->cprev = sub->cprev;
	if (sub->sprev)
		sub->sprev->snext = sub->snext;
	else
		s->subs = sub->snext;
	if (sub->snext)
		sub->snext->sprev = sub->sprev;
	c->nsubs--;
	s->nsubs--;
	metrics.subscriptions--;
	sub->dead = true;
	sub->coll = NULL;
	sub->sess = NULL;
	sub_unref(sub);
	if (c->nsubs == 0 && c->state != C_IDLE) {
		h->be.close(h->be.ctx, c->name);
		c->state = C_IDLE;
		c->synced = false;
		c->resync = false;
		c->target = c->head;
	}
}

int hub_unsubscribe(struct hub *h, struct session *s, const char *coll)
{
	struct hub_sub *sub = hub_find_sub(s, coll);

	if (!sub)
		return GW_ENOTFOUND;
	hub_sub_remove(h, sub);
	return 0;
}

void hub_session_gone(struct hub *h, struct session *s)
{
	while (s->subs)
		hub_sub_remove(h, s->subs);
}

void hub_session_filter(struct hub *h, struct session *s,
			bool (*keep)(void *ctx, const char *coll),
			void (*removed)(void *ctx, const char *coll), void *ctx)
{
	struct hub_sub *sub = s->subs, *next;

	for (; sub; sub = next) {
		char name[NAMES_COLLECTION_MAX + 1];

		next = sub->snext;
		if (keep(ctx, sub->coll->name))
			continue;
		strx_copy(name, sizeof(name), sub->coll->name);
		hub_sub_remove(h, sub);
		removed(ctx, name);
	}
}

void hub_session_drained(struct hub *h, struct session *s)
{
	for (struct hub_sub *sub = s->subs; sub; sub = sub->snext)
		if (sub->paused)
			hub_sub_fetch(h, sub);
}

/*
 * hub.c - subscription index and per-collection delivery state machine.
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

#define RETRY_MS 1000 /* a failed read is tried again this much later */
#define REPLAY_BATCH 500
#define REPAIR_BATCH 1000
#define IDLE_CAP 50000 /* remembered collections without subscribers */

enum coll_state {
	C_IDLE,      /* no live delivery (no subscribers) */
	C_OPENING,   /* SUBSCRIBE sent, waiting for hub_on_open */
	C_SYNCING,   /* reading the head */
	C_LIVE,      /* delivering pub/sub messages in order */
	C_REPAIRING, /* filling a gap from the log */
	C_RETRY      /* a read failed; hub_tick retries */
};

enum sub_state {
	S_PENDING, /* waiting for the collection's first sync */
	S_CHECK,   /* since is ahead of head: checking it against Redis */
	S_REPLAY,  /* reading the log from pos + 1 */
	S_LIVE
};

struct hub_coll {
	char name[NAMES_COLLECTION_MAX + 1];
	enum coll_state state;
	bool synced;  /* head read since the last open */
	bool busy;    /* a collection-level backend call is in flight */
	bool resync;  /* re-read the head when the in-flight call is done */
	uint64_t rotate_proof; /* a client's since ahead of head: rotate (0: no) */
	char epoch[OFFSET_EPOCH_MAX + 1]; /* "" when unknown */
	uint64_t head;
	uint64_t target;   /* highest seq known to exist, while repairing */
	int64_t retry_at;
	struct hub_sub *subs; /* doubly linked through cprev/cnext */
	size_t nsubs;
};

struct hub_sub {
	int refs;
	bool dead;
	bool busy;    /* a backend call for this subscription is in flight */
	bool paused;  /* replay waits for the session queue to drain */
	enum sub_state state;
	int64_t retry_at;       /* a failed read is retried at this hub_tick */
	struct hub_coll *coll;  /* borrowed; valid while !dead */
	struct session *sess;   /* borrowed; valid while !dead */
	struct hub_sub *cprev, *cnext, *snext, *sprev;
	uint64_t pos;
	bool has_since;
	struct offset since;
	bool conflicts; /* also conflict trail entries */
	bool ahead;     /* S_CHECK: since is ahead of Redis too; waits for the
			 * collection's rotation, then gets its reset */
	char *ref; /* owned */
};

struct hub {
	struct hub_backend be;
	struct seen *seen; /* borrowed: what was seen of each collection */
	struct map colls; /* name -> struct hub_coll (owned) */
	int64_t now_ms;
};


static void sub_unref(struct hub_sub *sub)
{
	if (--sub->refs == 0) {
		free(sub->ref);
		free(sub);
	}
}

static struct hub_sub *sub_ref(struct hub_sub *sub)
{
	sub->refs++;
	return sub;
}

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

static struct hub_coll *coll_get(struct hub *h, const char *name, bool create)
{
	struct hub_coll *c = map_get(&h->colls, name);

	if (c || !create)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	snprintf(c->name, sizeof(c->name), "%s", name);
	if (map_put(&h->colls, c->name, c)) {
		free(c);
		return NULL;
	}
	return c;
}

static void offset_of(const struct hub_coll *c, uint64_t seq, char *buf)
{
	offset_format(c->epoch, seq, buf);
}

static void sub_remove(struct hub *h, struct hub_sub *sub);
static void coll_meta(struct hub *h, struct hub_coll *c);

/* ---- sending ---------------------------------------------------------- */

static void send_reset(struct hub_sub *sub, const char *reason)
{
	char off[OFFSET_STR_MAX];

	offset_of(sub->coll, sub->coll->head, off);
	sub->pos = sub->coll->head;
	sub->state = S_LIVE;
	sub->paused = false;
	sub->retry_at = 0;
	metrics.resets_sent++;
	session_enqueue_take(sub->sess, proto_reset(sub->coll->name, reason, off));
}

static void reset_all(struct hub_coll *c, const char *reason)
{
	for (struct hub_sub *s = c->subs; s; s = s->cnext)
		if (s->state != S_PENDING)
			send_reset(s, reason);
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

static void sub_call_failed(struct hub *h, struct hub_sub *sub)
{
	sub->busy = false;
	sub->retry_at = h->now_ms + RETRY_MS;
	sub_unref(sub); /* the reference the call would have given back */
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

/* ---- per-subscription replay -------------------------------------------- */

static void sub_fetch(struct hub *h, struct hub_sub *sub)
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
		sub_call_failed(h, sub);
}


/* The collection is synced: a subscription starts (subscribed message,
 * then replay, a since check or a reset). */
static void sub_start(struct hub *h, struct hub_sub *sub)
{
	struct hub_coll *c = sub->coll;
	char off[OFFSET_STR_MAX];

	offset_of(c, c->head, off);
	sub->pos = c->head;
	sub->state = S_LIVE;
	session_enqueue_take(sub->sess, proto_subscribed(c->name, off, sub->ref));
	if (!sub->has_since)
		return;
	if (strcmp(sub->since.epoch, c->epoch) != 0) {
		send_reset(sub, "epoch_changed");
		/* the client may know a newer epoch than this hub (rotated by
		 * another gateway, nothing written since): re-read the head, or
		 * each reload-and-resubscribe would get this stale reset again */
		coll_meta(h, c);
	} else if (sub->since.seq < c->head) {
		sub->pos = sub->since.seq;
		sub->state = S_REPLAY;
		sub_fetch(h, sub);
	} else if (sub->since.seq > c->head) {
		/* ahead of what this gateway delivered: fine if Redis has it
		 * (another gateway was faster), a lost tail if not */
		sub->state = S_CHECK;
		sub->busy = true;
		if (h->be.meta(h->be.ctx, c->name, sub_ref(sub)))
			sub_call_failed(h, sub);
	}
}

/* The first head read failed: subscribers waiting for it get an error
 * (and are removed) rather than silence; they may subscribe again. */
static void fail_pending(struct hub *h, struct hub_coll *c, int rc)
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
		sub_remove(h, s);
	}
}

static void start_pending(struct hub *h, struct hub_coll *c)
{
	for (struct hub_sub *s = c->subs; s; s = s->cnext)
		if (s->state == S_PENDING)
			sub_start(h, s);
}

/* ---- collection state machine ------------------------------------------- */

/* Re-reads the collection's head (after the call in flight, if any). */
static void coll_meta(struct hub *h, struct hub_coll *c)
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
static void coll_rotate(struct hub *h, struct hub_coll *c, uint64_t proof)
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
			send_reset(s, "epoch_changed");
		}
}

/* After a collection-level call: continue whatever is pending. */
static void coll_continue(struct hub *h, struct hub_coll *c)
{
	if (c->busy || c->state == C_OPENING || c->state == C_IDLE ||
	    c->state == C_RETRY)
		return;
	if (c->rotate_proof) {
		coll_rotate(h, c, 0);
	} else if (c->resync) {
		coll_meta(h, c);
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
			fail_pending(h, c, rc);
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
		snprintf(c->epoch, sizeof(c->epoch), "%s", epoch);
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
		start_pending(h, c);
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

static void sub_meta_result(struct hub *h, struct hub_sub *sub, int rc,
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
		send_reset(sub, "epoch_changed");
		coll_meta(h, c); /* this hub's epoch is stale: learn */
		return;
	}
	if (sub->since.seq > seq) {
		/* ahead of Redis: a lost tail; the reset comes with the new epoch */
		sub->ahead = true;
		coll_rotate(h, c, sub->since.seq);
		return;
	}
	/* head may have passed since meanwhile: then replay the difference */
	sub->pos = sub->since.seq;
	sub->state = sub->pos < c->head ? S_REPLAY : S_LIVE;
	sub_fetch(h, sub);
}

static void sub_log_result(struct hub *h, struct hub_sub *sub, int rc,
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
		coll_meta(h, sub->coll);
	} else if (n == 0 || e[0].seq > sub->pos + 1) {
		send_reset(sub, "history_trimmed");
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
		sub_fetch(h, sub);
}

/* ---- public: subscriptions ------------------------------------------- */

static struct hub_sub *find_sub(struct session *s, const char *coll)
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

	if (find_sub(s, coll))
		return GW_EBADREQ;
	c = coll_get(h, coll, true);
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
		sub_start(h, sub);
	}
	return 0;
}

static void sub_remove(struct hub *h, struct hub_sub *sub)
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
	struct hub_sub *sub = find_sub(s, coll);

	if (!sub)
		return GW_ENOTFOUND;
	sub_remove(h, sub);
	return 0;
}

void hub_session_gone(struct hub *h, struct session *s)
{
	while (s->subs)
		sub_remove(h, s->subs);
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
		snprintf(name, sizeof(name), "%s", sub->coll->name);
		sub_remove(h, sub);
		removed(ctx, name);
	}
}

void hub_session_drained(struct hub *h, struct session *s)
{
	for (struct hub_sub *sub = s->subs; sub; sub = sub->snext)
		if (sub->paused)
			sub_fetch(h, sub);
}

/* ---- public: backend answers ------------------------------------------ */

void hub_on_open(struct hub *h, const char *coll)
{
	struct hub_coll *c = coll_get(h, coll, false);

	if (!c || c->state == C_IDLE)
		return;
	if (c->state == C_OPENING)
		c->state = C_SYNCING;
	coll_meta(h, c);
}

void hub_on_meta(struct hub *h, const char *coll, struct hub_sub *sub, int rc,
		 const char *epoch, uint64_t seq)
{
	struct hub_coll *c;

	if (sub) {
		if (!sub->dead)
			sub_meta_result(h, sub, rc, epoch, seq);
		sub_unref(sub);
		return;
	}
	c = coll_get(h, coll, false);
	if (c)
		coll_meta_result(h, c, rc, epoch ? epoch : "", seq);
}

void hub_on_log(struct hub *h, const char *coll, struct hub_sub *sub, int rc,
		const struct hub_entry *e, size_t n)
{
	struct hub_coll *c;

	if (sub) {
		if (!sub->dead)
			sub_log_result(h, sub, rc, e, n);
		sub_unref(sub);
		return;
	}
	c = coll_get(h, coll, false);
	if (c)
		coll_log_result(h, c, rc, e, n);
}

void hub_on_live(struct hub *h, const char *coll, const char *msg, size_t len)
{
	struct hub_coll *c = coll_get(h, coll, false);
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
		coll_meta(h, c);
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
			coll_meta(h, c);
	}
}

void hub_wrote(struct hub *h, const char *coll, const char *epoch)
{
	struct hub_coll *c = coll_get(h, coll, false);

	if (c && c->state != C_IDLE && c->epoch[0] && strcmp(c->epoch, epoch) != 0)
		coll_meta(h, c); /* a new epoch: learn it, reset subscribers */
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
			coll_meta(h, c);
		}
		for (struct hub_sub *s = c->subs; s; s = s->cnext) {
			if (!s->retry_at || now_ms < s->retry_at || s->busy)
				continue;
			s->retry_at = 0;
			if (s->state == S_REPLAY) {
				sub_fetch(h, s);
			} else if (s->state == S_CHECK) {
				s->busy = true;
				if (h->be.meta(h->be.ctx, c->name, sub_ref(s)))
					sub_call_failed(h, s);
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
			if (s->coll != c || s->dead || find_sub(s->sess, c->name) != s)
				return false;
			if (s->state == S_LIVE && s->pos < c->head)
				return false;
		}
		if (n != c->nsubs || (n == 0 && c->state != C_IDLE))
			return false;
	}
	return true;
}

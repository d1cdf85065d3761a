/*
 * hub_sim.h - test rig for the hub (test_hub*.c): a fake backend that only
 * records calls, a simulated Redis (per collection: epoch, seq, a change log
 * of stored documents) whose answers the tests deliver later through the
 * hub_on_* functions, and clients built on real sessions whose queues are
 * read back, parsed with jansson and checked against the delivery guarantee
 * (DESIGN.md 5): in order, no gap, no duplicate, never two different changes
 * under one offset. Every helper checks hub_check_invariants() afterwards.
 * Included by each hub test; all helpers are static inline.
 */
#ifndef TEST_HUB_SIM_H
#define TEST_HUB_SIM_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "hub.h"
#include "metrics.h"
#include "names.h"
#include "offset.h"
#include "seen.h"
#include "session.h"

enum kind { K_OPEN, K_CLOSE, K_META, K_LOG, K_ROTATE };

struct call {
	enum kind kind;
	char coll[NAMES_COLLECTION_MAX + 1];
	struct hub_sub *sub; /* ref held by the hub's pending answer */
	uint64_t from;       /* log */
	size_t count;        /* log */
	char epoch[OFFSET_EPOCH_MAX + 1]; /* rotate */
	uint64_t min_seq;    /* rotate */
};

#define SIM_CALLS 512
#define SIM_LOG 4096
#define SIM_COLLS 8
#define SIM_CLIENTS 8
#define SIM_SEEN 4096

struct rcoll {
	char name[NAMES_COLLECTION_MAX + 1];
	char epoch[OFFSET_EPOCH_MAX + 1]; /* "" until the first operation */
	uint64_t seq;
	uint64_t first;     /* lowest seq the log still holds */
	char *log[SIM_LOG]; /* log[seq]: stored document, owned */
	char *clog[SIM_LOG]; /* clog[seq]: the conflict it settled, owned */
};

struct seen {
	char off[OFFSET_STR_MAX];
	char tag[32];
};

struct client {
	struct session s; /* first: the ops get a struct session * */
	bool used;
	int wakes, kills;
	/* the delivery model of one subscription (client_drain) */
	char coll[NAMES_COLLECTION_MAX + 1];
	bool has_since, positioned;
	char epoch[OFFSET_EPOCH_MAX + 1];
	uint64_t pos;
	int nsubscribed, nchanges, nresets, nconflicts;
	char last_reason[32];
	struct seen seen[SIM_SEEN]; /* every change received, by offset */
	size_t nseen;
};

struct sim {
	struct hub *h;
	struct seen *seen;
	struct call calls[SIM_CALLS];
	size_t ncalls;
	struct rcoll rc[SIM_COLLS];
	size_t nrc;
	int epochs;
	struct client cl[SIM_CLIENTS];
	int64_t now;
	int fail_calls; /* the next n backend reads fail to start */
};

static struct sim sim;

#define CHECK() assert_true(hub_check_invariants(sim.h))

/* ---- fake backend: records, never answers ---- */

static inline struct call *rec(enum kind k, void *ctx, const char *coll)
{
	struct call *c;

	assert_ptr_equal(ctx, &sim);
	assert_true(sim.ncalls < SIM_CALLS);
	c = &sim.calls[sim.ncalls++];
	memset(c, 0, sizeof(*c));
	c->kind = k;
	snprintf(c->coll, sizeof(c->coll), "%s", coll);
	return c;
}

static inline void be_open(void *ctx, const char *coll) { rec(K_OPEN, ctx, coll); }
static inline void be_close(void *ctx, const char *coll) { rec(K_CLOSE, ctx, coll); }

/* A read that cannot start (sim.fail_calls): no record, no answer. */
static inline bool fail_now(void)
{
	if (sim.fail_calls <= 0)
		return false;
	sim.fail_calls--;
	return true;
}

static inline int be_meta(void *ctx, const char *coll, struct hub_sub *sub)
{
	if (fail_now())
		return GW_ENOMEM;
	rec(K_META, ctx, coll)->sub = sub;
	return 0;
}
static inline int be_log(void *ctx, const char *coll, uint64_t from,
			 size_t count, struct hub_sub *sub)
{
	struct call *c;

	if (fail_now())
		return GW_ENOMEM;
	c = rec(K_LOG, ctx, coll);
	assert_true(count > 0);
	c->sub = sub;
	c->from = from;
	c->count = count;
	return 0;
}
static inline int be_rotate(void *ctx, const char *coll, const char *epoch,
			    uint64_t min_seq)
{
	struct call *c;

	if (fail_now())
		return GW_ENOMEM;
	c = rec(K_ROTATE, ctx, coll);
	snprintf(c->epoch, sizeof(c->epoch), "%s", epoch);
	c->min_seq = min_seq;
	return 0;
}

/* Number of recorded, unanswered calls of kind k for coll. */
static inline int calls(enum kind k, const char *coll)
{
	int n = 0;

	for (size_t i = 0; i < sim.ncalls; i++)
		n += sim.calls[i].kind == k && strcmp(sim.calls[i].coll, coll) == 0;
	return n;
}

/* Removes and returns the oldest call of kind k for coll (must exist). */
static inline struct call take(enum kind k, const char *coll)
{
	for (size_t i = 0; i < sim.ncalls; i++) {
		struct call c = sim.calls[i];

		if (c.kind != k || strcmp(c.coll, coll) != 0)
			continue;
		memmove(&sim.calls[i], &sim.calls[i + 1],
			(sim.ncalls - i - 1) * sizeof(c));
		sim.ncalls--;
		return c;
	}
	fail_msg("no pending call of kind %d for \"%s\"", (int)k, coll);
	abort();
}

/* ---- simulated Redis ---- */

static inline struct rcoll *rcoll(const char *name)
{
	for (size_t i = 0; i < sim.nrc; i++)
		if (strcmp(sim.rc[i].name, name) == 0)
			return &sim.rc[i];
	assert_true(sim.nrc < SIM_COLLS);
	snprintf(sim.rc[sim.nrc].name, sizeof(sim.rc[0].name), "%s", name);
	sim.rc[sim.nrc].first = 1;
	return &sim.rc[sim.nrc++];
}

static inline void new_epoch(struct rcoll *r)
{
	snprintf(r->epoch, sizeof(r->epoch), "ep%d", ++sim.epochs);
}

/* The first operation on a collection creates its epoch (DESIGN 11). */
static inline struct rcoll *rtouch(const char *coll)
{
	struct rcoll *r = rcoll(coll);

	if (!r->epoch[0])
		new_epoch(r);
	return r;
}

static inline char *make_doc(const char *coll, const char *epoch,
			     uint64_t seq, const char *tag)
{
	char *d;

	assert_true(asprintf(&d, "{\"collection\":\"%s\",\"id\":\"d%llu\","
			     "\"deleted\":false,\"version\":{\"a\":1},\"actor\":\"a\","
			     "\"timestamp\":1,\"data\":{\"tag\":\"%s\"},"
			     "\"offset\":\"%s:%llu\"}", coll, (unsigned long long)seq,
			     tag, epoch, (unsigned long long)seq) > 0);
	return d;
}

/* A write lands in Redis (log + head); nothing is published. */
static inline uint64_t rwrite(const char *coll, const char *tag)
{
	struct rcoll *r = rtouch(coll);

	assert_true(r->seq + 1 < SIM_LOG);
	r->seq++;
	free(r->log[r->seq]);
	free(r->clog[r->seq]);
	r->clog[r->seq] = NULL;
	r->log[r->seq] = make_doc(coll, r->epoch, r->seq, tag);
	return r->seq;
}

/* A conflict trail entry (as trail.c writes them, abridged) at epoch:seq;
 * applied: it settled the change at seq, else it followed it. */
static inline char *make_conflict(const char *coll, const char *epoch,
				  uint64_t seq, const char *tag, bool applied)
{
	char *d;

	assert_true(asprintf(&d, "{\"type\":\"conflict\",\"collection\":\"%s\","
			     "\"id\":\"x\",\"policy\":\"lww\",\"winner\":\"incoming\","
			     "\"applied\":%s,\"tag\":\"%s\",\"offset\":\"%s:%llu\"}",
			     coll, applied ? "true" : "false", tag, epoch,
			     (unsigned long long)seq) > 0);
	return d;
}

/* A write that settled a conflict: the log entry carries both. */
static inline uint64_t rwrite_conflict(const char *coll, const char *tag)
{
	uint64_t seq = rwrite(coll, tag);
	struct rcoll *r = rcoll(coll);

	r->clog[seq] = make_conflict(coll, r->epoch, seq, tag, true);
	return seq;
}

static inline void rwrite_n(const char *coll, int n)
{
	for (int i = 0; i < n; i++)
		rwrite(coll, "w");
}

/* Publishes the stored change at seq (pub/sub delivers it), with its
 * conflict entry in front when it settled one (as write.lua does). */
static inline void publish(const char *coll, uint64_t seq)
{
	struct rcoll *r = rcoll(coll);

	assert_non_null(r->log[seq]);
	if (r->clog[seq]) {
		char *m;

		assert_true(asprintf(&m, "%s\n%s", r->clog[seq], r->log[seq]) > 0);
		hub_on_live(sim.h, coll, m, strlen(m));
		free(m);
	} else {
		hub_on_live(sim.h, coll, r->log[seq], strlen(r->log[seq]));
	}
	CHECK();
}

/* A conflict that changed nothing is published after the head (reject). */
static inline void publish_reject(const char *coll, const char *tag)
{
	struct rcoll *r = rtouch(coll);
	char *m = make_conflict(coll, r->epoch, r->seq, tag, false);

	hub_on_live(sim.h, coll, m, strlen(m));
	free(m);
	CHECK();
}

static inline uint64_t wpub(const char *coll, const char *tag)
{
	uint64_t seq = rwrite(coll, tag);

	publish(coll, seq);
	return seq;
}

/* Redis comes back without its last n changes (AOF everysec, failover). */
static inline void rlose_tail(const char *coll, uint64_t n)
{
	struct rcoll *r = rcoll(coll);

	for (; n; n--, r->seq--) {
		free(r->log[r->seq]);
		free(r->clog[r->seq]);
		r->log[r->seq] = NULL;
		r->clog[r->seq] = NULL;
	}
}

/* Retention dropped the log below first. */
static inline void rtrim(const char *coll, uint64_t first)
{
	struct rcoll *r = rcoll(coll);

	for (uint64_t s = r->first; s < first && s < SIM_LOG; s++) {
		free(r->log[s]);
		free(r->clog[s]);
		r->log[s] = NULL;
		r->clog[s] = NULL;
	}
	r->first = first;
}

/* ---- answering recorded calls ---- */

static inline void answer_meta_as(const struct call *c, int rc,
				  const char *epoch, uint64_t seq)
{
	hub_on_meta(sim.h, c->coll, c->sub, rc, rc ? NULL : epoch, seq);
	CHECK();
}

/* Answers a log read as if Redis had run it when its head was upto. */
static inline void answer_log_upto(const struct call *c, uint64_t upto)
{
	struct rcoll *r = rcoll(c->coll);
	struct hub_entry e[1000];
	size_t n = 0;

	for (uint64_t s = c->from < r->first ? r->first : c->from;
	     s <= upto && s <= r->seq && n < c->count; s++) {
		assert_true(n < 1000);
		e[n].seq = s;
		e[n].doc = r->log[s];
		e[n].len = strlen(r->log[s]);
		e[n].conflict = r->clog[s];
		e[n].clen = r->clog[s] ? strlen(r->clog[s]) : 0;
		n++;
	}
	hub_on_log(sim.h, c->coll, c->sub, 0, e, n);
	CHECK();
}

static inline void answer_fail(const struct call *c)
{
	if (c->kind == K_LOG)
		hub_on_log(sim.h, c->coll, c->sub, GW_EUNAVAIL, NULL, 0);
	else
		hub_on_meta(sim.h, c->coll, c->sub, GW_EUNAVAIL, NULL, 0);
	CHECK();
}

/* Answers c from Redis's current state (rotate.lua's rule for rotate). */
static inline void answer(const struct call *c)
{
	struct rcoll *r;

	switch (c->kind) {
	case K_OPEN:
		hub_on_open(sim.h, c->coll);
		break;
	case K_CLOSE:
		break;
	case K_META:
		r = rtouch(c->coll);
		hub_on_meta(sim.h, c->coll, c->sub, 0, r->epoch, r->seq);
		break;
	case K_LOG:
		answer_log_upto(c, UINT64_MAX);
		break;
	case K_ROTATE:
		r = rcoll(c->coll);
		if (!r->epoch[0] ||
		    (strcmp(r->epoch, c->epoch) == 0 && r->seq < c->min_seq))
			new_epoch(r);
		hub_on_meta(sim.h, c->coll, NULL, 0, r->epoch, r->seq);
		break;
	}
	CHECK();
}

/* Removes and returns the oldest collection-level (sub NULL) call. */
static inline struct call take_coll(enum kind k, const char *coll)
{
	for (size_t i = 0; i < sim.ncalls; i++) {
		struct call c = sim.calls[i];

		if (c.kind != k || c.sub || strcmp(c.coll, coll) != 0)
			continue;
		memmove(&sim.calls[i], &sim.calls[i + 1],
			(sim.ncalls - i - 1) * sizeof(c));
		sim.ncalls--;
		return c;
	}
	fail_msg("no collection-level call of kind %d for \"%s\"", (int)k, coll);
	abort();
}

static inline void take_answer(enum kind k, const char *coll)
{
	struct call c = take(k, coll);

	answer(&c);
}

/* Answers every pending call, oldest first, until none is left. */
static inline void pump(void)
{
	for (int guard = 0; sim.ncalls; guard++) {
		struct call c = sim.calls[0];

		assert_true(guard < 100000);
		memmove(&sim.calls[0], &sim.calls[1],
			(sim.ncalls - 1) * sizeof(c));
		sim.ncalls--;
		answer(&c);
	}
}

static inline void drop_closes(void)
{
	for (size_t i = 0; i < sim.ncalls;) {
		if (sim.calls[i].kind == K_CLOSE) {
			memmove(&sim.calls[i], &sim.calls[i + 1],
				(sim.ncalls - i - 1) * sizeof(sim.calls[0]));
			sim.ncalls--;
		} else {
			i++;
		}
	}
}

/* ---- clients: real sessions ---- */

static inline void t_wake(struct session *s) { ((struct client *)(void *)s)->wakes++; }
static inline void t_kill(struct session *s) { ((struct client *)(void *)s)->kills++; }

static const struct session_ops t_ops = {t_wake, t_kill};

static inline struct client *client_q(int i, size_t qlimit)
{
	struct client *c = &sim.cl[i];
	char id[16];

	assert_false(c->used);
	memset(c, 0, sizeof(*c));
	snprintf(id, sizeof(id), "s%d", i);
	session_init(&c->s, &t_ops, id, qlimit);
	c->used = true;
	return c;
}

static inline struct client *client(int i) { return client_q(i, 1 << 24); }

/* Subscribes c to coll (since "epoch:seq" or NULL), with or without the
 * conflict entries; must succeed. */
static inline void csub_conflicts(struct client *c, const char *coll,
				  const char *since, const char *ref,
				  bool conflicts)
{
	struct offset off;

	snprintf(c->coll, sizeof(c->coll), "%s", coll);
	c->has_since = since != NULL;
	c->positioned = false;
	c->nsubscribed = 0;
	if (since) {
		assert_int_equal(offset_parse(since, strlen(since), &off), 0);
		snprintf(c->epoch, sizeof(c->epoch), "%s", off.epoch);
		c->pos = off.seq;
		c->positioned = true;
	}
	assert_int_equal(hub_subscribe(sim.h, &c->s, coll, since ? &off : NULL, ref,
				       conflicts), 0);
	CHECK();
}

static inline void csub(struct client *c, const char *coll, const char *since,
			const char *ref)
{
	csub_conflicts(c, coll, since, ref, false);
}

/* Pops and parses the oldest queued message (must exist). */
static inline json_t *next_json(struct client *c)
{
	struct msg *m = session_peek(&c->s);
	json_error_t err;
	json_t *j;

	assert_non_null(m);
	j = json_loadb((const char *)msg_payload(m), m->len, 0, &err);
	if (!j)
		fail_msg("bad JSON from the hub: %s", err.text);
	session_pop(&c->s);
	return j;
}

static inline const char *jstr(json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));

	if (!s)
		fail_msg("message without string \"%s\"", key);
	return s;
}

static inline void expect_type(json_t *j, const char *type)
{
	assert_string_equal(jstr(j, "type"), type);
}

static inline void fmt_off(char *buf, const char *epoch, uint64_t seq)
{
	offset_format(epoch, seq, buf);
}

/* Client model: checks one message against the guarantee, updates state. */
static inline void model_apply(struct client *c, json_t *j)
{
	const char *type = jstr(j, "type");
	struct offset off;
	const char *o = jstr(j, "offset");

	assert_int_equal(offset_parse(o, strlen(o), &off), 0);
	assert_string_equal(jstr(j, "collection"), c->coll);
	if (strcmp(type, "subscribed") == 0) {
		c->nsubscribed++;
		assert_int_equal(c->nsubscribed, 1);
		if (!c->has_since) {
			snprintf(c->epoch, sizeof(c->epoch), "%s", off.epoch);
			c->pos = off.seq;
			c->positioned = true;
		}
	} else if (strcmp(type, "reset") == 0) {
		assert_int_equal(c->nsubscribed, 1);
		snprintf(c->last_reason, sizeof(c->last_reason), "%s", jstr(j, "reason"));
		snprintf(c->epoch, sizeof(c->epoch), "%s", off.epoch);
		c->pos = off.seq;
		c->nresets++;
	} else if (strcmp(type, "change") == 0) {
		const char *tag = json_string_value(json_object_get(
			json_object_get(j, "data"), "tag"));

		assert_int_equal(c->nsubscribed, 1);
		assert_true(c->positioned);
		assert_non_null(tag);
		/* in order, no gap, no duplicate, in the client's epoch */
		if (strcmp(off.epoch, c->epoch) != 0 || off.seq != c->pos + 1)
			fail_msg("client %s at %s:%llu got change %s", c->s.id, c->epoch,
				 (unsigned long long)c->pos, o);
		for (size_t i = 0; i < c->nseen; i++)
			if (strcmp(c->seen[i].off, o) == 0 &&
			    strcmp(c->seen[i].tag, tag) != 0)
				fail_msg("two changes under %s", o);
		assert_true(c->nseen < SIM_SEEN);
		snprintf(c->seen[c->nseen].off, sizeof(c->seen[0].off), "%s", o);
		snprintf(c->seen[c->nseen].tag, sizeof(c->seen[0].tag), "%s", tag);
		c->nseen++;
		c->pos = off.seq;
		c->nchanges++;
	} else if (strcmp(type, "conflict") == 0) {
		bool applied = json_is_true(json_object_get(j, "applied"));

		/* a settling conflict comes right before its change; one that
		 * changed nothing right after the change it followed */
		assert_int_equal(c->nsubscribed, 1);
		assert_string_equal(off.epoch, c->epoch);
		if (off.seq != (applied ? c->pos + 1 : c->pos))
			fail_msg("client %s at %llu got conflict %s (applied %d)",
				 c->s.id, (unsigned long long)c->pos, o, applied);
		c->nconflicts++;
	} else {
		fail_msg("unexpected message type %s", type);
	}
}

/* Reads everything queued for c through the model; returns changes read. */
static inline int drain(struct client *c)
{
	int before = c->nchanges;

	while (session_peek(&c->s)) {
		json_t *j = next_json(c);

		model_apply(c, j);
		json_decref(j);
	}
	return c->nchanges - before;
}

/* The next message is subscribed{coll, epoch:seq, ref (raw JSON or NULL)}. */
static inline void expect_subscribed(struct client *c, const char *epoch,
				     uint64_t seq, const char *ref)
{
	json_t *j = next_json(c), *r = json_object_get(j, "ref");
	char off[OFFSET_STR_MAX];

	expect_type(j, "subscribed");
	fmt_off(off, epoch, seq);
	assert_string_equal(jstr(j, "offset"), off);
	if (ref) {
		char *got = json_dumps(r, JSON_COMPACT | JSON_ENCODE_ANY);

		assert_non_null(got);
		assert_string_equal(got, ref);
		free(got);
	} else {
		assert_null(r);
	}
	model_apply(c, j);
	json_decref(j);
}

static inline void expect_reset(struct client *c, const char *reason,
				const char *epoch, uint64_t seq)
{
	json_t *j = next_json(c);
	char off[OFFSET_STR_MAX];

	expect_type(j, "reset");
	assert_string_equal(jstr(j, "reason"), reason);
	fmt_off(off, epoch, seq);
	assert_string_equal(jstr(j, "offset"), off);
	model_apply(c, j);
	json_decref(j);
}

/* The next messages are the changes from..to, in order. */
static inline void expect_changes(struct client *c, uint64_t from, uint64_t to)
{
	for (uint64_t s = from; s <= to; s++) {
		json_t *j = next_json(c);

		expect_type(j, "change");
		model_apply(c, j);
		assert_int_equal(c->pos, s);
		json_decref(j);
	}
}

static inline void expect_empty(struct client *c)
{
	assert_null(session_peek(&c->s));
}

static inline const char *repoch(const char *coll) { return rcoll(coll)->epoch; }

/* "epoch:seq" in a static buffer (one at a time). */
static inline const char *off_str(const char *epoch, uint64_t seq)
{
	static char buf[OFFSET_STR_MAX];

	fmt_off(buf, epoch, seq);
	return buf;
}

/* ---- fixtures ---- */

static inline int sim_setup(void **state)
{
	struct hub_backend be = {&sim, be_open, be_close, be_meta, be_log, be_rotate};

	(void)state;
	memset(&sim, 0, sizeof(sim));
	memset(&metrics, 0, sizeof(metrics));
	sim.seen = seen_new(0);
	assert_non_null(sim.seen);
	sim.h = hub_new(&be, sim.seen);
	assert_non_null(sim.h);
	return 0;
}

/* Every client leaves, every pending answer is delivered (answers for dead
 * subscriptions must be accepted and freed), then the hub is freed. */
static inline int sim_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < SIM_CLIENTS; i++) {
		if (!sim.cl[i].used)
			continue;
		hub_session_gone(sim.h, &sim.cl[i].s);
		assert_int_equal(sim.cl[i].s.nsubs, 0);
		assert_null(sim.cl[i].s.subs);
		CHECK();
	}
	pump();
	assert_int_equal(metrics.subscriptions, 0);
	hub_free(sim.h);
	seen_free(sim.seen);
	for (int i = 0; i < SIM_CLIENTS; i++)
		if (sim.cl[i].used)
			session_release(&sim.cl[i].s);
	for (size_t i = 0; i < sim.nrc; i++)
		for (size_t s = 0; s < SIM_LOG; s++) {
			free(sim.rc[i].log[s]);
			free(sim.rc[i].clog[s]);
		}
	return 0;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, sim_setup, sim_teardown)

/* One client subscribed to a collection holding n changes, live at n. */
static inline struct client *live_client(int i, const char *coll, int n)
{
	struct client *c = client(i);

	rwrite_n(coll, n);
	csub(c, coll, NULL, NULL);
	pump();
	expect_subscribed(c, repoch(coll), (uint64_t)n, NULL);
	return c;
}

#endif

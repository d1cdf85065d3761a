/*
 * test_hub.c - the hub's live path against a simulated Redis (hub_sim.h):
 * first subscribe, in-order shared delivery, duplicates, gap repair, the
 * subscriber link lost and rebuilt, failures and retries, the subscription
 * index (unsubscribe, session gone, filter), slow consumers, what seen.c remembers.
 * Replay, `since` and epochs are in test_hub_replay.c.
 */
#include "seen.h"
#include "hub_sim.h"

static void test_first_subscribe(void **state)
{
	struct client *a = client(0), *b = client(1);

	(void)state;
	rwrite_n("todos", 3);
	csub(a, "todos", NULL, "7");
	/* the first local subscriber subscribes in Redis, and only that */
	assert_int_equal(calls(K_OPEN, "todos"), 1);
	assert_int_equal(sim.ncalls, 1);
	csub(b, "todos", NULL, "{\"k\":[1,\"x\"]}");
	assert_int_equal(sim.ncalls, 1);
	assert_int_equal(hub_collection_count(sim.h), 1);
	assert_int_equal(metrics.subscriptions, 2);
	/* nothing is said before the head is known */
	expect_empty(a);
	take_answer(K_OPEN, "todos");
	assert_int_equal(calls(K_META, "todos"), 1);
	expect_empty(a);
	{
		struct call m = take(K_META, "todos");

		assert_null(m.sub); /* collection-level read */
		answer(&m);
	}
	assert_int_equal(sim.ncalls, 0);
	expect_subscribed(a, repoch("todos"), 3, "7");
	expect_subscribed(b, repoch("todos"), 3, "{\"k\":[1,\"x\"]}");
	expect_empty(a);
	expect_empty(b);
	assert_true(a->wakes > 0);
	/* a third subscriber of a synced collection starts at once */
	csub(client(2), "todos", NULL, NULL);
	assert_int_equal(sim.ncalls, 0);
	expect_subscribed(&sim.cl[2], repoch("todos"), 3, NULL);
	/* the same session twice on one collection is refused */
	assert_int_equal(hub_subscribe(sim.h, &a->s, "todos", NULL, NULL, false), GW_EBADREQ);
	CHECK();
}

static void test_live_shared_in_order(void **state)
{
	struct client *a, *b = client(1);

	(void)state;
	a = live_client(0, "todos", 2);
	csub(b, "todos", NULL, NULL);
	expect_subscribed(b, repoch("todos"), 2, NULL);
	wpub("todos", "x3");
	/* one serialization: the same message in both queues */
	assert_non_null(session_peek(&a->s));
	assert_ptr_equal(session_peek(&a->s), session_peek(&b->s));
	assert_int_equal(session_peek(&a->s)->refs, 2);
	wpub("todos", "x4");
	wpub("todos", "x5");
	expect_changes(a, 3, 5);
	expect_changes(b, 3, 5);
	assert_string_equal(a->seen[0].tag, "x3");
	assert_string_equal(b->seen[2].tag, "x5");
	expect_empty(a);
	assert_int_equal(metrics.changes_delivered, 6);
	assert_int_equal(sim.ncalls, 0);
}

static void test_duplicates_dropped(void **state)
{
	struct client *a;
	uint64_t s;

	(void)state;
	a = live_client(0, "todos", 3);
	s = wpub("todos", "x");
	publish("todos", s);     /* pub/sub repeats itself */
	publish("todos", 2);     /* an old one */
	expect_changes(a, 4, 4);
	expect_empty(a);
	assert_int_equal(sim.ncalls, 0);
	/* a message that is not a stored document is ignored */
	hub_on_live(sim.h, "todos", "{\"x\":1}", 7);
	hub_on_live(sim.h, "nobody", "{}", 2);
	CHECK();
	expect_empty(a);
	assert_int_equal(sim.ncalls, 0);
}

static void test_gap_repair(void **state)
{
	struct client *a, *b = client(1);
	struct call lg;

	(void)state;
	a = live_client(0, "todos", 4);
	csub(b, "todos", NULL, NULL);
	expect_subscribed(b, repoch("todos"), 4, NULL);
	rwrite("todos", "lost5");        /* dropped by pub/sub */
	rwrite("todos", "lost6");
	wpub("todos", "x7");             /* the jump */
	expect_empty(a);
	lg = take(K_LOG, "todos");
	assert_null(lg.sub);
	assert_int_equal(lg.from, 5);
	assert_int_equal(lg.count, 3);
	/* more live messages while the read is in flight: held back */
	wpub("todos", "x8");
	publish("todos", 7);
	wpub("todos", "x9");
	expect_empty(a);
	assert_int_equal(sim.ncalls, 0); /* one repair read at a time */
	answer_log_upto(&lg, 7);         /* Redis ran it before 8 was written */
	expect_changes(a, 5, 7);
	expect_empty(a);
	assert_string_equal(a->seen[0].tag, "lost5");
	/* the rest of the gap (8, 9 arrived during the repair) */
	lg = take(K_LOG, "todos");
	assert_int_equal(lg.from, 8);
	assert_int_equal(lg.count, 2);
	answer(&lg);
	expect_changes(a, 8, 9);
	/* late copies of repaired changes are duplicates */
	publish("todos", 8);
	publish("todos", 9);
	wpub("todos", "x10");
	expect_changes(a, 10, 10);
	expect_empty(a);
	assert_int_equal(drain(b), 6);
	assert_int_equal(b->pos, 10);
	assert_int_equal(metrics.gap_repairs, 5); /* per change, not per sub */
	assert_int_equal(sim.ncalls, 0);
}

static void test_repair_log_trimmed(void **state)
{
	struct client *a;
	struct call lg;

	(void)state;
	a = live_client(0, "todos", 4);
	rwrite_n("todos", 5);            /* 5..9 never published */
	rtrim("todos", 6);               /* and the log forgot just 5 */
	wpub("todos", "x10");
	lg = take(K_LOG, "todos");
	assert_int_equal(lg.from, 5);
	answer(&lg);
	/* the log cannot fill the gap: reset to what is known, re-read */
	expect_reset(a, "history_trimmed", repoch("todos"), 10);
	expect_empty(a);
	take_answer(K_META, "todos");
	assert_int_equal(sim.ncalls, 0);
	wpub("todos", "x11");
	expect_changes(a, 11, 11);
	assert_int_equal(metrics.resets_sent, 1);
}

static void test_sub_lost_reopen(void **state)
{
	struct client *a, *late = client(1);

	(void)state;
	a = live_client(0, "todos", 5);
	hub_on_sub_lost(sim.h);
	CHECK();
	/* published while the subscriber link was down: lost */
	rwrite("todos", "gone6");
	rwrite("todos", "gone7");
	publish("todos", 7);             /* (would not arrive; ignored if it did) */
	/* a subscriber arriving meanwhile starts at the known head */
	csub(late, "todos", NULL, NULL);
	expect_subscribed(late, repoch("todos"), 5, NULL);
	assert_int_equal(sim.ncalls, 0); /* the backend re-subscribes itself */
	hub_on_open(sim.h, "todos");
	CHECK();
	rwrite("todos", "w8");           /* written after the re-subscribe... */
	publish("todos", 8);             /* ...and seen before the head read */
	take_answer(K_META, "todos");
	take_answer(K_LOG, "todos");
	assert_int_equal(sim.ncalls, 0);
	expect_changes(a, 6, 8);
	assert_string_equal(a->seen[1].tag, "gone7");
	expect_empty(a);
	assert_int_equal(drain(late), 3);
	wpub("todos", "x9");
	assert_int_equal(drain(a), 1);
	assert_int_equal(drain(late), 1);
	assert_int_equal(a->nresets + late->nresets, 0);
}

static void test_failed_reads_retry(void **state)
{
	struct client *a = client(0);
	struct call c;

	(void)state;
	hub_tick(sim.h, 10000);
	rwrite_n("todos", 2);
	csub(a, "todos", NULL, NULL);
	take_answer(K_OPEN, "todos");
	c = take(K_META, "todos");
	answer_fail(&c);
	expect_empty(a);
	assert_int_equal(sim.ncalls, 0);
	hub_tick(sim.h, 10500);          /* too early */
	assert_int_equal(sim.ncalls, 0);
	hub_tick(sim.h, 11000);
	CHECK();
	assert_int_equal(calls(K_META, "todos"), 1);
	take_answer(K_META, "todos");
	expect_subscribed(a, repoch("todos"), 2, NULL);
	/* a failed repair read: retried through a head read at the next tick */
	rwrite("todos", "x3");
	wpub("todos", "x4");
	c = take(K_LOG, "todos");
	answer_fail(&c);
	wpub("todos", "x5");             /* noted, not delivered out of order */
	expect_empty(a);
	hub_tick(sim.h, 11500);
	assert_int_equal(sim.ncalls, 0);
	hub_tick(sim.h, 12000);
	pump();
	expect_changes(a, 3, 5);
	expect_empty(a);
}

/* A collection whose keys have the wrong type (the head read fails with
 * GW_EINTERNAL) answers a waiting subscriber with an error instead of
 * silence, and drops the subscription; transient failures retry instead
 * (test_failed_reads_retry). */
static void test_broken_collection_errors(void **state)
{
	struct client *a = client(0);
	struct call c;
	json_t *j;

	(void)state;
	csub(a, "broken", NULL, "\"r1\"");
	take_answer(K_OPEN, "broken");
	c = take(K_META, "broken");
	hub_on_meta(sim.h, "broken", c.sub, GW_EINTERNAL, NULL, 0);
	CHECK();
	j = next_json(a);
	expect_type(j, "error");
	assert_string_equal(jstr(j, "code"), "internal");
	assert_string_equal(jstr(j, "ref"), "r1");
	json_decref(j);
	expect_empty(a);
	assert_int_equal(a->s.nsubs, 0);
	assert_int_equal(calls(K_CLOSE, "broken"), 1);
	take(K_CLOSE, "broken");
	/* the socket may subscribe again later */
	csub(a, "broken", NULL, NULL);
	take_answer(K_OPEN, "broken");
	take_answer(K_META, "broken");
	expect_subscribed(a, repoch("broken"), 0, NULL);
}

static void test_unsubscribe_and_gone(void **state)
{
	struct client *a, *b = client(1);

	(void)state;
	a = live_client(0, "todos", 1);
	csub(b, "todos", NULL, NULL);
	csub(b, "notes", NULL, NULL);
	pump();
	while (session_peek(&b->s))
		session_pop(&b->s);
	assert_int_equal(hub_collection_count(sim.h), 2);
	assert_int_equal(b->s.nsubs, 2);
	assert_int_equal(hub_unsubscribe(sim.h, &a->s, "todos"), 0);
	CHECK();
	assert_int_equal(hub_unsubscribe(sim.h, &a->s, "todos"), GW_ENOTFOUND);
	assert_int_equal(hub_unsubscribe(sim.h, &a->s, "never"), GW_ENOTFOUND);
	assert_int_equal(sim.ncalls, 0); /* b still listens to todos */
	wpub("todos", "x2");
	expect_empty(a);
	assert_non_null(session_peek(&b->s));
	/* the connection goes: the last subscriber of each collection closes it */
	hub_session_gone(sim.h, &b->s);
	CHECK();
	assert_int_equal(b->s.nsubs, 0);
	assert_int_equal(calls(K_CLOSE, "todos"), 1);
	assert_int_equal(calls(K_CLOSE, "notes"), 1);
	assert_int_equal(sim.ncalls, 2);
	drop_closes();
	assert_int_equal(metrics.subscriptions, 0);
	/* live messages of idle collections are ignored */
	wpub("todos", "x3");
	assert_int_equal(sim.ncalls, 0);
	/* subscribing again opens again and repairs nothing it need not */
	csub(a, "todos", NULL, NULL);
	assert_int_equal(calls(K_OPEN, "todos"), 1);
	pump();
	expect_subscribed(a, repoch("todos"), 3, NULL);
	assert_int_equal(sim.ncalls, 0);
}

static void test_answers_for_dead_subs(void **state)
{
	struct client *a, *b = client(1), *c = client(2);
	struct call lg, chk, meta;

	(void)state;
	a = live_client(0, "todos", 10);
	csub(b, "todos", off_str(repoch("todos"), 2), NULL);   /* replays */
	csub(c, "todos", off_str(repoch("todos"), 30), NULL);  /* checks */
	lg = take(K_LOG, "todos");
	chk = take(K_META, "todos");
	assert_ptr_equal(lg.sub, b->s.subs);
	assert_ptr_equal(chk.sub, c->s.subs);
	hub_on_cmd_reconnected(sim.h);   /* a collection-level read too */
	meta = take(K_META, "todos");
	assert_null(meta.sub);
	hub_session_gone(sim.h, &b->s);
	hub_session_gone(sim.h, &c->s);
	hub_unsubscribe(sim.h, &a->s, "todos");
	CHECK();
	assert_int_equal(calls(K_CLOSE, "todos"), 1);
	/* the answers come anyway: accepted, the subscriptions freed (ASan) */
	answer(&lg);
	answer(&chk);
	answer(&meta);
	drop_closes();
	assert_int_equal(sim.ncalls, 0);
	expect_subscribed(b, repoch("todos"), 10, NULL);
	expect_empty(b);                 /* nothing after leaving */
	expect_subscribed(c, repoch("todos"), 10, NULL);
	expect_empty(c);
	/* and failures for dead subscriptions too */
	csub(b, "todos", off_str(repoch("todos"), 1), NULL);
	pump();
	drain(b);
	csub(c, "todos", off_str(repoch("todos"), 5), NULL);
	lg = take(K_LOG, "todos");
	hub_session_gone(sim.h, &c->s);
	answer_fail(&lg);
	assert_int_equal(sim.ncalls, 0);
}

static void test_slow_consumer(void **state)
{
	struct client *fast, *slow = client_q(1, 2000);
	uint64_t closes = metrics.slow_consumer_closes;
	int i;

	(void)state;
	fast = live_client(0, "todos", 0);
	csub(slow, "todos", NULL, NULL);
	expect_subscribed(slow, repoch("todos"), 0, NULL);
	for (i = 1; i <= 20 && !slow->s.close_code; i++)
		wpub("todos", "x");
	assert_true(i > 3);              /* some changes fitted */
	assert_int_equal(slow->s.close_code, 4008);
	assert_int_equal(slow->kills, 1);
	assert_null(session_peek(&slow->s));
	assert_int_equal(metrics.slow_consumer_closes, closes + 1);
	for (; i <= 30; i++)
		wpub("todos", "y");
	assert_int_equal(slow->kills, 1);
	assert_null(session_peek(&slow->s));
	assert_int_equal(drain(fast), 30);
	assert_int_equal(fast->pos, 30);
	/* the transport closes it: the subscription goes with it */
	hub_session_gone(sim.h, &slow->s);
	CHECK();
	wpub("todos", "z");
	assert_int_equal(drain(fast), 1);
}

struct filt {
	const char *keep;
	char removed[4][16];
	int n;
};

static bool keep_cb(void *ctx, const char *coll)
{
	return strcmp(((struct filt *)ctx)->keep, coll) == 0;
}

static void removed_cb(void *ctx, const char *coll)
{
	struct filt *f = ctx;

	assert_true(f->n < 4);
	snprintf(f->removed[f->n++], sizeof(f->removed[0]), "%s", coll);
	assert_true(hub_check_invariants(sim.h));
}

static void test_session_filter(void **state)
{
	struct client *a = client(0), *b = client(1);
	struct filt f = {"b", {{0}}, 0};

	(void)state;
	csub(a, "a", NULL, NULL);
	csub(a, "b", NULL, NULL);
	csub(a, "c", NULL, NULL);
	csub(b, "c", NULL, NULL);
	pump();
	while (session_peek(&a->s))
		session_pop(&a->s);
	hub_session_filter(sim.h, &a->s, keep_cb, removed_cb, &f);
	CHECK();
	assert_int_equal(f.n, 2);
	assert_true((strcmp(f.removed[0], "a") == 0 && strcmp(f.removed[1], "c") == 0) ||
		    (strcmp(f.removed[0], "c") == 0 && strcmp(f.removed[1], "a") == 0));
	assert_int_equal(a->s.nsubs, 1);
	assert_int_equal(calls(K_CLOSE, "a"), 1);
	assert_int_equal(calls(K_CLOSE, "c"), 0);   /* b still has it */
	drop_closes();
	while (session_peek(&b->s))
		session_pop(&b->s);
	wpub("a", "x");
	wpub("c", "x");
	expect_empty(a);
	assert_int_equal(b->s.qlen, 1);  /* b keeps receiving "c" */
	wpub("b", "x");
	assert_int_equal(a->s.qlen, 1);
	{
		json_t *j = next_json(a);

		expect_type(j, "change");
		assert_string_equal(jstr(j, "collection"), "b");
		json_decref(j);
	}
	assert_int_equal(sim.ncalls, 0);
	assert_int_equal(hub_unsubscribe(sim.h, &a->s, "c"), GW_ENOTFOUND);
	/* keeping everything removes nothing */
	f.keep = "b";
	f.n = 0;
	hub_session_filter(sim.h, &a->s, keep_cb, removed_cb, &f);
	assert_int_equal(f.n, 0);
	assert_int_equal(a->s.nsubs, 1);
}

/* What was seen (a write's answer raised it past what pub/sub brought)
 * is checked on every head read; a write showing another epoch makes a
 * followed collection re-read; unfollowed ones are not created. */
static void test_seen_live(void **state)
{
	struct client *a;
	char e1[OFFSET_EPOCH_MAX + 1];
	struct call m, r;
	size_t n;

	(void)state;
	a = live_client(0, "todos", 6);
	snprintf(e1, sizeof(e1), "%s", repoch("todos"));
	seen_raise(sim.seen, "todos", e1, 8); /* a write of ours at 8 */
	hub_on_cmd_reconnected(sim.h);        /* a head read */
	m = take(K_META, "todos");
	assert_null(m.sub);
	assert_int_equal(sim.ncalls, 0);
	answer_meta_as(&m, 0, e1, 6);         /* Redis lost 7 and 8 */
	r = take(K_ROTATE, "todos");
	assert_string_equal(r.epoch, e1);
	assert_int_equal(r.min_seq, 8);
	answer(&r);
	assert_string_not_equal(repoch("todos"), e1);
	expect_reset(a, "epoch_changed", repoch("todos"), 6);
	expect_empty(a);
	/* a write's answer in another epoch: re-read, then reset everyone */
	rcoll("todos")->epoch[0] = '\0';
	rtouch("todos");
	hub_wrote(sim.h, "todos", repoch("todos"));
	pump();
	expect_reset(a, "epoch_changed", repoch("todos"), 6);
	wpub("todos", "x7");
	expect_changes(a, 7, 7);
	expect_empty(a);
	/* the same epoch, or a collection nobody follows: nothing happens */
	n = hub_collection_count(sim.h);
	hub_wrote(sim.h, "todos", repoch("todos"));
	hub_wrote(sim.h, "nobody", "eZ");
	assert_int_equal(hub_collection_count(sim.h), n);
	assert_int_equal(sim.ncalls, 0);
}

/* The subscriber link drops while a repair read is in flight. */
static void test_sub_lost_during_repair(void **state)
{
	struct client *a;
	struct call lg;

	(void)state;
	a = live_client(0, "todos", 3);
	rwrite("todos", "lost4");
	wpub("todos", "x5");
	lg = take(K_LOG, "todos");
	hub_on_sub_lost(sim.h);
	rwrite_n("todos", 2);                /* 6, 7 during the outage */
	answer(&lg);                         /* 4, 5 */
	expect_changes(a, 4, 5);
	assert_int_equal(sim.ncalls, 0);     /* waits for the link */
	hub_on_open(sim.h, "todos");
	wpub("todos", "x8");
	pump();
	expect_changes(a, 6, 8);
	expect_empty(a);
}

/* Redis restarted without its tail: seen when the link comes back. */
static void test_sub_lost_tail_lost(void **state)
{
	struct client *a;
	struct call r;

	(void)state;
	a = live_client(0, "todos", 3);
	wpub("todos", "x4");
	wpub("todos", "x5");
	hub_on_sub_lost(sim.h);
	rlose_tail("todos", 2);
	hub_on_open(sim.h, "todos");
	take_answer(K_META, "todos");
	r = take(K_ROTATE, "todos");
	assert_int_equal(r.min_seq, 5);
	answer_fail(&r);                     /* fails: retried at a tick */
	assert_int_equal(sim.ncalls, 0);
	hub_tick(sim.h, 5000);
	take_answer(K_META, "todos");
	take_answer(K_ROTATE, "todos");
	assert_int_equal(sim.ncalls, 0);
	expect_changes(a, 4, 5);
	expect_reset(a, "epoch_changed", repoch("todos"), 3);
	wpub("todos", "x4b");
	expect_changes(a, 4, 4);
	assert_string_equal(a->seen[2].tag, "x4b");
}

/* Idle collections (followed once) past the cap are forgotten; live ones
 * stay and deliver. */
static void test_idle_cap(void **state)
{
	char name[32];
	struct client *a, *b = client(1);

	(void)state;
	a = live_client(0, "keep", 1);
	for (int i = 0; i < 50001; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		assert_int_equal(hub_subscribe(sim.h, &b->s, name, NULL, NULL, false), 0);
		assert_int_equal(hub_unsubscribe(sim.h, &b->s, name), 0);
		sim.ncalls = 0; /* its open and close, never answered */
	}
	assert_int_equal(hub_collection_count(sim.h), 50002);
	hub_tick(sim.h, 1000);
	CHECK();
	assert_true(hub_collection_count(sim.h) <= 25000 + 1);
	assert_true(hub_collection_count(sim.h) >= 1);
	wpub("keep", "x2");
	expect_changes(a, 2, 2);
	expect_empty(b);
	hub_tick(sim.h, 2000);               /* under the cap now: no change */
	assert_true(hub_collection_count(sim.h) <= 25000 + 1);
}

/* Conflict entries: only to subscriptions that asked, right before the
 * change they settled (live, repaired, replayed), and rejects after the
 * change they followed, live only. */
static void test_conflicts(void **state)
{
	struct client *a = client(0), *b = client(1), *c = client(2);
	struct call lg;
	uint64_t s;

	(void)state;
	rwrite_n("todos", 2);
	csub_conflicts(a, "todos", NULL, NULL, true);
	csub(b, "todos", NULL, NULL);
	pump();
	expect_subscribed(a, repoch("todos"), 2, NULL);
	expect_subscribed(b, repoch("todos"), 2, NULL);
	/* live: entry then change for a; the change alone for b */
	s = rwrite_conflict("todos", "c3");
	publish("todos", s);
	assert_int_equal(drain(a), 1);
	assert_int_equal(a->nconflicts, 1);
	assert_int_equal(drain(b), 1);
	assert_int_equal(b->nconflicts, 0);
	/* a reject after change 3 */
	publish_reject("todos", "r1");
	assert_int_equal(drain(a), 0);
	assert_int_equal(a->nconflicts, 2);
	expect_empty(b);
	/* repaired from the log: the entry comes from the log entry */
	rwrite_conflict("todos", "c4"); /* dropped by pub/sub */
	wpub("todos", "x5");
	lg = take(K_LOG, "todos");
	/* a reject while repairing is out of step: not sent (the trail keeps it) */
	publish_reject("todos", "r2");
	answer(&lg);
	assert_int_equal(drain(a), 2);
	assert_int_equal(a->nconflicts, 3);
	assert_int_equal(drain(b), 2);
	/* replayed with since: entries from the log too */
	csub_conflicts(c, "todos", off_str(repoch("todos"), 2), NULL, true);
	pump();
	assert_int_equal(drain(c), 3);
	assert_int_equal(c->nconflicts, 2);
	/* a reject published for an old head is not sent */
	{
		char *m = make_conflict("todos", repoch("todos"), 3, "old", false);

		hub_on_live(sim.h, "todos", m, strlen(m));
		free(m);
		CHECK();
	}
	expect_empty(a);
	expect_empty(c);
	/* a malformed combined message is ignored */
	hub_on_live(sim.h, "todos", "{\"type\":\"conflict\",\"x\":1}\n{}", 28);
	CHECK();
	expect_empty(a);
	assert_int_equal(sim.ncalls, 0);
}

/* A backend read that cannot even start (out of memory) is retried at a
 * later tick, like a failed one; nothing is answered twice. */
static void test_start_failures_retry(void **state)
{
	struct client *a = client(0), *b = client(1);

	(void)state;
	hub_tick(sim.h, 10000);
	rwrite_n("todos", 3);
	csub(a, "todos", NULL, NULL);
	sim.fail_calls = 1;
	take_answer(K_OPEN, "todos");  /* its head read fails to start */
	assert_int_equal(sim.ncalls, 0);
	expect_empty(a);
	hub_tick(sim.h, 11000);
	pump();
	expect_subscribed(a, repoch("todos"), 3, NULL);
	/* a replay read that cannot start */
	sim.fail_calls = 1;
	csub(b, "todos", off_str(repoch("todos"), 1), NULL);
	expect_subscribed(b, repoch("todos"), 3, NULL);
	assert_int_equal(sim.ncalls, 0);
	hub_tick(sim.h, 12000);
	pump();
	expect_changes(b, 2, 3);
	/* a repair read that cannot start */
	rwrite("todos", "lost4");
	sim.fail_calls = 1;
	wpub("todos", "x5");
	assert_int_equal(sim.ncalls, 0);
	hub_tick(sim.h, 13000);
	pump();
	expect_changes(a, 4, 5);
	expect_changes(b, 4, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_first_subscribe),
		T(test_live_shared_in_order),
		T(test_duplicates_dropped),
		T(test_gap_repair),
		T(test_repair_log_trimmed),
		T(test_sub_lost_reopen),
		T(test_failed_reads_retry),
		T(test_broken_collection_errors),
		T(test_unsubscribe_and_gone),
		T(test_answers_for_dead_subs),
		T(test_slow_consumer),
		T(test_session_filter),
		T(test_seen_live),
		T(test_sub_lost_during_repair),
		T(test_sub_lost_tail_lost),
		T(test_idle_cap),
		T(test_conflicts),
		T(test_start_failures_retry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

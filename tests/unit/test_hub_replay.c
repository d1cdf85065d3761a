/*
 * test_hub_replay.c - the hub's `since` replay and its seam with live
 * delivery, since checks, resets, epochs and tail loss, replay flow control
 * and the first head read, against the simulated Redis of hub_sim.h.
 */
#include "hub_sim.h"

static char e1[OFFSET_EPOCH_MAX + 1];

/* a: live on "todos" holding n changes; e1 is its epoch. */
static struct client *setup_live(int n)
{
	struct client *a = live_client(0, "todos", n);

	snprintf(e1, sizeof(e1), "%s", repoch("todos"));
	return a;
}

static void test_replay_seam(void **state)
{
	struct client *a, *b = client(1);
	struct call lg;

	(void)state;
	a = setup_live(10);
	csub(b, "todos", off_str(e1, 3), "1");
	expect_subscribed(b, e1, 10, "1");   /* the head, then the replay */
	lg = take(K_LOG, "todos");
	assert_ptr_equal(lg.sub, b->s.subs);
	assert_int_equal(lg.from, 4);
	/* changes while the replay read is in flight */
	wpub("todos", "x11");
	wpub("todos", "x12");
	expect_empty(b);
	answer_log_upto(&lg, 10);            /* Redis ran it before 11 */
	expect_changes(b, 4, 10);
	expect_empty(b);
	lg = take(K_LOG, "todos");
	assert_int_equal(lg.from, 11);
	wpub("todos", "x13");
	rwrite("todos", "x14");              /* in the log, not yet published */
	answer(&lg);                         /* sees 11..14, stops at head 13 */
	expect_changes(b, 11, 13);
	expect_empty(b);
	assert_int_equal(sim.ncalls, 0);
	publish("todos", 14);
	wpub("todos", "x15");
	expect_changes(b, 14, 15);
	expect_empty(b);
	assert_int_equal(drain(a), 5);
	assert_int_equal(b->nresets + a->nresets, 0);
	assert_int_equal(b->nseen, 12);
	assert_string_equal(b->seen[11].tag, "x15");
}

/* A replay across several batches with writes between every answer. */
static void test_replay_long(void **state)
{
	struct client *a, *b = client(1);
	int reads = 0;

	(void)state;
	a = setup_live(1200);
	csub(b, "todos", off_str(e1, 0), NULL);
	while (calls(K_LOG, "todos")) {
		struct call lg = take(K_LOG, "todos");

		reads++;
		assert_int_equal(lg.from, b->pos + 1);
		wpub("todos", "live");
		answer(&lg);
		drain(b);
	}
	assert_true(reads >= 3);
	assert_int_equal(b->nchanges, 1200 + reads);
	assert_int_equal(b->pos, 1200 + (uint64_t)reads);
	wpub("todos", "end");
	assert_int_equal(drain(b), 1);
	assert_int_equal(drain(a), reads + 1);
	assert_int_equal(a->pos, b->pos);
}

static void test_since_head(void **state)
{
	struct client *b = client(1);

	(void)state;
	setup_live(7);
	csub(b, "todos", off_str(e1, 7), NULL);
	expect_subscribed(b, e1, 7, NULL);
	assert_int_equal(sim.ncalls, 0);
	wpub("todos", "x8");
	expect_changes(b, 8, 8);
	expect_empty(b);
}

/* since ahead of this hub's head: another gateway was faster. */
static void test_since_ahead(void **state)
{
	struct client *a, *b = client(1);
	struct call chk;

	(void)state;
	a = setup_live(10);
	rwrite_n("todos", 5);                /* 11..15: pub/sub lost them */
	csub(b, "todos", off_str(e1, 13), NULL);
	expect_subscribed(b, e1, 10, NULL);
	chk = take(K_META, "todos");
	assert_ptr_equal(chk.sub, b->s.subs);
	assert_int_equal(sim.ncalls, 0);
	answer(&chk);                        /* Redis has 15 >= 13: fine */
	expect_empty(b);
	assert_int_equal(sim.ncalls, 0);
	wpub("todos", "x16");                /* gap 11..16, repaired */
	take_answer(K_LOG, "todos");
	expect_changes(b, 14, 16);           /* from since, not from head */
	expect_empty(b);
	assert_int_equal(drain(a), 6);
}

/* ... and the head passes since while the check is in flight. */
static void test_since_ahead_passed(void **state)
{
	struct client *b = client(1);
	struct call chk;

	(void)state;
	setup_live(10);
	csub(b, "todos", off_str(e1, 13), NULL);
	expect_subscribed(b, e1, 10, NULL);
	chk = take(K_META, "todos");
	rwrite_n("todos", 3);
	for (int i = 0; i < 4; i++)
		wpub("todos", "x");          /* 14..17: the gap 11..17 */
	while (calls(K_LOG, "todos"))
		take_answer(K_LOG, "todos"); /* repaired: head 17 */
	expect_empty(b);
	answer(&chk);
	take_answer(K_LOG, "todos");         /* replays 14..17 */
	expect_changes(b, 14, 17);
	assert_int_equal(sim.ncalls, 0);
	wpub("todos", "x18");
	expect_changes(b, 18, 18);
	expect_empty(b);
}

/* since ahead of what Redis holds: a lost tail. */
/* since ahead of Redis in the same epoch proves a lost tail: the
 * collection is rotated, and every subscriber (the one that asked and the
 * live ones) gets its reset in the new epoch, never one in the old. */
static void test_since_ahead_lost(void **state)
{
	struct client *a, *b = client(1);

	(void)state;
	a = setup_live(10);
	csub(b, "todos", off_str(e1, 20), NULL);
	expect_subscribed(b, e1, 10, NULL);
	take_answer(K_META, "todos");
	expect_empty(b);                     /* no reset in the old epoch */
	assert_int_equal(calls(K_ROTATE, "todos"), 1);
	take_answer(K_ROTATE, "todos");
	assert_string_not_equal(repoch("todos"), e1);
	expect_reset(b, "epoch_changed", repoch("todos"), 10);
	expect_reset(a, "epoch_changed", repoch("todos"), 10);
	expect_empty(b);
	expect_empty(a);
	wpub("todos", "x11");
	expect_changes(b, 11, 11);
	expect_changes(a, 11, 11);
}

/* A rotation refused (rotate.lua's interval, or another gateway was first
 * and the head moved on): the asking subscriber still gets its reset. */
static void test_since_ahead_refused(void **state)
{
	struct client *b = client(1);
	struct call rot;

	(void)state;
	setup_live(10);
	csub(b, "todos", off_str(e1, 20), NULL);
	expect_subscribed(b, e1, 10, NULL);
	take_answer(K_META, "todos");
	rot = take_coll(K_ROTATE, "todos");
	hub_on_meta(sim.h, "todos", NULL, 0, e1, 10); /* not rotated */
	expect_reset(b, "epoch_changed", e1, 10);
	expect_empty(b);
	(void)rot;
}

static void test_since_other_epoch(void **state)
{
	struct client *b = client(1);

	(void)state;
	setup_live(10);
	csub(b, "todos", "old:5", "\"r\"");
	expect_subscribed(b, e1, 10, "\"r\"");
	expect_reset(b, "epoch_changed", e1, 10);
	expect_empty(b);
	pump();                              /* (a head re-read is allowed) */
	expect_empty(b);
	wpub("todos", "x11");
	expect_changes(b, 11, 11);
	assert_int_equal(metrics.resets_sent, 1);
}

static void test_replay_trimmed(void **state)
{
	struct client *b = client(1), *c = client(2);
	struct call lg;

	(void)state;
	setup_live(600);
	rtrim("todos", 5);
	csub(b, "todos", off_str(e1, 2), NULL);  /* 3, 4 are gone */
	expect_subscribed(b, e1, 600, NULL);
	take_answer(K_LOG, "todos");
	expect_reset(b, "history_trimmed", e1, 600);
	expect_empty(b);
	/* trimmed between two batches */
	csub(c, "todos", off_str(e1, 10), NULL);
	lg = take(K_LOG, "todos");
	answer(&lg);
	assert_int_equal(drain(c), 500);
	lg = take(K_LOG, "todos");
	rtrim("todos", 590);
	answer(&lg);
	expect_reset(c, "history_trimmed", e1, 600);
	assert_int_equal(sim.ncalls, 0);
	wpub("todos", "x");
	assert_int_equal(drain(b), 1);
	assert_int_equal(drain(c), 1);
	/* a failed replay read (Redis, not the log) is read again at a tick,
	 * not answered with a reset */
	b = client(3);
	csub(b, "todos", off_str(e1, 595), NULL);
	lg = take(K_LOG, "todos");
	answer_fail(&lg);
	assert_int_equal(sim.ncalls, 0);
	hub_tick(sim.h, 999);                 /* not yet: retried after 1 s */
	assert_int_equal(sim.ncalls, 0);
	hub_tick(sim.h, 2000);
	take_answer(K_LOG, "todos");
	drain(b);
	assert_int_equal(b->nresets, 0);
	assert_int_equal(b->pos, 601);
}

/* The replay waits while the session's queue is past half its limit. */
static void test_replay_pause(void **state)
{
	struct client *b = client_q(1, 200000);
	int rounds = 0, pauses = 0;

	(void)state;
	setup_live(1200);
	csub(b, "todos", off_str(e1, 0), NULL);
	for (;;) {
		assert_true(++rounds < 100);
		if (calls(K_LOG, "todos")) {
			take_answer(K_LOG, "todos");
			continue;
		}
		if (b->s.qbytes <= b->s.qlimit / 2)
			break;                      /* caught up: live */
		/* paused: past half the limit, not closed, nothing asked */
		pauses++;
		assert_int_equal(b->s.close_code, 0);
		hub_session_drained(sim.h, &b->s);  /* a stray call: no effect */
		assert_int_equal(sim.ncalls, 0);
		wpub("todos", "live");              /* not for b yet */
		drain(b);
		hub_session_drained(sim.h, &b->s);
		CHECK();
	}
	assert_true(pauses >= 2);
	assert_int_equal(sim.ncalls, 0);
	drain(b);
	assert_int_equal(b->s.close_code, 0);
	assert_int_equal(b->nresets, 0);
	assert_int_equal(b->pos, rcoll("todos")->seq);
	wpub("todos", "end");
	assert_int_equal(drain(b), 1);
}

/* A reader that keeps up must not be closed by the replay itself, even when
 * one replay batch is bigger than its whole queue limit. */
static void test_replay_batch_over_limit(void **state)
{
	struct client *b = client_q(1, 64 * 1024);

	(void)state;
	setup_live(480);
	csub(b, "todos", off_str(e1, 0), NULL);
	for (int i = 0; i < 100 && b->pos < 480; i++) {
		pump();
		assert_int_equal(b->s.close_code, 0);
		assert_true(b->s.qbytes <= b->s.qlimit);
		drain(b);
		hub_session_drained(sim.h, &b->s);
	}
	assert_int_equal(b->kills, 0);
	assert_int_equal(b->pos, 480);
	assert_int_equal(b->nresets, 0);
}

static void test_live_epoch_change(void **state)
{
	struct client *a, *b = client(1), *c = client(2);

	(void)state;
	a = setup_live(10);
	csub(b, "todos", off_str(e1, 2), NULL); /* mid-replay */
	csub(c, "todos", off_str(e1, 30), NULL); /* mid-check */
	/* another gateway gave the collection a new epoch */
	rlose_tail("todos", 2);
	new_epoch(rcoll("todos"));
	wpub("todos", "n9");
	assert_int_equal(calls(K_META, "todos"), 2);
	{
		struct call m = take_coll(K_META, "todos");

		answer(&m);
	}
	pump();                              /* b's read, c's check: too late */
	expect_reset(a, "epoch_changed", repoch("todos"), 9);
	expect_empty(a);
	drain(b);
	drain(c);
	assert_string_equal(b->last_reason, "epoch_changed");
	assert_string_equal(c->last_reason, "epoch_changed");
	assert_int_equal(b->nresets + c->nresets, 2);
	wpub("todos", "n10");
	assert_int_equal(drain(a) + drain(b) + drain(c), 3);
	assert_int_equal(c->pos, 10);
}

/* Redis restarted and lost a tail it had acknowledged: new epoch, reset,
 * and nobody gets a different change under an offset it already had. */
static void test_reconnect_tail_lost(void **state)
{
	struct client *a, *b = client(1);
	struct call m, r, lg;
	uint64_t s;

	(void)state;
	a = setup_live(7);
	wpub("todos", "orig8");
	wpub("todos", "orig9");
	wpub("todos", "orig10");
	expect_changes(a, 8, 10);
	csub(b, "todos", off_str(e1, 2), NULL);
	lg = take(K_LOG, "todos");           /* b's replay, in flight */
	rlose_tail("todos", 3);              /* Redis is back at e1:7 */
	hub_on_cmd_reconnected(sim.h);
	m = take(K_META, "todos");
	answer(&m);
	r = take(K_ROTATE, "todos");
	assert_string_equal(r.epoch, e1);
	assert_int_equal(r.min_seq, 10);
	/* a gateway that never saw 8..10 writes another e1:8 meanwhile */
	s = wpub("todos", "other8");
	assert_int_equal(s, 8);
	expect_empty(a);
	answer(&lg);
	answer(&r);
	pump();
	assert_string_not_equal(repoch("todos"), e1);
	drain(a);   /* the model fails on a second change under e1:8 */
	drain(b);
	assert_int_equal(a->nresets, 1);
	assert_string_equal(a->last_reason, "epoch_changed");
	assert_string_equal(a->epoch, repoch("todos"));
	assert_int_equal(a->pos, 8);
	assert_string_equal(b->last_reason, "epoch_changed");
	assert_string_equal(b->epoch, repoch("todos"));
	assert_int_equal(b->pos, 8);
	assert_int_equal(a->nchanges, 3);
	wpub("todos", "x9");
	assert_int_equal(drain(a), 1);
	assert_int_equal(drain(b), 1);
	assert_string_equal(a->seen[3].tag, "x9");
	assert_true(b->nseen > 0);
	assert_string_equal(b->seen[b->nseen - 1].tag, "x9");
}

/* Redis restarted from its AOF without loss (RELIABILITY D04): no reset,
 * what was published meanwhile is repaired. */
static void test_reconnect_no_loss(void **state)
{
	struct client *a;

	(void)state;
	a = setup_live(10);
	rwrite_n("todos", 2);
	hub_on_cmd_reconnected(sim.h);
	assert_int_equal(calls(K_META, "todos"), 1);
	pump();
	expect_changes(a, 11, 12);
	expect_empty(a);
	assert_int_equal(metrics.resets_sent, 0);
}

/* A live message that beats the first head read must not be lost. */
static void test_first_read_race(void **state)
{
	struct client *a = client(0);
	struct call m;

	(void)state;
	rwrite_n("todos", 3);
	csub(a, "todos", NULL, NULL);
	take_answer(K_OPEN, "todos");
	m = take(K_META, "todos");
	wpub("todos", "x4");                 /* published after the read ran */
	answer_meta_as(&m, 0, repoch("todos"), 3);
	expect_subscribed(a, repoch("todos"), 3, NULL);
	pump();
	expect_changes(a, 4, 4);
	expect_empty(a);
}

/* A since check that fails must not accept an unverified offset. */
static void test_since_check_fails(void **state)
{
	struct client *b = client(1);
	struct call chk;

	(void)state;
	setup_live(10);
	csub(b, "todos", off_str(e1, 13), NULL); /* a tail Redis lost */
	chk = take(K_META, "todos");
	answer_fail(&chk);
	pump();
	assert_int_equal(sim.ncalls, 0);     /* nothing delivered, nothing asked */
	drain(b);
	assert_int_equal(b->nchanges, 0);
	rwrite_n("todos", 3);                /* e1:11..13 again, other changes */
	wpub("todos", "x14");
	pump();
	drain(b);
	assert_int_equal(b->nchanges, 0);    /* still unverified: nothing */
	hub_tick(sim.h, 5000);               /* asks again: 14 >= 13, fine */
	take_answer(K_META, "todos");
	pump();
	drain(b);
	/* Redis now shows 14 >= 13: the offset is followed, the client
	 * replays 14 (its own 11..13 were another history: it cannot tell,
	 * which is why a failed check must never be skipped silently) */
	assert_int_equal(b->nresets, 0);
	assert_int_equal(b->pos, 14);
}

/* This hub missed a rotation done elsewhere and nothing was written since;
 * a client with the new epoch must not be reset to the old one forever. */
static void test_since_newer_epoch(void **state)
{
	struct client *b = client(1);
	char e2[OFFSET_EPOCH_MAX + 1];

	(void)state;
	setup_live(10);
	rlose_tail("todos", 2);
	new_epoch(rcoll("todos"));
	snprintf(e2, sizeof(e2), "%s", repoch("todos"));
	csub(b, "todos", off_str(e2, 8), NULL);
	pump();
	drain(b);
	assert_string_equal(b->epoch, e2);
	assert_int_equal(b->pos, 8);
	/* resubscribing with that offset (as the web client does) is quiet */
	hub_session_gone(sim.h, &b->s);
	drop_closes();
	b->nresets = 0;
	csub(b, "todos", off_str(e2, 8), NULL);
	pump();
	drain(b);
	assert_int_equal(b->nresets, 0);
	wpub("todos", "x9");
	assert_int_equal(drain(b), 1);
}

/* The same when only a since check shows Redis's newer epoch. */
static void test_check_newer_epoch(void **state)
{
	struct client *b = client(1);

	(void)state;
	setup_live(10);
	new_epoch(rcoll("todos"));
	rwrite_n("todos", 2);                /* e2:11, e2:12: not published */
	csub(b, "todos", off_str(e1, 11), NULL);
	pump();
	drain(b);
	assert_string_equal(b->last_reason, "epoch_changed");
	assert_string_equal(b->epoch, repoch("todos"));
	assert_int_equal(b->pos, 12);
	wpub("todos", "x13");
	assert_int_equal(drain(b), 1);
}

/* A replay that reaches the head while the collection repairs a gap. */
static void test_replay_during_repair(void **state)
{
	struct client *a, *b = client(1);
	struct call rep, lg;

	(void)state;
	a = setup_live(10);
	rwrite_n("todos", 3);                /* 11..13 lost by pub/sub */
	wpub("todos", "x14");
	rep = take(K_LOG, "todos");          /* the repair, held */
	csub(b, "todos", off_str(e1, 5), NULL);
	lg = take(K_LOG, "todos");
	answer(&lg);                         /* the log has 6..14: stop at 10 */
	expect_subscribed(b, e1, 10, NULL);
	expect_changes(b, 6, 10);
	expect_empty(b);
	assert_int_equal(sim.ncalls, 0);
	answer(&rep);
	expect_changes(b, 11, 14);
	assert_int_equal(drain(a), 4);
	wpub("todos", "x15");
	assert_int_equal(drain(a) + drain(b), 2);
}

/* Changes seen while the head is re-read count as seen: if Redis then
 * shows less, the tail was lost (new epoch), not trimmed. */
static void test_seen_while_syncing_then_lost(void **state)
{
	struct client *a;
	struct call m;

	(void)state;
	a = setup_live(10);
	hub_on_cmd_reconnected(sim.h);
	m = take(K_META, "todos");
	wpub("todos", "old11");
	wpub("todos", "old12");
	rlose_tail("todos", 2);              /* acknowledged, then lost */
	answer(&m);
	pump();
	drain(a);
	/* other changes now take e1:11 and e1:12 in Redis (or a new epoch) */
	wpub("todos", "new11");
	wpub("todos", "new12");
	pump();
	drain(a);
	assert_true(a->nresets >= 1);
	assert_string_equal(a->epoch, repoch("todos"));
	assert_int_equal(a->pos, rcoll("todos")->seq);
	assert_true(a->nseen > 0);
	assert_string_equal(a->seen[a->nseen - 1].tag, "new12");
}

/* Another gateway rotated after a lost tail (rotate.lua goes on in the same
 * stream) while this hub still has the old epoch: a replay read that returns
 * the new epoch's entries delivers only the old epoch's, then the hub learns
 * the new epoch and resets everyone; no new-epoch change is spliced into the
 * old history. */
static void test_replay_across_rotation(void **state)
{
	struct client *a, *b = client(1);
	struct call lg;

	(void)state;
	a = setup_live(10);
	csub(b, "todos", off_str(e1, 3), NULL);
	expect_subscribed(b, e1, 10, NULL);
	lg = take(K_LOG, "todos");
	assert_int_equal(lg.from, 4);
	rlose_tail("todos", 5);              /* Redis back at 5 ... */
	new_epoch(rcoll("todos"));           /* ... rotated elsewhere */
	for (int i = 0; i < 7; i++)
		rwrite("todos", "n");        /* 6..12 in the new epoch, unpublished */
	answer(&lg);
	expect_changes(b, 4, 5);
	expect_empty(b);                     /* nothing of the new epoch */
	take_answer(K_META, "todos");
	pump();
	expect_reset(a, "epoch_changed", repoch("todos"), 12);
	expect_reset(b, "epoch_changed", repoch("todos"), 12);
	pump();
	expect_empty(b);
	wpub("todos", "n13");
	assert_int_equal(drain(a) + drain(b), 2);
	assert_string_equal(b->epoch, repoch("todos"));
}

/* The same during a gap repair: a live message of the old epoch set the
 * target, and the log read answers with the new epoch's entries. */
static void test_repair_across_rotation(void **state)
{
	struct client *a;
	struct call lg;
	char *late;

	(void)state;
	a = setup_live(10);
	late = make_doc("todos", e1, 12, "old12"); /* 11 never came */
	hub_on_live(sim.h, "todos", late, strlen(late));
	free(late);
	lg = take(K_LOG, "todos");
	assert_int_equal(lg.from, 11);
	new_epoch(rcoll("todos"));           /* lost 11, 12; rotated at 10 */
	rwrite("todos", "n11");
	rwrite("todos", "n12");
	answer(&lg);
	expect_empty(a);
	take_answer(K_META, "todos");
	expect_reset(a, "epoch_changed", repoch("todos"), 12);
	expect_empty(a);
	wpub("todos", "n13");
	expect_changes(a, 13, 13);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_replay_seam),
		T(test_replay_long),
		T(test_since_head),
		T(test_since_ahead),
		T(test_since_ahead_passed),
		T(test_since_ahead_lost),
		T(test_since_ahead_refused),
		T(test_since_other_epoch),
		T(test_replay_trimmed),
		T(test_replay_pause),
		T(test_replay_batch_over_limit),
		T(test_live_epoch_change),
		T(test_reconnect_tail_lost),
		T(test_reconnect_no_loss),
		T(test_first_read_race),
		T(test_since_check_fails),
		T(test_since_newer_epoch),
		T(test_check_newer_epoch),
		T(test_replay_during_repair),
		T(test_seen_while_syncing_then_lost),
		T(test_replay_across_rotation),
		T(test_repair_across_rotation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

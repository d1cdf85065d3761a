/*
 * test_session.c - the transport-free half of a WebSocket connection
 * (STYLE.md "The hot path"): queue bytes accounting with msg_cost, the
 * byte limit closing with 4008 exactly once (ops->kill once, counted in
 * metrics), wake on empty -> non-empty only, FIFO order across ring growth,
 * and shared message references dropped on every path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common.h"
#include "metrics.h"
#include "session.h"

static int wakes, kills, kill_code;

static void on_wake(struct session *s)
{
	(void)s;
	wakes++;
}

static void on_kill(struct session *s)
{
	kills++;
	kill_code = s->close_code;
	/* the queue is already empty when the transport hears of it */
	assert_int_equal(s->qlen, 0);
	assert_int_equal(s->qbytes, 0);
}

static const struct session_ops ops = {on_wake, on_kill};

static int reset(void **state)
{
	(void)state;
	wakes = kills = kill_code = 0;
	return 0;
}

static struct msg *mk(const char *s)
{
	struct msg *m = msg_new(s, strlen(s));

	assert_non_null(m);
	return m;
}

static void test_init(void **state)
{
	struct session s;

	(void)state;
	session_init(&s, &ops, "a-very-long-session-identifier-xyz", 1000);
	assert_int_equal(strlen(s.id), sizeof(s.id) - 1);
	assert_memory_equal(s.id, "a-very-long-session-identifier-xyz",
			    sizeof(s.id) - 1);
	assert_int_equal(s.qlimit, 1000);
	assert_int_equal(s.qlen, 0);
	assert_int_equal(s.close_code, 0);
	assert_null(session_peek(&s));
	session_pop(&s); /* empty: no-op */
	assert_int_equal(s.qbytes, 0);
	session_release(&s);
	assert_int_equal(wakes + kills, 0);
}

static void test_accounting_and_wake(void **state)
{
	struct session s;
	struct msg *a = mk("first"), *b = mk("second message");

	(void)state;
	session_init(&s, &ops, "s1", 1 << 20);
	assert_int_equal(session_enqueue(&s, a), 0);
	assert_int_equal(wakes, 1);
	assert_int_equal(s.qbytes, msg_cost(a));
	assert_int_equal(session_enqueue(&s, b), 0);
	assert_int_equal(session_enqueue(&s, a), 0);
	assert_int_equal(wakes, 1); /* not empty before: no new wake */
	assert_int_equal(s.qbytes, 2 * msg_cost(a) + msg_cost(b));
	assert_int_equal(a->refs, 3);
	assert_int_equal(b->refs, 2);
	assert_ptr_equal(session_peek(&s), a);
	session_pop(&s);
	assert_ptr_equal(session_peek(&s), b);
	assert_int_equal(s.qbytes, msg_cost(a) + msg_cost(b));
	assert_int_equal(a->refs, 2);
	session_pop(&s);
	session_pop(&s);
	assert_int_equal(s.qlen, 0);
	assert_int_equal(s.qbytes, 0);
	assert_int_equal(a->refs, 1);
	assert_int_equal(b->refs, 1);
	/* empty -> non-empty wakes again */
	assert_int_equal(session_enqueue(&s, b), 0);
	assert_int_equal(wakes, 2);
	session_release(&s);
	assert_int_equal(b->refs, 1);
	assert_int_equal(kills, 0);
	msg_unref(a);
	msg_unref(b);
}

static void test_limit_closes_once(void **state)
{
	struct msg *m = mk("0123456789");
	size_t cost = msg_cost(m);
	uint64_t before = metrics.slow_consumer_closes;
	struct session s;

	(void)state;
	session_init(&s, &ops, "slow", 3 * cost);
	for (int i = 0; i < 3; i++)
		assert_int_equal(session_enqueue(&s, m), 0);
	assert_int_equal(s.qbytes, 3 * cost); /* exactly at the limit is fine */
	assert_int_equal(m->refs, 4);
	assert_int_equal(kills, 0);
	assert_int_equal(session_enqueue(&s, m), GW_ESLOW);
	assert_int_equal(kills, 1);
	assert_int_equal(kill_code, 4008);
	assert_int_equal(s.close_code, 4008);
	assert_string_equal(s.close_reason, "slow consumer");
	assert_int_equal(s.qlen, 0);
	assert_int_equal(s.qbytes, 0);
	assert_int_equal(m->refs, 1); /* the queue's references dropped */
	assert_int_equal(metrics.slow_consumer_closes, before + 1);
	/* closed: nothing more is queued, kill is not repeated */
	assert_int_equal(session_enqueue(&s, m), GW_ECLOSING);
	assert_int_equal(session_enqueue_take(&s, msg_ref(m)), GW_ECLOSING);
	session_close(&s, 1001, "shutdown");
	assert_int_equal(kills, 1);
	assert_int_equal(s.close_code, 4008);
	assert_int_equal(m->refs, 1);
	assert_int_equal(metrics.slow_consumer_closes, before + 1);
	assert_int_equal(wakes, 1);
	session_release(&s);
	msg_unref(m);
}

/* One message larger than the whole limit closes an empty session. */
static void test_single_oversized(void **state)
{
	struct msg *m = mk("x");
	struct session s;

	(void)state;
	session_init(&s, &ops, "tiny", msg_cost(m) - 1);
	assert_int_equal(session_enqueue(&s, m), GW_ESLOW);
	assert_int_equal(kills, 1);
	assert_int_equal(s.close_code, 4008);
	assert_int_equal(wakes, 0);
	assert_int_equal(m->refs, 1);
	session_release(&s);
	msg_unref(m);
}

static void test_close(void **state)
{
	struct msg *m = mk("payload");
	struct session s;

	(void)state;
	session_init(&s, &ops, "c", 1 << 20);
	assert_int_equal(session_enqueue(&s, m), 0);
	assert_int_equal(session_enqueue(&s, m), 0);
	session_close(&s, 1001, "gateway shutting down");
	assert_int_equal(kills, 1);
	assert_int_equal(kill_code, 1001);
	assert_string_equal(s.close_reason, "gateway shutting down");
	assert_int_equal(m->refs, 1);
	session_close(&s, 1000, "again");
	assert_int_equal(kills, 1);
	assert_string_equal(s.close_reason, "gateway shutting down");
	assert_int_equal(session_enqueue(&s, m), GW_ECLOSING);
	assert_int_equal(wakes, 1);
	session_release(&s);
	msg_unref(m);
	/* no ops at all: closing still works */
	session_init(&s, NULL, "bare", 100);
	session_close(&s, 4008, "slow consumer");
	assert_int_equal(s.close_code, 4008);
	session_release(&s);
}

static void test_enqueue_take(void **state)
{
	struct session s;
	struct msg *m = mk("owned by the queue");

	(void)state;
	session_init(&s, &ops, "t", 1 << 20);
	assert_int_equal(session_enqueue_take(&s, NULL), GW_ENOMEM);
	assert_int_equal(session_enqueue_take(&s, m), 0);
	assert_int_equal(m->refs, 1);
	assert_ptr_equal(session_peek(&s), m);
	session_pop(&s); /* frees it: ASan would see a leak otherwise */
	assert_int_equal(s.qlen, 0);
	/* take on a failing enqueue drops the reference too */
	s.qlimit = 1;
	m = mk("x");
	msg_ref(m);
	assert_int_equal(session_enqueue_take(&s, m), GW_ESLOW);
	assert_int_equal(m->refs, 1);
	msg_unref(m);
	session_release(&s);
}

/* FIFO across ring wrap-around and growth; shared refs freed at release. */
static void test_ring_order(void **state)
{
	struct msg *ms[100];
	struct session a, b;
	size_t next = 0, popped = 0, total = 0;

	(void)state;
	for (int i = 0; i < 100; i++) {
		char buf[16];

		snprintf(buf, sizeof(buf), "m%03d", i);
		ms[i] = mk(buf);
	}
	session_init(&a, &ops, "a", 1 << 20);
	session_init(&b, &ops, "b", 1 << 20);
	/* push 3, pop 2, repeatedly: the ring wraps and grows */
	while (next < 100) {
		for (int k = 0; k < 3 && next < 100; k++, next++) {
			assert_int_equal(session_enqueue(&a, ms[next]), 0);
			assert_int_equal(session_enqueue(&b, ms[next]), 0);
			total += msg_cost(ms[next]);
		}
		for (int k = 0; k < 2; k++, popped++) {
			char want[16];

			snprintf(want, sizeof(want), "m%03zu", popped);
			assert_string_equal((char *)msg_payload(session_peek(&a)),
					    want);
			total -= msg_cost(session_peek(&a));
			session_pop(&a);
		}
		assert_int_equal(a.qbytes, total);
		assert_int_equal(a.qlen, next - popped);
		/* peek_at walks the wrapped ring in queue order */
		for (size_t i = 0; i < a.qlen; i++) {
			char want[16];

			snprintf(want, sizeof(want), "m%03zu", popped + i);
			assert_string_equal((char *)msg_payload(session_peek_at(&a, i)),
					    want);
		}
		assert_null(session_peek_at(&a, a.qlen));
	}
	for (int i = 0; i < 100; i++)
		assert_int_equal(ms[i]->refs, (size_t)i < popped ? 2 : 3);
	while (session_peek(&a)) {
		char want[16];

		snprintf(want, sizeof(want), "m%03zu", popped++);
		assert_string_equal((char *)msg_payload(session_peek(&a)), want);
		session_pop(&a);
	}
	assert_int_equal(a.qbytes, 0);
	session_release(&a);
	session_release(&b);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(ms[i]->refs, 1);
		msg_unref(ms[i]);
	}
	assert_int_equal(kills, 0);
}

static void test_msg(void **state)
{
	struct msg *m = msg_new2("ab", 2, "cde", 3);

	(void)state;
	assert_non_null(m);
	assert_int_equal(m->refs, 1);
	assert_int_equal(m->len, 5);
	assert_string_equal((char *)msg_payload(m), "abcde");
	assert_ptr_equal(msg_payload(m), m->buf + MSG_PRE);
	assert_int_equal(msg_cost(m), 5 + 64);
	msg_unref(m);
	msg_unref(NULL);
	m = msg_new(NULL, 0);
	assert_non_null(m);
	assert_int_equal(m->len, 0);
	assert_string_equal((char *)msg_payload(m), "");
	msg_unref(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_init, reset),
		cmocka_unit_test_setup(test_accounting_and_wake, reset),
		cmocka_unit_test_setup(test_limit_closes_once, reset),
		cmocka_unit_test_setup(test_single_oversized, reset),
		cmocka_unit_test_setup(test_close, reset),
		cmocka_unit_test_setup(test_enqueue_take, reset),
		cmocka_unit_test_setup(test_ring_order, reset),
		cmocka_unit_test_setup(test_msg, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_ratelimit.c - token buckets: the burst at once, then the rate,
 * Retry-After rounding up, no limit at rate 0; the table per caller keeps
 * callers apart and drops refilled buckets when full, letting unknown
 * callers through rather than growing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "ratelimit.h"

static void test_bucket(void **state)
{
	struct rl_bucket b = {0, 0};
	int ra = 0;

	(void)state;
	/* a burst of 10 at once, then nothing */
	for (int i = 0; i < 10; i++)
		assert_true(rl_take(&b, 5, 10, 1000, &ra));
	assert_false(rl_take(&b, 5, 10, 1000, &ra));
	assert_int_equal(ra, 1);
	/* 5 a second: 200 ms gives one */
	assert_true(rl_take(&b, 5, 10, 1200, &ra));
	assert_false(rl_take(&b, 5, 10, 1200, &ra));
	/* slow rates: Retry-After rounds up to whole seconds */
	b.tokens = 0;
	b.last_ms = 5000;
	assert_false(rl_take(&b, 0.25, 1, 5000, &ra));
	assert_int_equal(ra, 4);
	/* it never holds more than the burst */
	assert_true(rl_take(&b, 5, 10, 1000000, &ra));
	assert_true(b.tokens <= 9.0 + 1e-9);
	/* rate 0: no limit */
	for (int i = 0; i < 1000; i++)
		assert_true(rl_take(&b, 0, 1, 1000000, &ra));
}

static void test_table(void **state)
{
	struct rl_table *t = rl_table_new(4);
	char key[16];
	int ra;

	(void)state;
	assert_non_null(t);
	for (int i = 0; i < 3; i++)
		assert_true(rl_table_take(t, "alice", 1, 3, 1000, &ra));
	assert_false(rl_table_take(t, "alice", 1, 3, 1000, &ra));
	/* others are not affected */
	assert_true(rl_table_take(t, "bob", 1, 3, 1000, &ra));
	/* full of busy callers: a new one is let through, not stored */
	assert_true(rl_table_take(t, "c", 1, 3, 1000, &ra));
	assert_true(rl_table_take(t, "d", 1, 3, 1000, &ra));
	assert_int_equal(rl_table_count(t), 4);
	assert_true(rl_table_take(t, "e", 1, 3, 1000, &ra));
	assert_int_equal(rl_table_count(t), 4);
	assert_false(rl_table_take(t, "alice", 1, 3, 1000, &ra));
	/* later, the refilled buckets make room */
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_true(rl_table_take(t, key, 1, 3, 100000, &ra));
	}
	assert_true(rl_table_count(t) <= 4);
	rl_table_free(t);
	/* looking does not take */
	t = rl_table_new(4);
	assert_non_null(t);
	assert_true(rl_table_has(t, "nobody", 1, 2, 1000, &ra));
	assert_true(rl_table_take(t, "a", 1, 2, 1000, &ra));
	assert_true(rl_table_has(t, "a", 1, 2, 1000, &ra));
	assert_true(rl_table_has(t, "a", 1, 2, 1000, &ra));
	assert_true(rl_table_take(t, "a", 1, 2, 1000, &ra));
	assert_false(rl_table_has(t, "a", 1, 2, 1000, &ra));
	assert_int_equal(ra, 1);
	assert_true(rl_table_has(t, "a", 1, 2, 2000, &ra));
	rl_table_free(t);
	rl_table_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_seen.c - the memory of each collection's epoch and highest seq
 * (seen.c): learning, raising, the verdict that proves a lost tail (and
 * keeps its proof), writes never being evidence, and the cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "offset.h"
#include "seen.h"

static void test_observe(void **state)
{
	struct seen *s = seen_new(0);
	char ep[OFFSET_EPOCH_MAX + 1];
	uint64_t top = 99;

	(void)state;
	assert_non_null(s);
	assert_false(seen_get(s, "w", ep, &top));
	assert_string_equal(ep, "");
	assert_int_equal(top, 0);
	assert_int_equal(seen_observe(s, "w", "eA", 5, &top), SEEN_LEARNED);
	assert_int_equal(top, 5);
	assert_true(seen_get(s, "w", ep, &top));
	assert_string_equal(ep, "eA");
	assert_int_equal(top, 5);
	assert_int_equal(seen_observe(s, "w", "eA", 9, &top), SEEN_AGREES);
	assert_int_equal(top, 9);
	assert_int_equal(seen_observe(s, "w", "eA", 9, NULL), SEEN_AGREES);
	/* less than seen: the proof stays, however often Redis says so */
	assert_int_equal(seen_observe(s, "w", "eA", 7, &top), SEEN_BEHIND);
	assert_int_equal(top, 9);
	assert_int_equal(seen_observe(s, "w", "eA", 7, &top), SEEN_BEHIND);
	assert_true(seen_get(s, "w", ep, &top));
	assert_string_equal(ep, "eA");
	assert_int_equal(top, 9);
	/* the rotation's answer: another epoch is learned afresh, lower seq */
	assert_int_equal(seen_observe(s, "w", "eB", 7, &top), SEEN_LEARNED);
	assert_int_equal(top, 7);
	assert_int_equal(seen_observe(s, "w", "eB", 7, &top), SEEN_AGREES);
	/* collections are separate */
	assert_false(seen_get(s, "other", ep, &top));
	assert_int_equal(seen_count(s), 1);
	seen_free(s);
}

static void test_raise(void **state)
{
	struct seen *s = seen_new(0);
	char ep[OFFSET_EPOCH_MAX + 1];
	uint64_t top;

	(void)state;
	seen_raise(s, "c", "eA", 4);
	assert_true(seen_get(s, "c", ep, &top));
	assert_string_equal(ep, "eA");
	assert_int_equal(top, 4);
	/* a write answered below what pub/sub brought: no loss, no change */
	seen_raise(s, "c", "eA", 10);
	seen_raise(s, "c", "eA", 8);
	assert_true(seen_get(s, "c", ep, &top));
	assert_int_equal(top, 10);
	/* then Redis shows 8 as the head: that is the loss */
	assert_int_equal(seen_observe(s, "c", "eA", 8, &top), SEEN_BEHIND);
	assert_int_equal(top, 10);
	/* a write stored in a new epoch is learned */
	seen_raise(s, "c", "eB", 3);
	assert_true(seen_get(s, "c", ep, &top));
	assert_string_equal(ep, "eB");
	assert_int_equal(top, 3);
	seen_free(s);
}

static void test_cap(void **state)
{
	struct seen *s = seen_new(100);
	char name[16], ep[OFFSET_EPOCH_MAX + 1];
	uint64_t top;
	int known = 0;

	(void)state;
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		seen_raise(s, name, "eA", (uint64_t)i + 1);
	}
	assert_int_equal(seen_count(s), 100);
	seen_raise(s, "last", "eA", 7); /* past the cap: half is forgotten */
	assert_int_equal(seen_count(s), 51);
	assert_true(seen_get(s, "last", ep, &top));
	assert_int_equal(top, 7);
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		if (seen_get(s, name, ep, &top)) {
			known++;
			assert_int_equal(top, (uint64_t)i + 1); /* kept marks intact */
		}
	}
	assert_int_equal(known, 50);
	/* a forgotten collection is simply unknown again */
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		if (!seen_get(s, name, ep, &top)) {
			assert_int_equal(seen_observe(s, name, "eA", 1, &top), SEEN_LEARNED);
			break;
		}
	}
	seen_free(s);
	seen_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_observe),
		cmocka_unit_test(test_raise),
		cmocka_unit_test(test_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

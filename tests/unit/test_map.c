/*
 * test_map.c - the string-keyed hash map: put/get/replace/delete, keys
 * copied and values borrowed, growth, iteration visiting each entry once,
 * release and reuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common.h"
#include "map.h"

#define N 5000

static int vals[N];

static void test_basic(void **state)
{
	struct map m;
	int a = 1, b = 2;
	char key[8] = "alpha";

	(void)state;
	map_init(&m);
	assert_null(map_get(&m, "x"));
	assert_null(map_del(&m, "x"));
	assert_int_equal(m.count, 0);
	assert_int_equal(map_put(&m, key, &a), 0);
	strcpy(key, "beta");            /* the map copied the key */
	assert_ptr_equal(map_get(&m, "alpha"), &a);
	assert_null(map_get(&m, "beta"));
	assert_null(map_get(&m, "alph"));
	assert_null(map_get(&m, "alphaa"));
	assert_int_equal(map_put(&m, "alpha", &b), 0); /* replace */
	assert_int_equal(m.count, 1);
	assert_ptr_equal(map_get(&m, "alpha"), &b);
	assert_int_equal(map_put(&m, "", &a), 0);     /* empty key */
	assert_ptr_equal(map_get(&m, ""), &a);
	assert_int_equal(m.count, 2);
	assert_ptr_equal(map_del(&m, "alpha"), &b);
	assert_null(map_get(&m, "alpha"));
	assert_null(map_del(&m, "alpha"));
	assert_int_equal(m.count, 1);
	map_release(&m);
	assert_int_equal(m.count, 0);
	assert_null(map_get(&m, ""));
	/* usable again after release */
	assert_int_equal(map_put(&m, "again", &a), 0);
	assert_ptr_equal(map_get(&m, "again"), &a);
	map_release(&m);
	map_release(&m); /* twice is harmless */
}

static void test_many(void **state)
{
	struct map m;
	char key[32];

	(void)state;
	map_init(&m);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "coll.%d", i);
		vals[i] = i;
		assert_int_equal(map_put(&m, key, &vals[i]), 0);
		assert_int_equal(m.count, (size_t)i + 1);
	}
	assert_true(m.nb >= m.count / 2);
	assert_int_equal(m.nb & (m.nb - 1), 0); /* power of two */
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "coll.%d", i);
		assert_ptr_equal(map_get(&m, key), &vals[i]);
	}
	/* delete the even ones */
	for (int i = 0; i < N; i += 2) {
		snprintf(key, sizeof(key), "coll.%d", i);
		assert_ptr_equal(map_del(&m, key), &vals[i]);
	}
	assert_int_equal(m.count, N / 2);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "coll.%d", i);
		if (i % 2)
			assert_ptr_equal(map_get(&m, key), &vals[i]);
		else
			assert_null(map_get(&m, key));
	}
	map_release(&m);
}

static void test_iteration(void **state)
{
	static bool seen[N];
	struct map m;
	struct map_entry *it;
	size_t pos, visits = 0;
	char key[32];

	(void)state;
	map_init(&m);
	assert_null(map_first(&m, &pos));
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		vals[i] = i;
		assert_int_equal(map_put(&m, key, &vals[i]), 0);
	}
	memset(seen, 0, sizeof(seen));
	for (it = map_first(&m, &pos); it; it = map_next(&m, it, &pos)) {
		int i = *(int *)it->val;

		snprintf(key, sizeof(key), "k%d", i);
		assert_string_equal(it->key, key);
		assert_false(seen[i]);
		seen[i] = true;
		visits++;
	}
	assert_int_equal(visits, N);
	/* one entry left */
	for (int i = 1; i < N; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_non_null(map_del(&m, key));
	}
	it = map_first(&m, &pos);
	assert_non_null(it);
	assert_string_equal(it->key, "k0");
	assert_null(map_next(&m, it, &pos));
	map_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_iteration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

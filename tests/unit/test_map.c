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
	assert_string_equal(map_find(&m, "alpha")->key, "alpha");
	map_find(&m, "alpha")->val = &a;              /* changed in place */
	assert_ptr_equal(map_get(&m, "alpha"), &a);
	map_find(&m, "alpha")->val = &b;
	assert_null(map_find(&m, "alph"));
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

/* The order of 64 keys in a map made with a seed (a comma list). */
static void order_with(uint64_t seed, char *out, size_t cap)
{
	struct map m;
	struct map_entry *it;
	size_t pos, n = 0;
	char key[32];

	map_seed(seed);
	map_init(&m);
	for (int i = 0; i < 64; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(map_put(&m, key, &vals[0]), 0);
	}
	out[0] = '\0';
	for (it = map_first(&m, &pos); it; it = map_next(&m, it, &pos))
		n += (size_t)snprintf(out + n, cap - n, "%s,", it->key);
	map_release(&m);
}

/* Buckets depend on the seed (names come from clients: no one may know
 * which share a bucket), and only on it. */
static void test_seed(void **state)
{
	static char a[1024], b[1024], c[1024];

	(void)state;
	order_with(0x1234567890abcdefULL, a, sizeof(a));
	order_with(0x0fedcba987654321ULL, b, sizeof(b));
	order_with(0x1234567890abcdefULL, c, sizeof(c));
	assert_string_not_equal(a, b);
	assert_string_equal(a, c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_iteration),
		cmocka_unit_test(test_seed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

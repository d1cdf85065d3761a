/*
 * test_keys.c - Redis key and channel names (DESIGN.md section 11): the
 * "{<collection>}" hash tag, the configurable prefix, and live channel
 * names back to collections.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common.h"
#include "keys.h"

#define A16 "aaaaaaaaaaaaaaaa"
#define C128 "C" A16 A16 A16 A16 A16 A16 A16 "aaaaaaaaaaaaaaa"
#define P32 A16 "bbbbbbbbbbbbbbb:"

static int reset_prefix(void **state)
{
	(void)state;
	return keys_set_prefix("sg:");
}

static void test_format(void **state)
{
	static const struct {
		enum keys_kind kind;
		const char *want;
	} rows[] = {
		{KEYS_DOCS, "sg:{todos}:docs"},
		{KEYS_LOG, "sg:{todos}:log"},
		{KEYS_META, "sg:{todos}:meta"},
		{KEYS_IDS, "sg:{todos}:ids"},
		{KEYS_LIVE, "sg:{todos}:live"},
		{KEYS_CONFLICTS, "sg:{todos}:conflicts"},
	};
	char buf[KEYS_MAX];
	char scope[65];

	(void)state;
	assert_string_equal(keys_prefix(), "sg:");
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		size_t n = keys_format(rows[i].kind, "todos", buf);

		assert_string_equal(buf, rows[i].want);
		assert_int_equal(n, strlen(rows[i].want));
	}
	memset(scope, 'f', 64);
	scope[64] = '\0';
	assert_int_equal(keys_format_idem("todos", "ab12", buf), 20);
	assert_string_equal(buf, "sg:{todos}:idem:ab12");
	/* the longest name fits: a 32-byte prefix, a 128-byte collection */
	assert_int_equal(keys_set_prefix(P32), 0);
	assert_int_equal(keys_format_idem(C128, scope, buf), 32 + 1 + 128 + 6 + 1 + 64);
	assert_true(strlen(buf) < KEYS_MAX);
	assert_int_equal(keys_set_prefix("sg:"), 0);
}

/* Redis Cluster hashes the text between the first '{' and the next '}'. */
static void test_hash_tag(void **state)
{
	static const char *const colls[] = {"todos", "a", "notes.v2", "x-y_z",
					    C128};
	static const char *const prefixes[] = {"sg:", "app:1:", P32};

	(void)state;
	for (size_t p = 0; p < GW_ARRAY_LEN(prefixes); p++) {
		assert_int_equal(keys_set_prefix(prefixes[p]), 0);
		for (size_t i = 0; i < GW_ARRAY_LEN(colls); i++)
			for (int k = KEYS_DOCS; k <= KEYS_CONFLICTS; k++) {
				char buf[KEYS_MAX];
				size_t n = keys_format((enum keys_kind)k, colls[i],
						       buf);
				const char *open = strchr(buf, '{');
				const char *close = open ? strchr(open, '}') : NULL;

				assert_true(n < KEYS_MAX);
				assert_int_equal(strlen(buf), n);
				assert_int_equal(strncmp(buf, prefixes[p],
							 strlen(prefixes[p])), 0);
				assert_non_null(close);
				assert_int_equal(close - open - 1,
						 (long)strlen(colls[i]));
				assert_memory_equal(open + 1, colls[i],
						    strlen(colls[i]));
			}
	}
}

static void test_prefix(void **state)
{
	static const char *const bad[] = {"a{b", "a}", "{", "a b", "a\tb", "x\n",
					  "x\r", P32 "x"};
	char buf[KEYS_MAX];

	(void)state;
	assert_int_equal(keys_set_prefix("app1:"), 0);
	assert_string_equal(keys_prefix(), "app1:");
	keys_format(KEYS_LIVE, "todos", buf);
	assert_string_equal(buf, "app1:{todos}:live");
	assert_int_equal(keys_set_prefix(P32), 0);
	for (size_t i = 0; i < GW_ARRAY_LEN(bad); i++) {
		if (keys_set_prefix(bad[i]) != GW_EBADREQ)
			fail_msg("prefix row %zu accepted", i);
		assert_string_equal(keys_prefix(), P32); /* unchanged */
	}
}

static void test_channel_round_trip(void **state)
{
	static const char *const colls[] = {"todos", "a", "Z9", "notes.v2",
					    "a-b_c.d", C128};
	static const char *const prefixes[] = {"sg:", "other:", P32};

	(void)state;
	for (size_t p = 0; p < GW_ARRAY_LEN(prefixes); p++) {
		assert_int_equal(keys_set_prefix(prefixes[p]), 0);
		for (size_t i = 0; i < GW_ARRAY_LEN(colls); i++) {
			char chan[KEYS_MAX];
			char coll[NAMES_COLLECTION_MAX + 1];
			size_t n = keys_format(KEYS_LIVE, colls[i], chan);

			memset(coll, 'x', sizeof(coll));
			assert_int_equal(keys_channel_collection(chan, n, coll), 0);
			assert_string_equal(coll, colls[i]);
		}
	}
}

static void test_channel_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"sg:",
		"sg:{}:live",
		"sg:{todos}:docs",
		"sg:{todos}:log",
		"sg:{todos}:meta",
		"sg:{todos}:ids",
		"sg:{todos}:live ",
		"sg:{todos}:livex",
		"sg:{todos}live",
		"sg:todos:live",
		"sg:todos}:live",
		"xx:{todos}:live",
		"sgx{todos}:live",
		"{todos}:live",
		"sg:{_x}:live",
		"sg:{a b}:live",
		"sg:{a}b}:live",
		"sg:{a{b}:live",
		"sg:{a:b}:live",
		"sg:{" C128 "x}:live",
		"SG:{todos}:live",
	};
	char coll[NAMES_COLLECTION_MAX + 1];

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(bad); i++)
		if (keys_channel_collection(bad[i], strlen(bad[i]), coll) != -1)
			fail_msg("channel row %zu accepted: %s", i, bad[i]);
	/* len, not the NUL, ends the name */
	assert_int_equal(keys_channel_collection("sg:{todos}:live", 14, coll), -1);
	assert_int_equal(keys_channel_collection("sg:{to\0s}:live", 14, coll), -1);
	/* another prefix's channels are not ours */
	assert_int_equal(keys_set_prefix("app:"), 0);
	assert_int_equal(keys_channel_collection("sg:{todos}:live", 15, coll), -1);
	assert_int_equal(keys_channel_collection("app:{todos}:live", 16, coll), 0);
	assert_string_equal(coll, "todos");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_format, reset_prefix),
		cmocka_unit_test_teardown(test_hash_tag, reset_prefix),
		cmocka_unit_test_teardown(test_prefix, reset_prefix),
		cmocka_unit_test_teardown(test_channel_round_trip, reset_prefix),
		cmocka_unit_test_teardown(test_channel_rejects, reset_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_names.c - the name alphabets and lengths of DESIGN.md section 3:
 * collections, document ids and actors. Lengths come from len, never from
 * a NUL, so embedded NULs and non-ASCII bytes are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common.h"
#include "names.h"

#define A16 "aaaaaaaaaaaaaaaa"
#define A127 A16 A16 A16 A16 A16 A16 A16 "aaaaaaaaaaaaaaa"
#define A128 A127 "a"
#define A256 A128 A128

enum { C = 1, I = 2, A = 4 }; /* valid as collection, id, actor */

static const struct {
	const char *s;
	int valid;
} rows[] = {
	{"todos", C | I | A},
	{"a", C | I | A},
	{"Z", C | I | A},
	{"0", C | I | A},
	{"a1", C | I | A},
	{"notes.v2", C | I | A},
	{"a-b_c.d", C | I | A},
	{"A" A127, C | I | A},        /* 128 */
	{A128 "a", I},                /* 129 */
	{A256, I},                    /* 256 */
	{A256 "a", 0},                /* 257 */
	{"_x", I | A},                /* collections start alphanumeric */
	{".x", I | A},
	{"-x", I | A},
	{"alice:phone", I | A},
	{"u@x.io", I | A},
	{"a~b", I},
	{"~", I},
	{":", I | A},
	{"@", I | A},
	{"a:b", I | A},
	{"a b", 0},
	{" a", 0},
	{"a\t", 0},
	{"a/b", 0},
	{"a\\b", 0},
	{"a*", 0},
	{"*", 0},
	{"a$", 0},
	{"${sub}", 0},
	{"a{b}", 0},
	{"a\"b", 0},
	{"a'b", 0},
	{"a+b", 0},
	{"a%20", 0},
	{"a?b", 0},
	{"a#b", 0},
	{"a,b", 0},
	{"caf\xc3\xa9", 0},
	{"\xff", 0},
	{"a\x7f", 0},
	{"", 0},
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		const char *s = rows[i].s;
		size_t n = strlen(s);

		if (names_collection_valid(s, n) != !!(rows[i].valid & C))
			fail_msg("collection row %zu \"%s\"", i, s);
		if (names_id_valid(s, n) != !!(rows[i].valid & I))
			fail_msg("id row %zu \"%s\"", i, s);
		if (names_actor_valid(s, n) != !!(rows[i].valid & A))
			fail_msg("actor row %zu \"%s\"", i, s);
	}
}

static void test_every_byte(void **state)
{
	(void)state;
	for (int c = 0; c < 256; c++) {
		char s[3] = {'x', (char)c, '\0'};
		char first[2] = {(char)c, '\0'};
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');

		assert_int_equal(names_collection_valid(s, 2),
				 alnum || (c && strchr("_.-", c)));
		assert_int_equal(names_collection_valid(first, 1), alnum);
		assert_int_equal(names_id_valid(s, 2),
				 alnum || (c && strchr("_.:@~-", c)));
		assert_int_equal(names_actor_valid(s, 2),
				 alnum || (c && strchr("_.:@-", c)));
	}
}

static void test_lengths_and_nul(void **state)
{
	(void)state;
	/* len, not the terminator, decides */
	assert_true(names_collection_valid("ab c", 2));
	assert_false(names_collection_valid("ab c", 4));
	assert_false(names_collection_valid("ab\0c", 4));
	assert_false(names_id_valid("ab\0c", 4));
	assert_false(names_actor_valid("ab\0c", 4));
	assert_false(names_actor_valid("a\0", 2));
	assert_false(names_collection_valid("todos", 0));
	assert_false(names_id_valid("todos", 0));
	assert_false(names_actor_valid("todos", 0));
	assert_false(names_collection_valid(NULL, 0));
	assert_false(names_id_valid(NULL, 3));
	assert_false(names_actor_valid(NULL, 1));
	/* the header's maxima are the boundaries */
	assert_true(names_collection_valid(A256, NAMES_COLLECTION_MAX));
	assert_false(names_collection_valid(A256, NAMES_COLLECTION_MAX + 1));
	assert_true(names_id_valid(A256 A256, NAMES_ID_MAX));
	assert_false(names_id_valid(A256 A256, NAMES_ID_MAX + 1));
	assert_true(names_actor_valid(A256, NAMES_ACTOR_MAX));
	assert_false(names_actor_valid(A256, NAMES_ACTOR_MAX + 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_lengths_and_nul),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

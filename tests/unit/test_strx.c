/*
 * test_strx.c - the printf-free helpers (strx.h) against snprintf, which
 * they replace: copies cut at the buffer's size, decimal numbers at their
 * extremes, names built piece by piece; and sbuf's numbers and its
 * one-pass sbuf_addf on both sides of the room it has.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sbuf.h"
#include "strx.h"

static void test_copy(void **state)
{
	char small[4], big[32], ref[32];
	const char *srcs[] = {"", "a", "abc", "abcd", "abcdefgh"};

	(void)state;
	for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
		size_t n = strx_copy(small, sizeof(small), srcs[i]);

		snprintf(ref, sizeof(small), "%s", srcs[i]);
		assert_string_equal(small, ref);
		assert_int_equal(n, strlen(ref));
		n = strx_copy(big, sizeof(big), srcs[i]);
		assert_string_equal(big, srcs[i]);
		assert_int_equal(n, strlen(srcs[i]));
	}
	assert_int_equal(strx_copy(small, 1, "xyz"), 0);
	assert_string_equal(small, "");
}

static void test_numbers(void **state)
{
	const uint64_t us[] = {0, 1, 9, 10, 99, 100, 12345, UINT32_MAX,
			       (uint64_t)1 << 53, UINT64_MAX - 1, UINT64_MAX};
	const int64_t is[] = {0, -1, 1, -9, -10, 42, INT64_MAX, INT64_MIN,
			      INT64_MIN + 1, -((int64_t)1 << 53)};
	char buf[STRX_INT_MAX], ref[32];

	(void)state;
	for (size_t i = 0; i < sizeof(us) / sizeof(us[0]); i++) {
		size_t n = strx_u64(buf, us[i]);

		snprintf(ref, sizeof(ref), "%" PRIu64, us[i]);
		assert_string_equal(buf, ref);
		assert_int_equal(n, strlen(ref));
	}
	for (size_t i = 0; i < sizeof(is) / sizeof(is[0]); i++) {
		size_t n = strx_i64(buf, is[i]);

		snprintf(ref, sizeof(ref), "%" PRId64, is[i]);
		assert_string_equal(buf, ref);
		assert_int_equal(n, strlen(ref));
	}
}

static void test_cat(void **state)
{
	char buf[8];
	size_t at = 0;

	(void)state;
	strx_cat(buf, sizeof(buf), &at, "ab", 2);
	strx_cat(buf, sizeof(buf), &at, "{", 1);
	assert_string_equal(buf, "ab{");
	assert_int_equal(at, 3);
	strx_cat(buf, sizeof(buf), &at, "cdefgh", 6); /* cut: 7 bytes and NUL */
	assert_string_equal(buf, "ab{cdef");
	assert_int_equal(at, 7);
	strx_cat(buf, sizeof(buf), &at, "z", 1); /* full: nothing more */
	assert_string_equal(buf, "ab{cdef");
	assert_int_equal(at, 7);
}

static void test_sbuf_numbers_and_addf(void **state)
{
	struct sbuf sb = SBUF_INIT;
	char ref[512], longs[200];

	(void)state;
	sbuf_add_i64(&sb, INT64_MIN);
	sbuf_addc(&sb, ' ');
	sbuf_add_i64(&sb, INT64_MAX);
	assert_string_equal(sb.buf, "-9223372036854775808 9223372036854775807");
	sbuf_release(&sb);

	/* texts shorter and longer than the room the buffer has, at every
	 * fill level around a power of two */
	memset(longs, 'x', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	for (size_t pre = 0; pre < 140; pre++) {
		for (size_t len = 0; len < sizeof(longs); len += 37) {
			size_t at = 0;

			for (size_t i = 0; i < pre; i++)
				sbuf_addc(&sb, 'p');
			sbuf_addf(&sb, "<%.*s|%d>", (int)len, longs, (int)len);
			memset(ref, 'p', pre);
			at = pre;
			at += (size_t)snprintf(ref + at, sizeof(ref) - at, "<%.*s|%d>",
					       (int)len, longs, (int)len);
			assert_false(sbuf_failed(&sb));
			assert_int_equal(sb.len, at);
			assert_memory_equal(sb.buf, ref, at);
			assert_int_equal(sb.buf[sb.len], '\0');
			assert_true(sb.len < sb.cap);
			sbuf_release(&sb);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_cat),
		cmocka_unit_test(test_sbuf_numbers_and_addf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_sbuf.c - the growable buffer: its invariants (NUL-terminated at len,
 * len < cap), appends of every kind, JSON string escaping, truncate,
 * detach, and the sticky out-of-memory flag.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "sbuf.h"

static void check_invariants(const struct sbuf *sb)
{
	if (sb->buf) {
		assert_true(sb->len < sb->cap);
		assert_int_equal(sb->buf[sb->len], '\0');
	} else {
		assert_int_equal(sb->len, 0);
	}
}

static void test_appends(void **state)
{
	struct sbuf sb = SBUF_INIT;

	(void)state;
	check_invariants(&sb);
	assert_false(sbuf_failed(&sb));
	sbuf_adds(&sb, "abc");
	sbuf_addc(&sb, '-');
	sbuf_add(&sb, "xyz", 2);
	sbuf_addf(&sb, "[%d:%s:%05.1f]", 42, "s", 2.5);
	sbuf_add(&sb, NULL, 0);
	sbuf_adds(&sb, "");
	check_invariants(&sb);
	assert_string_equal(sb.buf, "abc-xy[42:s:002.5]");
	assert_int_equal(sb.len, strlen("abc-xy[42:s:002.5]"));
	/* embedded NUL bytes are data */
	sbuf_add(&sb, "\0q", 2);
	assert_int_equal(sb.len, 20);
	assert_int_equal(sb.buf[18], '\0');
	assert_int_equal(sb.buf[19], 'q');
	check_invariants(&sb);
	sbuf_release(&sb);
	assert_null(sb.buf);
	assert_int_equal(sb.len, 0);
	assert_int_equal(sb.cap, 0);
}

static void test_growth(void **state)
{
	struct sbuf sb = SBUF_INIT;
	char big[3000];

	(void)state;
	for (int i = 0; i < 10000; i++) {
		sbuf_addc(&sb, (char)('a' + i % 26));
		check_invariants(&sb);
	}
	assert_int_equal(sb.len, 10000);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(sb.buf[i], 'a' + i % 26);
	sbuf_release(&sb);
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sbuf_addf(&sb, "<%s>", big); /* one formatted append past the start */
	check_invariants(&sb);
	assert_int_equal(sb.len, sizeof(big) + 1);
	assert_int_equal(sb.buf[0], '<');
	assert_int_equal(sb.buf[sb.len - 1], '>');
	assert_true(sbuf_reserve(&sb, 100000));
	assert_true(sb.cap >= sb.len + 100001);
	check_invariants(&sb);
	sbuf_release(&sb);
}

static void test_json_str(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} rows[] = {
		{"", 0, "\"\""},
		{"plain", 5, "\"plain\""},
		{"a\"b", 3, "\"a\\\"b\""},
		{"a\\b", 3, "\"a\\\\b\""},
		{"/", 1, "\"/\""},
		{"\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\""},
		{"\x01\x1f", 2, "\"\\u0001\\u001f\""},
		{"a\0b", 3, "\"a\\u0000b\""},
		{"\x7f", 1, "\"\x7f\""},
		{" ", 1, "\" \""},
		{"caf\xc3\xa9", 5, "\"caf\xc3\xa9\""},
		{"\"\"\\\\", 4, "\"\\\"\\\"\\\\\\\\\""},
		{"truncated", 4, "\"trun\""},
		/* never invalid UTF-8 out: stray bytes are escaped */
		{"a\xff" "b", 3, "\"a\\u00ff" "b\""},
		{"\xc3", 1, "\"\\u00c3\""},          /* a cut sequence */
		{"\xc0\x80", 2, "\"\\u00c0\\u0080\""}, /* overlong */
		{"\xed\xa0\x80", 3, "\"\\u00ed\\u00a0\\u0080\""}, /* surrogate */
		{"\xf0\x9f\x98\x80!", 5, "\"\xf0\x9f\x98\x80!\""},
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		struct sbuf sb = SBUF_INIT;

		sbuf_adds(&sb, "=");
		sbuf_add_json_str(&sb, rows[i].in, rows[i].len);
		if (strcmp(sb.buf + 1, rows[i].out) != 0)
			fail_msg("row %zu: %s, want %s", i, sb.buf + 1, rows[i].out);
		check_invariants(&sb);
		sbuf_release(&sb);
	}
	/* every control byte and every lone byte past ASCII (none is UTF-8
	 * alone) is escaped; nothing else is */
	for (int c = 1; c < 256; c++) {
		struct sbuf sb = SBUF_INIT;
		char ch = (char)c;

		sbuf_add_json_str(&sb, &ch, 1);
		if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80)
			assert_int_equal(sb.buf[1], '\\');
		else
			assert_int_equal(sb.len, 3);
		sbuf_release(&sb);
	}
}

static void test_truncate_detach(void **state)
{
	struct sbuf sb = SBUF_INIT;
	size_t len = 99;
	char *p;

	(void)state;
	sbuf_adds(&sb, "hello world");
	sbuf_truncate(&sb, 5);
	assert_string_equal(sb.buf, "hello");
	assert_int_equal(sb.len, 5);
	sbuf_truncate(&sb, 50); /* longer: no-op */
	assert_string_equal(sb.buf, "hello");
	sbuf_truncate(&sb, 0);
	assert_string_equal(sb.buf, "");
	sbuf_adds(&sb, "again");
	p = sbuf_detach(&sb, &len);
	assert_string_equal(p, "again");
	assert_int_equal(len, 5);
	assert_null(sb.buf);
	assert_int_equal(sb.len, 0);
	assert_int_equal(sb.cap, 0);
	free(p);
	/* an empty buffer detaches as an owned "" */
	p = sbuf_detach(&sb, &len);
	assert_non_null(p);
	assert_string_equal(p, "");
	assert_int_equal(len, 0);
	free(p);
	p = sbuf_detach(&sb, NULL);
	assert_non_null(p);
	free(p);
}

static void test_oom_sticky(void **state)
{
	struct sbuf sb = SBUF_INIT;

	(void)state;
	sbuf_adds(&sb, "ok");
	assert_false(sbuf_reserve(&sb, SIZE_MAX));
	assert_true(sbuf_failed(&sb));
	assert_false(sbuf_reserve(&sb, 1)); /* sticky */
	sbuf_adds(&sb, "more");
	sbuf_addc(&sb, 'x');
	sbuf_addf(&sb, "%d", 5);
	sbuf_add_json_str(&sb, "q", 1);
	assert_string_equal(sb.buf, "ok");   /* nothing appended */
	assert_int_equal(sb.len, 2);
	assert_true(sbuf_failed(&sb));
	sbuf_release(&sb);
	assert_false(sbuf_failed(&sb));
	sbuf_adds(&sb, "fresh");
	assert_string_equal(sb.buf, "fresh");
	assert_false(sbuf_reserve(&sb, SIZE_MAX / 2));
	assert_true(sbuf_failed(&sb));
	sbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_appends),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_json_str),
		cmocka_unit_test(test_truncate_detach),
		cmocka_unit_test(test_oom_sticky),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

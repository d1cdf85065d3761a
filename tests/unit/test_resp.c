/*
 * test_resp.c - commands in RESP: the exact bytes for no, one and several
 * arguments, empty and binary ones (NUL, CR LF inside), appended after
 * what the buffer holds, and the sticky out-of-memory flag respected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "resp.h"

static void test_commands(void **state)
{
	struct sbuf sb = SBUF_INIT;
	const char *a1[] = {"PING"};
	size_t l1[] = {4};
	const char *a3[] = {"SET", "", "a\0b\r\nc"};
	size_t l3[] = {3, 0, 6};
	static const char want3[] = "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$6\r\na\0b\r\nc\r\n";

	(void)state;
	resp_command(&sb, 1, a1, l1);
	assert_string_equal(sb.buf, "*1\r\n$4\r\nPING\r\n");
	sbuf_truncate(&sb, 0);
	resp_command(&sb, 0, NULL, NULL);
	assert_string_equal(sb.buf, "*0\r\n");
	sbuf_adds(&sb, "|");
	resp_command(&sb, 3, a3, l3);
	assert_int_equal(sb.len, 5 + sizeof(want3) - 1);
	assert_memory_equal(sb.buf, "*0\r\n|", 5);
	assert_memory_equal(sb.buf + 5, want3, sizeof(want3) - 1);
	sbuf_release(&sb);
}

static void test_long_argument(void **state)
{
	struct sbuf sb = SBUF_INIT;
	static char big[100000];
	const char *a[] = {"EVALSHA", big};
	size_t l[] = {7, sizeof(big)};
	const char head[] = "*2\r\n$7\r\nEVALSHA\r\n$100000\r\n";

	(void)state;
	memset(big, 'x', sizeof(big));
	resp_command(&sb, 2, a, l);
	assert_false(sbuf_failed(&sb));
	assert_int_equal(sb.len, sizeof(head) - 1 + sizeof(big) + 2);
	assert_memory_equal(sb.buf, head, sizeof(head) - 1);
	assert_memory_equal(sb.buf + sb.len - 2, "\r\n", 2);
	sbuf_release(&sb);
}

static void test_oom(void **state)
{
	struct sbuf sb = SBUF_INIT;
	const char *a[] = {"GET", "k"};
	size_t l[] = {3, 1};

	(void)state;
	/* past what sbuf_reserve takes: refused without a realloc */
	assert_false(sbuf_reserve(&sb, SIZE_MAX));
	resp_command(&sb, 2, a, l);
	assert_true(sbuf_failed(&sb));
	assert_int_equal(sb.len, 0);
	sbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_long_argument),
		cmocka_unit_test(test_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

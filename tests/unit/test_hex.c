/*
 * test_hex.c - lower-case hex of bytes, every byte value, NUL-terminated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "hex.h"

static void test_hex(void **state)
{
	unsigned char all[256];
	char out[513], want[3];

	(void)state;
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	memset(out, 'x', sizeof(out));
	hex_encode(all, sizeof(all), out);
	assert_int_equal(strlen(out), 512);
	for (int i = 0; i < 256; i++) {
		snprintf(want, sizeof(want), "%02x", i);
		assert_memory_equal(out + 2 * i, want, 2);
	}
	memset(out, 'x', sizeof(out));
	hex_encode(all, 0, out);
	assert_string_equal(out, "");
	hex_encode("\xde\xad", 2, out);
	assert_string_equal(out, "dead");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_offset.c - change-log offsets "<epoch>:<seq>" (DESIGN.md section 5):
 * the epoch alphabet and length, seq without sign or leading zeros in
 * 0..2^53-1, formatting and the parse/format round trip, random epochs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common.h"
#include "offset.h"

#define E32 "abcdefghijABCDEFGHIJ0123456789zZ"

static const struct {
	const char *s;
	bool ok;
	const char *epoch;
	uint64_t seq;
} rows[] = {
	{"k9x2:1042", true, "k9x2", 1042},
	{"a:0", true, "a", 0},
	{"Z:1", true, "Z", 1},
	{"0:7", true, "0", 7},
	{E32 ":9007199254740991", true, E32, 9007199254740991ULL},
	{"e:1000000000000000", true, "e", 1000000000000000ULL},
	{E32 "x:1", false, NULL, 0},           /* 33-char epoch */
	{"e:9007199254740992", false, NULL, 0}, /* 2^53 */
	{"e:9999999999999999", false, NULL, 0},
	{"e:18446744073709551616", false, NULL, 0},
	{"e:10000000000000000", false, NULL, 0}, /* 17 digits */
	{"e:00", false, NULL, 0},
	{"e:01", false, NULL, 0},
	{"e:0001", false, NULL, 0},
	{"e:-1", false, NULL, 0},
	{"e:+1", false, NULL, 0},
	{"e: 1", false, NULL, 0},
	{"e:1 ", false, NULL, 0},
	{"e:1a", false, NULL, 0},
	{"e:1.0", false, NULL, 0},
	{"e:1e3", false, NULL, 0},
	{"e:0x10", false, NULL, 0},
	{"e:", false, NULL, 0},
	{":1", false, NULL, 0},
	{":", false, NULL, 0},
	{"", false, NULL, 0},
	{"e1", false, NULL, 0},
	{"1042", false, NULL, 0},
	{"e:1:2", false, NULL, 0},
	{"e::1", false, NULL, 0},
	{"e-x:1", false, NULL, 0},
	{"e_x:1", false, NULL, 0},
	{"e.x:1", false, NULL, 0},
	{"e x:1", false, NULL, 0},
	{"caf\xc3\xa9:1", false, NULL, 0},
	{"e\xff:1", false, NULL, 0},
};

static void test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		struct offset o;
		int rc;

		memset(&o, 0x5a, sizeof(o));
		rc = offset_parse(rows[i].s, strlen(rows[i].s), &o);
		if ((rc == 0) != rows[i].ok)
			fail_msg("row %zu \"%s\": rc %d", i, rows[i].s, rc);
		if (rc) {
			assert_int_equal(rc, GW_EBADREQ);
			continue;
		}
		assert_string_equal(o.epoch, rows[i].epoch);
		assert_int_equal(o.seq, rows[i].seq);
	}
}

static void test_parse_uses_len(void **state)
{
	struct offset o;

	(void)state;
	assert_int_equal(offset_parse("ab:12345", 5, &o), 0);
	assert_string_equal(o.epoch, "ab");
	assert_int_equal(o.seq, 12);
	assert_int_equal(offset_parse("ab:1\0" "2", 6, &o), GW_EBADREQ);
	assert_int_equal(offset_parse("a\0:1", 4, &o), GW_EBADREQ);
	assert_int_equal(offset_parse("ab:1", 2, &o), GW_EBADREQ);
	assert_int_equal(offset_parse("ab:1", 3, &o), GW_EBADREQ);
	assert_int_equal(offset_parse("ab:1", 0, &o), GW_EBADREQ);
}

static void test_parse_seq(void **state)
{
	uint64_t v = 77;

	(void)state;
	assert_int_equal(offset_parse_seq("0", 1, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(offset_parse_seq("9007199254740991", 16, &v), 0);
	assert_int_equal(v, 9007199254740991ULL);
	v = 77;
	assert_int_equal(offset_parse_seq("9007199254740992", 16, &v),
			 GW_EBADREQ);
	assert_int_equal(offset_parse_seq("", 0, &v), GW_EBADREQ);
	assert_int_equal(offset_parse_seq("05", 2, &v), GW_EBADREQ);
	assert_int_equal(offset_parse_seq("-5", 2, &v), GW_EBADREQ);
	assert_int_equal(offset_parse_seq("5 ", 2, &v), GW_EBADREQ);
	assert_int_equal(v, 77);
}

static void test_epoch_valid(void **state)
{
	(void)state;
	assert_true(offset_epoch_valid("a", 1));
	assert_true(offset_epoch_valid(E32, 32));
	assert_false(offset_epoch_valid(E32 "a", 33));
	assert_false(offset_epoch_valid("", 0));
	for (int c = 0; c < 256; c++) {
		char s[2] = {(char)c, '\0'};
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');

		assert_int_equal(offset_epoch_valid(s, 1), alnum);
	}
}

static void test_format_round_trip(void **state)
{
	static const struct {
		const char *epoch;
		uint64_t seq;
		const char *want;
	} f[] = {
		{"k9x2", 1042, "k9x2:1042"},
		{"a", 0, "a:0"},
		{E32, 9007199254740991ULL, E32 ":9007199254740991"},
		{"Z", 10, "Z:10"},
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(f); i++) {
		char buf[OFFSET_STR_MAX];
		struct offset o;
		size_t n = offset_format(f[i].epoch, f[i].seq, buf);

		assert_int_equal(n, strlen(f[i].want));
		assert_string_equal(buf, f[i].want);
		assert_true(n < OFFSET_STR_MAX);
		assert_int_equal(offset_parse(buf, n, &o), 0);
		assert_string_equal(o.epoch, f[i].epoch);
		assert_int_equal(o.seq, f[i].seq);
	}
	/* parse -> format gives back the same bytes */
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		char buf[OFFSET_STR_MAX];
		struct offset o;

		if (!rows[i].ok)
			continue;
		assert_int_equal(offset_parse(rows[i].s, strlen(rows[i].s), &o),
				 0);
		offset_format(o.epoch, o.seq, buf);
		assert_string_equal(buf, rows[i].s);
	}
}

static void test_epoch_from_bytes(void **state)
{
	unsigned char rnd[256];
	char buf[257];
	bool seen[256] = {false};

	(void)state;
	for (int i = 0; i < 256; i++)
		rnd[i] = (unsigned char)i;
	for (size_t off = 0; off + OFFSET_EPOCH_MAX <= 256;
	     off += OFFSET_EPOCH_MAX) {
		offset_epoch_from_bytes(rnd + off, OFFSET_EPOCH_MAX, buf);
		assert_int_equal(strlen(buf), OFFSET_EPOCH_MAX);
		assert_true(offset_epoch_valid(buf, OFFSET_EPOCH_MAX));
		for (int k = 0; k < OFFSET_EPOCH_MAX; k++)
			seen[(unsigned char)buf[k]] = true;
	}
	/* 256 byte values cover an alphabet of 36 characters */
	{
		int distinct = 0;

		for (int c = 0; c < 256; c++)
			distinct += seen[c];
		assert_int_equal(distinct, 36);
	}
	/* deterministic, and different bytes give a different epoch */
	{
		char a[9], b[9];
		unsigned char r1[8] = {1, 2, 3, 4, 5, 6, 7, 8};
		unsigned char r2[8] = {1, 2, 3, 4, 5, 6, 7, 9};

		offset_epoch_from_bytes(r1, 8, a);
		offset_epoch_from_bytes(r1, 8, b);
		assert_string_equal(a, b);
		offset_epoch_from_bytes(r2, 8, b);
		assert_string_not_equal(a, b);
	}
	offset_epoch_from_bytes(rnd, 0, buf);
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_uses_len),
		cmocka_unit_test(test_parse_seq),
		cmocka_unit_test(test_epoch_valid),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_epoch_from_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

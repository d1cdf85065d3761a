/*
 * test_jsonx.c - the JSON rules of DESIGN.md section 10: strict parsing
 * (duplicate keys, depth cap at its exact boundary, NUL, bad UTF-8, ranges,
 * exactly one value), the compact serializer (reals in shortest round-trip
 * form that stay reals, integers, escapes, insertion order) and jsonx_int.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"

static char *dump(const json_t *v)
{
	struct sbuf sb = SBUF_INIT;

	jsonx_dump(v, &sb);
	assert_false(sbuf_failed(&sb));
	return sbuf_detach(&sb, NULL);
}

static const struct {
	const char *s;
	size_t len; /* 0: strlen */
	json_type type;
} accept_rows[] = {
	{"{}", 0, JSON_OBJECT},
	{"[]", 0, JSON_ARRAY},
	{"1", 0, JSON_INTEGER},
	{"-0", 0, JSON_INTEGER},
	{"1.0", 0, JSON_REAL},
	{"1e2", 0, JSON_REAL},
	{"\"s\"", 0, JSON_STRING},
	{"true", 0, JSON_TRUE},
	{"null", 0, JSON_NULL},
	{" \t\r\n{\"a\":[1,{\"b\":null}]} \n", 0, JSON_OBJECT},
	{"9223372036854775807", 0, JSON_INTEGER},
	{"\"\\u00e9\xc3\xa9\\ud83d\\ude00\"", 0, JSON_STRING},
	{"{\"a\":1,\"A\":2}", 0, JSON_OBJECT},
	{"{\"a\":{\"a\":{\"a\":1}}}", 0, JSON_OBJECT},
	{"[{\"k\":1},{\"k\":2}]", 0, JSON_ARRAY},
	{"1e-400", 0, JSON_REAL}, /* underflow rounds to zero */
};

static void test_parse_accept(void **state)
{
	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(accept_rows); i++) {
		struct gw_error e = {0};
		const char *s = accept_rows[i].s;
		size_t n = accept_rows[i].len ? accept_rows[i].len : strlen(s);
		json_t *v = jsonx_parse(s, n, 8, &e);

		if (!v)
			fail_msg("row %zu %s rejected: %s", i, s, e.msg);
		assert_int_equal(json_typeof(v), accept_rows[i].type);
		json_decref(v);
	}
}

enum { R_SYNTAX, R_DUP, R_NUL, R_TEXT, R_RANGE };

static const struct {
	int group;
	const char *s;
	size_t len; /* 0: strlen */
	const char *says;
} reject_rows[] = {
	{R_SYNTAX, "", 0, NULL},
	{R_SYNTAX, " ", 0, NULL},
	{R_SYNTAX, "{", 0, NULL},
	{R_SYNTAX, "{\"a\":1,}", 0, NULL},
	{R_SYNTAX, "[1,]", 0, NULL},
	{R_SYNTAX, "{'a':1}", 0, NULL},
	{R_SYNTAX, "{\"a\":1}}", 0, NULL},
	{R_SYNTAX, "{} {}", 0, NULL},
	{R_SYNTAX, "1 2", 0, NULL},
	{R_SYNTAX, "[1] x", 0, NULL},
	{R_SYNTAX, "nul", 0, NULL},
	{R_SYNTAX, "NaN", 0, NULL},
	{R_SYNTAX, "Infinity", 0, NULL},
	{R_SYNTAX, "01", 0, NULL},
	{R_SYNTAX, "+1", 0, NULL},
	{R_SYNTAX, ".5", 0, NULL},
	{R_SYNTAX, "0x10", 0, NULL},
	/* duplicate keys, at any level */
	{R_DUP, "{\"a\":1,\"a\":2}", 0, "duplicate"},
	{R_DUP, "{\"a\":1,\"a\":1}", 0, "duplicate"},
	{R_DUP, "{\"x\":{\"a\":1,\"b\":2,\"a\":3}}", 0, "duplicate"},
	{R_DUP, "[{\"k\":1,\"k\":null}]", 0, "duplicate"},
	{R_DUP, "{\"\\u0061\":1,\"a\":2}", 0, "duplicate"},
	/* NUL anywhere */
	{R_NUL, "\"a\\u0000b\"", 0, NULL},
	{R_NUL, "{\"a\\u0000\":1}", 0, NULL},
	{R_NUL, "\"a\0b\"", 5, NULL},
	{R_NUL, "\0", 1, NULL},
	{R_NUL, "[1]\0", 4, NULL},
	{R_NUL, "{}\0", 3, NULL},
	{R_NUL, "\"a\"\0", 4, NULL},
	{R_NUL, "1\0", 2, NULL},
	{R_NUL, "12\0", 3, NULL},
	/* control characters and bad UTF-8 */
	{R_TEXT, "\"a\nb\"", 0, NULL},
	{R_TEXT, "\"a\tb\"", 0, NULL},
	{R_TEXT, "\"\xff\"", 0, NULL},
	{R_TEXT, "\"\xc0\xaf\"", 0, NULL},
	{R_TEXT, "\"\xed\xa0\x80\"", 0, NULL},
	{R_TEXT, "\"\xc3\"", 0, NULL},
	{R_TEXT, "\"\\ud800\"", 0, NULL},
	{R_TEXT, "\"\\udc00\\ud800\"", 0, NULL},
	{R_TEXT, "\"\\x41\"", 0, NULL},
	/* numbers out of range */
	{R_RANGE, "1e400", 0, NULL},
	{R_RANGE, "-1e400", 0, NULL},
	{R_RANGE, "9223372036854775808", 0, NULL},
	{R_RANGE, "-9223372036854775809", 0, NULL},
	{R_RANGE, "[99999999999999999999]", 0, NULL},
};

static void reject_group(int group)
{
	int accepted = 0;

	for (size_t i = 0; i < GW_ARRAY_LEN(reject_rows); i++) {
		struct gw_error e = {0};
		const char *s = reject_rows[i].s;
		size_t n = reject_rows[i].len ? reject_rows[i].len : strlen(s);
		json_t *v;

		if (reject_rows[i].group != group)
			continue;
		v = jsonx_parse(s, n, 8, &e);
		if (v) {
			json_decref(v);
			print_error("row %zu accepted: \"%s\" (%zu bytes%s)\n", i,
				    s, n, memchr(s, '\0', n) ? ", with a NUL" : "");
			accepted++;
			continue;
		}
		assert_int_equal(e.code, GW_EBADREQ);
		assert_true(e.msg[0] != '\0');
		if (reject_rows[i].says && !strstr(e.msg, reject_rows[i].says))
			fail_msg("row %zu: message \"%s\"", i, e.msg);
	}
	assert_int_equal(accepted, 0);
}

static void test_reject_syntax(void **state)
{
	(void)state;
	reject_group(R_SYNTAX);
}

static void test_reject_duplicate_keys(void **state)
{
	(void)state;
	reject_group(R_DUP);
}

/* NUL is never part of JSON text: not in strings, not after the value. */
static void test_reject_nul(void **state)
{
	(void)state;
	reject_group(R_NUL);
}

static void test_reject_bad_text(void **state)
{
	(void)state;
	reject_group(R_TEXT);
}

static void test_reject_out_of_range(void **state)
{
	(void)state;
	reject_group(R_RANGE);
}

/* depth levels of alternating arrays and objects around a 1 */
static char *nest(int depth)
{
	size_t cap = (size_t)depth * 8 + 8;
	char *s = malloc(cap);
	size_t n = 0;

	assert_non_null(s);
	for (int i = 0; i < depth; i++)
		n += (size_t)snprintf(s + n, cap - n, "%s",
				      i % 2 ? "{\"k\":" : "[");
	s[n++] = '1';
	for (int i = depth - 1; i >= 0; i--)
		s[n++] = i % 2 ? '}' : ']';
	s[n] = '\0';
	return s;
}

static void test_depth_boundary(void **state)
{
	static const int caps[] = {1, 2, 5, 64, 512};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(caps); i++) {
		int max = caps[i];
		char *ok = nest(max), *deep = nest(max + 1);
		struct gw_error e = {0};
		json_t *v = jsonx_parse(ok, strlen(ok), max, &e);

		if (!v)
			fail_msg("depth %d at cap %d rejected: %s", max, max, e.msg);
		json_decref(v);
		assert_int_equal(jsonx_depth(ok, strlen(ok), 10000), max);
		assert_null(jsonx_parse(deep, strlen(deep), max, &e));
		assert_int_equal(e.code, GW_EBADREQ);
		assert_non_null(strstr(e.msg, "deeper"));
		free(ok);
		free(deep);
	}
	/* depth 0 accepts scalars only */
	{
		struct gw_error e = {0};
		json_t *v = jsonx_parse("\"[{\"", 4, 0, &e);

		assert_non_null(v);
		json_decref(v);
		assert_null(jsonx_parse("[]", 2, 0, &e));
	}
}

/* RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF. */
static bool utf8_valid(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;

	for (size_t i = 0; i < n;) {
		unsigned c = s[i], cp;
		size_t k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, cp = c & 0x07;
		else
			return false;
		if (i + k >= n)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += k + 1;
	}
	return true;
}

/*
 * Error messages travel in JSON answers and WebSocket text frames, which
 * must be UTF-8: valid UTF-8 input must give a valid UTF-8 message.
 */
static void test_error_messages_utf8(void **state)
{
	static const char *const bad[] = {
		"{\"a\\\xc3\xa9\"}",           /* {"a\é"}: bad escape, then é */
		"\"\\\xc3\xa9\"",
		"[\"x\\\xe2\x82\xac\"]",       /* \€ */
		"{\"k\":\"\\\xf0\x9f\x98\x80\"}", /* \😀 */
		"[1,\xc3\xa9]",
		"\xc3\xa9",
		"{\"\xc3\xa9\":}",
		"{\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		"\xc3\xa9\xc3\xa9\xc3\xa9\":\x01}",
	};
	int broken = 0;

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(bad); i++) {
		struct gw_error e = {0};

		assert_true(utf8_valid(bad[i], strlen(bad[i])));
		assert_null(jsonx_parse(bad[i], strlen(bad[i]), 8, &e));
		if (!utf8_valid(e.msg, strlen(e.msg))) {
			print_error("row %zu: message is not UTF-8: %s\n", i, e.msg);
			broken++;
		}
	}
	assert_int_equal(broken, 0);
}

static const struct {
	const char *s;
	int depth;
} depth_rows[] = {
	{"1", 0},
	{"[]", 1},
	{"[[],[],{}]", 2},
	{"{\"a\":[{\"b\":[]}]}", 4},
	{"[\"[[[[[[\"]", 1},
	{"[\"]]]]\",[[1]]]", 3},
	{"[\"\\\"[[[[\"]", 1},
	{"[\"\\\\\",[[1]]]", 3},
	{"{\"[{\":\"}]\"}", 1},
	{"[1],[2],[3]", 1},
};

static void test_depth_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(depth_rows); i++) {
		const char *s = depth_rows[i].s;
		int d = jsonx_depth(s, strlen(s), 100);

		if (d != depth_rows[i].depth)
			fail_msg("row %zu %s: depth %d", i, s, d);
	}
	/* stops early past the limit */
	{
		char *deep = nest(100000);

		assert_true(jsonx_depth(deep, strlen(deep), 64) > 64);
		assert_null(jsonx_parse(deep, strlen(deep), 64, NULL));
		free(deep);
	}
}

static const struct {
	double d;
	const char *want; /* NULL: only the round trip is checked */
} real_rows[] = {
	{0.1, "0.1"},
	{1e300, "1e+300"},
	{1.0, "1.0"},
	{-0.0, "-0.0"},
	{0.0, "0.0"},
	{2.5, "2.5"},
	{100.0, "100.0"},
	{-3.0, "-3.0"},
	{1e15, "1e+15"},
	{1e16, "1e+16"},
	{123456.789, "123456.789"},
	{0.30000000000000004, "0.30000000000000004"},
	{1.7976931348623157e308, "1.7976931348623157e+308"},
	{9007199254740993.0, "9007199254740992.0"},
	{2.2250738585072014e-308, "2.2250738585072014e-308"},
	{1e-7, "1e-07"},
	{5e-324, NULL},
	{1.0 / 3.0, NULL},
	{-123.456e-100, NULL},
	{4.35, NULL},
};

static void test_dump_reals(void **state)
{
	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(real_rows); i++) {
		json_t *v = json_real(real_rows[i].d), *back;
		char *s = dump(v);
		struct gw_error e = {0};

		if (real_rows[i].want && strcmp(s, real_rows[i].want) != 0)
			fail_msg("row %zu: %.17g dumps as %s", i, real_rows[i].d, s);
		back = jsonx_parse(s, strlen(s), 4, &e);
		if (!back)
			fail_msg("row %zu: %s does not parse: %s", i, s, e.msg);
		assert_true(json_is_real(back));
		assert_true(json_real_value(back) == real_rows[i].d);
		assert_int_equal(!!signbit(json_real_value(back)),
				 !!signbit(real_rows[i].d));
		assert_true(strlen(s) <= 24);
		json_decref(back);
		json_decref(v);
		free(s);
	}
}

static void test_dump_scalars_and_strings(void **state)
{
	static const char nul3[] = {'a', '\0', 'b'};
	struct {
		json_t *v;
		const char *want;
	} rows[] = {
		{json_integer(0), "0"},
		{json_integer(-1), "-1"},
		{json_integer(9007199254740991LL), "9007199254740991"},
		{json_integer(INT64_MAX), "9223372036854775807"},
		{json_integer(INT64_MIN), "-9223372036854775808"},
		{json_true(), "true"},
		{json_false(), "false"},
		{json_null(), "null"},
		{json_string(""), "\"\""},
		{json_string("a\"b\\c/d"), "\"a\\\"b\\\\c/d\""},
		{json_string("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\""},
		{json_string("\x01\x1f\x7f"), "\"\\u0001\\u001f\x7f\""},
		{json_string("caf\xc3\xa9 \xf0\x9f\x98\x80"),
		 "\"caf\xc3\xa9 \xf0\x9f\x98\x80\""},
		{json_stringn(nul3, 3), "\"a\\u0000b\""},
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		char *s = dump(rows[i].v);

		if (strcmp(s, rows[i].want) != 0)
			fail_msg("row %zu: %s, want %s", i, s, rows[i].want);
		free(s);
		json_decref(rows[i].v);
	}
}

static void test_dump_round_trip(void **state)
{
	/* compact texts dump back byte for byte (insertion order kept) */
	static const char *const texts[] = {
		"{}",
		"[]",
		"{\"b\":1,\"a\":2,\"c\":{\"z\":[],\"y\":{}}}",
		"[1,-2,0.5,\"x\",true,false,null,[[]],{\"k\":\"v\"}]",
		"{\"s\":\"\\\"\\\\\\n\\u0001\"}",
		"{\"n\":1.0,\"m\":1,\"e\":1e+300,\"t\":0.1}",
		"\"\xe2\x82\xac\"",
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(texts); i++) {
		struct gw_error e = {0};
		json_t *v = jsonx_parse(texts[i], strlen(texts[i]), 8, &e);
		char *s;

		if (!v)
			fail_msg("row %zu: %s", i, e.msg);
		s = dump(v);
		assert_string_equal(s, texts[i]);
		free(s);
		json_decref(v);
	}
}

static void test_int(void **state)
{
	static const struct {
		const char *json;
		int64_t min, max;
		int rc;
		int64_t out;
	} rows[] = {
		{"5", 0, 10, 0, 5},
		{"0", 0, 10, 0, 0},
		{"10", 0, 10, 0, 10},
		{"11", 0, 10, GW_EBADREQ, 0},
		{"-1", 0, 10, GW_EBADREQ, 0},
		{"-5", -5, -1, 0, -5},
		{"1.0", 0, 10, GW_EBADREQ, 0},
		{"1e0", 0, 10, GW_EBADREQ, 0},
		{"\"1\"", 0, 10, GW_EBADREQ, 0},
		{"true", 0, 10, GW_EBADREQ, 0},
		{"null", 0, 10, GW_EBADREQ, 0},
		{"[1]", 0, 10, GW_EBADREQ, 0},
		{"9007199254740991", 0, GW_MAX_SAFE_INT, 0, GW_MAX_SAFE_INT},
		{"9007199254740992", 0, GW_MAX_SAFE_INT, GW_EBADREQ, 0},
		{"9223372036854775807", INT64_MIN, INT64_MAX, 0, INT64_MAX},
		{"-9223372036854775808", INT64_MIN, INT64_MAX, 0, INT64_MIN},
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		json_t *v = json_loads(rows[i].json, JSON_DECODE_ANY, NULL);
		int64_t out = 4242;
		int rc;

		assert_non_null(v);
		rc = jsonx_int(v, rows[i].min, rows[i].max, &out);
		if (rc != rows[i].rc)
			fail_msg("row %zu %s: rc %d", i, rows[i].json, rc);
		assert_int_equal(out, rc ? 4242 : rows[i].out);
		json_decref(v);
	}
	{
		int64_t out = 1;

		assert_int_equal(jsonx_int(NULL, 0, 10, &out), GW_EBADREQ);
		assert_int_equal(out, 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_accept),
		cmocka_unit_test(test_reject_syntax),
		cmocka_unit_test(test_reject_duplicate_keys),
		cmocka_unit_test(test_reject_nul),
		cmocka_unit_test(test_reject_bad_text),
		cmocka_unit_test(test_reject_out_of_range),
		cmocka_unit_test(test_error_messages_utf8),
		cmocka_unit_test(test_depth_boundary),
		cmocka_unit_test(test_depth_values),
		cmocka_unit_test(test_dump_reals),
		cmocka_unit_test(test_dump_scalars_and_strings),
		cmocka_unit_test(test_dump_round_trip),
		cmocka_unit_test(test_int),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

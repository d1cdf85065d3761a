/*
 * test_jscan.c - the scanner accepts exactly what jsonx_parse accepts: the
 * JSONTestSuite corpus (every file raw, wrapped as an object member and
 * nested) and hand-made edges (number ranges, UTF-8 forms, surrogates,
 * duplicate keys spelled differently and in large objects, depth at its
 * boundary); the compact copy parses to the same value; object members
 * and their decoded keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"
#include "jsonx.h"

#define DEPTH 16

/* Both verdicts on buf, and the copy's value when accepted. */
static void same_verdict(const char *what, const char *buf, size_t len)
{
	struct gw_error e1 = {0}, e2 = {0};
	struct sbuf out = SBUF_INIT;
	struct jscan s;
	json_t *tree = jsonx_parse(buf, len, DEPTH, &e1);
	int rc;

	jscan_init(&s, buf, len, DEPTH, &e2);
	rc = jscan_check(&s);
	jscan_release(&s);
	jscan_init(&s, buf, len, DEPTH, NULL);
	if (!rc)
		assert_int_equal(jscan_value(&s, &out, NULL, NULL), 0);
	jscan_release(&s);
	if ((rc == 0) != (tree != NULL))
		fail_msg("%s: jscan %s (%s), jansson %s (%s)", what,
			 rc ? "refuses" : "accepts", e2.msg,
			 tree ? "accepts" : "refuses", e1.msg);
	if (rc) {
		assert_int_equal(rc, GW_EBADREQ);
		assert_int_equal(e2.code, GW_EBADREQ);
		assert_true(e2.msg[0] != '\0');
	} else {
		json_t *copy = json_loadb(out.buf, out.len, JSON_DECODE_ANY, NULL);

		if (!copy || !json_equal(copy, tree))
			fail_msg("%s: the compact copy is another value", what);
		json_decref(copy);
		jscan_init(&s, out.buf, out.len, DEPTH, NULL);
		assert_int_equal(jscan_check(&s), 0);
		jscan_release(&s);
	}
	json_decref(tree);
	sbuf_release(&out);
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void test_corpus(void **state)
{
	const char *dir = getenv("SYNCGATE_JSON_CORPUS");
	char path[4096];
	struct dirent *de;
	DIR *d;
	int files = 0;

	(void)state;
	if (!dir)
		dir = "tests/data/JSONTestSuite/test_parsing";
	d = opendir(dir);
	if (!d)
		fail_msg("JSONTestSuite corpus not found at %s (run from the "
			 "repository root or set SYNCGATE_JSON_CORPUS)", dir);
	while ((de = readdir(d)) != NULL) {
		size_t len, n = strlen(de->d_name);
		char *buf, *wrapped;

		if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		buf = read_all(path, &len);
		same_verdict(de->d_name, buf, len);
		/* as a member value, and inside an array */
		wrapped = malloc(len + 16);
		assert_non_null(wrapped);
		memcpy(wrapped, "{\"data\":", 8);
		memcpy(wrapped + 8, buf, len);
		wrapped[8 + len] = '}';
		same_verdict(de->d_name, wrapped, len + 9);
		wrapped[0] = '[';
		wrapped[8 + len] = ']';
		memcpy(wrapped, "[1,     ", 8);
		same_verdict(de->d_name, wrapped, len + 9);
		free(wrapped);
		free(buf);
		files++;
	}
	closedir(d);
	assert_true(files > 300);
}

static void test_edges(void **state)
{
	static const struct {
		const char *s;
		size_t len; /* 0: strlen */
	} rows[] = {
		{"9223372036854775807", 0},
		{"9223372036854775808", 0},
		{"-9223372036854775808", 0},
		{"-9223372036854775809", 0},
		{"10000000000000000000", 0},
		{"922337203685477580", 0},
		{"-0", 0},
		{"-01", 0},
		{"00", 0},
		{"-", 0},
		{"1.", 0},
		{".5", 0},
		{"1e", 0},
		{"1e+", 0},
		{"+1", 0},
		{"1E400", 0},
		{"-1e400", 0},
		{"1e-400", 0},
		{"1.7976931348623157e308", 0},
		{"1.7976931348623159e308", 0},
		{"123456789012345678901234567890.5e-10", 0},
		{"\"\xc3\xa9\"", 0},
		{"\"\xc0\x80\"", 0},
		{"\"\xc1\xbf\"", 0},
		{"\"\xe0\x80\x80\"", 0},
		{"\"\xe0\xa0\x80\"", 0},
		{"\"\xed\x9f\xbf\"", 0},
		{"\"\xed\xa0\x80\"", 0},
		{"\"\xef\xbf\xbf\"", 0},
		{"\"\xf0\x8f\xbf\xbf\"", 0},
		{"\"\xf0\x90\x80\x80\"", 0},
		{"\"\xf4\x8f\xbf\xbf\"", 0},
		{"\"\xf4\x90\x80\x80\"", 0},
		{"\"\xf5\x80\x80\x80\"", 0},
		{"\"\xe2\x82\"", 0},
		{"\"\x80\"", 0},
		{"\"\\ud83d\\ude00\"", 0},
		{"\"\\ud83d\"", 0},
		{"\"\\ud83dx\"", 0},
		{"\"\\ud83d\\u0041\"", 0},
		{"\"\\ude00\"", 0},
		{"\"\\u0000\"", 0},
		{"\"\\u00\"", 0},
		{"\"\\uZZZZ\"", 0},
		{"\"\\x\"", 0},
		{"\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"", 0},
		{"\"a\tb\"", 0},
		{"\"a\x7f" "b\"", 0},
		{"\"a\0b\"", 5},
		{"\"abc", 0},
		{"\"abc\\", 0},
		{"{\"a\":1,\"a\":2}", 0},
		{"{\"a\":1,\"\\u0061\":2}", 0},
		{"{\"\\u00e9\":1,\"\xc3\xa9\":2}", 0},
		{"{\"a\":{\"a\":1},\"b\":{\"a\":1}}", 0},
		{"{\"a\":{\"b\":1,\"b\":1}}", 0},
		{"{\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,"
		 "\"k8\":8,\"k9\":9,\"k10\":10,\"k3\":11}", 0},
		{"{\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,"
		 "\"k8\":8,\"k9\":9,\"k10\":10,\"k11\":11}", 0},
		{"{\"\\u0000\":1}", 0},
		{"{\"\":1}", 0},
		{"{1:1}", 0},
		{"{\"a\" 1}", 0},
		{"{\"a\":1,}", 0},
		{"{,\"a\":1}", 0},
		{"[1,]", 0},
		{"[,1]", 0},
		{"[1 2]", 0},
		{"[]", 0},
		{"{}", 0},
		{" [ 1 , { \"a\" : [ ] } ] ", 0},
		{"truex", 0},
		{"tru", 0},
		{"nul", 0},
		{"True", 0},
		{"\xef\xbb\xbf{}", 0},
		{"1 2", 0},
		{"", 0},
		{" ", 0},
		{"\f1", 0},
		{"[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]", 0}, /* depth 16 */
		{"[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]", 0}, /* depth 17 */
		{"{\"a\":[{\"b\":[{\"c\":[{\"d\":[{\"e\":[{\"f\":[{\"g\":[{\"h\":[]"
		 "}]}]}]}]}]}]}]}", 0},
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		char what[32];

		snprintf(what, sizeof(what), "edge row %zu", i);
		same_verdict(what, rows[i].s,
			     rows[i].len ? rows[i].len : strlen(rows[i].s));
	}
}

/* An object with many keys: the duplicate is found wherever it is. */
static void test_many_keys(void **state)
{
	struct sbuf sb = SBUF_INIT;
	struct jscan s;

	(void)state;
	for (int dup = 0; dup < 2; dup++) {
		sbuf_release(&sb);
		sbuf_addc(&sb, '{');
		for (int i = 0; i < 5000; i++)
			sbuf_addf(&sb, "%s\"key%d\":%d", i ? "," : "", i, i);
		if (dup)
			sbuf_adds(&sb, ",\"key4321\":0");
		sbuf_addc(&sb, '}');
		assert_false(sbuf_failed(&sb));
		jscan_init(&s, sb.buf, sb.len, DEPTH, NULL);
		assert_int_equal(jscan_check(&s), dup ? GW_EBADREQ : 0);
		jscan_release(&s);
		same_verdict("5000 keys", sb.buf, sb.len);
	}
	sbuf_release(&sb);
}

/* Members one by one: decoded keys, their full length, the value spans,
 * the end of the object and of the input. */
static void test_members(void **state)
{
	static const char body[] =
		" { \"d\\u0061ta\" : [1, 2] , \"a-very-long-key-name\":\"x\" } ";
	struct gw_error e = {0};
	struct sbuf out = SBUF_INIT;
	struct jscan s;
	char key[8];
	size_t klen, start, end;

	(void)state;
	jscan_init(&s, body, strlen(body), DEPTH, &e);
	assert_int_equal(jscan_object_open(&s), 1);
	assert_int_equal(jscan_member(&s, key, sizeof(key), &klen), 1);
	assert_string_equal(key, "data");
	assert_int_equal(klen, 4);
	assert_int_equal(jscan_value(&s, &out, &start, &end), 0);
	assert_int_equal(out.len, 5);
	assert_memory_equal(out.buf, "[1,2]", 5);
	assert_memory_equal(body + start, "[1, 2]", end - start);
	assert_int_equal(jscan_member(&s, key, sizeof(key), &klen), 1);
	assert_string_equal(key, "a-very-");
	assert_int_equal(klen, 20);
	assert_int_equal(jscan_value(&s, NULL, NULL, NULL), 0);
	assert_int_equal(jscan_member(&s, key, sizeof(key), &klen), 0);
	jscan_release(&s);
	sbuf_release(&out);

	/* not an object: nothing consumed; garbage after the object */
	jscan_init(&s, "[1]", 3, DEPTH, &e);
	assert_int_equal(jscan_object_open(&s), 0);
	assert_int_equal(jscan_check(&s), 0);
	jscan_release(&s);
	jscan_init(&s, "{} x", 4, DEPTH, &e);
	assert_int_equal(jscan_object_open(&s), 1);
	assert_int_equal(jscan_member(&s, key, sizeof(key), &klen), GW_EBADREQ);
	assert_non_null(strstr(e.msg, "position 3"));
	/* the first error sticks */
	assert_int_equal(jscan_value(&s, NULL, NULL, NULL), GW_EBADREQ);
	jscan_release(&s);
	/* a repeated member is refused when the object closes */
	jscan_init(&s, "{\"a\":1,\"a\":2}", 13, DEPTH, &e);
	assert_int_equal(jscan_object_open(&s), 1);
	assert_int_equal(jscan_member(&s, key, sizeof(key), &klen), 1);
	assert_int_equal(jscan_value(&s, NULL, NULL, NULL), 0);
	assert_int_equal(jscan_member(&s, key, sizeof(key), &klen), 1);
	assert_int_equal(jscan_value(&s, NULL, NULL, NULL), 0);
	assert_int_equal(jscan_member(&s, key, sizeof(key), &klen), GW_EBADREQ);
	assert_non_null(strstr(e.msg, "duplicate"));
	jscan_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_members),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

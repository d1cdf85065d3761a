/*
 * test_resolution.c - the resolver protocol: the request body (both sides
 * as full documents), its signature (checked against an HMAC computed
 * independently), and a table of answers, each accepted or refused with
 * the fallback reason it must give.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "resolution.h"

static void side(struct doc *d, const char *actor, const char *data, bool del)
{
	json_error_t je;

	doc_init(d);
	snprintf(d->collection, sizeof(d->collection), "carts");
	snprintf(d->id, sizeof(d->id), "c1");
	snprintf(d->actor, sizeof(d->actor), "%s", actor);
	d->timestamp = 1764150000123;
	d->deleted = del;
	d->data = del ? json_null() : json_loads(data, JSON_DECODE_ANY, &je);
	assert_int_equal(vv_set(&d->version, actor, 2), 0);
}

static void test_request(void **state)
{
	struct doc s, in;
	struct sbuf sb = SBUF_INIT;
	json_t *j, *v;
	json_error_t je;

	(void)state;
	side(&s, "alice:phone", "{\"items\":[1]}", false);
	side(&in, "bob:web", NULL, true);
	resolution_request("00112233445566778899aabbccddeeff", "carts", "c1", &s, &in,
			   &sb);
	assert_false(sbuf_failed(&sb));
	j = json_loadb(sb.buf, sb.len, 0, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "request_id")),
			    "00112233445566778899aabbccddeeff");
	assert_string_equal(json_string_value(json_object_get(j, "collection")), "carts");
	assert_string_equal(json_string_value(json_object_get(j, "id")), "c1");
	assert_int_equal(json_object_size(j), 5);
	v = json_object_get(j, "stored");
	assert_int_equal(json_object_size(v), 5);
	assert_int_equal(json_integer_value(json_array_get(
				 json_object_get(json_object_get(v, "data"), "items"), 0)), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "version"),
							    "alice:phone")), 2);
	assert_string_equal(json_string_value(json_object_get(v, "actor")), "alice:phone");
	assert_int_equal(json_integer_value(json_object_get(v, "timestamp")), 1764150000123);
	assert_true(json_is_false(json_object_get(v, "deleted")));
	v = json_object_get(j, "incoming");
	assert_true(json_is_true(json_object_get(v, "deleted")));
	assert_true(json_is_null(json_object_get(v, "data")));
	/* compact: no raw newline anywhere (pub/sub framing relies on it) */
	assert_null(memchr(sb.buf, '\n', sb.len));
	json_decref(j);
	sbuf_release(&sb);
	doc_release(&s);
	doc_release(&in);
}

static void test_sign(void **state)
{
	static const char secret[] = "resolver-secret-0123456789abcdef-xyz";
	static const char body[] = "{\"a\":1}";
	static const char hex[] = "0123456789abcdef";
	char sig[RESOLUTION_SIG_LEN + 1], want[RESOLUTION_SIG_LEN + 1];
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t n = 0;

	(void)state;
	assert_int_equal(resolution_sign(secret, strlen(secret), 1764150000, body,
					 strlen(body), sig), 0);
	assert_int_equal(strlen(sig), RESOLUTION_SIG_LEN);
	assert_memory_equal(sig, "v1=", 3);
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret,
				  strlen(secret),
				  (const unsigned char *)"1764150000.{\"a\":1}", 18, mac,
				  sizeof(mac), &n));
	memcpy(want, "v1=", 3);
	for (size_t i = 0; i < 32; i++) {
		want[3 + 2 * i] = hex[mac[i] >> 4];
		want[4 + 2 * i] = hex[mac[i] & 15];
	}
	want[RESOLUTION_SIG_LEN] = '\0';
	assert_string_equal(sig, want);
	/* the timestamp is part of what is signed */
	assert_int_equal(resolution_sign(secret, strlen(secret), 1764150001, body,
					 strlen(body), want), 0);
	assert_string_not_equal(sig, want);
}

static const struct {
	const char *body;
	const char *reason; /* NULL: accepted */
	bool deleted;
	const char *data;   /* its compact serialization when accepted */
} answers[] = {
	{"{\"data\":{\"items\":[1,2]},\"deleted\":false}", NULL, false, "{\"items\":[1,2]}"},
	{"{\"data\":[1, 2 ,3]}", NULL, false, "[1,2,3]"},
	{" {\"deleted\":false,\"data\":null} ", NULL, false, "null"},
	{"{\"data\":\"x\"}", NULL, false, "\"x\""},
	{"{\"deleted\":true}", NULL, true, NULL},
	{"{\"deleted\":true,\"data\":null}", NULL, true, NULL},
	{"{\"deleted\":true,\"data\":1}", RESOLUTION_BAD_ANSWER, false, NULL},
	{"{\"deleted\":false}", RESOLUTION_BAD_ANSWER, false, NULL},
	{"{}", RESOLUTION_BAD_ANSWER, false, NULL},
	{"{\"data\":1,\"deleted\":false,\"x\":1}", RESOLUTION_BAD_ANSWER, false, NULL},
	{"{\"data\":1,\"deleted\":\"no\"}", RESOLUTION_BAD_ANSWER, false, NULL},
	{"{\"Data\":1}", RESOLUTION_BAD_ANSWER, false, NULL},
	{"[1]", RESOLUTION_BAD_ANSWER, false, NULL},
	{"null", RESOLUTION_BAD_ANSWER, false, NULL},
	{"", RESOLUTION_INVALID_JSON, false, NULL},
	{"{\"data\":1", RESOLUTION_INVALID_JSON, false, NULL},
	{"{\"data\":1}{}", RESOLUTION_INVALID_JSON, false, NULL},
	{"{\"data\":1,\"data\":2}", RESOLUTION_INVALID_JSON, false, NULL},
	{"<html>oops</html>", RESOLUTION_INVALID_JSON, false, NULL},
	{"{\"data\":\"0123456789012345678901234567890123456789\"}", RESOLUTION_TOO_LARGE, false, NULL},
	{"{\"data\":[[[[[[[[[[1]]]]]]]]]]}", RESOLUTION_INVALID_JSON, false, NULL},
};

static void test_answers(void **state)
{
	struct doc_limits lim = {32, 8};
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(answers); i++) {
		struct resolution_answer a;
		const char *reason = "unset";
		int rc = resolution_parse(answers[i].body, strlen(answers[i].body), &lim,
					  &a, &reason);

		if (answers[i].reason) {
			if (rc == 0 || strcmp(reason, answers[i].reason) != 0 || a.data ||
			    a.data_json) {
				print_error("answer %zu %s: rc %d reason %s\n", i,
					    answers[i].body, rc, rc ? reason : "-");
				bad++;
			}
		} else if (rc || a.deleted != answers[i].deleted ||
			   (answers[i].data ? !a.data_json ||
						      strcmp(a.data_json, answers[i].data) != 0
					    : a.data != NULL)) {
			print_error("answer %zu %s: rc %d (%s) json %s\n", i,
				    answers[i].body, rc, rc ? reason : "-",
				    a.data_json ? a.data_json : "(none)");
			bad++;
		}
		resolution_answer_release(&a);
	}
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_proto.c - the WebSocket protocol of DESIGN.md section 7 and section
 * 11: every client message type, errors (with the ref still echoed), refs
 * re-serialized, unknown fields ignored, since offsets; every server message
 * is strict JSON with exactly its fields; proto_change concatenation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "proto.h"

#define DEPTH 8

static int parse(const char *s, struct proto_msg *m, char **ref,
		 struct gw_error *e)
{
	memset(e, 0, sizeof(*e));
	return proto_parse(s, strlen(s), DEPTH, m, ref, e);
}

static void test_client_messages(void **state)
{
	struct proto_msg m;
	struct gw_error e;
	char *ref = NULL;

	(void)state;
	assert_int_equal(parse("{\"type\":\"subscribe\",\"collection\":\"todos\"}",
			       &m, &ref, &e), 0);
	assert_int_equal(m.type, PROTO_SUBSCRIBE);
	assert_string_equal(m.collection, "todos");
	assert_false(m.has_since);
	assert_null(m.ref);
	assert_null(m.token);
	assert_null(ref);
	proto_msg_release(&m);

	assert_int_equal(parse("{\"type\":\"subscribe\",\"collection\":\"notes.v2\","
			       "\"since\":\"k9x2:1000\",\"ref\":1}", &m, &ref, &e), 0);
	assert_true(m.has_since);
	assert_string_equal(m.since.epoch, "k9x2");
	assert_int_equal(m.since.seq, 1000);
	assert_string_equal(m.ref, "1");
	assert_string_equal(ref, "1");
	free(ref);
	proto_msg_release(&m);

	assert_int_equal(parse("{\"since\":null,\"collection\":\"c\","
			       "\"type\":\"subscribe\"}", &m, NULL, &e), 0);
	assert_false(m.has_since);
	proto_msg_release(&m);

	assert_int_equal(parse("{\"type\":\"unsubscribe\",\"collection\":\"todos\","
			       "\"ref\":\"u1\"}", &m, &ref, &e), 0);
	assert_int_equal(m.type, PROTO_UNSUBSCRIBE);
	assert_string_equal(m.collection, "todos");
	assert_string_equal(m.ref, "\"u1\"");
	free(ref);
	proto_msg_release(&m);

	assert_int_equal(parse("{\"type\":\"auth\",\"token\":\"a.b.c\"}", &m, &ref,
			       &e), 0);
	assert_int_equal(m.type, PROTO_AUTH);
	assert_string_equal(m.token, "a.b.c");
	assert_null(m.ref);
	proto_msg_release(&m);
	assert_null(m.token);

	assert_int_equal(parse("{\"type\":\"ping\"}", &m, &ref, &e), 0);
	assert_int_equal(m.type, PROTO_PING);
	assert_null(m.ref);
	proto_msg_release(&m);
}

static void test_unknown_fields_ignored(void **state)
{
	static const char *const ok[] = {
		"{\"type\":\"ping\",\"extra\":{\"x\":[1,2]},\"v\":2}",
		"{\"type\":\"subscribe\",\"collection\":\"c\",\"token\":5,\"id\":null}",
		"{\"future\":true,\"type\":\"unsubscribe\",\"collection\":\"c\","
		"\"since\":\"garbage\"}",
		"{\"type\":\"auth\",\"token\":\"t\",\"collection\":\"_bad\"}",
		"{\"type\":\"ping\",\"collection\":1,\"since\":[]}",
	};
	struct proto_msg m;
	struct gw_error e;

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(ok); i++) {
		if (parse(ok[i], &m, NULL, &e) != 0)
			fail_msg("row %zu: %s", i, e.msg);
		proto_msg_release(&m);
	}
}

static const struct {
	const char *s;
	const char *says;
	const char *ref; /* what ref_out must hold, or NULL */
} bad_rows[] = {
	{"", NULL, NULL},
	{"{", NULL, NULL},
	{"[]", "object", NULL},
	{"\"ping\"", "object", NULL},
	{"null", "object", NULL},
	{"{}", "type", NULL},
	{"{\"type\":5,\"ref\":2}", "type", "2"},
	{"{\"type\":null}", "type", NULL},
	{"{\"type\":\"nope\",\"ref\":7}", "unknown", "7"},
	{"{\"type\":\"Ping\"}", "unknown", NULL},
	{"{\"type\":\"change\"}", "unknown", NULL},
	{"{\"type\":\"welcome\"}", "unknown", NULL},
	{"{\"type\":\"ping\",\"type\":\"ping\"}", "duplicate", NULL},
	{"{\"type\":\"ping\",\"ref\":1,\"ref\":2}", "duplicate", NULL},
	{"{\"type\":\"ping\",\"ref\":[[[[[[[[1]]]]]]]]}", "deeper", NULL},
	{"{\"type\":\"ping\"} {}", NULL, NULL},
	{"{\"type\":\"subscribe\",\"ref\":\"r\"}", "collection", "\"r\""},
	{"{\"type\":\"subscribe\",\"collection\":\"\"}", "collection", NULL},
	{"{\"type\":\"subscribe\",\"collection\":\"_x\"}", "collection", NULL},
	{"{\"type\":\"subscribe\",\"collection\":\"a b\"}", "collection", NULL},
	{"{\"type\":\"subscribe\",\"collection\":\"a:b\"}", "collection", NULL},
	{"{\"type\":\"subscribe\",\"collection\":7}", "collection", NULL},
	{"{\"type\":\"subscribe\",\"collection\":\"c\",\"since\":\"k9x2\","
	 "\"ref\":{\"n\":1}}", "since", "{\"n\":1}"},
	{"{\"type\":\"subscribe\",\"collection\":\"c\",\"since\":\"\"}", "since",
	 NULL},
	{"{\"type\":\"subscribe\",\"collection\":\"c\",\"since\":\"e:01\"}", "since",
	 NULL},
	{"{\"type\":\"subscribe\",\"collection\":\"c\",\"since\":\"e:-1\"}", "since",
	 NULL},
	{"{\"type\":\"subscribe\",\"collection\":\"c\","
	 "\"since\":\"e:9007199254740992\"}", "since", NULL},
	{"{\"type\":\"subscribe\",\"collection\":\"c\",\"since\":5}", "since", NULL},
	{"{\"type\":\"subscribe\",\"collection\":\"c\",\"since\":{}}", "since",
	 NULL},
	{"{\"type\":\"unsubscribe\"}", "collection", NULL},
	{"{\"type\":\"unsubscribe\",\"collection\":null}", "collection", NULL},
	{"{\"type\":\"auth\"}", "token", NULL},
	{"{\"type\":\"auth\",\"token\":\"\"}", "token", NULL},
	{"{\"type\":\"auth\",\"token\":5,\"ref\":false}", "token", "false"},
	{"{\"type\":\"auth\",\"token\":\"a\\u0000b\"}", NULL, NULL},
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(bad_rows); i++) {
		struct proto_msg m;
		struct gw_error e;
		static char poison[] = "poison";
		char *ref = poison;
		int rc = parse(bad_rows[i].s, &m, &ref, &e);

		if (rc != GW_EBADREQ)
			fail_msg("row %zu %s: rc %d", i, bad_rows[i].s, rc);
		assert_int_equal(e.code, GW_EBADREQ);
		assert_true(e.msg[0] != '\0');
		if (bad_rows[i].says && !strstr(e.msg, bad_rows[i].says))
			fail_msg("row %zu: message \"%s\"", i, e.msg);
		if (bad_rows[i].ref == NULL ? ref != NULL :
		    ref == NULL || strcmp(ref, bad_rows[i].ref) != 0)
			fail_msg("row %zu: ref_out %s", i, ref ? ref : "(null)");
		assert_null(m.ref);
		assert_null(m.token);
		free(ref);
	}
}

static void test_token_length(void **state)
{
	size_t n = PROTO_TOKEN_MAX + 40;
	char *buf = malloc(n);
	struct proto_msg m;
	struct gw_error e;
	int len;

	(void)state;
	assert_non_null(buf);
	len = snprintf(buf, n, "{\"type\":\"auth\",\"token\":\"%0*d\"}",
		       PROTO_TOKEN_MAX, 0);
	assert_int_equal(proto_parse(buf, (size_t)len, DEPTH, &m, NULL, &e), 0);
	assert_int_equal(strlen(m.token), PROTO_TOKEN_MAX);
	proto_msg_release(&m);
	len = snprintf(buf, n, "{\"type\":\"auth\",\"token\":\"%0*d\"}",
		       PROTO_TOKEN_MAX + 1, 0);
	assert_int_equal(proto_parse(buf, (size_t)len, DEPTH, &m, NULL, &e),
			 GW_EBADREQ);
	assert_null(m.token);
	free(buf);
}

/* A ref is kept by its subscription: past PROTO_REF_MAX serialized bytes
 * it is refused, and not echoed. */
static void test_ref_limit(void **state)
{
	char msg[600], *ref = NULL;
	struct proto_msg m;
	struct gw_error e = {0};
	int n;

	(void)state;
	/* "r" * 254 plus its quotes: exactly the limit */
	n = snprintf(msg, sizeof(msg), "{\"type\":\"ping\",\"ref\":\"%0254d\"}", 0);
	assert_true(n > 0);
	assert_int_equal(parse(msg, &m, &ref, &e), 0);
	assert_int_equal(strlen(m.ref), PROTO_REF_MAX);
	proto_msg_release(&m);
	free(ref);
	ref = NULL;
	snprintf(msg, sizeof(msg), "{\"type\":\"ping\",\"ref\":\"%0255d\"}", 0);
	assert_int_equal(parse(msg, &m, &ref, &e), GW_EBADREQ);
	assert_null(ref);
	assert_non_null(strstr(e.msg, "ref"));
	proto_msg_release(&m);
}

static void test_ref_reserialized(void **state)
{
	static const struct {
		const char *in, *out;
	} rows[] = {
		{"1", "1"},
		{"-7", "-7"},
		{"1.5", "1.5"},
		{"1.0", "1.0"},
		{"\"abc\"", "\"abc\""},
		{"\"q\\\"\\u00e9\\n\"", "\"q\\\"\xc3\xa9\\n\""},
		{"null", "null"},
		{"true", "true"},
		{"[ 1 , \"x\" ]", "[1,\"x\"]"},
		{"{ \"b\" : 1 , \"a\" : [ ] }", "{\"b\":1,\"a\":[]}"},
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		char buf[256];
		struct proto_msg m;
		struct gw_error e;
		char *ref = NULL;

		snprintf(buf, sizeof(buf), "{\"type\":\"ping\",\"ref\":%s}",
			 rows[i].in);
		assert_int_equal(parse(buf, &m, &ref, &e), 0);
		if (strcmp(m.ref, rows[i].out) != 0)
			fail_msg("row %zu: ref %s, want %s", i, m.ref, rows[i].out);
		assert_string_equal(ref, rows[i].out);
		assert_ptr_not_equal(ref, m.ref); /* a copy of its own */
		free(ref);
		proto_msg_release(&m);
	}
}

/*
 * The error answer to a malformed but valid-UTF-8 message is itself valid
 * JSON (a WebSocket text frame with invalid UTF-8 fails the connection).
 */
static void test_error_answer_is_json(void **state)
{
	static const char *const bad[] = {
		"{\"type\":\"ping\",\"x\":\"\\\xc3\xa9\"}",
		"{\"type\":\"ping\",\"ref\":\"\\\xe2\x82\xac\"}",
		"{\"type\":\"ping\",\"x\":[\xc3\xa9]}",
		"{\"type\":\"subscribe\",\"collection\":\"caf\xc3\xa9\"}",
	};
	int broken = 0;

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(bad); i++) {
		struct proto_msg m;
		struct gw_error e, e2 = {0};
		char *ref = NULL;
		struct msg *out;
		json_t *j;

		assert_int_equal(parse(bad[i], &m, &ref, &e), GW_EBADREQ);
		out = proto_error(gw_err_code(GW_EBADREQ), e.msg, ref);
		assert_non_null(out);
		j = jsonx_parse((const char *)msg_payload(out), out->len, 8, &e2);
		if (!j) {
			print_error("row %zu: error answer is not JSON (%s)\n", i,
				    e2.msg);
			broken++;
		}
		json_decref(j);
		msg_unref(out);
		free(ref);
	}
	assert_int_equal(broken, 0);
}

/* The payload parsed strictly; checks the message's framing too. */
static json_t *payload_json(struct msg *m)
{
	struct gw_error e = {0};
	const char *p;
	json_t *j;

	assert_non_null(m);
	assert_int_equal(m->refs, 1);
	p = (const char *)msg_payload(m);
	assert_int_equal(strlen(p), m->len);
	j = jsonx_parse(p, m->len, 16, &e);
	if (!j)
		fail_msg("not JSON (%s): %s", e.msg, p);
	assert_true(json_is_object(j));
	return j;
}

static void expect_str(json_t *j, const char *key, const char *want)
{
	const char *v = json_string_value(json_object_get(j, key));

	if (!v || strcmp(v, want) != 0)
		fail_msg("%s: %s, want %s", key, v ? v : "(none)", want);
}

static void test_builders(void **state)
{
	json_t *j, *r;
	struct msg *m;

	(void)state;
	m = proto_welcome("node-1", "s\"1\n");
	j = payload_json(m);
	expect_str(j, "type", "welcome");
	expect_str(j, "node", "node-1");
	expect_str(j, "session", "s\"1\n");
	assert_true(json_is_integer(json_object_get(j, "protocol")));
	assert_int_equal(json_integer_value(json_object_get(j, "protocol")), 1);
	assert_int_equal(json_object_size(j), 4);
	json_decref(j);
	msg_unref(m);

	m = proto_subscribed("todos", "k9x2:1000", "{\"a\":[1]}");
	j = payload_json(m);
	expect_str(j, "type", "subscribed");
	expect_str(j, "collection", "todos");
	expect_str(j, "offset", "k9x2:1000");
	r = json_loads("{\"a\":[1]}", 0, NULL);
	assert_true(json_equal(json_object_get(j, "ref"), r));
	json_decref(r);
	assert_int_equal(json_object_size(j), 4);
	json_decref(j);
	msg_unref(m);

	m = proto_subscribed("todos", "k9x2:0", NULL);
	j = payload_json(m);
	assert_null(json_object_get(j, "ref"));
	assert_int_equal(json_object_size(j), 3);
	json_decref(j);
	msg_unref(m);

	m = proto_unsubscribed("notes.a", "\"x\"");
	j = payload_json(m);
	expect_str(j, "type", "unsubscribed");
	expect_str(j, "collection", "notes.a");
	expect_str(j, "ref", "x");
	assert_int_equal(json_object_size(j), 3);
	json_decref(j);
	msg_unref(m);
	m = proto_unsubscribed("c", NULL);
	j = payload_json(m);
	assert_int_equal(json_object_size(j), 2);
	json_decref(j);
	msg_unref(m);

	m = proto_reset("todos", "history_trimmed", "k9x2:5");
	j = payload_json(m);
	expect_str(j, "type", "reset");
	expect_str(j, "collection", "todos");
	expect_str(j, "reason", "history_trimmed");
	expect_str(j, "offset", "k9x2:5");
	assert_int_equal(json_object_size(j), 4);
	json_decref(j);
	msg_unref(m);

	m = proto_pong(NULL);
	assert_string_equal((char *)msg_payload(m), "{\"type\":\"pong\"}");
	msg_unref(m);
	m = proto_pong("7");
	j = payload_json(m);
	expect_str(j, "type", "pong");
	assert_int_equal(json_integer_value(json_object_get(j, "ref")), 7);
	json_decref(j);
	msg_unref(m);

	m = proto_error("forbidden", "not \"allowed\"\t\\ \x01", "null");
	j = payload_json(m);
	expect_str(j, "type", "error");
	expect_str(j, "code", "forbidden");
	expect_str(j, "message", "not \"allowed\"\t\\ \x01");
	assert_true(json_is_null(json_object_get(j, "ref")));
	assert_int_equal(json_object_size(j), 4);
	json_decref(j);
	msg_unref(m);
}

/* A parsed ref goes back out unchanged in the answer. */
static void test_ref_echo_round_trip(void **state)
{
	static const char in[] =
		"{\"type\":\"subscribe\",\"collection\":\"todos\","
		"\"ref\":{\"id\":42,\"tags\":[\"a\",null,1.25]}}";
	struct proto_msg pm;
	struct gw_error e;
	json_t *orig, *j;
	struct msg *m;

	(void)state;
	assert_int_equal(parse(in, &pm, NULL, &e), 0);
	orig = json_loads(in, 0, NULL);
	m = proto_subscribed(pm.collection, "e:1", pm.ref);
	j = payload_json(m);
	assert_true(json_equal(json_object_get(j, "ref"),
			       json_object_get(orig, "ref")));
	json_decref(j);
	msg_unref(m);
	m = proto_error("bad_request", "x", pm.ref);
	j = payload_json(m);
	assert_true(json_equal(json_object_get(j, "ref"),
			       json_object_get(orig, "ref")));
	json_decref(j);
	msg_unref(m);
	json_decref(orig);
	proto_msg_release(&pm);
}

static void test_change(void **state)
{
	static const char doc[] =
		"{\"collection\":\"todos\",\"id\":\"a1\",\"deleted\":false,"
		"\"version\":{\"alice:phone\":3},\"actor\":\"alice:phone\","
		"\"timestamp\":1764150000123,\"data\":{\"title\":\"milk\"},"
		"\"offset\":\"k9x2:1042\"}TRAILING";
	size_t len = strlen(doc) - strlen("TRAILING");
	struct msg *m = proto_change(doc, len);
	json_t *j, *d;

	(void)state;
	assert_non_null(m);
	assert_int_equal(m->len, len + strlen("\"type\":\"change\","));
	assert_memory_equal(msg_payload(m), "{\"type\":\"change\",", 17);
	assert_memory_equal(msg_payload(m) + 17, doc + 1, len - 1);
	j = payload_json(m);
	d = json_loadb(doc, len, 0, NULL);
	expect_str(j, "type", "change");
	assert_int_equal(json_object_size(j), json_object_size(d) + 1);
	json_object_del(j, "type");
	assert_true(json_equal(j, d));
	json_decref(j);
	json_decref(d);
	/* shared: the same bytes for every subscriber */
	msg_ref(m);
	assert_int_equal(m->refs, 2);
	msg_unref(m);
	msg_unref(m);
	assert_null(proto_change("", 0));
	assert_null(proto_change("{", 1));
	assert_null(proto_change("[1,2]", 5));
	assert_null(proto_change(" {}", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_messages),
		cmocka_unit_test(test_unknown_fields_ignored),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_error_answer_is_json),
		cmocka_unit_test(test_token_length),
		cmocka_unit_test(test_ref_limit),
		cmocka_unit_test(test_ref_reserialized),
		cmocka_unit_test(test_builders),
		cmocka_unit_test(test_ref_echo_round_trip),
		cmocka_unit_test(test_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

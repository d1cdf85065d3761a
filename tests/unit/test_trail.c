/*
 * test_trail.c - conflict trail entries: every field of the contract, the
 * fallback and resolver members only when they apply, compact JSON that
 * ends where the store appends the offset, and the prefix test the hub
 * uses to tell an entry from a document.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common.h"
#include "trail.h"

static void mkdoc(struct doc *d, const char *actor, int64_t n)
{
	doc_init(d);
	snprintf(d->actor, sizeof(d->actor), "%s", actor);
	d->timestamp = 5;
	d->data = json_integer(n);
	assert_int_equal(vv_set(&d->version, actor, n), 0);
}

static json_t *finish(struct sbuf *sb)
{
	json_error_t je;
	json_t *j;

	assert_false(sbuf_failed(sb));
	assert_true(sb->len > 10);
	assert_memory_equal(sb->buf + sb->len - 10, "\"offset\":\"", 10);
	assert_null(memchr(sb->buf, '\n', sb->len));
	assert_true(trail_is_entry(sb->buf, sb->len));
	sbuf_adds(sb, "ep:7\"}");
	j = json_loadb(sb->buf, sb->len, 0, &je);
	if (!j)
		fail_msg("entry is not JSON: %s (%s)", je.text, sb->buf);
	return j;
}

static void test_entries(void **state)
{
	struct doc s, in;
	struct trail_entry t;
	struct sbuf sb = SBUF_INIT;
	json_t *j;

	(void)state;
	mkdoc(&s, "a", 1);
	mkdoc(&in, "b", 2);
	memset(&t, 0, sizeof(t));
	t.collection = "carts";
	t.id = "c1";
	t.policy = POLICY_LWW;
	t.winner = "incoming";
	t.changed = true;
	t.stored = &s;
	t.incoming = &in;
	t.request_id = "r7";
	t.node = "gw-a";
	t.time_ms = 1764150000123;
	trail_entry_prefix(&t, &sb);
	j = finish(&sb);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "conflict");
	assert_string_equal(json_string_value(json_object_get(j, "collection")), "carts");
	assert_string_equal(json_string_value(json_object_get(j, "id")), "c1");
	assert_string_equal(json_string_value(json_object_get(j, "policy")), "lww");
	assert_string_equal(json_string_value(json_object_get(j, "winner")), "incoming");
	assert_true(json_is_true(json_object_get(j, "applied")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "stored"),
							    "data")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "incoming"),
							    "data")), 2);
	assert_string_equal(json_string_value(json_object_get(j, "request_id")), "r7");
	assert_string_equal(json_string_value(json_object_get(j, "node")), "gw-a");
	assert_int_equal(json_integer_value(json_object_get(j, "time")), 1764150000123);
	assert_string_equal(json_string_value(json_object_get(j, "offset")), "ep:7");
	assert_null(json_object_get(j, "fallback"));
	assert_null(json_object_get(j, "resolver"));
	json_decref(j);
	sbuf_release(&sb);

	/* a callback whose resolver failed: fallback, reason, its status */
	t.policy = POLICY_CALLBACK;
	t.fallback = POLICY_REJECT;
	t.reason = "http_status";
	t.winner = "stored";
	t.changed = false;
	t.asked = true;
	t.resolver_status = 500;
	t.resolver_ms = 12;
	trail_entry_prefix(&t, &sb);
	j = finish(&sb);
	assert_string_equal(json_string_value(json_object_get(j, "policy")), "callback");
	assert_string_equal(json_string_value(json_object_get(j, "fallback")), "reject");
	assert_string_equal(json_string_value(json_object_get(j, "reason")), "http_status");
	assert_true(json_is_false(json_object_get(j, "applied")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "resolver"),
							    "status")), 500);
	assert_true(json_is_null(json_object_get(json_object_get(j, "resolver"), "answer")));
	json_decref(j);
	sbuf_release(&sb);

	/* the resolver's answer is embedded as JSON */
	t.reason = NULL;
	t.winner = "resolver";
	t.changed = true;
	t.resolver_status = 200;
	t.answer = "{\"data\":[1,2],\"deleted\":false}";
	t.answer_len = strlen(t.answer);
	trail_entry_prefix(&t, &sb);
	j = finish(&sb);
	assert_int_equal(json_array_size(json_object_get(json_object_get(
				 json_object_get(j, "resolver"), "answer"), "data")), 2);
	json_decref(j);
	sbuf_release(&sb);
	doc_release(&s);
	doc_release(&in);

	assert_false(trail_is_entry("{\"collection\":\"x\"}", 18));
	assert_false(trail_is_entry("{\"type\":\"conflict\"}", 19));
	assert_false(trail_is_entry("", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_doc.c - write bodies (docs/decisions.md 2, DESIGN.md sections 3 and
 * 10), the stored form (decisions 1) and its round trip, the offset scanner
 * used on stored bytes, and "same state" of rule 3.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"

#define A16 "aaaaaaaaaaaaaaaa"
#define A128 A16 A16 A16 A16 A16 A16 A16 A16

static const struct doc_limits lim = {64, 6};

enum { PUTB, DELB };

static const struct {
	int method;
	const char *body;
	int rc;
	const char *says; /* a substring of err.msg on failure */
} write_rows[] = {
	{PUTB, "{\"data\":{\"title\":\"milk\"}}", 0, NULL},
	{PUTB, "{\"data\":null}", 0, NULL},
	{PUTB, "{\"data\":0}", 0, NULL},
	{PUTB, "{\"data\":\"s\",\"version\":{\"a\":1},\"actor\":\"a:b\","
	       "\"timestamp\":0}", 0, NULL},
	{PUTB, "{\"timestamp\":9007199254740991,\"data\":[]}", 0, NULL},
	{PUTB, "{\"data\":1,\"version\":{}}", 0, NULL},
	{PUTB, " {\"data\":1} \n", 0, NULL},
	{PUTB, "{\"data\":[[[[1]]]]}", 0, NULL},           /* depth 5 */
	{PUTB, "{\"data\":[[[[[1]]]]]}", 0, NULL},         /* depth 6 */
	{PUTB, "{\"data\":[[[[[[1]]]]]]}", GW_EBADREQ, "deeper"},
	{PUTB, "{\"data\":\"" A16 A16 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", 0,
	 NULL}, /* 64 bytes serialized */
	{PUTB, "{\"data\":\"" A16 A16 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
	 GW_ETOOBIG, "limit"},
	{PUTB, "{\"version\":{\"a\":1},\"data\":\"" A16 A16 A16 A16 "\"}",
	 GW_ETOOBIG, "data"},
	{DELB, "", 0, NULL},
	{DELB, "{}", 0, NULL},
	{DELB, "{\"version\":{\"a\":2},\"actor\":\"a\",\"timestamp\":5}", 0, NULL},
	/* unknown and server-owned fields name the field */
	{PUTB, "{\"data\":1,\"foo\":1}", GW_EBADREQ, "foo"},
	{PUTB, "{\"data\":1,\"offset\":\"e:1\"}", GW_EBADREQ, "offset"},
	{PUTB, "{\"data\":1,\"collection\":\"todos\"}", GW_EBADREQ, "collection"},
	{PUTB, "{\"data\":1,\"id\":\"a1\"}", GW_EBADREQ, "\"id\""},
	{PUTB, "{\"data\":1,\"deleted\":false}", GW_EBADREQ, "deleted"},
	{PUTB, "{\"data\":1,\"applied\":true}", GW_EBADREQ, "applied"},
	{PUTB, "{\"data\":1,\"conflict\":{}}", GW_EBADREQ, "conflict"},
	{PUTB, "{\"data\":1,\"Data\":1}", GW_EBADREQ, "Data"},
	{DELB, "{\"deleted\":true}", GW_EBADREQ, "deleted"},
	{DELB, "{\"data\":1}", GW_EBADREQ, "data"},
	{DELB, "{\"data\":null}", GW_EBADREQ, "data"},
	/* missing data, wrong shapes */
	{PUTB, "{}", GW_EBADREQ, "data"},
	{PUTB, "{\"version\":{\"a\":1}}", GW_EBADREQ, "data"},
	{PUTB, "", GW_EBADREQ, NULL},
	{PUTB, "[]", GW_EBADREQ, "object"},
	{PUTB, "\"data\"", GW_EBADREQ, "object"},
	{PUTB, "null", GW_EBADREQ, "object"},
	{DELB, "[]", GW_EBADREQ, "object"},
	{DELB, "null", GW_EBADREQ, "object"},
	{DELB, " ", GW_EBADREQ, NULL},
	{PUTB, "{\"data\":1", GW_EBADREQ, NULL},
	{PUTB, "{\"data\":1} x", GW_EBADREQ, NULL},
	{PUTB, "{\"data\":1}{}", GW_EBADREQ, NULL},
	{PUTB, "{\"data\":1,\"data\":2}", GW_EBADREQ, "duplicate"},
	{PUTB, "{\"data\":{\"k\":1,\"k\":2}}", GW_EBADREQ, "duplicate"},
	/* actor */
	{PUTB, "{\"data\":1,\"actor\":1}", GW_EBADREQ, "actor"},
	{PUTB, "{\"data\":1,\"actor\":null}", GW_EBADREQ, "actor"},
	{PUTB, "{\"data\":1,\"actor\":\"\"}", GW_EBADREQ, "actor"},
	{PUTB, "{\"data\":1,\"actor\":\"a b\"}", GW_EBADREQ, "actor"},
	{PUTB, "{\"data\":1,\"actor\":\"a~b\"}", GW_EBADREQ, "actor"},
	{PUTB, "{\"data\":1,\"actor\":[\"a\"]}", GW_EBADREQ, "actor"},
	{PUTB, "{\"data\":1,\"actor\":\"" A128 "a\"}", GW_EBADREQ, "actor"},
	{PUTB, "{\"data\":1,\"actor\":\"" A128 "\"}", 0, NULL},
	/* timestamp */
	{PUTB, "{\"data\":1,\"timestamp\":-1}", GW_EBADREQ, "timestamp"},
	{PUTB, "{\"data\":1,\"timestamp\":1.5}", GW_EBADREQ, "timestamp"},
	{PUTB, "{\"data\":1,\"timestamp\":1e3}", GW_EBADREQ, "timestamp"},
	{PUTB, "{\"data\":1,\"timestamp\":\"5\"}", GW_EBADREQ, "timestamp"},
	{PUTB, "{\"data\":1,\"timestamp\":9007199254740992}", GW_EBADREQ,
	 "timestamp"},
	{PUTB, "{\"data\":1,\"timestamp\":true}", GW_EBADREQ, "timestamp"},
	{PUTB, "{\"data\":1,\"timestamp\":null}", GW_EBADREQ, "timestamp"},
	/* version */
	{PUTB, "{\"data\":1,\"version\":[]}", GW_EBADREQ, "version"},
	{PUTB, "{\"data\":1,\"version\":null}", GW_EBADREQ, "version"},
	{PUTB, "{\"data\":1,\"version\":{\"a\":0}}", GW_EBADREQ, "version"},
	{PUTB, "{\"data\":1,\"version\":{\"a\":\"1\"}}", GW_EBADREQ, "version"},
	{PUTB, "{\"data\":1,\"version\":{\"a\":1.0}}", GW_EBADREQ, "version"},
	{PUTB, "{\"data\":1,\"version\":{\"a b\":1}}", GW_EBADREQ, "version"},
	{DELB, "{\"version\":{\"a\":-2}}", GW_EBADREQ, "version"},
	/* strings: NUL, bad escapes */
	{PUTB, "{\"data\":\"a\\u0000b\"}", GW_EBADREQ, NULL},
	{PUTB, "{\"data\":\"\\ud800\"}", GW_EBADREQ, NULL},
};

static void test_parse_write_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(write_rows); i++) {
		struct doc_write w;
		struct gw_error e = {0};
		const char *b = write_rows[i].body;
		int rc;

		rc = doc_parse_write(b, strlen(b), write_rows[i].method == DELB,
				     &lim, &w, &e);
		if (rc != write_rows[i].rc)
			fail_msg("row %zu %s: rc %d (%s), want %d", i, b, rc,
				 e.msg, write_rows[i].rc);
		if (rc) {
			assert_int_equal(e.code, rc);
			assert_true(e.msg[0] != '\0');
			if (write_rows[i].says &&
			    !strstr(e.msg, write_rows[i].says))
				fail_msg("row %zu %s: message \"%s\" lacks %s", i,
					 b, e.msg, write_rows[i].says);
			assert_null(w.data_json);
			assert_false(w.has_version || w.has_actor ||
				     w.has_timestamp);
		} else {
			assert_int_equal(w.data_json != NULL,
					 write_rows[i].method == PUTB);
		}
		doc_write_release(&w);
	}
}

static void test_parse_write_fields(void **state)
{
	static const char body[] =
		"{\"data\":{\"x\":[1,2.5,\"s\"]},\"version\":{\"b\":2,\"a\":1},"
		"\"actor\":\"alice:phone\",\"timestamp\":1764150000123}";
	struct doc_write w;
	struct gw_error e = {0};

	(void)state;
	assert_int_equal(doc_parse_write(body, strlen(body), false, &lim, &w, &e),
			 0);
	assert_int_equal(w.data_json_len, strlen("{\"x\":[1,2.5,\"s\"]}"));
	assert_memory_equal(w.data_json, "{\"x\":[1,2.5,\"s\"]}", w.data_json_len);
	assert_true(w.has_version);
	assert_int_equal(w.version.n, 2);
	assert_int_equal(vv_get(&w.version, "a"), 1);
	assert_int_equal(vv_get(&w.version, "b"), 2);
	assert_true(w.has_actor);
	assert_string_equal(w.actor, "alice:phone");
	assert_true(w.has_timestamp);
	assert_int_equal(w.timestamp, 1764150000123LL);
	doc_write_release(&w);
	assert_null(w.data_json);
	/* an empty DELETE body: unconditional, nothing set */
	assert_int_equal(doc_parse_write("", 0, true, &lim, &w, &e), 0);
	assert_false(w.has_version || w.has_actor || w.has_timestamp);
	assert_null(w.data_json);
	doc_write_release(&w);
}

/* data is kept as it was spelled, only insignificant whitespace dropped
 * (whitespace inside strings stays). */
static void test_data_kept_as_spelled(void **state)
{
	static const char body[] =
		"{ \"data\" :\t{ \"a b\" : \"x \\u00e9\\n\" ,\r\n\"n\" : [ 1.50 , -0 ,"
		" 1E2 , true , null ] } }";
	static const char want[] = "{\"a b\":\"x \\u00e9\\n\",\"n\":[1.50,-0,1E2,true,null]}";
	struct doc_write w;
	struct gw_error e = {0};

	(void)state;
	assert_int_equal(doc_parse_write(body, strlen(body), false, &lim, &w, &e),
			 0);
	assert_int_equal(w.data_json_len, strlen(want));
	assert_memory_equal(w.data_json, want, w.data_json_len);
	doc_write_release(&w);
}

/* The limit applies to the compact serialization, not the raw bytes. */
static void test_data_limit_is_serialized(void **state)
{
	static const char body[] = "{\"data\" : [ 1 , 2 , 3 ] }";
	struct doc_limits l = {7, 8};
	struct doc_write w;
	struct gw_error e = {0};

	(void)state;
	assert_int_equal(doc_parse_write(body, strlen(body), false, &l, &w, &e),
			 0);
	doc_write_release(&w);
	l.data_max = 6;
	assert_int_equal(doc_parse_write(body, strlen(body), false, &l, &w, &e),
			 GW_ETOOBIG);
	assert_int_equal(e.code, GW_ETOOBIG);
	doc_write_release(&w);
}

static void make_doc(struct doc *d, const char *data_json)
{
	doc_init(d);
	snprintf(d->collection, sizeof(d->collection), "todos");
	snprintf(d->id, sizeof(d->id), "a1");
	assert_int_equal(vv_set(&d->version, "bob:web", 1), 0);
	assert_int_equal(vv_set(&d->version, "alice:phone", 3), 0);
	snprintf(d->actor, sizeof(d->actor), "alice:phone");
	d->timestamp = 1764150000123LL;
	d->data = json_loads(data_json, JSON_DECODE_ANY, NULL);
	assert_non_null(d->data);
	snprintf(d->offset, sizeof(d->offset), "k9x2:1042");
}

static char *serialize(const struct doc *d, bool with_offset)
{
	struct sbuf sb = SBUF_INIT;

	doc_serialize(d, with_offset, &sb);
	assert_false(sbuf_failed(&sb));
	return sbuf_detach(&sb, NULL);
}

static void test_serialize_order(void **state)
{
	struct doc d;
	char *s;

	(void)state;
	make_doc(&d, "{\"title\":\"milk\",\"n\":0.1}");
	s = serialize(&d, true);
	assert_string_equal(s,
		"{\"collection\":\"todos\",\"id\":\"a1\",\"deleted\":false,"
		"\"version\":{\"alice:phone\":3,\"bob:web\":1},"
		"\"actor\":\"alice:phone\",\"timestamp\":1764150000123,"
		"\"data\":{\"title\":\"milk\",\"n\":0.1},\"offset\":\"k9x2:1042\"}");
	free(s);
	s = serialize(&d, false);
	assert_string_equal(s,
		"{\"collection\":\"todos\",\"id\":\"a1\",\"deleted\":false,"
		"\"version\":{\"alice:phone\":3,\"bob:web\":1},"
		"\"actor\":\"alice:phone\",\"timestamp\":1764150000123,"
		"\"data\":{\"title\":\"milk\",\"n\":0.1},\"offset\":\"");
	free(s);
	/* a tombstone's data is null whatever the struct holds */
	d.deleted = true;
	s = serialize(&d, true);
	assert_non_null(strstr(s, "\"deleted\":true,"));
	assert_non_null(strstr(s, ",\"data\":null,\"offset\":\"k9x2:1042\"}"));
	free(s);
	doc_release(&d);
}

static void test_round_trip(void **state)
{
	static const char *const datas[] = {
		"{\"title\":\"milk\"}",
		"null",
		"[1,-2,3.5,1e300,0.1,true,false,null]",
		"\"quote\\\" back\\\\ nl\\n tab\\t ctl\\u0001 \\u00e9 \\ud83d\\ude00\"",
		"{\"nested\":{\"a\":[{\"b\":{}}],\"offset\":\"x:1\"}}",
		"9007199254740991",
		"-0.0",
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(datas); i++) {
		struct doc d, back;
		struct gw_error e = {0};
		struct offset off;
		char *s, *s2;

		make_doc(&d, datas[i]);
		s = serialize(&d, true);
		if (doc_parse_stored(s, strlen(s), &back, &e) != 0)
			fail_msg("row %zu: %s: %s", i, s, e.msg);
		assert_string_equal(back.collection, d.collection);
		assert_string_equal(back.id, d.id);
		assert_int_equal(back.deleted, d.deleted);
		assert_int_equal(vv_compare(&back.version, &d.version), VV_EQUAL);
		assert_string_equal(back.actor, d.actor);
		assert_int_equal(back.timestamp, d.timestamp);
		assert_true(json_equal(back.data, d.data));
		assert_int_equal(json_typeof(back.data), json_typeof(d.data));
		assert_string_equal(back.offset, d.offset);
		s2 = serialize(&back, true);
		assert_string_equal(s, s2);
		assert_int_equal(doc_stored_offset(s, strlen(s), &off), 0);
		assert_string_equal(off.epoch, "k9x2");
		assert_int_equal(off.seq, 1042);
		free(s);
		free(s2);
		doc_release(&d);
		doc_release(&back);
	}
}

static void test_parse_stored_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{",
		"{\"collection\":\"todos\"}",
		/* each starts from a good document with one thing wrong */
		"{\"collection\":\"_t\",\"id\":\"a\",\"deleted\":false,\"version\":{},"
		"\"actor\":\"a\",\"timestamp\":1,\"data\":1,\"offset\":\"e:1\"}",
		"{\"collection\":\"t\",\"id\":\"a/b\",\"deleted\":false,\"version\":{},"
		"\"actor\":\"a\",\"timestamp\":1,\"data\":1,\"offset\":\"e:1\"}",
		"{\"collection\":\"t\",\"id\":\"a\",\"deleted\":0,\"version\":{},"
		"\"actor\":\"a\",\"timestamp\":1,\"data\":1,\"offset\":\"e:1\"}",
		"{\"collection\":\"t\",\"id\":\"a\",\"deleted\":false,\"version\":{\"a\":0},"
		"\"actor\":\"a\",\"timestamp\":1,\"data\":1,\"offset\":\"e:1\"}",
		"{\"collection\":\"t\",\"id\":\"a\",\"deleted\":false,\"version\":{},"
		"\"actor\":\"a b\",\"timestamp\":1,\"data\":1,\"offset\":\"e:1\"}",
		"{\"collection\":\"t\",\"id\":\"a\",\"deleted\":false,\"version\":{},"
		"\"actor\":\"a\",\"timestamp\":-1,\"data\":1,\"offset\":\"e:1\"}",
		"{\"collection\":\"t\",\"id\":\"a\",\"deleted\":false,\"version\":{},"
		"\"actor\":\"a\",\"timestamp\":1.0,\"data\":1,\"offset\":\"e:1\"}",
		"{\"collection\":\"t\",\"id\":\"a\",\"deleted\":false,\"version\":{},"
		"\"actor\":\"a\",\"timestamp\":1,\"offset\":\"e:1\"}",
		"{\"collection\":\"t\",\"id\":\"a\",\"deleted\":false,\"version\":{},"
		"\"actor\":\"a\",\"timestamp\":1,\"data\":1}",
		"{\"collection\":\"t\",\"id\":\"a\",\"deleted\":false,\"version\":{},"
		"\"actor\":\"a\",\"timestamp\":1,\"data\":1,\"offset\":5}",
		"{\"collection\":\"t\",\"id\":\"a\",\"deleted\":false,\"version\":{},"
		"\"actor\":\"a\",\"timestamp\":1,\"data\":1,\"offset\":\"e:1\","
		"\"offset\":\"e:2\"}",
	};
	static const char good[] =
		"{\"collection\":\"t\",\"id\":\"a\",\"deleted\":false,\"version\":{},"
		"\"actor\":\"a\",\"timestamp\":1,\"data\":1,\"offset\":\"e:1\"}";
	struct doc d;
	struct gw_error e = {0};

	(void)state;
	assert_int_equal(doc_parse_stored(good, strlen(good), &d, &e), 0);
	doc_release(&d);
	for (size_t i = 0; i < GW_ARRAY_LEN(bad); i++) {
		memset(&e, 0, sizeof(e));
		if (doc_parse_stored(bad[i], strlen(bad[i]), &d, &e) !=
		    GW_EINTERNAL)
			fail_msg("row %zu accepted: %s", i, bad[i]);
		assert_int_equal(e.code, GW_EINTERNAL);
		assert_null(d.data);
		assert_int_equal(d.version.n, 0);
	}
}

static void test_stored_offset(void **state)
{
	static const char *const tampered[] = {
		"{\"offset\":\"e:1\"",
		"{\"offset\":\"e:1\" }",
		"{\"offset\": \"e:1\"}",
		"{\"offset\":\"e:01\"}",
		"{\"offset\":\"e:-1\"}",
		"{\"offset\":\"e:\"}",
		"{\"offset\":\":1\"}",
		"{\"offset\":\"e1\"}",
		"{\"offset\":\"e-x:1\"}",
		"{\"offset\":\"e:9007199254740992\"}",
		"{\"offset\":\"e:1 \"}",
		"{\"Offset\":\"e:1\"}",
		"{\"data\":\"e:1\"}",
		"\"e:1\"}",
		"",
		"}",
	};
	struct doc d;
	struct offset off;
	char *s;

	(void)state;
	make_doc(&d, "{\"s\":\"x\\\"}\"}");
	s = serialize(&d, true);
	assert_int_equal(doc_stored_offset(s, strlen(s), &off), 0);
	assert_string_equal(off.epoch, "k9x2");
	assert_int_equal(off.seq, 1042);
	/* every truncation fails */
	for (size_t n = 0; n < strlen(s); n++)
		if (doc_stored_offset(s, n, &off) == 0)
			fail_msg("truncated at %zu accepted: %.*s", n, (int)n, s);
	free(s);
	/* a document written without its offset is not one either */
	s = serialize(&d, false);
	assert_int_equal(doc_stored_offset(s, strlen(s), &off), GW_EINTERNAL);
	free(s);
	for (size_t i = 0; i < GW_ARRAY_LEN(tampered); i++)
		if (doc_stored_offset(tampered[i], strlen(tampered[i]), &off) !=
		    GW_EINTERNAL)
			fail_msg("tampered row %zu accepted: %s", i, tampered[i]);
	assert_int_equal(doc_stored_offset("{\"offset\":\"E9z:0\"}", 18, &off),
			 0);
	assert_string_equal(off.epoch, "E9z");
	assert_int_equal(off.seq, 0);
	doc_release(&d);
}

static void test_same_state(void **state)
{
	static const struct {
		const char *stored; /* NULL: a tombstone */
		const char *data;   /* NULL: a delete */
		bool want;
	} rows[] = {
		{"{\"a\":1,\"b\":[1,2]}", "{\"b\":[1,2],\"a\":1}", true},
		{"{\"a\":1}", "{\"a\":2}", false},
		{"[1,2]", "[2,1]", false},
		{"{\"a\":\"\xc3\xa9\"}", "{\"a\":\"\\u00e9\"}", true},
		{"[1.5]", "[15e-1]", true},
		{"\"x\"", "\"x\"", true},
		{"null", "null", true},
		{"null", "{}", false},
		{"{}", "[]", false},
		{"1", "1.0", false},
		{NULL, NULL, true},
		{"1", NULL, false},
		{NULL, "null", false},
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		struct doc d;
		const char *data = rows[i].data;

		doc_init(&d);
		d.deleted = rows[i].stored == NULL;
		d.data = rows[i].stored ?
			json_loads(rows[i].stored, JSON_DECODE_ANY, NULL) :
			json_null();
		if (doc_same_state(&d, data, data ? strlen(data) : 0,
				   data == NULL) != rows[i].want)
			fail_msg("row %zu", i);
		doc_release(&d);
	}
}

static void test_copy(void **state)
{
	struct doc a, b;

	(void)state;
	make_doc(&a, "{\"k\":1}");
	doc_init(&b);
	assert_int_equal(doc_copy(&b, &a), 0);
	assert_string_equal(b.collection, "todos");
	assert_string_equal(b.offset, "k9x2:1042");
	assert_ptr_equal(b.data, a.data); /* shared reference */
	assert_int_equal(a.data->refcount, 2);
	assert_int_equal(vv_set(&b.version, "alice:phone", 9), 0);
	assert_int_equal(vv_get(&a.version, "alice:phone"), 3);
	doc_release(&b);
	assert_int_equal(a.data->refcount, 1);
	doc_release(&a);
	assert_null(a.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_write_table),
		cmocka_unit_test(test_parse_write_fields),
		cmocka_unit_test(test_data_kept_as_spelled),
		cmocka_unit_test(test_data_limit_is_serialized),
		cmocka_unit_test(test_serialize_order),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_parse_stored_rejects),
		cmocka_unit_test(test_stored_offset),
		cmocka_unit_test(test_same_state),
		cmocka_unit_test(test_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

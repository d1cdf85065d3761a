/*
 * test_vv.c - version vectors (DESIGN.md section 4): the comparison table,
 * merge laws, set/get/increment bounds, strict JSON input (section 10),
 * the rule-1 check, canonical dumps and ETags.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vv.h"

#define A16 "aaaaaaaaaaaaaaaa"
#define A128 A16 A16 A16 A16 A16 A16 A16 A16

/* A vector from JSON text; the test fails if the text is not accepted. */
static void vv_of(struct vv *v, const char *json)
{
	json_error_t je;
	json_t *j = json_loads(json, 0, &je);
	struct gw_error e = {0};

	if (!j)
		fail_msg("bad test JSON %s", json);
	vv_init(v);
	if (vv_from_json(j, v, &e) != 0)
		fail_msg("vv_from_json(%s): %s", json, e.msg);
	json_decref(j);
}

static char *dump(const struct vv *v)
{
	struct sbuf sb = SBUF_INIT;

	vv_dump(v, &sb);
	assert_false(sbuf_failed(&sb));
	return sbuf_detach(&sb, NULL);
}

static void assert_vv_is(const struct vv *v, const char *want)
{
	char *s = dump(v);

	assert_string_equal(s, want);
	free(s);
}

static enum vv_order inverse(enum vv_order o)
{
	return o == VV_DOMINATES ? VV_DOMINATED :
	       o == VV_DOMINATED ? VV_DOMINATES : o;
}

static const struct {
	const char *a, *b;
	enum vv_order want;
} cmp_rows[] = {
	{"{}", "{}", VV_EQUAL},
	{"{\"a\":1}", "{\"a\":1}", VV_EQUAL},
	{"{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1}", VV_EQUAL},
	{"{\"a\":1}", "{}", VV_DOMINATES},
	{"{}", "{\"a\":1}", VV_DOMINATED},
	{"{\"a\":2}", "{\"a\":1}", VV_DOMINATES},
	{"{\"a\":1}", "{\"a\":2}", VV_DOMINATED},
	{"{\"a\":1,\"b\":1}", "{\"a\":1}", VV_DOMINATES},
	{"{\"a\":1}", "{\"a\":1,\"b\":1}", VV_DOMINATED},
	{"{\"a\":2,\"b\":1}", "{\"a\":1,\"b\":1}", VV_DOMINATES},
	{"{\"a\":3,\"b\":5,\"c\":1}", "{\"b\":5}", VV_DOMINATES},
	{"{\"a\":2}", "{\"b\":1}", VV_CONCURRENT},
	{"{\"a\":2,\"b\":1}", "{\"a\":1,\"b\":2}", VV_CONCURRENT},
	{"{\"a\":1}", "{\"b\":1}", VV_CONCURRENT},
	{"{\"a\":1,\"c\":1}", "{\"b\":1}", VV_CONCURRENT},
	{"{\"b\":1}", "{\"a\":1,\"c\":1}", VV_CONCURRENT},
	{"{\"a\":1,\"z\":1}", "{\"a\":2}", VV_CONCURRENT},
	{"{\"z\":9007199254740991}", "{\"z\":9007199254740990}",
	 VV_DOMINATES},
	{"{\"alice:phone\":3,\"bob:web\":1}", "{\"alice:phone\":3}",
	 VV_DOMINATES},
	{"{\"alice:phone\":4}", "{\"alice:phone\":3,\"bob:web\":1}",
	 VV_CONCURRENT},
};

static void test_compare_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(cmp_rows); i++) {
		struct vv a, b;

		vv_of(&a, cmp_rows[i].a);
		vv_of(&b, cmp_rows[i].b);
		if (vv_compare(&a, &b) != cmp_rows[i].want)
			fail_msg("row %zu: compare(%s, %s) = %d, want %d", i,
				 cmp_rows[i].a, cmp_rows[i].b,
				 vv_compare(&a, &b), cmp_rows[i].want);
		if (vv_compare(&b, &a) != inverse(cmp_rows[i].want))
			fail_msg("row %zu: not antisymmetric", i);
		assert_int_equal(vv_compare(&a, &a), VV_EQUAL);
		vv_release(&a);
		vv_release(&b);
	}
}

static const struct {
	const char *a, *b, *merged;
} merge_rows[] = {
	{"{}", "{}", "{}"},
	{"{\"a\":1}", "{}", "{\"a\":1}"},
	{"{\"a\":1}", "{\"a\":3}", "{\"a\":3}"},
	{"{\"a\":2,\"b\":1}", "{\"a\":1,\"b\":2}", "{\"a\":2,\"b\":2}"},
	{"{\"c\":1,\"a\":5}", "{\"b\":7}", "{\"a\":5,\"b\":7,\"c\":1}"},
	{"{\"x\":9007199254740991}", "{\"x\":1,\"y\":1}",
	 "{\"x\":9007199254740991,\"y\":1}"},
};

static void test_merge(void **state)
{
	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(merge_rows); i++) {
		struct vv a, b, ab = VV_INIT, ba = VV_INIT, aa = VV_INIT;

		vv_of(&a, merge_rows[i].a);
		vv_of(&b, merge_rows[i].b);
		assert_int_equal(vv_merge(&a, &b, &ab), 0);
		assert_int_equal(vv_merge(&b, &a, &ba), 0);
		assert_int_equal(vv_merge(&a, &a, &aa), 0);
		assert_vv_is(&ab, merge_rows[i].merged);
		assert_int_equal(vv_compare(&ab, &ba), VV_EQUAL); /* commutes */
		assert_int_equal(vv_compare(&aa, &a), VV_EQUAL);  /* idempotent */
		/* the merge dominates or equals both inputs */
		assert_true(vv_compare(&ab, &a) == VV_EQUAL ||
			    vv_compare(&ab, &a) == VV_DOMINATES);
		assert_true(vv_compare(&ab, &b) == VV_EQUAL ||
			    vv_compare(&ab, &b) == VV_DOMINATES);
		/* merging into a used output replaces it */
		assert_int_equal(vv_merge(&b, &b, &ab), 0);
		assert_int_equal(vv_compare(&ab, &b), VV_EQUAL);
		vv_release(&a);
		vv_release(&b);
		vv_release(&ab);
		vv_release(&ba);
		vv_release(&aa);
	}
}

static void test_merge_too_many(void **state)
{
	struct vv a = VV_INIT, b = VV_INIT, out = VV_INIT;
	char name[16];

	(void)state;
	for (int i = 0; i < VV_MAX_ENTRIES; i++) {
		snprintf(name, sizeof(name), "a%04d", i);
		assert_int_equal(vv_set(&a, name, 1), 0);
	}
	assert_int_equal(vv_set(&b, "b", 1), 0);
	assert_int_equal(vv_merge(&a, &b, &out), GW_EBADREQ);
	assert_int_equal(out.n, 0);
	assert_int_equal(vv_merge(&a, &a, &out), 0);
	assert_int_equal(out.n, VV_MAX_ENTRIES);
	vv_release(&a);
	vv_release(&b);
	vv_release(&out);
}

static void test_set_get_increment(void **state)
{
	struct vv v = VV_INIT;

	(void)state;
	assert_int_equal(vv_get(&v, "a"), 0);
	assert_int_equal(vv_set(&v, "m", 2), 0);
	assert_int_equal(vv_set(&v, "z", 1), 0);
	assert_int_equal(vv_set(&v, "a", 7), 0);
	assert_vv_is(&v, "{\"a\":7,\"m\":2,\"z\":1}");
	assert_int_equal(vv_get(&v, "m"), 2);
	assert_int_equal(vv_get(&v, "b"), 0);
	/* zero removes; removing an absent actor is a no-op */
	assert_int_equal(vv_set(&v, "m", 0), 0);
	assert_int_equal(vv_set(&v, "q", 0), 0);
	assert_int_equal(v.n, 2);
	assert_vv_is(&v, "{\"a\":7,\"z\":1}");
	/* bounds */
	assert_int_equal(vv_set(&v, "a", -1), GW_EBADREQ);
	assert_int_equal(vv_set(&v, "a", GW_MAX_SAFE_INT + 1), GW_EBADREQ);
	assert_int_equal(vv_set(&v, "a", INT64_MIN), GW_EBADREQ);
	assert_int_equal(vv_get(&v, "a"), 7);
	assert_int_equal(vv_set(&v, "a", GW_MAX_SAFE_INT), 0);
	assert_int_equal(vv_get(&v, "a"), GW_MAX_SAFE_INT);
	/* bad actor names */
	assert_int_equal(vv_set(&v, "", 1), GW_EBADREQ);
	assert_int_equal(vv_set(&v, "a b", 1), GW_EBADREQ);
	assert_int_equal(vv_set(&v, "a*", 1), GW_EBADREQ);
	assert_int_equal(vv_set(&v, "a~b", 1), GW_EBADREQ);
	assert_int_equal(vv_set(&v, A128 "a", 1), GW_EBADREQ);
	assert_int_equal(vv_set(&v, A128, 1), 0);
	assert_int_equal(vv_get(&v, A128), 1);
	assert_int_equal(v.n, 3);
	/* increment: absent -> 1, then up to 2^53-1 and no further */
	assert_int_equal(vv_increment(&v, "new"), 0);
	assert_int_equal(vv_get(&v, "new"), 1);
	assert_int_equal(vv_increment(&v, "new"), 0);
	assert_int_equal(vv_get(&v, "new"), 2);
	assert_int_equal(vv_set(&v, "z", GW_MAX_SAFE_INT - 1), 0);
	assert_int_equal(vv_increment(&v, "z"), 0);
	assert_int_equal(vv_get(&v, "z"), GW_MAX_SAFE_INT);
	assert_int_equal(vv_increment(&v, "z"), GW_EBADREQ);
	assert_int_equal(vv_get(&v, "z"), GW_MAX_SAFE_INT);
	assert_int_equal(vv_increment(&v, "bad actor"), GW_EBADREQ);
	vv_release(&v);
	assert_null(v.e);
	assert_int_equal(v.n, 0);
}

static void test_entry_cap_and_order(void **state)
{
	struct vv v = VV_INIT, c = VV_INIT;
	char name[16];

	(void)state;
	/* insert in a scrambled order; entries stay sorted */
	for (int i = 0; i < VV_MAX_ENTRIES; i++) {
		snprintf(name, sizeof(name), "n%04d", (i * 389) % VV_MAX_ENTRIES);
		assert_int_equal(vv_set(&v, name, i + 1), 0);
	}
	assert_int_equal(v.n, VV_MAX_ENTRIES);
	for (size_t i = 1; i < v.n; i++)
		assert_true(strcmp(v.e[i - 1].actor, v.e[i].actor) < 0);
	assert_int_equal(vv_set(&v, "extra", 1), GW_EBADREQ);
	assert_int_equal(vv_increment(&v, "extra"), GW_EBADREQ);
	assert_int_equal(vv_get(&v, "extra"), 0);
	assert_int_equal(vv_set(&v, "n0000", 5), 0);  /* update still works */
	assert_int_equal(vv_increment(&v, "n0001"), 0);
	assert_int_equal(vv_set(&v, "extra", 0), 0);  /* no-op */
	/* a deep copy is independent */
	assert_int_equal(vv_copy(&c, &v), 0);
	assert_int_equal(vv_compare(&c, &v), VV_EQUAL);
	assert_int_equal(vv_set(&c, "n0000", 0), 0);
	assert_int_equal(vv_get(&v, "n0000"), 5);
	assert_int_equal(vv_set(&c, "extra", 1), 0);  /* room again */
	assert_int_equal(vv_compare(&c, &v), VV_CONCURRENT);
	vv_release(&v);
	vv_release(&c);
}

static const struct {
	const char *json;
	bool ok;
} from_rows[] = {
	{"{}", true},
	{"{\"a\":1}", true},
	{"{\"alice:phone\":3,\"bob:web\":1}", true},
	{"{\"u@x.io\":1,\"a-b_c.d\":2}", true},
	{"{\"a\":9007199254740991}", true},
	{"{\"" A128 "\":1}", true},
	{"[]", false},
	{"[[\"a\",1]]", false},
	{"1", false},
	{"\"a\"", false},
	{"null", false},
	{"true", false},
	{"{\"\":1}", false},
	{"{\"a b\":1}", false},
	{"{\"a/b\":1}", false},
	{"{\"a~b\":1}", false},
	{"{\"a*\":1}", false},
	{"{\"caf\\u00e9\":1}", false},
	{"{\"" A128 "a\":1}", false},
	{"{\"a\":0}", false},
	{"{\"a\":-1}", false},
	{"{\"a\":1.5}", false},
	{"{\"a\":1.0}", false},
	{"{\"a\":1e0}", false},
	{"{\"a\":\"3\"}", false},
	{"{\"a\":9007199254740992}", false},
	{"{\"a\":9223372036854775807}", false},
	{"{\"a\":null}", false},
	{"{\"a\":true}", false},
	{"{\"a\":{}}", false},
	{"{\"a\":[1]}", false},
	{"{\"a\":1,\"b\":0}", false},
};

static void test_from_json_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(from_rows); i++) {
		json_t *j = json_loads(from_rows[i].json, JSON_DECODE_ANY, NULL);
		struct vv v = VV_INIT;
		struct gw_error e = {0};
		int rc;

		assert_non_null(j);
		assert_int_equal(vv_set(&v, "stale", 4), 0); /* replaced */
		rc = vv_from_json(j, &v, &e);
		if ((rc == 0) != from_rows[i].ok)
			fail_msg("row %zu %s: rc %d", i, from_rows[i].json, rc);
		if (rc) {
			assert_int_equal(rc, GW_EBADREQ);
			assert_int_equal(e.code, GW_EBADREQ);
			assert_true(e.msg[0] != '\0');
			assert_int_equal(v.n, 0);
		} else {
			assert_int_equal(v.n, json_object_size(j));
			assert_int_equal(vv_get(&v, "stale"), 0);
		}
		vv_release(&v);
		json_decref(j);
	}
}

static void test_from_json_entry_limit(void **state)
{
	json_t *obj = json_object();
	struct vv v = VV_INIT;
	struct gw_error e = {0};
	char name[16];

	(void)state;
	for (int i = 0; i < VV_MAX_ENTRIES; i++) {
		snprintf(name, sizeof(name), "w%d", i);
		json_object_set_new(obj, name, json_integer(i + 1));
	}
	assert_int_equal(vv_from_json(obj, &v, &e), 0);
	assert_int_equal(v.n, VV_MAX_ENTRIES);
	assert_int_equal(vv_get(&v, "w1023"), 1024);
	json_object_set_new(obj, "one_more", json_integer(1));
	assert_int_equal(vv_from_json(obj, &v, &e), GW_EBADREQ);
	assert_int_equal(v.n, 0);
	assert_non_null(strstr(e.msg, "1024"));
	vv_release(&v);
	json_decref(obj);
}

static const struct {
	const char *w, *s, *writer;
	bool want;
} exceed_rows[] = {
	{"{}", "{}", "a", false},
	{"{\"a\":5}", "{}", "a", false},
	{"{\"a\":5}", "{\"a\":1}", "a", false},
	{"{\"b\":1}", "{}", "a", true},
	{"{\"a\":2,\"b\":1}", "{\"a\":1,\"b\":1}", "a", false},
	{"{\"a\":2,\"b\":2}", "{\"a\":1,\"b\":1}", "a", true},
	{"{\"a\":1,\"b\":1}", "{\"a\":3,\"b\":3}", "a", false},
	{"{\"b\":1}", "{\"b\":1,\"c\":9}", "a", false},
	{"{\"a:phone\":2}", "{\"a:phone\":1}", "a", true},
	{"{\"a:phone\":2}", "{\"a:phone\":1}", "a:phone", false},
};

static void test_exceeds_for_others(void **state)
{
	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(exceed_rows); i++) {
		struct vv w, s;

		vv_of(&w, exceed_rows[i].w);
		vv_of(&s, exceed_rows[i].s);
		if (vv_exceeds_for_others(&w, &s, exceed_rows[i].writer) !=
		    exceed_rows[i].want)
			fail_msg("row %zu: W %s S %s writer %s", i,
				 exceed_rows[i].w, exceed_rows[i].s,
				 exceed_rows[i].writer);
		vv_release(&w);
		vv_release(&s);
	}
}

static void test_dump_canonical(void **state)
{
	struct vv a, b, e = VV_INIT;

	(void)state;
	vv_of(&a, "{\"zed\":1,\"Alice\":2,\"bob:web\":3,\"bob\":4,\"9\":5}");
	vv_of(&b, "{\"9\":5,\"bob\":4,\"bob:web\":3,\"Alice\":2,\"zed\":1}");
	/* byte order: digits < upper case < lower case; prefix first */
	assert_vv_is(&a, "{\"9\":5,\"Alice\":2,\"bob\":4,\"bob:web\":3,\"zed\":1}");
	assert_vv_is(&b, "{\"9\":5,\"Alice\":2,\"bob\":4,\"bob:web\":3,\"zed\":1}");
	assert_vv_is(&e, "{}");
	vv_release(&a);
	vv_release(&b);
	assert_int_equal(vv_set(&a, "x", GW_MAX_SAFE_INT), 0);
	assert_vv_is(&a, "{\"x\":9007199254740991}");
	vv_release(&a);
}

static void test_etag(void **state)
{
	static const char *const vecs[] = {
		"{}",
		"{\"a\":1}",
		"{\"a\":2}",
		"{\"b\":1}",
		"{\"a\":1,\"b\":1}",
		"{\"b\":1,\"a\":1}",
		"{\"a\":11}",
		"{\"a1\":1}",
		"{\"a\":1,\"b\":2}",
		"{\"a\":2,\"b\":1}",
	};
	char t[GW_ARRAY_LEN(vecs)][VV_ETAG_LEN + 1];
	struct vv v[GW_ARRAY_LEN(vecs)];

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(vecs); i++) {
		vv_of(&v[i], vecs[i]);
		memset(t[i], 'X', sizeof(t[i]));
		vv_etag(&v[i], t[i]);
		assert_int_equal(strlen(t[i]), VV_ETAG_LEN);
		assert_int_equal(t[i][0], '"');
		assert_int_equal(t[i][VV_ETAG_LEN - 1], '"');
		for (int k = 1; k < VV_ETAG_LEN - 1; k++)
			assert_non_null(strchr("0123456789abcdef", t[i][k]));
	}
	for (size_t i = 0; i < GW_ARRAY_LEN(vecs); i++)
		for (size_t j = 0; j < GW_ARRAY_LEN(vecs); j++) {
			bool same_vv = vv_compare(&v[i], &v[j]) == VV_EQUAL;
			bool same_tag = strcmp(t[i], t[j]) == 0;

			if (same_vv != same_tag)
				fail_msg("etag of %s vs %s", vecs[i], vecs[j]);
		}
	/* stable: computing again gives the same tag */
	{
		char again[VV_ETAG_LEN + 1];

		vv_etag(&v[4], again);
		assert_string_equal(again, t[4]);
	}
	for (size_t i = 0; i < GW_ARRAY_LEN(vecs); i++)
		vv_release(&v[i]);
}

/* vv_check_invariants holds for what the module builds and catches
 * vectors broken by hand (unsorted, duplicate, zero, bad actor). */
static void test_invariants(void **state)
{
	struct vv a = VV_INIT, b = VV_INIT, m = VV_INIT;

	(void)state;
	assert_true(vv_check_invariants(&a));
	assert_int_equal(vv_set(&a, "zed", 3), 0);
	assert_int_equal(vv_set(&a, "amy", 1), 0);
	assert_int_equal(vv_set(&b, "bob", 2), 0);
	assert_int_equal(vv_merge(&a, &b, &m), 0);
	assert_true(vv_check_invariants(&a));
	assert_true(vv_check_invariants(&m));
	m.e[0] = m.e[2];                     /* "zed" before "bob": unsorted */
	assert_false(vv_check_invariants(&m));
	m.e[0] = m.e[1];                     /* duplicate actor */
	assert_false(vv_check_invariants(&m));
	assert_int_equal(vv_copy(&m, &a), 0);
	m.e[0].n = 0;
	assert_false(vv_check_invariants(&m));
	m.e[0].n = 1;
	m.e[0].actor[0] = '*';
	assert_false(vv_check_invariants(&m));
	vv_release(&a);
	vv_release(&b);
	vv_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compare_table),
		cmocka_unit_test(test_invariants),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_merge_too_many),
		cmocka_unit_test(test_set_get_increment),
		cmocka_unit_test(test_entry_cap_and_order),
		cmocka_unit_test(test_from_json_table),
		cmocka_unit_test(test_from_json_entry_limit),
		cmocka_unit_test(test_exceeds_for_others),
		cmocka_unit_test(test_dump_canonical),
		cmocka_unit_test(test_etag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

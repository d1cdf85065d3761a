/*
 * test_acl.c - permission patterns (DESIGN.md section 8, RELIABILITY.md
 * A10-A12): validity, matching with ${sub}, parsing the "sync" claim,
 * copies, and the writer-actor rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "acl.h"

#define A16 "aaaaaaaaaaaaaaaa"
#define A64 A16 A16 A16 A16
#define A128 A64 A64
#define A256 A128 A128

static void test_pattern_valid(void **state)
{
	static const struct {
		const char *p;
		bool ok;
	} rows[] = {
		{"todos", true},          {"notes.*", true},
		{"*", true},              {"user.${sub}.*", true},
		{"${sub}", true},         {"${sub}${sub}", false},
		{"${sub}*", true},        {"a-b_c.D9", true},
		{"${sub}.*", true},       {"${sub}x", false},
		{"u-${sub}.x", true},     {"${sub}.${sub}", true},
		{"_x", true},             {A256, true},
		{A128 A16 A16 A16 A16 A16 A16 A16 "aaaaaaaaaaaaaaa*", true},
		{A256 "a", false},        {"", false},
		{"**", false},            {"a*b", false},
		{"*a", false},            {"a**", false},
		{"$", false},             {"${su}", false},
		{"${sub", false},         {"{sub}", false},
		{"$sub", false},          {"a}", false},
		{"${SUB}", false},        {"a b", false},
		{"a/b", false},           {"a:b", false},
		{"a@b", false},           {"caf\xc3\xa9", false},
		{"${sub}}", false},       {"$${sub}", false},
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++)
		if (acl_pattern_valid(rows[i].p) != rows[i].ok)
			fail_msg("pattern row %zu \"%s\"", i, rows[i].p);
	assert_false(acl_pattern_valid(NULL));
}

static void test_subject_valid(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} rows[] = {
		{"alice", true},  {"a.b", true},    {"..", true},
		{"u@x.io", true}, {"a:b-c_d", true}, {A128, true},
		{A128 "a", false}, {"", false},     {"a*", false},
		{"*", false},     {"${sub}", false}, {"a$", false},
		{"a{", false},    {"a}", false},    {"a b", false},
		{"a/b", false},   {"a~b", false},   {"caf\xc3\xa9", false},
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++)
		assert_int_equal(
			acl_subject_valid(rows[i].s, strlen(rows[i].s)),
			rows[i].ok);
	assert_false(acl_subject_valid("ab\0c", 4)); /* embedded NUL */
	assert_false(acl_subject_valid(NULL, 0));
}

struct mcase {
	const char *pattern;
	const char *sub;
	const char *collection;
	bool want;
};

static const struct mcase matches[] = {
	/* exact and prefix boundaries (A11) */
	{"todos", "alice", "todos", true},
	{"todos", "alice", "todos2", false},
	{"todos", "alice", "todo", false},
	{"todos", "alice", "Todos", false},
	{"Todos", "alice", "todos", false},
	{"notes.*", "alice", "notes.a", true},
	{"notes.*", "alice", "notes.a.b", true},
	{"notes.*", "alice", "notes.", true},
	{"notes.*", "alice", "notes", false},
	{"notes.*", "alice", "notesX", false},
	{"notes.*", "alice", "note", false},
	{"notes*", "alice", "notes", true},
	{"notes*", "alice", "notesX", true},
	{"*", "alice", "anything", true},
	{"*", "alice", "a", true},
	/* ${sub} (A10) */
	{"user.${sub}.*", "alice", "user.alice.x", true},
	{"user.${sub}.*", "alice", "user.alice.x.y", false}, /* one segment */
	{"user.${sub}.*", "alice", "user.bob.x", false},
	{"user.${sub}.*", "alice", "user.alice", false},
	{"user.${sub}.*", "alice", "user.alicex.x", false},
	{"user.${sub}.*", "alice", "user.ali.x", false},
	{"user.${sub}.*", "bob", "user.alice.x", false},
	{"user.${sub}", "alice", "user.alice", true},
	{"user.${sub}", "alice", "user.alicex", false},
	{"${sub}", "alice", "alice", true},
	{"${sub}", "alice", "${sub}", false},
	{"${sub}.${sub}", "a", "a.a", true},
	{"${sub}.${sub}", "a", "a.b", false},
	{"${sub}.*", "alice", "alice.notes", true},
	/* the subject as a whole (H1): "bob" never covers "bob.smith"'s or
	 * "bobby"'s collections; a '*' in a ${sub} pattern covers one
	 * segment */
	{"user.${sub}.*", "bob", "user.bob.smith.notes", false},
	{"user.${sub}.*", "bob.smith", "user.bob.smith.notes", true},
	{"user.${sub}.*", "bob", "user.bob.notes", true},
	{"user.${sub}", "bob.smith", "user.bob.smith", true},
	{"user.${sub}.*", "bob", "user.bobby.notes", false},
	{"${sub}*", "bob", "bobby", false},
	{"${sub}*", "bob", "bob", true},
	{"${sub}*", "bob", "bob.notes", true},
	{"${sub}*", "bob", "bob.smith.notes", false},
	{"${sub}.n*", "bob", "bob.notes", true},
	{"${sub}.n*", "bob", "bob.n.x", false},
	{"user.${sub}.*", "a.b", "user.a.b.x", true},
	{"user.${sub}.*", "a", "user.a.b.x", false},
	{"user.*", "bob", "user.bob.smith.notes", true},
	/* a subject outside the collection alphabet yields no valid name */
	{"user.${sub}", "alice:phone", "user.alice:phone", false},
	{"user.${sub}", "u@x", "user.u@x", false},
	/* invalid subjects match nothing, even without ${sub} */
	{"user.${sub}.*", "a*", "user.a*.x", false},
	{"user.${sub}.*", "a*", "user.a.x", false},
	{"user.${sub}.*", "*", "user.x.y", false},
	{"user.${sub}.*", "${sub}", "user.${sub}.x", false},
	{"user.${sub}.*", "", "user..x", false},
	{"todos", "a*", "todos", false},
	{"*", "", "todos", false},
	{"*", "${sub}", "todos", false},
	{"*", "a b", "todos", false},
	{"*", A128 "a", "todos", false},
	/* invalid patterns and collections match nothing */
	{"a*b", "alice", "a*b", false},
	{"a*b", "alice", "axb", false},
	{"", "alice", "", false},
	{"**", "alice", "x", false},
	{"*", "alice", "", false},
	{"*", "alice", ".hidden", false},
	{"*", "alice", "a b", false},
	{"*", "alice", A128 "a", false},
	{"*", "alice", A128, true},
	{"_x", "alice", "_x", false},
};

static void test_pattern_match(void **state)
{
	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(matches); i++) {
		const struct mcase *m = &matches[i];

		if (acl_pattern_match(m->pattern, m->sub, m->collection) !=
		    m->want)
			fail_msg("match row %zu: \"%s\" sub \"%s\" coll \"%s\"",
				 i, m->pattern, m->sub, m->collection);
	}
	assert_false(acl_pattern_match(NULL, "alice", "todos"));
	assert_false(acl_pattern_match("todos", NULL, "todos"));
	assert_false(acl_pattern_match("todos", "alice", NULL));
	/* tokens: no ':' (the device separator of actor names) */
	assert_true(acl_token_subject_valid("a.b-c_d@e", 9));
	assert_false(acl_token_subject_valid("a:b", 3));
	assert_false(acl_token_subject_valid("bob:", 4));
	assert_false(acl_token_subject_valid("*", 1));
	/* reserved: the devices of "svc" would be the API keys' actors */
	assert_false(acl_token_subject_valid("svc", 3));
	assert_true(acl_token_subject_valid("svc2", 4));
	assert_true(acl_token_subject_valid("Svc", 3));
}

/* The longest expansion: a 251-char pattern of 36 ${sub} segments with a
 * 128-char sub; segments of a long name. */
static void test_match_long(void **state)
{
	char pat[257];
	char coll[130];

	(void)state;
	memset(coll, 'a', 128);
	coll[128] = '\0';
	strcpy(pat, "${sub}");
	for (int i = 0; i < 35; i++) /* 6 + 35 * 7 = 251 chars */
		strcat(pat, ".${sub}");
	assert_true(acl_pattern_valid(pat));
	assert_false(acl_pattern_match(pat, A128, coll)); /* 4643 > 128 */
	assert_true(acl_pattern_match("${sub}", A128, coll));
	assert_true(acl_pattern_match("${sub}*", A128, coll));
	assert_false(acl_pattern_match("${sub}a", A128, coll));
	/* a64.a63: two segments of one subject */
	coll[64] = '.';
	assert_true(acl_pattern_match("${sub}.*", A64, coll));
	coll[64] = 'a';
	assert_false(acl_pattern_match("${sub}.*", A64, coll));
}

static void parse_str(const char *text, struct acl_perms *p, int want)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	struct gw_error e = {0};

	assert_non_null(j);
	p->nread = 99; /* zeroed first, whatever happens */
	assert_int_equal(acl_perms_parse(j, p, &e), want);
	if (want) {
		assert_int_equal(e.code, want);
		assert_null(p->read);
		assert_null(p->write);
		assert_int_equal(p->nread + p->nwrite, 0);
	}
	json_decref(j);
}

static void test_parse(void **state)
{
	static const char *const bad[] = {
		"[]", "\"todos\"", "null", "{\"read\":\"todos\"}",
		"{\"read\":null}", "{\"read\":[1]}", "{\"read\":[[\"a\"]]}",
		"{\"read\":[\"todos\"],\"write\":[\"a*b\"]}",
		"{\"read\":[\"\"]}", "{\"read\":[\"a:b\"]}",
		"{\"read\":[\"todos\",\"${sub\"]}", "{\"admin\":[]}",
		"{\"read\":[],\"Write\":[]}", "{\"read\":[\"a\\u0000b\"]}",
	};
	struct acl_perms p;

	(void)state;
	parse_str("{\"read\":[\"todos\",\"notes.*\"],"
		  "\"write\":[\"todos\"]}", &p, 0);
	assert_int_equal(p.nread, 2);
	assert_int_equal(p.nwrite, 1);
	assert_string_equal(p.read[0], "todos");
	assert_string_equal(p.read[1], "notes.*");
	assert_string_equal(p.write[0], "todos");
	acl_perms_release(&p);
	assert_null(p.read);
	assert_int_equal(p.nread, 0);
	acl_perms_release(&p);
	acl_perms_release(NULL);

	parse_str("{}", &p, 0);
	assert_int_equal(p.nread + p.nwrite, 0);
	acl_perms_release(&p);
	parse_str("{\"write\":[\"user.${sub}.*\"],\"read\":[]}", &p, 0);
	assert_int_equal(p.nread, 0);
	assert_int_equal(p.nwrite, 1);
	acl_perms_release(&p);
	for (size_t i = 0; i < GW_ARRAY_LEN(bad); i++)
		parse_str(bad[i], &p, GW_EBADREQ);
	assert_int_equal(acl_perms_parse(NULL, &p, NULL), GW_EBADREQ);
}

static void test_parse_too_many(void **state)
{
	json_t *arr = json_array();
	json_t *obj = json_pack("{s:o}", "read", arr);
	struct acl_perms p;

	(void)state;
	for (int i = 0; i < 1024; i++)
		json_array_append_new(arr, json_string("todos"));
	assert_int_equal(acl_perms_parse(obj, &p, NULL), 0);
	assert_int_equal(p.nread, 1024);
	acl_perms_release(&p);
	json_array_append_new(arr, json_string("todos"));
	assert_int_equal(acl_perms_parse(obj, &p, NULL), GW_EBADREQ);
	assert_null(p.read);
	json_decref(obj);
}

static void test_allows(void **state)
{
	struct acl_perms p;

	(void)state;
	parse_str("{\"read\":[\"todos\",\"notes.*\",\"user.${sub}.*\"],"
		  "\"write\":[\"todos\"]}", &p, 0);
	assert_true(acl_allows(&p, ACL_READ, "alice", "todos"));
	assert_true(acl_allows(&p, ACL_READ, "alice", "notes.a"));
	assert_true(acl_allows(&p, ACL_READ, "alice", "user.alice.x"));
	assert_false(acl_allows(&p, ACL_READ, "alice", "user.bob.x"));
	assert_false(acl_allows(&p, ACL_READ, "alice", "notes"));
	assert_false(acl_allows(&p, ACL_READ, "alice", "todos2"));
	assert_true(acl_allows(&p, ACL_WRITE, "alice", "todos"));
	assert_false(acl_allows(&p, ACL_WRITE, "alice", "notes.a"));
	assert_false(acl_allows(&p, ACL_WRITE, "alice", "user.alice.x"));
	/* an invalid subject is allowed nothing at all */
	assert_false(acl_allows(&p, ACL_READ, "a*", "todos"));
	assert_false(acl_allows(&p, ACL_READ, "", "todos"));
	assert_false(acl_allows(&p, ACL_WRITE, "${sub}", "todos"));
	assert_false(acl_allows(&p, ACL_READ, NULL, "todos"));
	assert_false(acl_allows(NULL, ACL_READ, "alice", "todos"));
	acl_perms_release(&p);
	assert_false(acl_allows(&p, ACL_READ, "alice", "todos"));
}

static void test_copy(void **state)
{
	struct acl_perms src;
	struct acl_perms dst;
	struct acl_perms empty = {0};

	(void)state;
	parse_str("{\"read\":[\"a\",\"b.*\"],\"write\":[\"c\"]}", &src, 0);
	assert_int_equal(acl_perms_copy(&dst, &src), 0);
	assert_int_equal(dst.nread, 2);
	assert_int_equal(dst.nwrite, 1);
	assert_ptr_not_equal(dst.read, src.read);
	assert_ptr_not_equal(dst.read[1], src.read[1]);
	assert_string_equal(dst.read[1], "b.*");
	acl_perms_release(&src); /* dst owns its own strings */
	assert_true(acl_allows(&dst, ACL_READ, "alice", "b.x"));
	assert_true(acl_allows(&dst, ACL_WRITE, "alice", "c"));
	acl_perms_release(&dst);
	assert_int_equal(acl_perms_copy(&dst, &empty), 0);
	assert_int_equal(dst.nread + dst.nwrite, 0);
	assert_null(dst.read);
	acl_perms_release(&dst);
}

static void test_actor_allowed(void **state)
{
	static const struct {
		const char *sub;
		const char *actor;
		bool ok;
	} rows[] = {
		{"alice", "alice", true},
		{"alice", "alice:phone", true},
		{"alice", "alice:phone:2", true},
		{"alice", "alice::x", true},
		{"alice", "alicex", false},
		{"alice", "alice:", false},
		{"alice", "bob:alice", false},
		{"alice", "bob", false},
		{"alice", "ali", false},
		{"alice", "Alice", false},
		{"alice", "alice.phone", false},
		{"alice", "alice:ph one", false},
		{"alice", "alice:ph*", false},
		{"alice", "", false},
		{"alice", "alice:" A128, false}, /* actor over 128 chars */
		{"svc:api", "svc:api", true},
		{"svc:api", "svc:api:w1", true},
		{"svc:api", "svc", false},
		{"a*", "a*", false},
		{"", "", false},
		{"", ":x", false},
		{"${sub}", "${sub}", false},
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++)
		if (acl_actor_allowed(rows[i].sub, rows[i].actor) != rows[i].ok)
			fail_msg("actor row %zu: sub \"%s\" actor \"%s\"", i,
				 rows[i].sub, rows[i].actor);
	assert_false(acl_actor_allowed(NULL, "alice"));
	assert_false(acl_actor_allowed("alice", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pattern_valid),
		cmocka_unit_test(test_subject_valid),
		cmocka_unit_test(test_pattern_match),
		cmocka_unit_test(test_match_long),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_too_many),
		cmocka_unit_test(test_allows),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_actor_allowed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

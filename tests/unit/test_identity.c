/*
 * test_identity.c - credentials to identity (DESIGN.md section 8,
 * docs/decisions.md 20): open mode, HS256 tokens made with jwt_sign_hs256,
 * the sync claim versus the configured default permissions, error codes
 * that never echo the token, the writer-actor rule and Bearer headers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "identity.h"

#define NOW 1700000000LL

static const unsigned char key[32] = "identity-key-0123456789abcdefghi";
static struct jwt_verifier ver;
static struct acl_perms defaults;

static int setup(void **state)
{
	json_t *d = json_loads("{\"read\":[\"public.*\",\"user.${sub}.*\"],"
			       "\"write\":[\"user.${sub}.*\"]}", 0, NULL);
	int rc;

	(void)state;
	jwt_verifier_init(&ver);
	ver.leeway_s = 30;
	rc = jwt_verifier_add_hs256(&ver, key, sizeof(key), NULL);
	if (!rc)
		rc = acl_perms_parse(d, &defaults, NULL);
	json_decref(d);
	return rc;
}

static int teardown(void **state)
{
	(void)state;
	jwt_verifier_release(&ver);
	acl_perms_release(&defaults);
	return 0;
}

static char *token(const char *claims)
{
	json_t *c = json_loads(claims, 0, NULL);
	char *t;

	assert_non_null(c);
	t = jwt_sign_hs256(key, sizeof(key), c);
	assert_non_null(t);
	json_decref(c);
	return t;
}

static int from(const struct identity_cfg *cfg, const char *tok,
		struct identity *id, struct gw_error *e)
{
	memset(e, 0, sizeof(*e));
	return identity_from_token(cfg, tok, tok ? strlen(tok) : 0, NOW, id, e);
}

static void test_open_mode(void **state)
{
	struct identity_cfg cfg = {true, NULL, NULL};
	struct identity id;
	struct gw_error e;
	char actor[JWT_SUB_MAX + 1];

	(void)state;
	assert_int_equal(from(&cfg, NULL, &id, &e), 0);
	assert_true(id.open);
	assert_string_equal(id.sub, "anonymous");
	assert_int_equal(id.exp, 0);
	assert_true(identity_allows(&id, ACL_READ, "anything"));
	assert_true(identity_allows(&id, ACL_WRITE, "todos"));
	assert_int_equal(identity_actor(&id, NULL, actor), 0);
	assert_string_equal(actor, "anonymous");
	assert_int_equal(identity_actor(&id, "", actor), 0);
	assert_string_equal(actor, "anonymous");
	assert_int_equal(identity_actor(&id, "bob:web", actor), 0);
	assert_string_equal(actor, "bob:web");
	identity_release(&id);
	/* even a garbage token passes in open mode */
	assert_int_equal(from(&cfg, "garbage", &id, &e), 0);
	assert_true(id.open);
	identity_release(&id);
}

static void test_sync_claim(void **state)
{
	struct identity_cfg cfg = {false, &ver, &defaults};
	char *t = token("{\"sub\":\"alice\",\"exp\":1700000100,\"sync\":"
			"{\"read\":[\"todos\",\"notes.*\"],\"write\":[\"todos\"]}}");
	struct identity id;
	struct gw_error e;

	(void)state;
	assert_int_equal(from(&cfg, t, &id, &e), 0);
	assert_false(id.open);
	assert_string_equal(id.sub, "alice");
	assert_int_equal(id.exp, 1700000100);
	assert_true(identity_allows(&id, ACL_READ, "todos"));
	assert_true(identity_allows(&id, ACL_READ, "notes.a"));
	assert_true(identity_allows(&id, ACL_WRITE, "todos"));
	assert_false(identity_allows(&id, ACL_WRITE, "notes.a"));
	/* the claim replaces the defaults entirely */
	assert_false(identity_allows(&id, ACL_READ, "public.x"));
	assert_false(identity_allows(&id, ACL_READ, "user.alice.x"));
	identity_release(&id);
	free(t);
	/* an empty claim grants nothing */
	t = token("{\"sub\":\"alice\",\"exp\":1700000100,\"sync\":{}}");
	assert_int_equal(from(&cfg, t, &id, &e), 0);
	assert_false(identity_allows(&id, ACL_READ, "todos"));
	assert_false(identity_allows(&id, ACL_READ, "public.x"));
	identity_release(&id);
	free(t);
}

static void test_default_permissions(void **state)
{
	struct identity_cfg cfg = {false, &ver, &defaults};
	char *t = token("{\"sub\":\"alice\",\"exp\":1700000100}");
	struct identity id;
	struct gw_error e;

	(void)state;
	assert_int_equal(from(&cfg, t, &id, &e), 0);
	assert_true(identity_allows(&id, ACL_READ, "public.news"));
	assert_true(identity_allows(&id, ACL_READ, "user.alice.notes"));
	assert_true(identity_allows(&id, ACL_WRITE, "user.alice.notes"));
	assert_false(identity_allows(&id, ACL_READ, "user.bob.notes"));
	assert_false(identity_allows(&id, ACL_WRITE, "public.news"));
	assert_false(identity_allows(&id, ACL_READ, "todos"));
	identity_release(&id);
	/* the identity owns a copy: the defaults outlive it untouched */
	assert_int_equal(defaults.nread, 2);
	assert_string_equal(defaults.read[1], "user.${sub}.*");
	/* no claim and no defaults: nothing */
	cfg.defaults = NULL;
	assert_int_equal(from(&cfg, t, &id, &e), 0);
	assert_false(identity_allows(&id, ACL_READ, "public.news"));
	identity_release(&id);
	free(t);
}

static void test_rejects(void **state)
{
	struct identity_cfg cfg = {false, &ver, &defaults};
	static const struct {
		const char *claims; /* NULL: the raw token below */
		const char *raw;
		int rc;
	} rows[] = {
		{NULL, NULL, GW_EUNAUTH},
		{NULL, "", GW_EUNAUTH},
		{NULL, "not.a.token", GW_EUNAUTH},
		{"{\"sub\":\"alice\",\"exp\":1699999000}", NULL, GW_EEXPIRED},
		{"{\"exp\":1700000100}", NULL, GW_EUNAUTH},
		{"{\"sub\":\"a*\",\"exp\":1700000100}", NULL, GW_EUNAUTH},
		{"{\"sub\":\"alice\",\"exp\":1700000100,\"sync\":5}", NULL,
		 GW_EUNAUTH},
		{"{\"sub\":\"alice\",\"exp\":1700000100,\"sync\":{\"read\":[\"a*b\"]}}",
		 NULL, GW_EUNAUTH},
		{"{\"sub\":\"alice\",\"exp\":1700000100,\"sync\":{\"admin\":[]}}",
		 NULL, GW_EUNAUTH},
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		char *t = rows[i].claims ? token(rows[i].claims) : NULL;
		const char *tok = t ? t : rows[i].raw;
		struct identity id;
		struct gw_error e;
		int rc = from(&cfg, tok, &id, &e);

		if (rc != rows[i].rc)
			fail_msg("row %zu: rc %d (%s)", i, rc, e.msg);
		assert_int_equal(e.code, rc);
		assert_true(e.msg[0] != '\0');
		if (tok && *tok)
			assert_null(strstr(e.msg, tok));
		assert_string_equal(id.sub, "");
		assert_null(id.perms.read);
		identity_release(&id);
		free(t);
	}
}

/* A bad sync claim says what is wrong with it, once. */
static void test_bad_claim_message(void **state)
{
	struct identity_cfg cfg = {false, &ver, &defaults};
	char *t = token("{\"sub\":\"alice\",\"exp\":1700000100,"
			"\"sync\":{\"read\":[\"a*b\"]}}");
	struct identity id;
	struct gw_error e;
	const char *first;

	int rc;

	(void)state;
	rc = from(&cfg, t, &id, &e);
	identity_release(&id);
	free(t);
	assert_int_equal(rc, GW_EUNAUTH);
	first = strstr(e.msg, "invalid sync claim");
	if (!first || strstr(first + 1, "invalid sync claim") ||
	    !strstr(e.msg, "invalid read pattern"))
		fail_msg("message: \"%s\", want \"invalid sync claim: invalid "
			 "read pattern\"", e.msg);
}

static void test_actor_rule(void **state)
{
	struct identity_cfg cfg = {false, &ver, &defaults};
	char *t = token("{\"sub\":\"alice\",\"exp\":1700000100}");
	static const struct {
		const char *requested;
		int rc;
		const char *actor;
	} rows[] = {
		{NULL, 0, "alice"},
		{"", 0, "alice"},
		{"alice", 0, "alice"},
		{"alice:phone", 0, "alice:phone"},
		{"alice:phone:2", 0, "alice:phone:2"},
		{"alicex", GW_EFORBIDDEN, NULL},
		{"alic", GW_EFORBIDDEN, NULL},
		{"bob", GW_EFORBIDDEN, NULL},
		{"bob:alice", GW_EFORBIDDEN, NULL},
		{"svc:alice", GW_EFORBIDDEN, NULL},
		{"Alice", GW_EFORBIDDEN, NULL},
		{"alice.phone", GW_EFORBIDDEN, NULL},
	};
	struct identity id, moved;
	struct gw_error e;

	(void)state;
	assert_int_equal(from(&cfg, t, &id, &e), 0);
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		char out[JWT_SUB_MAX + 1] = "untouched";
		int rc = identity_actor(&id, rows[i].requested, out);

		if (rc != rows[i].rc)
			fail_msg("row %zu (%s): rc %d", i,
				 rows[i].requested ? rows[i].requested : "NULL", rc);
		if (rows[i].actor)
			assert_string_equal(out, rows[i].actor);
	}
	/* move: dst takes over, src is left empty */
	memset(&moved, 0, sizeof(moved));
	identity_move(&moved, &id);
	assert_string_equal(moved.sub, "alice");
	assert_string_equal(id.sub, "");
	assert_null(id.perms.read);
	assert_true(identity_allows(&moved, ACL_READ, "public.x"));
	assert_false(identity_allows(&id, ACL_READ, "public.x"));
	identity_release(&moved);
	identity_release(&id);
	free(t);
}

static void test_bearer(void **state)
{
	static const struct {
		const char *h;
		int rc;
		const char *tok;
	} rows[] = {
		{"Bearer abc.def.ghi", 0, "abc.def.ghi"},
		{"bearer abc", 0, "abc"},
		{"BEARER abc", 0, "abc"},
		{"Bearer    abc  ", 0, "abc"},
		{"Bearer ", GW_EUNAUTH, NULL},
		{"Bearer    ", GW_EUNAUTH, NULL},
		{"Bearer", GW_EUNAUTH, NULL},
		{"Bearerabc", GW_EUNAUTH, NULL},
		{"Basic YWxhZGRpbjpvcGVu", GW_EUNAUTH, NULL},
		{"", GW_EUNAUTH, NULL},
		{NULL, GW_EUNAUTH, NULL},
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		const char *tok = NULL;
		size_t len = 0;
		int rc = identity_bearer(rows[i].h, &tok, &len);

		if (rc != rows[i].rc)
			fail_msg("row %zu: rc %d", i, rc);
		if (!rc) {
			assert_int_equal(len, strlen(rows[i].tok));
			assert_memory_equal(tok, rows[i].tok, len);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_mode),
		cmocka_unit_test(test_sync_claim),
		cmocka_unit_test(test_default_permissions),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_bad_claim_message),
		cmocka_unit_test(test_actor_rule),
		cmocka_unit_test(test_bearer),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

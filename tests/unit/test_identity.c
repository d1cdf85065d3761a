/*
 * test_identity.c - credentials to identity (DESIGN.md section 8,
 * docs/decisions.md 20): open mode, HS256 tokens made with jwt_sign_hs256,
 * the sync claim versus the configured default permissions, error codes
 * that never echo the token, the writer-actor rule and Bearer headers;
 * API keys (hashes made here with libcrypto, as sha256sum would) and a
 * request carrying a token, a key or both.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
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
	struct identity_cfg cfg = {true, NULL, NULL, NULL};
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
	struct identity_cfg cfg = {false, &ver, &defaults, NULL};
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
	struct identity_cfg cfg = {false, &ver, &defaults, NULL};
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
	struct identity_cfg cfg = {false, &ver, &defaults, NULL};
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
	struct identity_cfg cfg = {false, &ver, &defaults, NULL};
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
	struct identity_cfg cfg = {false, &ver, &defaults, NULL};
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

/* ---- API keys ------------------------------------------------------------ */

static const char *const key_names[] = {"reports", "billing", "search"};
static const char *const key_values[] = {
	"k-reports-0123456789abcdef", "k-billing-0123456789abcdef",
	"k-search-0123456789abcdef",
};

/* sha256sum's answer for s. */
static void sha256_hex(const char *s, char out[65])
{
	unsigned char h[32];

	assert_int_equal(EVP_Digest(s, strlen(s), h, NULL, EVP_sha256(), NULL),
			 1);
	hex_encode(h, sizeof(h), out);
}

/* The three keys above; billing may read orders* and write orders.in. */
static void make_keys(struct apikey_set *set)
{
	json_t *list = json_array();
	struct gw_error e = {0, ""};

	for (size_t i = 0; i < GW_ARRAY_LEN(key_names); i++) {
		char hex[65];
		json_t *k;

		sha256_hex(key_values[i], hex);
		k = json_pack("{s:s,s:s}", "name", key_names[i], "sha256", hex);
		if (i == 1) {
			json_object_set_new(k, "read", json_pack("[s]", "orders*"));
			json_object_set_new(k, "write",
					    json_pack("[s]", "orders.in"));
		}
		json_array_append_new(list, k);
	}
	if (apikey_parse(list, "keys", set, &e))
		fail_msg("apikey_parse: %s", e.msg);
	json_decref(list);
	assert_int_equal(set->n, 3);
}

static int from_key(const struct identity_cfg *cfg, const char *k,
		    struct identity *id, struct gw_error *e)
{
	memset(e, 0, sizeof(*e));
	return identity_from_api_key(cfg, k, k ? strlen(k) : 0, id, e);
}

static void test_api_key(void **state)
{
	struct apikey_set set;
	struct identity_cfg cfg = {false, &ver, &defaults, &set};
	struct identity id;
	struct gw_error e;
	static const struct {
		const char *requested;
		int rc;
	} actors[] = {
		{NULL, 0}, {"svc:billing", 0}, {"svc:billing:worker-1", 0},
		{"svc", GW_EFORBIDDEN}, {"svc:billingx", GW_EFORBIDDEN},
		{"svc:reports", GW_EFORBIDDEN}, {"billing", GW_EFORBIDDEN},
		{"svc:billing:", GW_EFORBIDDEN},
	};

	(void)state;
	make_keys(&set);
	/* each key finds its own entry, wherever it is in the list */
	for (size_t i = 0; i < GW_ARRAY_LEN(key_values); i++) {
		char want[JWT_SUB_MAX + 1];

		assert_ptr_equal(apikey_find(&set, key_values[i],
					     strlen(key_values[i])),
				 &set.keys[i]);
		assert_int_equal(from_key(&cfg, key_values[i], &id, &e), 0);
		snprintf(want, sizeof(want), "svc:%s", key_names[i]);
		assert_string_equal(id.sub, want);
		assert_false(id.open);
		assert_int_equal(id.exp, 0);
		identity_release(&id);
	}
	/* billing's own patterns; never the token defaults */
	assert_int_equal(from_key(&cfg, key_values[1], &id, &e), 0);
	assert_true(identity_allows(&id, ACL_READ, "orders"));
	assert_true(identity_allows(&id, ACL_READ, "orders.in"));
	assert_true(identity_allows(&id, ACL_WRITE, "orders.in"));
	assert_false(identity_allows(&id, ACL_WRITE, "orders.out"));
	assert_false(identity_allows(&id, ACL_READ, "public.x"));
	assert_false(identity_allows(&id, ACL_READ, "user.svc:billing.x"));
	for (size_t i = 0; i < GW_ARRAY_LEN(actors); i++) {
		char out[JWT_SUB_MAX + 1];
		int rc = identity_actor(&id, actors[i].requested, out);

		if (rc != actors[i].rc)
			fail_msg("actor row %zu: rc %d", i, rc);
		if (!rc)
			assert_string_equal(out, actors[i].requested
						 ? actors[i].requested
						 : "svc:billing");
	}
	identity_release(&id);
	/* the identity had a copy: the set is intact */
	assert_string_equal(set.keys[1].perms.read[0], "orders*");
	/* keys without a configured set find nothing */
	cfg.keys = NULL;
	assert_int_equal(from_key(&cfg, key_values[1], &id, &e), GW_EUNAUTH);
	identity_release(&id);
	/* open mode: anonymous, as for tokens */
	cfg.open = true;
	cfg.keys = &set;
	assert_int_equal(from_key(&cfg, "anything", &id, &e), 0);
	assert_true(id.open);
	assert_string_equal(id.sub, "anonymous");
	identity_release(&id);
	apikey_release(&set);
	assert_null(set.keys);
}

static void test_api_key_rejects(void **state)
{
	struct apikey_set set;
	struct identity_cfg cfg = {false, &ver, &defaults, &set};
	char hex[65], upper[sizeof("K-BILLING-0123456789ABCDEF")];
	char longer[APIKEY_LEN_MAX + 2];
	const char *bad[] = {
		NULL, "", "k-billing-0123456789abcdef ", "k-billing-0123456789abcdefx",
		"k-billing-0123456789abcde", "K-billing-0123456789abcdef", upper,
		"xk-billing-0123456789abcdef", hex, longer,
	};

	(void)state;
	make_keys(&set);
	sha256_hex(key_values[1], hex);
	for (size_t i = 0; key_values[1][i]; i++)
		upper[i] = (char)(key_values[1][i] >= 'a' && key_values[1][i] <= 'z'
				  ? key_values[1][i] - 32 : key_values[1][i]);
	upper[strlen(key_values[1])] = '\0';
	memset(longer, 'k', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	for (size_t i = 0; i < GW_ARRAY_LEN(bad); i++) {
		struct identity id;
		struct gw_error e;
		int rc = from_key(&cfg, bad[i], &id, &e);

		if (rc != GW_EUNAUTH)
			fail_msg("row %zu: rc %d", i, rc);
		assert_true(e.msg[0] != '\0');
		if (bad[i] && *bad[i])
			assert_null(strstr(e.msg, bad[i]));
		assert_string_equal(id.sub, "");
		assert_null(id.perms.read);
		identity_release(&id);
	}
	/* a key whose bytes run on past len is hashed only up to len */
	assert_null(apikey_find(&set, key_values[1], strlen(key_values[1]) - 1));
	apikey_release(&set);
}

static void test_request_credentials(void **state)
{
	struct apikey_set set;
	struct identity_cfg cfg = {false, &ver, &defaults, &set};
	char *t = token("{\"sub\":\"alice\",\"exp\":1700000100}");
	const char *k = key_values[1];
	struct identity id;
	struct gw_error e = {0, ""};

	(void)state;
	make_keys(&set);
	assert_int_equal(identity_from_request(&cfg, t, strlen(t), NULL, 0, NOW,
					       &id, &e), 0);
	assert_string_equal(id.sub, "alice");
	identity_release(&id);
	assert_int_equal(identity_from_request(&cfg, NULL, 0, k, strlen(k), NOW,
					       &id, &e), 0);
	assert_string_equal(id.sub, "svc:billing");
	identity_release(&id);
	/* both: one request is one caller, even when both are valid */
	assert_int_equal(identity_from_request(&cfg, t, strlen(t), k, strlen(k),
					       NOW, &id, &e), GW_EUNAUTH);
	assert_non_null(strstr(e.msg, "X-API-Key"));
	assert_null(strstr(e.msg, k));
	assert_string_equal(id.sub, "");
	identity_release(&id);
	/* an empty header is a key, and a wrong one */
	assert_int_equal(identity_from_request(&cfg, NULL, 0, "", 0, NOW, &id,
					       &e), GW_EUNAUTH);
	assert_non_null(strstr(e.msg, "API key"));
	identity_release(&id);
	assert_int_equal(identity_from_request(&cfg, NULL, 0, NULL, 0, NOW, &id,
					       &e), GW_EUNAUTH);
	identity_release(&id);
	/* open mode ignores credentials */
	cfg.open = true;
	assert_int_equal(identity_from_request(&cfg, t, strlen(t), k, strlen(k),
					       NOW, &id, &e), 0);
	assert_string_equal(id.sub, "anonymous");
	identity_release(&id);
	apikey_release(&set);
	free(t);
}

/* No token is "svc": its devices would be the keys' actors. */
static void test_svc_subject_reserved(void **state)
{
	struct identity_cfg cfg = {false, &ver, &defaults, NULL};
	char *t = token("{\"sub\":\"svc\",\"exp\":1700000100,\"sync\":"
			"{\"read\":[\"*\"],\"write\":[\"*\"]}}");
	struct identity id;
	struct gw_error e;

	(void)state;
	assert_int_equal(from(&cfg, t, &id, &e), GW_EUNAUTH);
	identity_release(&id);
	free(t);
	t = token("{\"sub\":\"svc:billing\",\"exp\":1700000100}");
	assert_int_equal(from(&cfg, t, &id, &e), GW_EUNAUTH);
	identity_release(&id);
	free(t);
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
		cmocka_unit_test(test_api_key),
		cmocka_unit_test(test_api_key_rejects),
		cmocka_unit_test(test_request_credentials),
		cmocka_unit_test(test_svc_subject_reserved),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * test_config_auth.c - the configuration of authentication keys: public
 * keys for RS256/ES256 (files, JWKS, their checks at load) and API keys
 * (file or SYNCGATE_API_KEYS, bad entries refused, hashes never printed).
 */
#include "config_rig.h"

static void test_public_keys(void **state)
{
	char *path = tmp_file(
		"{\"auth\":{\"jwt_public_keys\":["
		"{\"kid\":\"a\",\"pem_file\":\"/k/a.pem\"},"
		"{\"alg\":\"ES256\",\"pem_file\":\"/k/b.pem\"}],"
		"\"jwks_url\":\"https://idp.example/jwks\","
		"\"jwks_refresh_s\":60}}");
	const char *args[] = {"--config", path, NULL};
	const char *bad[] = {
		"{\"auth\":{\"jwt_public_keys\":{}}}",
		"{\"auth\":{\"jwt_public_keys\":[\"a.pem\"]}}",
		"{\"auth\":{\"jwt_public_keys\":[{\"kid\":\"a\"}]}}",
		"{\"auth\":{\"jwt_public_keys\":[{\"pem_file\":\"\"}]}}",
		"{\"auth\":{\"jwt_public_keys\":[{\"pem_file\":\"a\","
		"\"alg\":\"HS256\"}]}}",
		"{\"auth\":{\"jwt_public_keys\":[{\"pem_file\":\"a\","
		"\"x\":1}]}}",
		"{\"auth\":{\"jwt_public_keys\":[]},"
		"\"auth.jwt_public_keys\":[]}",
		"{\"auth\":{\"jwks_refresh_s\":1}}",
		"{\"auth\":{\"jwks_min_refresh_s\":0}}",
	};
	struct config c;
	enum config_action act;
	struct gw_error e;
	char *out;

	(void)state;
	assert_int_equal(load(&c, args, NULL, &act, &e), 0);
	assert_int_equal(c.npubkeys, 2);
	assert_string_equal(c.pubkeys[0].kid, "a");
	assert_null(c.pubkeys[0].alg);
	assert_string_equal(c.pubkeys[1].alg, "ES256");
	assert_null(c.pubkeys[1].kid);
	assert_string_equal(c.pubkeys[1].pem_file, "/k/b.pem");
	assert_string_equal(c.jwks_url, "https://idp.example/jwks");
	assert_int_equal(c.jwks_refresh_s, 60);
	assert_int_equal(c.jwks_min_refresh_s, 30);
	assert_int_equal(c.jwks_timeout_ms, 5000);
	out = printed(&c);
	assert_non_null(strstr(out, "\"auth.jwt_public_keys\":[{\"kid\":\"a\","
				    "\"alg\":null,\"pem_file\":\"/k/a.pem\"}"));
	free(out);
	config_release(&c);
	drop_file(path);
	for (size_t i = 0; i < GW_ARRAY_LEN(bad); i++) {
		path = tmp_file(bad[i]);
		args[1] = path;
		if (load(&c, args, NULL, &act, &e) != GW_EBADREQ)
			fail_msg("accepted %s", bad[i]);
		config_release(&c);
		drop_file(path);
	}
}

/* printf %s svc-key-one | sha256sum, and svc-key-two */
#define H1 "dc7664bc85c697dbfc676f23d853c14bd7d0e479acb803ccc8db0130bb274e36"
#define H2 "08ade2c1e27cdfe13275ca0e3fd320cf407e9633f5bcef809cf4ce13d5eb495f"
#define KEYS(list) "{\"auth\":{\"api_keys\":" list "}}"
#define KEY(name, hash) "{\"name\":\"" name "\",\"sha256\":\"" hash "\""

static const struct {
	const char *file;
	const char *says;
} bad_keys[] = {
	{KEYS("{}"), "auth.api_keys must be a list"},
	{KEYS("[1]"), "auth.api_keys[0]: must be an object"},
	{KEYS("[{\"sha256\":\"" H1 "\"}]"), "auth.api_keys[0]: \"name\""},
	{KEYS("[" KEY("svc:a", H1) "}]"), "\"name\" must be"},
	{KEYS("[" KEY("", H1) "}]"), "\"name\" must be"},
	{KEYS("[" KEY("a b", H1) "}]"), "\"name\" must be"},
	{KEYS("[{\"name\":7,\"sha256\":\"" H1 "\"}]"), "\"name\" must be"},
	{KEYS("[" KEY("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		      H1) "}]"), "\"name\" must be 1..64"},
	{KEYS("[{\"name\":\"a\"}]"), "auth.api_keys[0] (\"a\"): \"sha256\""},
	{KEYS("[" KEY("a", "dc7664bc") "}]"), "64 hex digits"},
	{KEYS("[" KEY("a", "zc7664bc85c697dbfc676f23d853c14bd7d0e479acb803ccc8db0130bb274e36")
	      "}]"), "64 hex digits"},
	{KEYS("[" KEY("a", H1 "00") "}]"), "64 hex digits"},
	{KEYS("[" KEY("a", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	      "}]"), "empty key"},
	{KEYS("[" KEY("a", H1) ",\"key\":\"svc-key-one\"}]"),
	 "unknown member \"key\""},
	{KEYS("[" KEY("a", H1) ",\"read\":[\"a*b\"]}]"), "invalid read pattern"},
	{KEYS("[" KEY("a", H1) ",\"write\":\"x\"}]"), "write must be an array"},
	{KEYS("[" KEY("a", H1) ",\"read\":[\"user.${sub}.*\"]}]"), "${sub}"},
	{KEYS("[" KEY("a", H1) ",\"write\":[\"${sub}\"]}]"), "${sub}"},
	{KEYS("[" KEY("a", H1) "}," KEY("a", H2) "}]"),
	 "auth.api_keys[1] (\"a\"): name given twice"},
	{KEYS("[" KEY("a", H1) "}," KEY("b", H1) "}]"),
	 "auth.api_keys[1] (\"b\"): the same sha256 as entry 0"},
	/* the same hash spelt in upper case is the same key */
	{KEYS("[" KEY("a", H1) "}," KEY("b",
		"DC7664BC85C697DBFC676F23D853C14BD7D0E479ACB803CCC8DB0130BB274E36")
	      "}]"), "the same sha256"},
	{"{\"auth\":{\"api_keys\":[]},\"auth.api_keys\":[]}", "given twice"},
};

static void test_api_keys(void **state)
{
	char *path = tmp_file(KEYS("[" KEY("billing", H1) ",\"read\":[\"orders*\"],"
				   "\"write\":[\"orders.in\"]}," KEY("search", H2) "}]"));
	const char *args[] = {"--config", path, NULL};
	const char *env[] = {"SYNCGATE_API_KEYS=[" KEY("feeder", H2) ",\"read\":[\"feed\"]}]",
			     NULL};
	const char *empty[] = {"SYNCGATE_API_KEYS=", NULL};
	struct config c;
	enum config_action act;
	struct gw_error e;
	char *out;
	int bad = 0;

	(void)state;
	assert_int_equal(load(&c, args, NULL, &act, &e), 0);
	assert_int_equal(c.api_keys.n, 2);
	assert_string_equal(c.api_keys.keys[0].name, "billing");
	assert_int_equal(c.api_keys.keys[0].sha256[0], 0xdc);
	assert_int_equal(c.api_keys.keys[0].perms.nread, 1);
	assert_string_equal(c.api_keys.keys[0].perms.write[0], "orders.in");
	assert_int_equal(c.api_keys.keys[1].perms.nread, 0);
	assert_non_null(apikey_find(&c.api_keys, "svc-key-two", 11));
	/* --print-config: names and patterns, never a hash */
	out = printed(&c);
	assert_null(strstr(out, H1));
	assert_null(strstr(out, H2));
	assert_non_null(strstr(out, "\"auth.api_keys\":[{\"name\":\"billing\","
				    "\"sha256\":\"***\",\"read\":[\"orders*\"],"
				    "\"write\":[\"orders.in\"]}"));
	free(out);
	config_release(&c);
	assert_null(c.api_keys.keys);
	/* the environment replaces the file's list; empty is unset */
	assert_int_equal(load(&c, args, env, &act, &e), 0);
	assert_int_equal(c.api_keys.n, 1);
	assert_string_equal(c.api_keys.keys[0].name, "feeder");
	config_release(&c);
	assert_int_equal(load(&c, args, empty, &act, &e), 0);
	assert_int_equal(c.api_keys.n, 2);
	config_release(&c);
	drop_file(path);
	/* the environment's list is checked as the file's */
	{
		const char *benv[] = {"SYNCGATE_API_KEYS=[" KEY("a", H1) "}," KEY("a", H2) "}]",
				      NULL};
		const char *nojson[] = {"SYNCGATE_API_KEYS=[{", NULL};

		assert_int_equal(load(&c, NULL, benv, &act, &e), GW_EBADREQ);
		assert_non_null(strstr(e.msg, "SYNCGATE_API_KEYS[1] (\"a\"): name given twice"));
		config_release(&c);
		assert_int_equal(load(&c, NULL, nojson, &act, &e), GW_EBADREQ);
		assert_non_null(strstr(e.msg, "SYNCGATE_API_KEYS"));
		config_release(&c);
	}
	for (size_t i = 0; i < GW_ARRAY_LEN(bad_keys); i++) {
		char *f = tmp_file(bad_keys[i].file);
		const char *a[] = {"--config", f, NULL};
		int rc = load(&c, a, NULL, &act, &e);

		if (rc != GW_EBADREQ) {
			print_error("key row %zu %s: accepted, rc %d\n", i,
				    bad_keys[i].file, rc);
			bad++;
		} else if (!strstr(e.msg, bad_keys[i].says)) {
			print_error("key row %zu %s: message \"%s\" lacks \"%s\"\n",
				    i, bad_keys[i].file, e.msg, bad_keys[i].says);
			bad++;
		} else if (strstr(e.msg, "svc-key-one")) {
			print_error("key row %zu: message shows a key\n", i);
			bad++;
		}
		config_release(&c);
		drop_file(f);
	}
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_public_keys),
		cmocka_unit_test(test_api_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_devtoken.c - dev tooling's tokens: the POST /v1/dev/token body
 * table (defaults, sub rules, ttl_s bounds, strict JSON, unknown members)
 * and the minted token verified by jwt_verify with the same secret (its
 * sub, exp and all-permissions sync claim), refused with a short secret.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devtoken.h"
#include "jwt.h"

#define SECRET "0123456789abcdef0123456789abcdef-dev"
#define NOW 1700000000

static void test_parse_table(void **state)
{
	static const struct {
		const char *body;
		int err;
		const char *sub;    /* when accepted */
		int64_t ttl;
		const char *says;   /* when refused: part of the message */
	} rows[] = {
		{"", 0, "dev", 3600, NULL},
		{"{}", 0, "dev", 3600, NULL},
		{"{\"sub\":\"alice\"}", 0, "alice", 3600, NULL},
		{"{\"ttl_s\":1}", 0, "dev", 1, NULL},
		{"{\"sub\":\"a.b@c.d-e_f\",\"ttl_s\":86400}", 0, "a.b@c.d-e_f", 86400, NULL},
		{"{\"sub\":\"a:b\"}", GW_EBADREQ, NULL, 0, "sub"},
		{" {\"ttl_s\":60} ", 0, "dev", 60, NULL},
		{"{\"ttl_s\":0}", GW_EBADREQ, NULL, 0, "ttl_s"},
		{"{\"ttl_s\":86401}", GW_EBADREQ, NULL, 0, "ttl_s"},
		{"{\"ttl_s\":-5}", GW_EBADREQ, NULL, 0, "ttl_s"},
		{"{\"ttl_s\":60.0}", GW_EBADREQ, NULL, 0, "ttl_s"},
		{"{\"ttl_s\":\"60\"}", GW_EBADREQ, NULL, 0, "ttl_s"},
		{"{\"ttl_s\":null}", GW_EBADREQ, NULL, 0, "ttl_s"},
		{"{\"sub\":\"\"}", GW_EBADREQ, NULL, 0, "sub"},
		{"{\"sub\":\"a*\"}", GW_EBADREQ, NULL, 0, "sub"},
		{"{\"sub\":\"a b\"}", GW_EBADREQ, NULL, 0, "sub"},
		{"{\"sub\":\"${sub}\"}", GW_EBADREQ, NULL, 0, "sub"},
		{"{\"sub\":\"a~b\"}", GW_EBADREQ, NULL, 0, "sub"},
		{"{\"sub\":7}", GW_EBADREQ, NULL, 0, "sub"},
		{"{\"sub\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
		 GW_EBADREQ, NULL, 0, "sub"}, /* 129 bytes */
		{"{\"sub\":\"a\",\"sub\":\"b\"}", GW_EBADREQ, NULL, 0, "body"},
		{"{\"admin\":true}", GW_EBADREQ, NULL, 0, "unknown member"},
		{"not json", GW_EBADREQ, NULL, 0, "body"},
		{"{\"sub\":\"a\"", GW_EBADREQ, NULL, 0, "body"},
		{"[]", GW_EBADREQ, NULL, 0, "object"},
		{"null", GW_EBADREQ, NULL, 0, "object"},
		{"\"dev\"", GW_EBADREQ, NULL, 0, "object"},
		{"{\"sub\":{\"a\":[[[[]]]]}}", GW_EBADREQ, NULL, 0, "body"}, /* depth 4 */
	};
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		struct devtoken_req r;
		struct gw_error e = {0, ""};
		int rc = devtoken_parse(rows[i].body, strlen(rows[i].body), 4, &r, &e);

		if (rc != rows[i].err) {
			print_error("row %zu (%s): rc %d, want %d (%s)\n", i,
				    rows[i].body, rc, rows[i].err, e.msg);
			bad++;
		} else if (!rc && (strcmp(r.sub, rows[i].sub) || r.ttl_s != rows[i].ttl)) {
			print_error("row %zu: got %s/%lld\n", i, r.sub, (long long)r.ttl_s);
			bad++;
		} else if (rc && (!strstr(e.msg, rows[i].says) || strcmp(r.sub, "dev") ||
				  r.ttl_s != DEVTOKEN_TTL_DEFAULT)) {
			print_error("row %zu: message \"%s\" lacks \"%s\" (or not reset)\n",
				    i, e.msg, rows[i].says);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_parse_null_body(void **state)
{
	struct devtoken_req r;
	struct gw_error e = {0, ""};

	(void)state;
	assert_int_equal(devtoken_parse(NULL, 0, 64, &r, &e), 0);
	assert_string_equal(r.sub, DEVTOKEN_SUB_DEFAULT);
	assert_int_equal(r.ttl_s, DEVTOKEN_TTL_DEFAULT);
}

static void test_mint_verifies(void **state)
{
	struct jwt_verifier v;
	struct jwt_claims c;
	struct gw_error e = {0, ""};
	char *tok = devtoken_mint(SECRET, strlen(SECRET), "alice", NOW, 120);
	json_t *read, *write;

	(void)state;
	assert_non_null(tok);
	jwt_verifier_init(&v);
	assert_int_equal(jwt_verifier_add_hs256(&v, (const unsigned char *)SECRET,
						strlen(SECRET), &e), 0);
	assert_int_equal(jwt_verify(&v, tok, strlen(tok), NOW + 1, &c, &e), 0);
	assert_string_equal(c.sub, "alice");
	assert_int_equal(c.exp, NOW + 120);
	assert_non_null(c.sync);
	read = json_object_get(c.sync, "read");
	write = json_object_get(c.sync, "write");
	assert_int_equal(json_array_size(read), 1);
	assert_int_equal(json_array_size(write), 1);
	assert_string_equal(json_string_value(json_array_get(read, 0)), "*");
	assert_string_equal(json_string_value(json_array_get(write, 0)), "*");
	jwt_claims_release(&c);
	/* past exp (and the leeway): expired */
	v.leeway_s = 0;
	assert_int_equal(jwt_verify(&v, tok, strlen(tok), NOW + 120, &c, &e),
			 GW_EEXPIRED);
	jwt_verifier_release(&v);
	free(tok);
}

static void test_mint_refuses(void **state)
{
	(void)state;
	/* 31 bytes: under the HS256 minimum */
	assert_null(devtoken_mint("0123456789abcdef0123456789abcde", 31, "dev", NOW, 60));
	assert_null(devtoken_mint(SECRET, strlen(SECRET), "a*", NOW, 60));
	assert_null(devtoken_mint(SECRET, strlen(SECRET), "", NOW, 60));
	assert_null(devtoken_mint(SECRET, strlen(SECRET), NULL, NOW, 60));
	assert_null(devtoken_mint(SECRET, strlen(SECRET), "dev", NOW, 0));
	assert_null(devtoken_mint(SECRET, strlen(SECRET), "dev", NOW,
				  DEVTOKEN_TTL_MAX + 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_null_body),
		cmocka_unit_test(test_mint_verifies),
		cmocka_unit_test(test_mint_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

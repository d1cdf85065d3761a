/*
 * test_idem.c - idempotency keys: which keys are valid, scopes that keep
 * callers apart, fingerprints that tell requests apart, and the answer
 * record, which must come back exactly as it went in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common.h"
#include "idem.h"
#include "sbuf.h"

static void test_key_valid(void **state)
{
	char k[300];

	(void)state;
	assert_true(idem_key_valid("a", 1));
	assert_true(idem_key_valid("8e5c-0f1a:retry#2", 17));
	assert_true(idem_key_valid("~!\"{}", 5));
	assert_false(idem_key_valid("", 0));
	assert_false(idem_key_valid("a b", 3));     /* space */
	assert_false(idem_key_valid("a\tb", 3));
	assert_false(idem_key_valid("a\x7f", 2));   /* DEL */
	assert_false(idem_key_valid("\xc3\xa9", 2)); /* non-ASCII */
	assert_false(idem_key_valid("a\0b", 3));    /* NUL inside */
	memset(k, 'k', sizeof(k));
	assert_true(idem_key_valid(k, IDEM_KEY_MAX));
	assert_false(idem_key_valid(k, IDEM_KEY_MAX + 1));
}

static void test_scope_and_fingerprint(void **state)
{
	char a[IDEM_HEX_LEN + 1], b[IDEM_HEX_LEN + 1];

	(void)state;
	idem_scope("alice", "k1", a);
	assert_int_equal(strlen(a), IDEM_HEX_LEN);
	assert_int_equal(strspn(a, "0123456789abcdef"), IDEM_HEX_LEN);
	idem_scope("alice", "k1", b);
	assert_string_equal(a, b);
	/* another caller, another key; no ambiguity across the boundary */
	idem_scope("bob", "k1", b);
	assert_string_not_equal(a, b);
	idem_scope("alice", "k2", b);
	assert_string_not_equal(a, b);
	idem_scope("alicek", "1", b);
	assert_string_not_equal(a, b);

	idem_fingerprint(false, "d1", NULL, "{\"data\":1}", 10, a);
	idem_fingerprint(false, "d1", NULL, "{\"data\":1}", 10, b);
	assert_string_equal(a, b);
	idem_fingerprint(false, "d1", NULL, "{\"data\":2}", 10, b);
	assert_string_not_equal(a, b);
	idem_fingerprint(true, "d1", NULL, "{\"data\":1}", 10, b); /* DELETE */
	assert_string_not_equal(a, b);
	idem_fingerprint(false, "d2", NULL, "{\"data\":1}", 10, b);
	assert_string_not_equal(a, b);
	idem_fingerprint(false, "d1", "\"x\"", "{\"data\":1}", 10, b);
	assert_string_not_equal(a, b);
	idem_fingerprint(false, "d1", "", "{\"data\":1}", 10, b); /* empty vs none */
	assert_string_not_equal(a, b);
	/* bodies are compared as bytes: whitespace counts */
	idem_fingerprint(false, "d1", NULL, "{\"data\": 1}", 11, b);
	assert_string_not_equal(a, b);
	idem_fingerprint(true, "d1", NULL, NULL, 0, a);
	idem_fingerprint(true, "d1", NULL, "", 0, b);
	assert_string_equal(a, b);
}

static void roundtrip(const struct idem_answer *in, const char *body)
{
	struct sbuf sb = SBUF_INIT;
	struct idem_answer out;
	char fp[IDEM_HEX_LEN + 1], got[IDEM_HEX_LEN + 1];

	memset(fp, 'a', IDEM_HEX_LEN);
	fp[IDEM_HEX_LEN] = '\0';
	idem_record_head(fp, in, &sb);
	if (body)
		sbuf_add(&sb, body, strlen(body));
	assert_false(sbuf_failed(&sb));
	assert_int_equal(idem_record_parse(sb.buf, sb.len, got, &out), 0);
	assert_string_equal(got, fp);
	assert_int_equal(out.err, in->err);
	assert_int_equal(out.created, in->created);
	assert_string_equal(out.etag, in->etag);
	if (body) {
		assert_int_equal(out.len, strlen(body));
		assert_memory_equal(out.body, body, out.len);
	} else {
		assert_null(out.body);
		assert_int_equal(out.len, 0);
	}
	sbuf_release(&sb);
	(void)out.message;
}

static void test_record(void **state)
{
	struct idem_answer a;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.created = true;
	strcpy(a.etag, "\"0123456789abcdef0123456789abcdef\"");
	/* a body with newlines and NULs' neighbours survives as bytes */
	roundtrip(&a, "{\"collection\":\"t\",\"data\":\"a\\nb\",\"applied\":true}");
	memset(&a, 0, sizeof(a));
	a.err = GW_ECONFLICT;
	strcpy(a.message, "concurrent write: merge");
	roundtrip(&a, ",\"stored\":{\"x\":1}");
	memset(&a, 0, sizeof(a));
	a.err = GW_EPRECOND;
	roundtrip(&a, NULL);
}

static void test_record_bad(void **state)
{
	static const char *const bad[] = {
		"", "sg0\n", "sg1\n", "sg1\nshort\nOK\n0\n\n\n",
		"sg1\n" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"\nNOSUCHERR\n0\n\n\nbody",
		"sg1\n" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"\nOK\n2\n\n\nbody",
		"sg1\n" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"\nOK\n0\n",
	};
	struct idem_answer a;
	char fp[IDEM_HEX_LEN + 1];

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(bad); i++)
		assert_int_equal(idem_record_parse(bad[i], strlen(bad[i]), fp, &a),
				 GW_EINTERNAL);
	/* the error names come from the error table */
	assert_int_equal(gw_err_from_name("CONFLICT"), GW_ECONFLICT);
	assert_string_equal(gw_err_name(GW_EIDEMMISMATCH), "IDEMMISMATCH");
	assert_int_equal(gw_err_http(GW_EIDEMMISMATCH), 422);
	assert_string_equal(gw_err_code(GW_EIDEMMISMATCH), "idempotency_mismatch");
	assert_int_equal(gw_err_from_name("nope"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_valid),
		cmocka_unit_test(test_scope_and_fingerprint),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_record_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

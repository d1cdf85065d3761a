/*
 * test_errors.c - the error table of common.h (STYLE.md "Ownership and
 * errors"): every row's wire values as clients see them (HTTP status, body
 * code, WebSocket close code), names both ways, and unknown codes answering
 * as GW_EINTERNAL whatever the row order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <string.h>

#include "common.h"

/* The wire contract, written out by hand on purpose: an edit of a row in
 * common.h that changes what clients see must change this table too. */
static const struct {
	int err;
	const char *name, *code, *msg;
	int http, ws;
} rows[] = {
	{GW_EBADREQ, "BADREQ", "bad_request", "bad request", 400, 0},
	{GW_EUNAUTH, "UNAUTH", "unauthorized", "missing or invalid credentials", 401, 1008},
	{GW_EEXPIRED, "EXPIRED", "unauthorized", "token expired", 401, 4001},
	{GW_EFORBIDDEN, "FORBIDDEN", "forbidden", "not allowed", 403, 0},
	{GW_ENOTFOUND, "NOTFOUND", "not_found", "not found", 404, 0},
	{GW_EMETHOD, "METHOD", "method_not_allowed", "method not allowed", 405, 0},
	{GW_ECONFLICT, "CONFLICT", "conflict", "conflicting concurrent write", 409, 0},
	{GW_EINVVER, "INVVER", "invalid_version", "invalid version vector", 409, 0},
	{GW_EPRECOND, "PRECOND", "precondition_failed", "If-Match does not match", 412, 0},
	{GW_ETOOBIG, "TOOBIG", "payload_too_large", "payload too large", 413, 1009},
	{GW_EHEADERS, "HEADERS", "request_header_fields_too_large", "too many header fields", 431, 0},
	{GW_ERATE, "RATE", "rate_limited", "rate limited", 429, 4029},
	{GW_EUNAVAIL, "UNAVAIL", "unavailable", "redis unavailable", 503, 0},
	{GW_ETIMEOUT, "TIMEOUT", "unavailable", "redis command timed out", 503, 0},
	{GW_ERETRY, "RETRY", "unavailable", "stored document kept changing", 503, 0},
	{GW_ENOMEM, "NOMEM", "unavailable", "out of memory", 503, 0},
	{GW_EBUSY, "BUSY", "unavailable", "too many calls in flight", 503, 0},
	{GW_EIDEMMISMATCH, "IDEMMISMATCH", "idempotency_mismatch",
	 "this Idempotency-Key was used with another request", 422, 0},
	{GW_ESHUTDOWN, "SHUTDOWN", "shutting_down", "gateway shutting down", 503, 1001},
	{GW_ESLOW, "SLOW", "slow_consumer", "slow consumer", 500, 4008},
	{GW_ECLOSING, "CLOSING", "closing", "session is closing", 500, 0},
	{GW_EBINARY, "BINARY", "binary_not_supported", "binary messages are not supported", 415, 1003},
	{GW_EAUTH_TIMEOUT, "AUTH_TIMEOUT", "auth_timeout", "no auth message in time", 408, 1008},
	{GW_EAUTH_FIRST, "AUTH_FIRST", "auth_required", "authenticate first", 401, 1008},
	{GW_ESUBJECT_CHANGED, "SUBJECT_CHANGED", "subject_changed", "token subject changed", 401, 1008},
	{GW_EINTERNAL, "INTERNAL", "internal", "internal error", 500, 1011},
};

static void test_rows(void **state)
{
	(void)state;
	/* every code has a row here: the enum is dense between the markers */
	assert_int_equal(GW_ARRAY_LEN(rows), GW_ERR_END_ - GW_ERR_BASE_ - 1);
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		int e = rows[i].err;

		assert_true(e < 0);
		assert_string_equal(gw_err_name(e), rows[i].name);
		assert_string_equal(gw_err_code(e), rows[i].code);
		assert_string_equal(gw_err_message(e), rows[i].msg);
		if (gw_err_http(e) != rows[i].http || gw_err_ws_close(e) != rows[i].ws)
			fail_msg("row %s: http %d ws %d", rows[i].name, gw_err_http(e),
				 gw_err_ws_close(e));
		assert_int_equal(gw_err_from_name(rows[i].name), e);
	}
}

/* What any row must satisfy, so that a new row cannot put nonsense on the
 * wire: an error status, a close code a server may send, unique names. */
static void test_row_shapes(void **state)
{
	(void)state;
	for (int e = GW_ERR_BASE_ + 1; e < GW_ERR_END_; e++) {
		int http = gw_err_http(e), ws = gw_err_ws_close(e);
		const char *name = gw_err_name(e);

		assert_true(http >= 400 && http <= 599);
		assert_true(ws == 0 || (ws >= 1000 && ws <= 1014 && ws != 1004 &&
					ws != 1005 && ws != 1006) ||
			    (ws >= 3000 && ws <= 4999));
		assert_true(strlen(gw_err_code(e)) > 0);
		assert_true(strlen(gw_err_message(e)) > 0);
		/* a close reason is at most 123 bytes */
		assert_true(strlen(gw_err_message(e)) <= 123);
		assert_int_equal(gw_err_from_name(name), e);
		for (int f = GW_ERR_BASE_ + 1; f < e; f++)
			assert_string_not_equal(gw_err_name(f), name);
	}
}

static void test_unknown_is_internal(void **state)
{
	static const int unknown[] = {0, 1, -1, 42, GW_ERR_BASE_, GW_ERR_END_,
				      GW_ERR_BASE_ - 1, -5000, INT_MIN, INT_MAX};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(unknown); i++) {
		int e = unknown[i];

		assert_string_equal(gw_err_name(e), "INTERNAL");
		assert_string_equal(gw_err_code(e), "internal");
		assert_string_equal(gw_err_message(e), "internal error");
		assert_int_equal(gw_err_http(e), 500);
		assert_int_equal(gw_err_ws_close(e), 1011);
	}
}

static void test_from_name_unknown(void **state)
{
	static const char *const names[] = {
		"", "conflict", "Conflict", "GW_ECONFLICT", "ECONFLICT",
		"CONFLICT ", " CONFLICT", "CONFLICTS", "OK", "BASE_", "END_",
	};

	(void)state;
	assert_int_equal(gw_err_from_name(NULL), 0);
	for (size_t i = 0; i < GW_ARRAY_LEN(names); i++)
		if (gw_err_from_name(names[i]) != 0)
			fail_msg("\"%s\" names a code", names[i]);
}

static void test_fail(void **state)
{
	struct gw_error e = {0, ""};

	(void)state;
	assert_int_equal(gw_fail(&e, GW_EBADREQ, "field %s", "x"), GW_EBADREQ);
	assert_int_equal(e.code, GW_EBADREQ);
	assert_string_equal(e.msg, "field x");
	assert_int_equal(gw_fail(NULL, GW_ENOMEM, "no %d", 1), GW_ENOMEM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_row_shapes),
		cmocka_unit_test(test_unknown_is_internal),
		cmocka_unit_test(test_from_name_unknown),
		cmocka_unit_test(test_fail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

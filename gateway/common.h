/*
 * common.h - the one header every module may include: the error table and a
 * few small macros. Nothing here depends on a library.
 *
 * Error convention: functions return 0 on success or a negative GW_E* code;
 * constructors return NULL. Each row of GW_ERR_MAP gives the enum name, the
 * wire code (DESIGN.md section 11), the default message, the HTTP status and
 * the WebSocket close code (0: the socket stays open and gets an "error"
 * message instead of a close). Mapping an error to the wire goes through
 * this table and nowhere else. The close-only rows name why a WebSocket is
 * closed; no HTTP answer uses them, their status is only a fitting default.
 * CLOSING is internal: a closing session refuses more messages.
 */
#ifndef SG_COMMON_H
#define SG_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GW_ERR_MAP(XX)                                                        \
	XX(BADREQ, "bad_request", "bad request", 400, 0)                      \
	XX(UNAUTH, "unauthorized", "missing or invalid credentials", 401, 1008) \
	XX(EXPIRED, "unauthorized", "token expired", 401, 4001)               \
	XX(FORBIDDEN, "forbidden", "not allowed", 403, 0)                     \
	XX(NOTFOUND, "not_found", "not found", 404, 0)                        \
	XX(METHOD, "method_not_allowed", "method not allowed", 405, 0)        \
	XX(CONFLICT, "conflict", "conflicting concurrent write", 409, 0)      \
	XX(INVVER, "invalid_version", "invalid version vector", 409, 0)       \
	XX(PRECOND, "precondition_failed", "If-Match does not match", 412, 0) \
	XX(TOOBIG, "payload_too_large", "payload too large", 413, 1009)       \
	XX(HEADERS, "request_header_fields_too_large", "too many header fields", 431, 0) \
	XX(RATE, "rate_limited", "rate limited", 429, 4029)                   \
	XX(UNAVAIL, "unavailable", "redis unavailable", 503, 0)               \
	XX(TIMEOUT, "unavailable", "redis command timed out", 503, 0)         \
	XX(RETRY, "unavailable", "stored document kept changing", 503, 0)     \
	XX(NOMEM, "unavailable", "out of memory", 503, 0)                     \
	XX(BUSY, "unavailable", "too many calls in flight", 503, 0)           \
	XX(IDEMMISMATCH, "idempotency_mismatch",                              \
	   "this Idempotency-Key was used with another request", 422, 0)     \
	/* close-only: reasons a WebSocket is closed for */                   \
	XX(SHUTDOWN, "shutting_down", "gateway shutting down", 503, 1001)     \
	XX(SLOW, "slow_consumer", "slow consumer", 500, 4008)                 \
	XX(CLOSING, "closing", "session is closing", 500, 0)                  \
	XX(BINARY, "binary_not_supported", "binary messages are not supported", 415, 1003) \
	XX(AUTH_TIMEOUT, "auth_timeout", "no auth message in time", 408, 1008) \
	XX(AUTH_FIRST, "auth_required", "authenticate first", 401, 1008)      \
	XX(SUBJECT_CHANGED, "subject_changed", "token subject changed", 401, 1008) \
	XX(INTERNAL, "internal", "internal error", 500, 1011)

enum gw_err {
	GW_OK = 0,
#define GW_ERR_ENUM(name, code, msg, http, ws) GW_E##name,
	GW_ERR_BASE_ = -1000,
	GW_ERR_MAP(GW_ERR_ENUM)
#undef GW_ERR_ENUM
	GW_ERR_END_
};

/* Caller-provided detail for humans; msg is always NUL-terminated. */
struct gw_error {
	int code;      /* a GW_E* value, or 0 */
	char msg[200];
};

/*
 * Lookups in GW_ERR_MAP. A value that is not a GW_E* code (0 included)
 * answers as GW_EINTERNAL does. Pure, any thread.
 */
/* Wire code string of err ("bad_request", ...). */
const char *gw_err_code(int err);
/* Default human message of err. */
const char *gw_err_message(int err);
/* HTTP status of err. */
int gw_err_http(int err);
/* WebSocket close code of err, or 0 when the socket stays open. */
int gw_err_ws_close(int err);
/* The enum name of err without GW_E ("CONFLICT" for GW_ECONFLICT). */
const char *gw_err_name(int err);
/* The GW_E* code whose gw_err_name is name (exact, case-sensitive); 0 when
 * no row has that name or name is NULL. */
int gw_err_from_name(const char *name);
/* Fill e (may be NULL) with code and a printf-style message; returns code. */
int gw_fail(struct gw_error *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define GW_UNUSED(x) ((void)(x))
#define GW_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Frees a secret string, zeroed first in a way the compiler keeps (a
 * memset before free may be dropped as a dead store); NULL: nothing. */
static inline void gw_free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Largest integer JSON carries exactly (I-JSON): 2^53 - 1. */
#define GW_MAX_SAFE_INT 9007199254740991LL

#endif

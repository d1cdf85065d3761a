/*
 * resolution.h - the resolver protocol of the callback policy (DESIGN.md
 * sections 4, 10 and 11, docs/conflicts.md): the request body sent for a
 * conflict, its HMAC-SHA256 signature, and the strict checks on an answer.
 * Pure: no sockets (gateway/resolver.c carries the bytes).
 *
 * Request: {"request_id","collection","id","stored":{..},"incoming":{..}}
 * with each side as doc_serialize_brief writes it. Signature header value:
 * "v1=" + hex HMAC-SHA256(secret, "<timestamp>.<body>"). Answer: exactly
 * {"data":<json>,"deleted":<bool>}, "deleted" optional (false), "data"
 * optional or null when "deleted" is true.
 */
#ifndef SG_RESOLUTION_H
#define SG_RESOLUTION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doc.h"
#include "sbuf.h"

#define RESOLUTION_ID_LEN 32       /* hex characters of a request id */
#define RESOLUTION_SIG_LEN (3 + 64) /* "v1=" + hex */

/* Fallback reasons (DESIGN.md section 11 "reason"), one per failure. */
#define RESOLUTION_TIMEOUT "timeout"
#define RESOLUTION_UNREACHABLE "unreachable"
#define RESOLUTION_HTTP_STATUS "http_status"
#define RESOLUTION_INVALID_JSON "invalid_json"
#define RESOLUTION_BAD_ANSWER "bad_answer"
#define RESOLUTION_TOO_LARGE "too_large"
#define RESOLUTION_BODY_TOO_LARGE "body_too_large"
#define RESOLUTION_OVERLOADED "overloaded"
#define RESOLUTION_CONTENTION "contention"
#define RESOLUTION_ERROR "error"

/* Appends the request body; stored and incoming borrowed. */
void resolution_request(const char *request_id, const char *coll,
			const char *id, const struct doc *stored,
			const struct doc *incoming, struct sbuf *sb);

/* The signature header value for ts (unix seconds) and body into out
 * (RESOLUTION_SIG_LEN + 1 bytes). Returns 0 or GW_EINTERNAL. */
int resolution_sign(const char *secret, size_t secret_len, int64_t ts,
		    const char *body, size_t len, char *out);

struct resolution_answer {
	json_t *data;          /* owned; NULL for a tombstone */
	char *data_json;       /* owned: data serialized (stored as is) */
	size_t data_json_len;
	bool deleted;
};

/*
 * Checks a 2xx answer body. Returns 0 and fills out, or GW_EBADREQ with
 * *reason one of RESOLUTION_INVALID_JSON (not strict JSON), _BAD_ANSWER
 * (not exactly the answer shape) or _TOO_LARGE (data over lim->data_max),
 * or GW_ENOMEM (*reason RESOLUTION_ERROR). out is zeroed on failure.
 */
int resolution_parse(const char *body, size_t len, const struct doc_limits *lim,
		     struct resolution_answer *out, const char **reason);
void resolution_answer_release(struct resolution_answer *a);

#endif

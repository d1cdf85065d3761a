/*
 * trail.h - the conflict trail (DESIGN.md sections 6 and 7): the JSON of
 * one conflict, as kept in the collection's conflicts stream, read back by
 * GET /v1/collections/{c}/conflicts and sent to WebSocket subscriptions
 * made with "conflicts":true. Pure.
 *
 * Entry: {"type":"conflict",("trail_id",)"collection","id","policy","winner",
 * ["fallback","reason",] "applied","stored":{..},"incoming":{..},
 * ["resolver":{"status","ms","answer"},] "request_id","node","time",
 * "offset"}. offset is the change the conflict produced, or, when it
 * produced none (applied false), the collection's head at the time. The
 * entry ends with "offset":"<epoch>:<seq>"} so that the store appends the
 * offset it takes, as for documents. The stream keeps the entry without
 * "trail_id" (its own stream id); every copy a reader gets has it right
 * after "type".
 */
#ifndef SG_TRAIL_H
#define SG_TRAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doc.h"
#include "policy.h"
#include "sbuf.h"

struct trail_entry {
	const char *collection, *id;
	enum conflict_policy policy;
	const char *winner;          /* "incoming", "stored" or "resolver" */
	enum conflict_policy fallback;
	const char *reason;          /* NULL, or why the resolver's answer was
					not used (the fallback ran) */
	bool changed;                /* the conflict stored a change */
	const struct doc *stored;    /* borrowed */
	const struct doc *incoming;  /* borrowed: the write, version W */
	bool asked;                  /* a resolver was called */
	long resolver_status;        /* its HTTP status, 0 when none */
	int64_t resolver_ms;
	const char *answer;          /* borrowed: its answer when valid JSON,
					else NULL */
	size_t answer_len;
	const char *request_id, *node;
	int64_t time_ms;
};

/* Every entry starts with these bytes ({"type":"conflict",); readers put
 * "trail_id" right after them. */
#define TRAIL_ENTRY_START "{\"type\":\"conflict\","
#define TRAIL_ENTRY_START_LEN (sizeof(TRAIL_ENTRY_START) - 1)

/* Appends the entry up to and including "offset":" (see above). */
void trail_entry_prefix(const struct trail_entry *t, struct sbuf *sb);

/* True when buf starts like a trail entry (a pub/sub payload that carries
 * one, see hub.c). */
bool trail_is_entry(const char *buf, size_t len);

#endif

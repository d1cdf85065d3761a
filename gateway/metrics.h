/*
 * metrics.h - process-wide counters and gauges, rendered in Prometheus text
 * format for GET /metrics. Updated on the loop thread only, so plain
 * integers suffice. Pure.
 */
#ifndef SG_METRICS_H
#define SG_METRICS_H

#include <stdint.h>

#include "policy.h"
#include "sbuf.h"

enum metrics_write_result {
	MW_APPLIED,         /* the incoming state was stored */
	MW_ALREADY_APPLIED, /* rules 3/4: nothing to do (retry, duplicate) */
	MW_CONFLICT,        /* rule 5 ran and the stored state won */
	MW_RESOLVED,        /* rule 5 ran and a resolver's answer was stored */
	MW_REJECTED,        /* refused by the rules: 409, 412 */
	MW_ERROR,           /* bad input, Redis unavailable, internal */
	MW_COUNT_
};

#define METRICS_LAT_BUCKETS 14
/* Resolver outcomes: "ok" and the fallback reasons of resolution.h. */
#define METRICS_REASONS 11

struct metrics {
	int64_t ws_connections;
	int64_t subscriptions;
	uint64_t writes[MW_COUNT_];
	uint64_t changes_delivered;
	uint64_t slow_consumer_closes;
	uint64_t gap_repairs;
	uint64_t resets_sent;
	uint64_t epoch_rotations;
	uint64_t epoch_changes;
	uint64_t redis_reconnects;
	uint64_t http_requests;
	uint64_t write_waits;      /* writes queued behind another on a document */
	uint64_t write_rounds;     /* decisions taken again: the document moved */
	uint64_t idempotent_replays;
	uint64_t conflicts[3][3];  /* [policy][winner: incoming, stored, resolver] */
	uint64_t resolver_calls[METRICS_REASONS];    /* by outcome */
	uint64_t resolver_fallbacks[METRICS_REASONS]; /* by reason */
	int64_t resolver_inflight;
	int redis_cmd_up;
	int redis_sub_up;
	uint64_t lat_buckets[METRICS_LAT_BUCKETS]; /* cumulative at render */
	uint64_t lat_count;
	double lat_sum;
};

extern struct metrics metrics;

/* Records one write's latency in seconds and its result. */
void metrics_write(enum metrics_write_result r, double seconds);
/* Counts one conflict settled by policy with winner ("incoming", "stored"
 * or "resolver"). */
void metrics_conflict(enum conflict_policy policy, const char *winner);
/* Counts one resolver call's outcome ("ok" or a fallback reason). */
void metrics_resolver_call(const char *outcome);
/* Counts one write that fell back, by reason. */
void metrics_fallback(const char *reason);
/* Appends the Prometheus text exposition. */
void metrics_render(struct sbuf *sb);

#endif

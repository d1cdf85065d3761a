/*
 * metrics.c - counters and the write-latency histogram, Prometheus text.
 * Pure: no I/O.
 */
#include "metrics.h"

#include <string.h>

struct metrics metrics;

static const double lat_bounds[METRICS_LAT_BUCKETS] = {
	0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10};

static const char *const write_names[MW_COUNT_] = {
	"applied", "already_applied", "conflict", "resolved", "rejected", "error"};

/* the outcomes of resolution.h, "ok" first */
static const char *const reasons[METRICS_REASONS] = {
	"ok", "timeout", "unreachable", "http_status", "invalid_json",
	"bad_answer", "too_large", "body_too_large", "overloaded", "contention",
	"error"};

static const char *const winners[3] = {"incoming", "stored", "resolver"};

static size_t reason_index(const char *r)
{
	for (size_t i = 0; i < METRICS_REASONS; i++)
		if (strcmp(reasons[i], r) == 0)
			return i;
	return METRICS_REASONS - 1; /* "error" */
}

void metrics_conflict(enum conflict_policy policy, const char *winner)
{
	for (size_t i = 0; i < 3; i++)
		if (winner && strcmp(winners[i], winner) == 0 && (unsigned)policy < 3)
			metrics.conflicts[policy][i]++;
}

void metrics_resolver_call(const char *outcome)
{
	metrics.resolver_calls[reason_index(outcome)]++;
}

void metrics_fallback(const char *reason)
{
	metrics.resolver_fallbacks[reason_index(reason)]++;
}

void metrics_write(enum metrics_write_result r, double seconds)
{
	if (r < MW_COUNT_)
		metrics.writes[r]++;
	for (int i = 0; i < METRICS_LAT_BUCKETS; i++) {
		if (seconds <= lat_bounds[i]) {
			metrics.lat_buckets[i]++;
			break;
		}
	}
	metrics.lat_count++;
	metrics.lat_sum += seconds;
}

static void metric(struct sbuf *sb, const char *name, const char *type,
		   const char *help, long long v)
{
	sbuf_addf(sb, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", name, help, name,
		  type, name, v);
}

void metrics_render(struct sbuf *sb)
{
	uint64_t cum = 0;

	metric(sb, "syncgate_websocket_connections", "gauge",
	       "Open WebSocket connections.", metrics.ws_connections);
	metric(sb, "syncgate_subscriptions", "gauge",
	       "Active collection subscriptions over all connections.",
	       metrics.subscriptions);
	sbuf_adds(sb, "# HELP syncgate_writes_total Document writes by result.\n"
		      "# TYPE syncgate_writes_total counter\n");
	for (int i = 0; i < MW_COUNT_; i++)
		sbuf_addf(sb, "syncgate_writes_total{result=\"%s\"} %llu\n",
			  write_names[i], (unsigned long long)metrics.writes[i]);
	sbuf_adds(sb, "# HELP syncgate_conflicts_total Concurrent writes (rule 5) by "
		      "policy and winner.\n# TYPE syncgate_conflicts_total counter\n");
	for (int p = 0; p < 3; p++)
		for (int w = 0; w < 3; w++)
			if (w < 2 || p == POLICY_CALLBACK)
				sbuf_addf(sb, "syncgate_conflicts_total{policy=\"%s\","
					      "winner=\"%s\"} %llu\n",
					  policy_name((enum conflict_policy)p), winners[w],
					  (unsigned long long)metrics.conflicts[p][w]);
	sbuf_adds(sb, "# HELP syncgate_resolver_calls_total Calls to conflict "
		      "resolvers by outcome.\n# TYPE syncgate_resolver_calls_total counter\n");
	for (int i = 0; i < METRICS_REASONS; i++)
		if (i != 8 && i != 9) /* overloaded, contention: no call made */
			sbuf_addf(sb, "syncgate_resolver_calls_total{result=\"%s\"} %llu\n",
				  reasons[i], (unsigned long long)metrics.resolver_calls[i]);
	sbuf_adds(sb, "# HELP syncgate_resolver_fallbacks_total Conflicting writes "
		      "settled by the fallback policy, by reason.\n"
		      "# TYPE syncgate_resolver_fallbacks_total counter\n");
	for (int i = 1; i < METRICS_REASONS; i++)
		sbuf_addf(sb, "syncgate_resolver_fallbacks_total{reason=\"%s\"} %llu\n",
			  reasons[i], (unsigned long long)metrics.resolver_fallbacks[i]);
	metric(sb, "syncgate_resolver_calls_in_flight", "gauge",
	       "Resolver calls waiting for an answer.", (long long)metrics.resolver_inflight);
	metric(sb, "syncgate_write_waits_total", "counter",
	       "Writes that waited for an earlier write of the same document.",
	       (long long)metrics.write_waits);
	metric(sb, "syncgate_write_rounds_total", "counter",
	       "Writes decided again because the stored document changed meanwhile.",
	       (long long)metrics.write_rounds);
	metric(sb, "syncgate_idempotent_replays_total", "counter",
	       "Writes answered from the first answer of their Idempotency-Key.",
	       (long long)metrics.idempotent_replays);
	metric(sb, "syncgate_changes_delivered_total", "counter",
	       "Change messages queued to WebSocket subscribers.",
	       (long long)metrics.changes_delivered);
	metric(sb, "syncgate_slow_consumer_closes_total", "counter",
	       "Connections closed with 4008 for passing the queue limit.",
	       (long long)metrics.slow_consumer_closes);
	metric(sb, "syncgate_gap_repairs_total", "counter",
	       "Sequence gaps in live delivery filled from the change log.",
	       (long long)metrics.gap_repairs);
	metric(sb, "syncgate_resets_total", "counter",
	       "Reset messages sent to subscribers.", (long long)metrics.resets_sent);
	metric(sb, "syncgate_epoch_rotations_total", "counter",
	       "Collections given a new epoch after a lost log tail.",
	       (long long)metrics.epoch_rotations);
	metric(sb, "syncgate_epoch_changes_total", "counter",
	       "Live collections found with a new epoch (lost or replaced log); "
	       "their subscribers were reset.",
	       (long long)metrics.epoch_changes);
	metric(sb, "syncgate_redis_reconnects_total", "counter",
	       "Redis connections re-established.",
	       (long long)metrics.redis_reconnects);
	metric(sb, "syncgate_http_requests_total", "counter",
	       "HTTP requests answered.", (long long)metrics.http_requests);
	sbuf_adds(sb, "# HELP syncgate_redis_up Redis connection state (1 up, 0 down).\n"
		      "# TYPE syncgate_redis_up gauge\n");
	sbuf_addf(sb, "syncgate_redis_up{connection=\"command\"} %d\n",
		  metrics.redis_cmd_up);
	sbuf_addf(sb, "syncgate_redis_up{connection=\"subscriber\"} %d\n",
		  metrics.redis_sub_up);
	sbuf_adds(sb, "# HELP syncgate_write_duration_seconds Write latency, request to answer.\n"
		      "# TYPE syncgate_write_duration_seconds histogram\n");
	for (int i = 0; i < METRICS_LAT_BUCKETS; i++) {
		cum += metrics.lat_buckets[i];
		sbuf_addf(sb, "syncgate_write_duration_seconds_bucket{le=\"%g\"} %llu\n",
			  lat_bounds[i], (unsigned long long)cum);
	}
	sbuf_addf(sb, "syncgate_write_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
		  (unsigned long long)metrics.lat_count);
	sbuf_addf(sb, "syncgate_write_duration_seconds_sum %.6f\n", metrics.lat_sum);
	sbuf_addf(sb, "syncgate_write_duration_seconds_count %llu\n",
		  (unsigned long long)metrics.lat_count);
}

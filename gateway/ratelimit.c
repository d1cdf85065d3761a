/*
 * ratelimit.c - token buckets (ratelimit.h). Depends on map.c and libc.
 */
#include "ratelimit.h"

#include <math.h>
#include <stdlib.h>

#include "map.h"

bool rl_take(struct rl_bucket *b, double rate, double burst, int64_t now_ms,
	     int *retry_after_s)
{
	double need;

	if (rate <= 0)
		return true;
	if (burst < 1)
		burst = 1;
	if (!b->last_ms) {
		b->tokens = burst;
	} else if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * rate / 1000.0;
		if (b->tokens > burst)
			b->tokens = burst;
	}
	b->last_ms = now_ms > 0 ? now_ms : 1;
	if (b->tokens >= 1) {
		b->tokens -= 1;
		return true;
	}
	need = (1 - b->tokens) / rate;
	if (retry_after_s)
		*retry_after_s = need < 1 ? 1 : (int)ceil(need);
	return false;
}

struct rl_table {
	struct map m; /* key -> struct rl_bucket (owned) */
	size_t cap;
};

struct rl_table *rl_table_new(size_t cap)
{
	struct rl_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	map_init(&t->m);
	t->cap = cap;
	return t;
}

static void drop_all(struct map *m)
{
	struct map_entry *e;
	size_t pos;

	for (e = map_first(m, &pos); e; e = map_next(m, e, &pos))
		free(e->val);
}

void rl_table_free(struct rl_table *t)
{
	if (!t)
		return;
	drop_all(&t->m);
	map_release(&t->m);
	free(t);
}

size_t rl_table_count(const struct rl_table *t) { return t->m.count; }

/* Drops the buckets that are full again by now: they hold nothing a
 * fresh one would not. */
static void drop_refilled(struct rl_table *t, double rate, double burst,
			  int64_t now_ms)
{
	struct map_entry *e, *next;
	size_t pos;

	for (e = map_first(&t->m, &pos); e; e = next) {
		struct rl_bucket *b = e->val;

		next = map_next(&t->m, e, &pos);
		if (b->tokens + (double)(now_ms - b->last_ms) * rate / 1000.0 >=
		    burst) {
			map_del(&t->m, e->key);
			free(b);
		}
	}
}

bool rl_table_take(struct rl_table *t, const char *key, double rate,
		   double burst, int64_t now_ms, int *retry_after_s)
{
	struct rl_bucket *b;

	if (rate <= 0)
		return true;
	b = map_get(&t->m, key);
	if (!b) {
		if (t->m.count >= t->cap)
			drop_refilled(t, rate, burst, now_ms);
		if (t->m.count >= t->cap)
			return true;
		b = calloc(1, sizeof(*b));
		if (!b)
			return true;
		if (map_put(&t->m, key, b)) {
			free(b);
			return true;
		}
	}
	return rl_take(b, rate, burst, now_ms, retry_after_s);
}

bool rl_table_has(struct rl_table *t, const char *key, double rate,
		  double burst, int64_t now_ms, int *retry_after_s)
{
	struct rl_bucket *b, probe;

	if (rate <= 0 || !(b = map_get(&t->m, key)))
		return true;
	probe = *b;
	return rl_take(&probe, rate, burst, now_ms, retry_after_s);
}

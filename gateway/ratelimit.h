/*
 * ratelimit.h - token buckets: a rate a caller may keep up and a burst it
 * may spend at once, per connection (one bucket) or per caller (a table
 * of buckets keyed by a name). Pure; time is passed in.
 */
#ifndef SG_RATELIMIT_H
#define SG_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rl_bucket {
	double tokens;
	int64_t last_ms; /* 0: never used (full) */
};

/*
 * Takes one token from b, refilled at rate per second up to burst, at
 * now_ms. Returns true when there was one; otherwise false with
 * *retry_after_s (may be NULL) the whole seconds until there is (>= 1).
 * A rate of 0 or less means no limit.
 */
bool rl_take(struct rl_bucket *b, double rate, double burst, int64_t now_ms,
	     int *retry_after_s);

struct rl_table;

/* A table of at most cap buckets; NULL on OOM. */
struct rl_table *rl_table_new(size_t cap);
void rl_table_free(struct rl_table *t);
/*
 * rl_take on key's bucket. Buckets that have refilled are dropped when
 * the table is full; a key that finds no room is let through (counting
 * it would need memory a flood of new names could take).
 */
bool rl_table_take(struct rl_table *t, const char *key, double rate,
		   double burst, int64_t now_ms, int *retry_after_s);
size_t rl_table_count(const struct rl_table *t);
/* Whether key's bucket has a token now, without taking it (a key without
 * a bucket has them all). */
bool rl_table_has(struct rl_table *t, const char *key, double rate,
		  double burst, int64_t now_ms, int *retry_after_s);

#endif

/*
 * map.h - a string-keyed hash map with chaining (keys copied, values
 * borrowed). Pure; not thread-safe.
 */
#ifndef SG_MAP_H
#define SG_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct map_entry {
	struct map_entry *next;
	void *val;  /* borrowed */
	char key[]; /* owned, NUL-terminated */
};

struct map {
	struct map_entry **b; /* owned bucket array */
	size_t nb;
	size_t count;
	uint64_t seed; /* of the hash: names come from clients (flooding) */
};

/* The seed of the maps made after this call: a secret random value, set
 * once at start, so that nobody can craft names that share a bucket. */
void map_seed(uint64_t seed);
void map_init(struct map *m);
/* Frees the entries (not the values). */
void map_release(struct map *m);
void *map_get(const struct map *m, const char *key);
/* The entry of key (its val may be changed in place), or NULL. */
struct map_entry *map_find(const struct map *m, const char *key);
/* Inserts or replaces; returns 0 or GW_ENOMEM. */
int map_put(struct map *m, const char *key, void *val);
/* Removes key; returns its value or NULL. */
void *map_del(struct map *m, const char *key);

/* Iteration: for (it = map_first(m, &pos); it; it = map_next(m, it, &pos)) */
struct map_entry *map_first(const struct map *m, size_t *pos);
struct map_entry *map_next(const struct map *m, struct map_entry *e,
			   size_t *pos);

#endif

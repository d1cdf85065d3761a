/*
 * map.c - chained string hash map (FNV-1a from a secret seed, then mixed),
 * doubling at load factor 1. Depends on libc only.
 */
#include "map.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

/* Maps made from now on hash with this seed (map_seed). */
static uint64_t next_seed = 1469598103934665603ULL;

void map_seed(uint64_t seed) { next_seed = seed | 1; }

static size_t hash(const struct map *m, const char *s)
{
	uint64_t h = m->seed;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	/* the low bits pick the bucket: fold the high ones in */
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (size_t)h;
}

void map_init(struct map *m)
{
	memset(m, 0, sizeof(*m));
	m->seed = next_seed;
}

void map_release(struct map *m)
{
	for (size_t i = 0; i < m->nb; i++) {
		struct map_entry *e = m->b[i];

		while (e) {
			struct map_entry *n = e->next;

			free(e);
			e = n;
		}
	}
	free(m->b);
	m->b = NULL;
	m->nb = 0;
	m->count = 0;
}

struct map_entry *map_find(const struct map *m, const char *key)
{
	struct map_entry *e;

	if (!m->nb)
		return NULL;
	for (e = m->b[hash(m, key) & (m->nb - 1)]; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

void *map_get(const struct map *m, const char *key)
{
	struct map_entry *e = map_find(m, key);

	return e ? e->val : NULL;
}

static int grow(struct map *m)
{
	size_t nb = m->nb ? m->nb * 2 : 16;
	struct map_entry **b = calloc(nb, sizeof(*b));

	if (!b)
		return GW_ENOMEM;
	for (size_t i = 0; i < m->nb; i++) {
		struct map_entry *e = m->b[i];

		while (e) {
			struct map_entry *n = e->next;
			size_t k = hash(m, e->key) & (nb - 1);

			e->next = b[k];
			b[k] = e;
			e = n;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
	return 0;
}

int map_put(struct map *m, const char *key, void *val)
{
	struct map_entry *e;
	size_t k, klen;

	if (m->count >= m->nb && grow(m))
		return GW_ENOMEM;
	k = hash(m, key) & (m->nb - 1);
	for (e = m->b[k]; e; e = e->next) {
		if (strcmp(e->key, key) == 0) {
			e->val = val;
			return 0;
		}
	}
	klen = strlen(key);
	e = malloc(sizeof(*e) + klen + 1);
	if (!e)
		return GW_ENOMEM;
	memcpy(e->key, key, klen + 1);
	e->val = val;
	e->next = m->b[k];
	m->b[k] = e;
	m->count++;
	return 0;
}

void *map_del(struct map *m, const char *key)
{
	struct map_entry **pp;

	if (!m->nb)
		return NULL;
	for (pp = &m->b[hash(m, key) & (m->nb - 1)]; *pp; pp = &(*pp)->next) {
		struct map_entry *e = *pp;

		if (strcmp(e->key, key) == 0) {
			void *v = e->val;

			*pp = e->next;
			free(e);
			m->count--;
			return v;
		}
	}
	return NULL;
}

struct map_entry *map_first(const struct map *m, size_t *pos)
{
	for (*pos = 0; *pos < m->nb; (*pos)++)
		if (m->b[*pos])
			return m->b[*pos];
	return NULL;
}

struct map_entry *map_next(const struct map *m, struct map_entry *e,
			   size_t *pos)
{
	if (e->next)
		return e->next;
	for ((*pos)++; *pos < m->nb; (*pos)++)
		if (m->b[*pos])
			return m->b[*pos];
	return NULL;
}

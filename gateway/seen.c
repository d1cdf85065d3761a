/*
 * seen.c - the memory of each collection's epoch and highest seq seen
 * (seen.h): a map of marks, halved (arbitrary marks dropped) when it
 * passes its cap.
 */
#include "seen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "offset.h"
#include "strx.h"

#define SEEN_DEFAULT_CAP 100000

struct mark {
	char epoch[OFFSET_EPOCH_MAX + 1];
	uint64_t top;
};

struct seen {
	struct map marks; /* collection -> struct mark (owned) */
	size_t cap;
};

struct seen *seen_new(size_t cap)
{
	struct seen *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	map_init(&s->marks);
	s->cap = cap ? cap : SEEN_DEFAULT_CAP;
	return s;
}

void seen_free(struct seen *s)
{
	struct map_entry *e;
	size_t pos;

	if (!s)
		return;
	for (e = map_first(&s->marks, &pos); e; e = map_next(&s->marks, e, &pos))
		free(e->val);
	map_release(&s->marks);
	free(s);
}

/* Drops marks until half the cap is left. */
static void forget_half(struct seen *s)
{
	struct map_entry *e, *next;
	size_t pos;

	for (e = map_first(&s->marks, &pos); e && s->marks.count > s->cap / 2;
	     e = next) {
		next = map_next(&s->marks, e, &pos);
		free(map_del(&s->marks, e->key));
	}
}

/* coll's mark, made (epoch "") when absent; NULL on OOM. */
static struct mark *mark_of(struct seen *s, const char *coll)
{
	struct mark *m = map_get(&s->marks, coll);

	if (m)
		return m;
	if (s->marks.count >= s->cap)
		forget_half(s);
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	if (map_put(&s->marks, coll, m)) {
		free(m);
		return NULL;
	}
	return m;
}

bool seen_get(const struct seen *s, const char *coll, char *epoch,
	      uint64_t *top)
{
	const struct mark *m = map_get(&s->marks, coll);

	epoch[0] = '\0';
	*top = 0;
	if (!m || !m->epoch[0])
		return false;
	memcpy(epoch, m->epoch, sizeof(m->epoch));
	*top = m->top;
	return true;
}

enum seen_verdict seen_observe(struct seen *s, const char *coll,
			       const char *epoch, uint64_t seq, uint64_t *top)
{
	struct mark *m = mark_of(s, coll);
	enum seen_verdict v;

	if (!m) {
		if (top)
			*top = seq;
		return SEEN_LEARNED;
	}
	if (!m->epoch[0] || strcmp(m->epoch, epoch) != 0) {
		strx_copy(m->epoch, sizeof(m->epoch), epoch);
		m->top = seq;
		v = SEEN_LEARNED;
	} else if (seq >= m->top) {
		m->top = seq;
		v = SEEN_AGREES;
	} else {
		v = SEEN_BEHIND;
	}
	if (top)
		*top = m->top;
	return v;
}

void seen_raise(struct seen *s, const char *coll, const char *epoch,
		uint64_t seq)
{
	struct mark *m = mark_of(s, coll);

	if (!m)
		return;
	if (!m->epoch[0] || strcmp(m->epoch, epoch) != 0) {
		strx_copy(m->epoch, sizeof(m->epoch), epoch);
		m->top = seq;
	} else if (seq > m->top) {
		m->top = seq;
	}
}

size_t seen_count(const struct seen *s) { return s->marks.count; }

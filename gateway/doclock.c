/*
 * doclock.c - per-document FIFO of writes over map.c: an entry exists while
 * a document is held; it carries the queue of writes waiting for it.
 * Pure: libc and map.c only.
 */
#include "doclock.h"

#include <stdlib.h>

#include "common.h"
#include "map.h"
#include "names.h"
#include "strx.h"

/* "<collection>/<id>": '/' is in neither alphabet (DESIGN.md section 3) */
#define KEY_MAX (NAMES_COLLECTION_MAX + 1 + NAMES_ID_MAX + 1)

struct held {
	struct doclock_waiter *head, *tail; /* waiting, oldest first */
};

struct doclock {
	struct map docs; /* key -> struct held (owned) */
	size_t waiting;
};

static void key_of(const char *coll, const char *id, char *key)
{
	size_t at = 0;

	strx_cat(key, KEY_MAX, &at, coll, strlen(coll));
	strx_cat(key, KEY_MAX, &at, "/", 1);
	strx_cat(key, KEY_MAX, &at, id, strlen(id));
}

struct doclock *doclock_new(void)
{
	struct doclock *t = calloc(1, sizeof(*t));

	if (t)
		map_init(&t->docs);
	return t;
}

void doclock_free(struct doclock *t)
{
	struct map_entry *e;
	size_t pos;

	if (!t)
		return;
	for (e = map_first(&t->docs, &pos); e; e = map_next(&t->docs, e, &pos))
		free(e->val);
	map_release(&t->docs);
	free(t);
}

int doclock_acquire(struct doclock *t, const char *coll, const char *id,
		    struct doclock_waiter *w, size_t max_waiting)
{
	char key[KEY_MAX];
	struct held *h;

	key_of(coll, id, key);
	w->next = NULL;
	h = map_get(&t->docs, key);
	if (h) {
		if (t->waiting >= max_waiting)
			return GW_ERATE;
		if (h->tail)
			h->tail->next = w;
		else
			h->head = w;
		h->tail = w;
		t->waiting++;
		return 0;
	}
	h = calloc(1, sizeof(*h));
	if (!h || map_put(&t->docs, key, h)) {
		free(h);
		return GW_ENOMEM;
	}
	return 1;
}

struct doclock_waiter *doclock_release(struct doclock *t, const char *coll,
				       const char *id)
{
	char key[KEY_MAX];
	struct held *h;
	struct doclock_waiter *w;

	key_of(coll, id, key);
	h = map_get(&t->docs, key);
	if (!h)
		return NULL;
	w = h->head;
	if (!w) {
		map_del(&t->docs, key);
		free(h);
		return NULL;
	}
	h->head = w->next;
	if (!h->head)
		h->tail = NULL;
	w->next = NULL;
	t->waiting--;
	return w;
}

size_t doclock_held(const struct doclock *t) { return t->docs.count; }

size_t doclock_waiting(const struct doclock *t) { return t->waiting; }

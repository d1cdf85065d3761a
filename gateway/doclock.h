/*
 * doclock.h - one write in flight per document in this gateway (DESIGN.md
 * section 4, hot documents): the writes of a document wait in arrival order
 * behind the one being decided and stored, so that writers on one gateway
 * never race each other in Redis. Pure; loop thread only.
 */
#ifndef SG_DOCLOCK_H
#define SG_DOCLOCK_H

#include <stddef.h>

/* Embedded in the caller's write; the lock links waiters through it. */
struct doclock_waiter {
	struct doclock_waiter *next; /* owned by the lock while waiting */
};

struct doclock;

/* An empty table, or NULL on OOM. */
struct doclock *doclock_new(void);
/* Frees the table; every document must have been released. NULL: no-op. */
void doclock_free(struct doclock *t);

/*
 * Asks for (coll, id) on behalf of w. Returns 1 when w holds it now, 0 when
 * w was queued behind the holder (doclock_release hands it over, in arrival
 * order), GW_ERATE when it would have to wait while max_waiting writes
 * already wait (over all documents), or GW_ENOMEM; on an error w is neither
 * holding nor queued.
 */
int doclock_acquire(struct doclock *t, const char *coll, const char *id,
		    struct doclock_waiter *w, size_t max_waiting);
/*
 * The holder of (coll, id) is done. Returns the next waiter, which holds
 * the document from now on (the caller starts it), or NULL when nobody
 * waits (the document is free).
 */
struct doclock_waiter *doclock_release(struct doclock *t, const char *coll,
				       const char *id);
/* Documents held right now (for tests and metrics). */
size_t doclock_held(const struct doclock *t);
/* Writes waiting behind holders right now. */
size_t doclock_waiting(const struct doclock *t);

#endif

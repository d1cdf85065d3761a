/*
 * hub_epochs.c - what the hub remembers of each collection's epoch and
 * highest sequence, as the write path sees it: the epoch a write carries to
 * the write script, what a stored write teaches, and what a refused one
 * (Redis shows another epoch, or less than was seen) sets going. Pure, like
 * hub.c, whose state it shares through hub_impl.h.
 */
#include "hub_epochs.h"

#include <stdio.h>
#include <string.h>

#include "hub_impl.h"

bool hub_known(struct hub *h, const char *coll, char *epoch,
	       uint64_t *max_seen)
{
	struct hub_coll *c = hub_coll_get(h, coll, false);

	epoch[0] = '\0';
	*max_seen = 0;
	if (!c || !c->epoch[0])
		return false;
	memcpy(epoch, c->epoch, sizeof(c->epoch));
	*max_seen = c->max_seen;
	return true;
}

void hub_wrote(struct hub *h, const char *coll, const char *epoch, uint64_t seq)
{
	struct hub_coll *c = hub_coll_get(h, coll, false);

	if (!c)
		return;
	if (!c->epoch[0] || (c->state == C_IDLE && strcmp(c->epoch, epoch) != 0)) {
		snprintf(c->epoch, sizeof(c->epoch), "%s", epoch);
		c->head = c->target = c->max_seen = seq;
	} else if (strcmp(c->epoch, epoch) == 0) {
		if (seq > c->max_seen)
			c->max_seen = seq;
	} else {
		hub_coll_meta(h, c); /* a new epoch: learn it, reset subscribers */
	}
}

bool hub_observe(struct hub *h, const char *coll, const char *epoch,
		 uint64_t seq)
{
	struct hub_coll *c = hub_coll_get(h, coll, true);

	if (!c)
		return false;
	if (!c->epoch[0] || (c->state == C_IDLE && strcmp(c->epoch, epoch) != 0)) {
		/* nobody here depends on the old epoch: just learn */
		snprintf(c->epoch, sizeof(c->epoch), "%s", epoch);
		c->head = c->target = c->max_seen = seq;
		return true;
	}
	if (strcmp(c->epoch, epoch) == 0) {
		if (seq >= c->max_seen) {
			c->max_seen = seq;
			return true;
		}
		if (c->state == C_IDLE && !c->busy) {
			c->busy = true;
			if (h->be.rotate(h->be.ctx, c->name, epoch, c->max_seen))
				c->busy = false; /* the next write notices again */
		} else {
			hub_coll_meta(h, c);
		}
		return false;
	}
	hub_coll_meta(h, c);
	return false;
}

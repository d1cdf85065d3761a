/*
 * hub_epochs.h - the write path's view of the hub's memory of each
 * collection's epoch and sequence (hub_epochs.c).
 */
#ifndef SG_HUB_EPOCHS_H
#define SG_HUB_EPOCHS_H

#include <stdbool.h>
#include <stdint.h>

#include "hub.h"

/*
 * What this gateway knows of coll for the write script's tail-loss check:
 * copies the epoch into epoch (OFFSET_EPOCH_MAX + 1 bytes) and the highest
 * seq seen into *max_seen. False (epoch "") when nothing is known.
 */
bool hub_known(struct hub *h, const char *coll, char *epoch,
	       uint64_t *max_seen);
/*
 * Tells the hub what Redis showed for coll when it refused a write (the
 * write script's "stale"). Updates the memory; starts an epoch rotation when Redis shows
 * less than was seen, or a resync when the epoch differs. Returns true when
 * what the hub now knows agrees with (epoch, seq), so that a refused write
 * can be retried at once.
 */
bool hub_observe(struct hub *h, const char *coll, const char *epoch,
		 uint64_t seq);
/*
 * A write of coll was stored at (epoch, seq). That is proof Redis reached
 * seq, never of a loss: a seq below what pub/sub already delivered is the
 * ordinary race between the two connections. Raises what the hub has seen;
 * another epoch makes it re-read the head. Collections nobody follows here
 * are not created.
 */
void hub_wrote(struct hub *h, const char *coll, const char *epoch, uint64_t seq);

#endif

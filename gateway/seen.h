/*
 * seen.h - what this gateway has seen of each collection's change log: the
 * epoch, and the highest seq it saw Redis reach in it (a write's answer, a
 * head read, a live message). It is the evidence for the one loss a Redis
 * cannot report by itself: a log that shows less, in the same epoch, than
 * was seen (docs/decisions.md 14). The write script gets it as the epoch
 * and minimum seq it must find; the delivery hub asks it on every head
 * read. Bounded: past the cap, marks are forgotten (that costs only the
 * evidence; Redis' own `run` check stays). Pure, loop thread only.
 */
#ifndef SG_SEEN_H
#define SG_SEEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct seen;

enum seen_verdict {
	SEEN_AGREES,  /* the known epoch, at or past the mark (raised) */
	SEEN_LEARNED, /* nothing known, or another epoch: now remembered */
	SEEN_BEHIND   /* the known epoch, below the mark: Redis lost a tail
		       * (the mark is kept as the proof) */
};

/* A new, empty memory of at most cap collections (0: a default). NULL on
 * OOM. */
struct seen *seen_new(size_t cap);
void seen_free(struct seen *s);

/*
 * Copies the epoch seen of coll into epoch (OFFSET_EPOCH_MAX + 1 bytes) and
 * the highest seq into *top. False, with epoch "" and *top 0, when nothing
 * is known.
 */
bool seen_get(const struct seen *s, const char *coll, char *epoch,
	      uint64_t *top);

/*
 * Redis showed (epoch, seq) as coll's head, or a change at it: the verdict
 * above. *top (when not NULL) gets the mark after the call, the proof to
 * rotate with when SEEN_BEHIND. Out of memory: SEEN_LEARNED, nothing kept.
 */
enum seen_verdict seen_observe(struct seen *s, const char *coll,
			       const char *epoch, uint64_t seq, uint64_t *top);

/*
 * A change of coll at (epoch, seq) exists (a write was stored there, or it
 * came through pub/sub): raises the mark, or learns the epoch. Never
 * evidence of a loss: a seq below the mark is the ordinary race between
 * the command and the subscriber link.
 */
void seen_raise(struct seen *s, const char *coll, const char *epoch,
		uint64_t seq);

/* How many collections are remembered. */
size_t seen_count(const struct seen *s);

#endif

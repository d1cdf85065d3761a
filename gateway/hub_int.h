/*
 * hub_int.h - what hub.c (the collections: their delivery state machine,
 * live messages, the tick) and hub_sub.c (the subscriptions: start,
 * replay, the since check, the session side) share. Private to those two.
 */
#ifndef SG_HUB_INT_H
#define SG_HUB_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "hub.h"
#include "map.h"
#include "names.h"
#include "offset.h"

#define RETRY_MS 1000 /* a failed read is tried again this much later */
#define REPLAY_BATCH 500
#define REPAIR_BATCH 1000
#define IDLE_CAP 50000 /* remembered collections without subscribers */

enum coll_state {
	C_IDLE,      /* no live delivery (no subscribers) */
	C_OPENING,   /* SUBSCRIBE sent, waiting for hub_on_open */
	C_SYNCING,   /* reading the head */
	C_LIVE,      /* delivering pub/sub messages in order */
	C_REPAIRING, /* filling a gap from the log */
	C_RETRY      /* a read failed; hub_tick retries */
};

enum sub_state {
	S_PENDING, /* waiting for the collection's first sync */
	S_CHECK,   /* since is ahead of head: checking it against Redis */
	S_REPLAY,  /* reading the log from pos + 1 */
	S_LIVE
};

struct hub_coll {
	char name[NAMES_COLLECTION_MAX + 1];
	enum coll_state state;
	bool synced;  /* head read since the last open */
	bool busy;    /* a collection-level backend call is in flight */
	bool resync;  /* re-read the head when the in-flight call is done */
	uint64_t rotate_proof; /* a client's since ahead of head: rotate (0: no) */
	char epoch[OFFSET_EPOCH_MAX + 1]; /* "" when unknown */
	uint64_t head;
	uint64_t target;   /* highest seq known to exist, while repairing */
	int64_t retry_at;
	struct hub_sub *subs; /* doubly linked through cprev/cnext */
	size_t nsubs;
};

struct hub_sub {
	int refs;
	bool dead;
	bool busy;    /* a backend call for this subscription is in flight */
	bool paused;  /* replay waits for the session queue to drain */
	enum sub_state state;
	int64_t retry_at;       /* a failed read is retried at this hub_tick */
	struct hub_coll *coll;  /* borrowed; valid while !dead */
	struct session *sess;   /* borrowed; valid while !dead */
	struct hub_sub *cprev, *cnext, *snext, *sprev;
	uint64_t pos;
	bool has_since;
	struct offset since;
	bool conflicts; /* also conflict trail entries */
	bool ahead;     /* S_CHECK: since is ahead of Redis too; waits for the
			 * collection's rotation, then gets its reset */
	char *ref; /* owned */
};

struct hub {
	struct hub_backend be;
	struct seen *seen; /* borrowed: what was seen of each collection */
	struct map colls; /* name -> struct hub_coll (owned) */
	int64_t now_ms;
};

static inline void sub_unref(struct hub_sub *sub)
{
	if (--sub->refs == 0) {
		free(sub->ref);
		free(sub);
	}
}

static inline struct hub_sub *sub_ref(struct hub_sub *sub)
{
	sub->refs++;
	return sub;
}

/* ---- hub.c, for hub_sub.c --------------------------------------------- */

struct hub_coll *hub_coll_get(struct hub *h, const char *name, bool create);
/* The offset text of seq in c's epoch, into buf (OFFSET_STR_MAX). */
void hub_offset_of(const struct hub_coll *c, uint64_t seq, char *buf);
/* Re-reads the collection's head (after the call in flight, if any). */
void hub_coll_meta(struct hub *h, struct hub_coll *c);
/* A client's since is ahead of Redis (proof: that seq): a new epoch. */
void hub_coll_rotate(struct hub *h, struct hub_coll *c, uint64_t proof);

/* ---- hub_sub.c, for hub.c --------------------------------------------- */

/* The subscription starts over at the collection's head with a reset. */
void hub_sub_reset(struct hub_sub *sub, const char *reason);
/* A backend call for sub could not be started: retried at a later tick. */
void hub_sub_call_failed(struct hub *h, struct hub_sub *sub);
/* Reads the next replay batch, unless busy, caught up or paused. */
void hub_sub_fetch(struct hub *h, struct hub_sub *sub);
/* The collection is synced: sub gets subscribed, then replay, a since
 * check or a reset. */
void hub_sub_start(struct hub *h, struct hub_sub *sub);
void hub_start_pending(struct hub *h, struct hub_coll *c);
/* The first head read failed: pending subscriptions get an error and go. */
void hub_fail_pending(struct hub *h, struct hub_coll *c, int rc);
void hub_sub_meta_result(struct hub *h, struct hub_sub *sub, int rc,
			 const char *epoch, uint64_t seq);
void hub_sub_log_result(struct hub *h, struct hub_sub *sub, int rc,
			const struct hub_entry *e, size_t n);
/* The subscription of s to coll, or NULL. */
struct hub_sub *hub_find_sub(struct session *s, const char *coll);
/* Unlinks sub from its collection and session (the collection closes
 * when it was the last). */
void hub_sub_remove(struct hub *h, struct hub_sub *sub);

#endif

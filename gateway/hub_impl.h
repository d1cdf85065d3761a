/*
 * hub_impl.h - the hub's per-collection and per-subscription state, shared
 * by hub.c (delivery) and hub_epochs.c (what the write path learns and
 * asks of a collection's epoch and sequence). Private to those two files.
 */
#ifndef SG_HUB_IMPL_H
#define SG_HUB_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "hub.h"
#include "map.h"
#include "names.h"
#include "offset.h"

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
	uint64_t max_seen; /* highest seq seen in this epoch */
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
	struct map colls; /* name -> struct hub_coll (owned) */
	int64_t now_ms;
};

/* The collection's state (created when create is true; NULL when absent
 * or out of memory). */
struct hub_coll *hub_coll_get(struct hub *h, const char *name, bool create);
/* Re-reads the collection's head (after the call in flight, if any). */
void hub_coll_meta(struct hub *h, struct hub_coll *c);

#endif

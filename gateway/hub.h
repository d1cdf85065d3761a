/*
 * hub.h - live delivery: the two-way subscription index (collection ->
 * subscriptions, session -> subscriptions) and, per collection, the state
 * machine that turns Redis pub/sub messages plus the change log into the
 * guarantee of DESIGN.md section 5: per subscription, changes in sequence
 * order, no gap, no duplicate; `since` replay then live without a seam;
 * `reset` when the log cannot serve or the epoch changed.
 *
 * The hub is pure: it never touches Redis or a socket. It asks a backend
 * (struct hub_backend) for reads and hears the answers through the
 * hub_on_* functions; it writes to sessions (session.h). Loop thread only.
 *
 * Backend contract (libuv's): a backend read that returns 0 is answered by
 * exactly one hub_on_* call (success or failure), made later from the loop,
 * never from inside the backend call itself; one that returns a negative
 * GW_E* code is never answered (the hub retries at a later hub_tick). A
 * struct hub_sub passed to the backend carries a reference that the
 * matching hub_on_* call gives back (or the hub drops on an error return).
 *
 * Conflicts (DESIGN.md section 7): a subscription made with conflicts also
 * receives the conflict trail entries of its collection, in order with its
 * changes: the entry a change settled right before that change (live, in
 * replays and in repairs), and entries of conflicts that changed nothing
 * (reject) live, after the change they followed.
 */
#ifndef SG_HUB_H
#define SG_HUB_H

#include <stdbool.h>
#include <stdint.h>

#include "offset.h"
#include "session.h"

struct hub;
struct hub_sub;
struct seen;

struct hub_backend {
	void *ctx;
	/* Start live delivery of coll (SUBSCRIBE). The backend answers with
	 * hub_on_open() once messages flow, and again after every
	 * re-subscription following a lost subscriber connection. */
	void (*open)(void *ctx, const char *coll);
	/* Stop live delivery of coll. No answer. */
	void (*close)(void *ctx, const char *coll);
	/* Read coll's head (creating its epoch if needed): hub_on_meta(). */
	int (*meta)(void *ctx, const char *coll, struct hub_sub *sub);
	/* Read up to count log entries with seq >= from: hub_on_log(). */
	int (*log)(void *ctx, const char *coll, uint64_t from, size_t count,
		   struct hub_sub *sub);
	/* Give coll a new epoch if it still has epoch and a seq below
	 * min_seq (a lost log tail): answered by hub_on_meta(). */
	int (*rotate)(void *ctx, const char *coll, const char *epoch,
		      uint64_t min_seq);
};

struct hub_entry {
	uint64_t seq;
	const char *doc;      /* stored document JSON, borrowed */
	size_t len;
	const char *conflict; /* the conflict trail entry this change settled,
				 borrowed; NULL when none */
	size_t clen;
};

/*
 * How many of the n log entries, from the first, carry epoch in their
 * stored offset. A rotation (rotate.lua) goes on in the same stream, so a
 * reader whose epoch went stale between its head read and its log read
 * must stop there instead of splicing the new epoch's entries into the old
 * history. An entry without an offset tail is taken as it is.
 */
size_t hub_entries_in_epoch(const char *epoch, const struct hub_entry *e,
			    size_t n);

/* New hub; backend is copied, seen borrowed (it must outlive the hub):
 * the memory of each collection's highest seq, raised as changes pass and
 * asked on every head read. NULL on OOM. */
struct hub *hub_new(const struct hub_backend *backend, struct seen *seen);
/* Frees the hub. All sessions must have left (hub_session_gone). */
void hub_free(struct hub *h);

/*
 * Subscribes session s to coll, optionally from offset since; ref is the
 * client's ref (serialized JSON, copied; may be NULL); with conflicts the
 * subscription also receives conflict entries. The "subscribed" message
 * (and replay, or a reset) follow on the session's queue. Returns 0,
 * GW_EBADREQ if s is already subscribed to coll, GW_ENOMEM.
 */
int hub_subscribe(struct hub *h, struct session *s, const char *coll,
		  const struct offset *since, const char *ref, bool conflicts);
/* Removes s's subscription to coll: 0, or GW_ENOTFOUND. */
int hub_unsubscribe(struct hub *h, struct session *s, const char *coll);
/* Removes every subscription of s (the connection is going away). */
void hub_session_gone(struct hub *h, struct session *s);
/*
 * Removes each of s's subscriptions for which keep(ctx, collection) is
 * false, calling removed(ctx, collection) for each (e.g. to send
 * "unsubscribed"). For a token refresh that narrowed the permissions.
 */
void hub_session_filter(struct hub *h, struct session *s,
			bool (*keep)(void *ctx, const char *coll),
			void (*removed)(void *ctx, const char *coll), void *ctx);
/* The transport drained s's queue below half its limit: paused replays
 * continue. */
void hub_session_drained(struct hub *h, struct session *s);

/* ---- answers and events from the backend ---- */
void hub_on_open(struct hub *h, const char *coll);
void hub_on_meta(struct hub *h, const char *coll, struct hub_sub *sub, int rc,
		 const char *epoch, uint64_t seq);
void hub_on_log(struct hub *h, const char *coll, struct hub_sub *sub, int rc,
		const struct hub_entry *e, size_t n);
/* A pub/sub message: a stored document (ending in its offset), or a
 * conflict entry, a newline and the document it settled, or a conflict
 * entry alone (a conflict that changed nothing; its offset is the head it
 * followed). */
void hub_on_live(struct hub *h, const char *coll, const char *msg,
		 size_t len);
/* The subscriber connection dropped: live collections wait for
 * hub_on_open() again. */
void hub_on_sub_lost(struct hub *h);
/* The command connection came back (Redis may have restarted): every
 * open collection re-reads its head and repairs or resets. */
void hub_on_cmd_reconnected(struct hub *h);
/* A write of coll was stored in epoch (the write path; the change itself
 * comes through pub/sub): a followed collection whose epoch this is not
 * re-reads its head (learns the new epoch, resets its subscribers).
 * Collections nobody follows here are not created or touched. */
void hub_wrote(struct hub *h, const char *coll, const char *epoch);

/* Periodic work (retries after failures, memory cap): call about 1/s. */
void hub_tick(struct hub *h, int64_t now_ms);

/* Numbers for tests and metrics. */
size_t hub_collection_count(const struct hub *h);
/* Checks the two-way index; for assert() and unit tests. */
bool hub_check_invariants(const struct hub *h);

#endif

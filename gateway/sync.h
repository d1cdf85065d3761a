/*
 * sync.h - the document use cases behind the REST API (DESIGN.md sections
 * 4-6): write (PUT/DELETE) with the version rules, the conflict policies
 * (a resolver for "callback"), idempotency keys and the atomic store; read
 * one document, list pages, read the change log and the conflict trail.
 * Transport-free: results are GW_E* codes and JSON bodies; rest.c alone
 * turns them into HTTP. Loop thread only.
 *
 * Callback contract (libuv's): every function that takes a callback
 * returns 0 and then calls it exactly once, later, from the loop; or it
 * returns a negative GW_E* code (err->msg saying why) and never calls it.
 */
#ifndef SG_SYNC_H
#define SG_SYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "app.h"
#include "vv.h"

/* The outcome of a use case, for the transport to render. */
struct sync_result {
	int err;                     /* 0, or the GW_E* code to answer with */
	char message[200];           /* err: for humans; "" = the table's */
	bool created;                /* err 0: a document came (back) to life */
	bool replayed;               /* the first answer of an idempotency key */
	char etag[VV_ETAG_LEN + 1];  /* "" when none */
	char *body;                  /* owned. err 0: the JSON answer; err:
					members added after the error object
					(",\"stored\":{..}"), or NULL */
	size_t len;
};

/* Called once; the callee owns res->body (free it, or take it). */
typedef void (*sync_done_fn)(void *arg, struct sync_result *res);

struct sync;

/* The write pipeline's state (per-document queue); NULL on OOM. app is
 * borrowed and must outlive it. */
struct sync *sync_new(struct app *app);
/* No write may be in flight. NULL is a no-op. */
void sync_free(struct sync *sy);

struct sync_write_req {
	const char *coll, *id;      /* validated names */
	bool is_delete;
	const char *if_match;       /* NULL when absent */
	const char *idem_key;       /* Idempotency-Key, NULL when absent */
	const char *body;           /* borrowed for the call */
	size_t len;
	const struct identity *who; /* borrowed for the call */
	const char *req_id;         /* for logs; copied */
};

int sync_write(struct sync *sy, const struct sync_write_req *req,
	       sync_done_fn done, void *arg, struct gw_error *err);
int sync_get(struct app *app, const char *coll, const char *id,
	     bool include_deleted, sync_done_fn done, void *arg,
	     struct gw_error *err);
/* cursor NULL: first page. limit already validated. */
int sync_list(struct app *app, const char *coll, const char *cursor,
	      size_t limit, bool include_deleted, sync_done_fn done, void *arg,
	      struct gw_error *err);
/* since NULL: from the start of the retained log. */
int sync_changes(struct app *app, const char *coll, const char *since,
		 size_t limit, sync_done_fn done, void *arg,
		 struct gw_error *err);
/* The conflict trail after since (a trail cursor; NULL: the oldest kept). */
int sync_conflicts(struct app *app, const char *coll, const char *since,
		   size_t limit, sync_done_fn done, void *arg,
		   struct gw_error *err);

#endif

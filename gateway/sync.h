/*
 * sync.h - the document use cases behind the REST API (DESIGN.md sections
 * 4-6): write (PUT/DELETE) with the version rules and the atomic store,
 * read one document, list pages, read the change log. Each answers once
 * through its callback with a ready HTTP reply. Loop thread only.
 */
#ifndef SG_SYNC_H
#define SG_SYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "app.h"
#include "vv.h"

struct sync_reply {
	int status;
	char *body;                  /* owned, JSON */
	size_t len;
	char etag[VV_ETAG_LEN + 1];  /* "" when none */
	int retry_after;             /* seconds, 0: none */
};

/* Called once; the callee owns reply->body (free it, or take it). */
typedef void (*sync_done_fn)(void *arg, struct sync_reply *reply);

struct sync_write_req {
	const char *coll, *id;    /* validated names */
	bool is_delete;
	const char *if_match;     /* NULL when absent */
	const char *body;         /* borrowed until the callback */
	size_t len;
	const struct identity *who; /* borrowed until the callback */
	const char *req_id;       /* for logs */
};

void sync_write(struct app *app, const struct sync_write_req *req,
		sync_done_fn done, void *arg);
void sync_get(struct app *app, const char *coll, const char *id,
	      bool include_deleted, sync_done_fn done, void *arg);
/* cursor NULL: first page. limit already validated. */
void sync_list(struct app *app, const char *coll, const char *cursor,
	       size_t limit, bool include_deleted, sync_done_fn done,
	       void *arg);
/* since NULL: from the start of the retained log. */
void sync_changes(struct app *app, const char *coll, const char *since,
		  size_t limit, sync_done_fn done, void *arg);

/* Builds an error reply {"error":{"code","message"}} (extra JSON members
 * may follow, e.g. ,"stored":{...}; NULL for none). */
void sync_error(struct sync_reply *r, int err, const char *message,
		const char *extra);

#endif

/*
 * redis_store.h - the Redis operations of DESIGN.md sections 5 and 11 over
 * the command connection: the atomic write script, document reads, list
 * pages, collection heads, log ranges, epoch rotation; plus the checks a
 * Redis must pass before the gateway calls itself ready (reachable,
 * maxmemory-policy noeviction, scripts loaded). Loop thread only.
 *
 * Callback contract (libuv's): an operation returns 0 and then answers
 * through its callback exactly once, later, from the loop; or it returns a
 * negative GW_E* code (GW_ENOMEM) and never calls back. In the callback,
 * err is 0, GW_EUNAVAIL (down, or Redis refused: OOM, LOADING, READONLY...),
 * GW_ETIMEOUT or GW_EINTERNAL (an unexpected reply, e.g. keys of the wrong
 * type; logged). Strings handed to a callback are borrowed for its duration.
 */
#ifndef SG_REDIS_STORE_H
#define SG_REDIS_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "hub.h"
#include "redis_conn.h"

struct store;

struct store_opts {
	struct rconn_opts conn;   /* name, host, port, password, db, timeouts */
	void (*reconnected)(void *ctx); /* each time the checks pass anew, and
					 * when Redis is not the one it was */
	void *ctx;
	/* false (the default): a collection served by another Redis process
	 * than the live one (a restart, failover or restore) gets a new epoch
	 * on its next touch; true: the operator says restarts lose nothing */
	bool lossless_restarts;
	/* bytes a list page, a changes page or a replay batch may hold past
	 * its first document (0: a default) */
	size_t page_bytes;
	/* NULL: one Redis at conn.host:conn.port. Else a Redis Cluster,
	 * "host:port[,host:port...]" naming seed nodes: commands go to the
	 * owner of their collection's slot, changes are SPUBLISHed on it. */
	const char *cluster_seeds;
};

/* Shortest time between two rotations of one collection for a `since`
 * ahead of its head (forged offsets must not make everyone reload). */
#define STORE_ROTATE_INTERVAL_MS 10000

struct store *store_new(uv_loop_t *loop, const struct store_opts *opts);
/* Closes the connection; callbacks in flight get GW_EUNAVAIL. */
void store_free(struct store *s);

/* Connected and every check passed. */
bool store_ready(const struct store *s);
/* Why not ready ("" when ready). */
const char *store_status(const struct store *s);

/* A fresh random epoch (OFFSET_EPOCH_MAX + 1 bytes). */
void store_new_epoch(char *buf);

typedef void (*store_doc_fn)(void *arg, int err, const char *doc, size_t len);
/* HGET of a stored document; doc NULL when there is none. */
int store_get(struct store *s, const char *coll, const char *id,
	      store_doc_fn cb, void *arg);

/* A stored document and the record under idempotency scope (read.lua);
 * either NULL when absent. */
typedef void (*store_read_fn)(void *arg, int err, const char *doc,
			      size_t dlen, const char *rec, size_t rlen);
int store_read(struct store *s, const char *coll, const char *id,
	       const char *scope, store_read_fn cb, void *arg);

enum store_write_result {
	SW_OK,      /* stored: epoch/seq of the change */
	SW_CHANGED, /* the stored document moved on: decide again, from the
		       one stored now (rec; NULL: none) */
	SW_STALE,   /* Redis shows another epoch or less than seen: epoch/seq */
	SW_IDEM     /* the idempotency key has an answer: rec; nothing written */
};

struct store_write_args {
	const char *coll, *id;
	const char *expected;  /* offset of the stored doc decided on; "" one
				  without the offset tail; "-" no document */
	const char *doc;       /* document JSON up to "offset":" (borrowed
				  until the callback, as are the strings
				  below: a NOSCRIPT retry sends them again) */
	size_t doc_len;
	const char *known_epoch; /* "" when unknown */
	uint64_t min_seq;
	uint64_t history;
	/* the conflict this change settles: a trail entry up to "offset":",
	 * or NULL */
	const char *conflict;
	size_t conflict_len;
	uint64_t conflict_history;
	/* the write's idempotency key: scope (hex) and the record head; the
	 * record is head + the stored document without its closing brace +
	 * answer_tail. scope NULL: no key. */
	const char *scope;
	const char *rec_head;
	size_t rec_head_len;
	const char *answer_tail;
	size_t answer_tail_len;
	int64_t idem_ttl_s;
};

typedef void (*store_write_fn)(void *arg, int err, enum store_write_result r,
			       const char *epoch, uint64_t seq,
			       const char *rec, size_t rlen);
int store_write(struct store *s, const struct store_write_args *a,
		store_write_fn cb, void *arg);

/* What a write that changed nothing leaves behind (record.lua); the
 * strings are borrowed until the callback. */
struct store_record_args {
	const char *coll;
	const char *conflict;    /* trail entry up to "offset":" or NULL */
	size_t conflict_len;
	uint64_t conflict_history;
	const char *scope;       /* idempotency scope, or NULL */
	const char *rec;         /* the whole record */
	size_t rec_len;
	int64_t idem_ttl_s;
};
/* rec: the answer another attempt recorded first (nothing written), or
 * NULL. */
typedef void (*store_record_fn)(void *arg, int err, const char *rec,
				size_t rlen);
int store_record(struct store *s, const struct store_record_args *a,
		 store_record_fn cb, void *arg);

typedef void (*store_meta_fn)(void *arg, int err, const char *epoch,
			      uint64_t seq, uint64_t base);
/* The head of coll, creating its epoch if it has none. */
int store_meta(struct store *s, const char *coll, store_meta_fn cb, void *arg);
/* rotate.lua: a new epoch if coll still has epoch and seq < min_seq. */
int store_rotate(struct store *s, const char *coll, const char *epoch,
		 uint64_t min_seq, store_meta_fn cb, void *arg);

typedef void (*store_log_fn)(void *arg, int err, const struct hub_entry *e,
			     size_t n);
/* Log entries with seq >= from, at most count, in order. */
int store_log(struct store *s, const char *coll, uint64_t from, size_t count,
	      store_log_fn cb, void *arg);

typedef void (*store_list_fn)(void *arg, int err, const char *epoch,
			      uint64_t seq, const char *next,
			      const struct hub_entry *docs, size_t n);
/* One page of documents after id `after` ("" from the start). */
int store_list(struct store *s, const char *coll, const char *after,
	       size_t limit, bool include_deleted, store_list_fn cb,
	       void *arg);

/* One conflict trail entry: its stream id and JSON. */
struct store_trail_entry {
	const char *id;
	const char *json;
	size_t len;
};
typedef void (*store_trail_fn)(void *arg, int err,
			       const struct store_trail_entry *e, size_t n);
/* Trail entries after stream id `after` ("" from the oldest), at most
 * count, oldest first. */
int store_conflicts(struct store *s, const char *coll, const char *after,
		    size_t count, store_trail_fn cb, void *arg);

/* The cluster under s, or NULL for one Redis (borrowed: s's). */
struct rcluster *store_cluster(struct store *s);
/* fn(ctx) runs each time the cluster's slot map changed (one hook). */
void store_set_map_hook(struct store *s, void (*fn)(void *ctx), void *ctx);

/* PUBLISH, answer ignored (heartbeats); 0 or GW_ENOMEM. */
int store_publish(struct store *s, const char *channel, const char *payload);

#endif

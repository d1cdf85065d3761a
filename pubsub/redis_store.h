/*
 * redis_store.h - the Redis operations of DESIGN.md sections 5 and 11 over
 * the command connection: the atomic write script, document reads, list
 * pages, collection heads, log ranges, epoch rotation; plus the checks a
 * Redis must pass before the gateway calls itself ready (reachable,
 * maxmemory-policy noeviction, scripts loaded). Loop thread only.
 *
 * Every operation answers through its callback exactly once, later, from
 * the loop (redis_conn.h). err is 0, GW_EUNAVAIL (down, or Redis refused:
 * OOM, LOADING, READONLY...), GW_ETIMEOUT or GW_EINTERNAL (an unexpected
 * reply, e.g. keys of the wrong type; logged).
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
	void (*reconnected)(void *ctx); /* each time the checks pass anew */
	void *ctx;
};

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
void store_get(struct store *s, const char *coll, const char *id,
	       store_doc_fn cb, void *arg);

enum store_write_result { SW_OK, SW_CHANGED, SW_STALE };

struct store_write_args {
	const char *coll, *id;
	const char *expected;  /* offset of the stored doc decided on, "" none */
	const char *doc;       /* document JSON up to "offset":" (borrowed
				  until the callback) */
	size_t doc_len;
	const char *known_epoch; /* "" when unknown */
	uint64_t min_seq;
	uint64_t history;
};

/* SW_OK: epoch/seq of the change; SW_STALE: what Redis shows. */
typedef void (*store_write_fn)(void *arg, int err, enum store_write_result r,
			       const char *epoch, uint64_t seq);
void store_write(struct store *s, const struct store_write_args *a,
		 store_write_fn cb, void *arg);

typedef void (*store_meta_fn)(void *arg, int err, const char *epoch,
			      uint64_t seq, uint64_t base);
/* The head of coll, creating its epoch if it has none. */
void store_meta(struct store *s, const char *coll, store_meta_fn cb, void *arg);
/* rotate.lua: a new epoch if coll still has epoch and seq < min_seq. */
void store_rotate(struct store *s, const char *coll, const char *epoch,
		  uint64_t min_seq, store_meta_fn cb, void *arg);

typedef void (*store_log_fn)(void *arg, int err, const struct hub_entry *e,
			     size_t n);
/* Log entries with seq >= from, at most count, in order. */
void store_log(struct store *s, const char *coll, uint64_t from, size_t count,
	       store_log_fn cb, void *arg);

typedef void (*store_list_fn)(void *arg, int err, const char *epoch,
			      uint64_t seq, const char *next,
			      const struct hub_entry *docs, size_t n);
/* One page of documents after id `after` ("" from the start). */
void store_list(struct store *s, const char *coll, const char *after,
		size_t limit, bool include_deleted, store_list_fn cb,
		void *arg);

/* PUBLISH, answer ignored (heartbeats). */
void store_publish(struct store *s, const char *channel, const char *payload);

#endif

/*
 * redis_reply.h - decoders of the replies to the store's commands and
 * scripts (the shapes are in the headers of pubsub/lua/<script>.lua and in
 * redis_store.c): hiredis's reply tree in, plain values out. No socket, no
 * loop, no state, no logging; any thread. The store calls them and hands the
 * values to its callbacks.
 *
 * Each decoder returns 0 and fills *out, or GW_EINTERNAL when the reply has
 * another shape; the ones that allocate an array may return GW_ENOMEM. On
 * an error *out holds nothing to release (its fields are unspecified).
 * Strings in *out point into the reply (borrowed: valid while the reply is).
 */
#ifndef SG_REDIS_REPLY_H
#define SG_REDIS_REPLY_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub.h"          /* struct hub_entry */
#include "offset.h"
#include "redis_store.h"  /* the result types the store hands on:
			     enum store_write_result, struct store_trail_entry */

/* ---- error replies ------------------------------------------------------- */

/* An error reply Redis means as temporary (OOM, BUSY, LOADING, READONLY,
 * MASTERDOWN, NOREPLICAS, TRYAGAIN, CLUSTERDOWN, MISCONF: a prefix of the
 * message) is GW_EUNAVAIL; any other error reply (WRONGTYPE, ERR, a script
 * error...), or a reply that is not an error, is GW_EINTERNAL. */
int reply_error(const redisReply *r);
/* An error reply starting "NOSCRIPT": the script is not loaded, so the
 * EVALSHA did not run. */
bool reply_is_noscript(const redisReply *r);

/* ---- values -------------------------------------------------------------- */

/* A non-negative integer reply, or a string reply holding a decimal seq
 * (offset_parse_seq's rules). Fills *out only when it returns true. */
bool reply_u64(const redisReply *r, uint64_t *out);

/* A string reply, or nil (str NULL, len 0). */
struct reply_str {
	const char *str; /* borrowed from the reply; NULL for nil */
	size_t len;
};

/* HGET of a document: a string or nil. */
int reply_doc(const redisReply *r, struct reply_str *out);

/* read.lua: {doc|nil, record|nil}, exactly two elements. */
struct reply_read {
	struct reply_str doc, rec;
};
int reply_read(const redisReply *r, struct reply_read *out);

/* write.lua: {"ok", "<epoch>:<seq>"} | {"changed", doc or nil} |
 * {"stale", epoch, seq} | {"idem", record}. */
struct reply_write {
	enum store_write_result result;
	char epoch[OFFSET_EPOCH_MAX + 1]; /* SW_OK, SW_STALE (cut to fit); ""
					     otherwise */
	uint64_t seq;                     /* SW_OK, SW_STALE; 0 otherwise */
	struct reply_str rec;             /* SW_IDEM: the record; SW_CHANGED:
					     the stored document (NULL:
					     none); NULL otherwise */
};
int reply_write(const redisReply *r, struct reply_write *out);

/* record.lua: {"ok"} (rec NULL) | {"idem", record}. */
int reply_record(const redisReply *r, struct reply_str *rec);

/* meta.lua and rotate.lua: {epoch, seq, base[, rotated]}; the epoch must be
 * a valid one (offset_epoch_valid). */
struct reply_meta {
	const char *epoch; /* borrowed from the reply */
	uint64_t seq, base;
	bool rotated;      /* a fourth element, integer 1: rotate.lua made a
			      new epoch */
};
int reply_meta(const redisReply *r, struct reply_meta *out);

/* ---- arrays (each *out owns its array: free() it; NULL when n is 0) ---- */

/* XRANGE of a collection's log: [[<seq>-<n>, [field, value, ...]], ...]
 * with a string field "d" (the document) and optionally "c" (the conflict
 * it settled); the seq part of each id must parse. */
struct reply_log {
	struct hub_entry *e; /* owned; strings borrowed from the reply */
	size_t n;
};
int reply_log(const redisReply *r, struct reply_log *out);

/* list.lua: {epoch, seq, next, doc...}. The epoch is not checked. */
struct reply_list {
	const char *epoch; /* borrowed */
	uint64_t seq;
	const char *next;  /* borrowed */
	struct hub_entry *docs; /* owned; only doc and len set */
	size_t n;
};
int reply_list(const redisReply *r, struct reply_list *out);

/* XRANGE of a conflict trail: [[id, ["d", entry, ...]], ...]. */
struct reply_trail {
	struct store_trail_entry *e; /* owned; strings borrowed */
	size_t n;
};
int reply_trail(const redisReply *r, struct reply_trail *out);

#endif

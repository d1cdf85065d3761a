/*
 * keys.h - the only place that formats Redis key and channel names
 * (DESIGN.md section 11). The "{<collection>}" hash tag keeps all of a
 * collection's keys in one cluster slot. Pure; thread-safe.
 */
#ifndef SG_KEYS_H
#define SG_KEYS_H

#include <stddef.h>

#include "names.h"

#define KEYS_PREFIX_MAX 32
/* room for the longest name: an idempotency key's (":idem:" + 64 hex) */
#define KEYS_MAX (KEYS_PREFIX_MAX + NAMES_COLLECTION_MAX + 96)

enum keys_kind {
	KEYS_DOCS, /* hash: id -> document JSON */
	KEYS_LOG,  /* stream: entry ids <seq>-0, field "d" = document JSON */
	KEYS_META, /* hash: epoch, seq, base */
	KEYS_IDS,  /* sorted set of every id (score 0): list pagination */
	KEYS_LIVE, /* pub/sub channel */
	KEYS_CONFLICTS /* stream: the conflict trail, field "d" = entry JSON */
};

/* The instance marker: "<prefix>instance", a string holding the run_id of
 * the Redis process the gateways last saw (a flush removes it). */
size_t keys_format_instance(char *buf);
/* Sets the prefix (default "sg:"); returns 0 or GW_EBADREQ if invalid. */
int keys_set_prefix(const char *prefix);
const char *keys_prefix(void);
/* Writes the name of kind for collection into buf (KEYS_MAX bytes). */
size_t keys_format(enum keys_kind kind, const char *collection, char *buf);
/* The key of an idempotency record: "<prefix>{<collection>}:idem:<scope>"
 * (scope: hex, at most 64 characters). */
size_t keys_format_idem(const char *collection, const char *scope, char *buf);
/*
 * The collection of a live channel name, copied into coll
 * (NAMES_COLLECTION_MAX + 1 bytes). Returns 0 or -1 if chan is not one.
 */
int keys_channel_collection(const char *chan, size_t len, char *coll);

#endif

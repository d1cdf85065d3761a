/*
 * vv.h - version vectors (DESIGN.md section 4): actor -> count of that
 * actor's edits. Missing entries are 0 and zero entries are never stored;
 * entries are kept sorted by actor, so equal vectors have equal bytes.
 * Pure; a struct vv is not shared between threads.
 */
#ifndef SG_VV_H
#define SG_VV_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common.h"
#include "names.h"
#include "sbuf.h"

#define VV_MAX_ENTRIES 1024

struct vv_entry {
	char actor[NAMES_ACTOR_MAX + 1];
	int64_t n; /* 1 .. GW_MAX_SAFE_INT */
};

struct vv {
	struct vv_entry *e; /* owned, sorted by actor (strcmp) */
	size_t n;
	size_t cap;
};

enum vv_order {
	VV_EQUAL,
	VV_DOMINATES, /* a >= b everywhere, > somewhere */
	VV_DOMINATED, /* b dominates a */
	VV_CONCURRENT
};

#define VV_INIT {NULL, 0, 0}

void vv_init(struct vv *v);
void vv_release(struct vv *v);
/* Deep copy into dst (released first). Returns 0 or GW_ENOMEM. */
int vv_copy(struct vv *dst, const struct vv *src);

/*
 * Reads a JSON object of actor -> integer (obj borrowed). Rejects non-objects,
 * invalid actor names, counts that are not integers in 1..2^53-1, and more
 * than VV_MAX_ENTRIES entries. Returns 0 or GW_EBADREQ (err says which
 * field), GW_ENOMEM.
 */
int vv_from_json(const json_t *obj, struct vv *out, struct gw_error *err);
/* Appends {"actor":n,...} in actor order. */
void vv_dump(const struct vv *v, struct sbuf *sb);

/* The count of actor (0 when absent). */
int64_t vv_get(const struct vv *v, const char *actor);
/*
 * Sets actor's count (n >= 1; n == 0 removes the entry). Returns 0,
 * GW_EBADREQ (bad actor, n out of range, too many entries), GW_ENOMEM.
 */
int vv_set(struct vv *v, const char *actor, int64_t n);
/* Adds 1 to actor's entry; GW_EBADREQ if it would pass 2^53-1. */
int vv_increment(struct vv *v, const char *actor);

enum vv_order vv_compare(const struct vv *a, const struct vv *b);
/* out = entry-wise max of a and b (out may alias neither). */
int vv_merge(const struct vv *a, const struct vv *b, struct vv *out);
/*
 * True when some actor other than writer has a larger count in w than in s
 * (DESIGN.md section 4, rule 1).
 */
bool vv_exceeds_for_others(const struct vv *w, const struct vv *s,
			   const char *writer);

/*
 * The invariants of v: at most VV_MAX_ENTRIES entries, valid actor names,
 * counts in 1..2^53-1, actors strictly ascending. For assert() and tests.
 */
bool vv_check_invariants(const struct vv *v);

/* The ETag of v: a quoted 32-hex-digit digest of its canonical form. */
#define VV_ETAG_LEN 34
void vv_etag(const struct vv *v, char out[VV_ETAG_LEN + 1]);

#endif

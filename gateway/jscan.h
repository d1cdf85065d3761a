/*
 * jscan.h - strict JSON validation without a tree: a scanner that checks
 * one value and can copy it compactly (insignificant whitespace dropped,
 * every other byte as it came). It accepts exactly what jsonx_parse
 * accepts: RFC 8259 text, well-formed UTF-8, no \u0000, no lone
 * surrogates, no duplicate object keys (compared decoded), integers in the
 * 64-bit range, reals that do not overflow, nesting up to a cap. So a value
 * it passed can always be parsed by jansson later, when a caller needs the
 * tree. Pure; no allocation per byte, one small array per object's keys.
 *
 * Errors go to the gw_error given to jscan_init as GW_EBADREQ with an
 * "invalid JSON: ... at position N" message (or "JSON nested deeper than
 * N"); the first error sticks, later calls return it again.
 */
#ifndef SG_JSCAN_H
#define SG_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"
#include "sbuf.h"

struct jscan_key {
	const char *p; /* the decoded key: into the input, or owned */
	size_t n;
	char *owned;   /* the decoded copy of a key with escapes, or NULL */
};

struct jscan {
	const char *buf;
	size_t len, pos;
	int depth, depth_max;
	int rc; /* the first error, or 0 */
	struct gw_error *err;
	struct sbuf *out; /* where the value being scanned is copied */
	size_t run;       /* start of the input not yet copied to out */
	struct jscan_key *keys; /* the keys of every open object, in order */
	size_t nkeys, capkeys;
};

void jscan_init(struct jscan *s, const char *buf, size_t len, int depth_max,
		struct gw_error *err);
void jscan_release(struct jscan *s);

/*
 * Checks that the whole input is one JSON value (whitespace around it
 * allowed). Returns 0 or GW_EBADREQ.
 */
int jscan_check(struct jscan *s);

/*
 * Reads the opening brace of an object (after whitespace). Returns 1 when
 * there is one, 0 when the input holds something else (nothing consumed),
 * or GW_EBADREQ.
 */
int jscan_object_open(struct jscan *s);

/*
 * The next member of the object jscan_object_open opened: reads the comma,
 * the key and the colon, and leaves the value to jscan_value. The decoded
 * key is copied to key (NUL-terminated, cut at cap - 1 bytes; *klen is its
 * full length). Returns 1 for a member, 0 at the closing brace (the keys
 * then are checked for duplicates and the end of the input for anything
 * but whitespace), or GW_EBADREQ.
 */
int jscan_member(struct jscan *s, char *key, size_t cap, size_t *klen);

/*
 * Checks the next value; with out non-NULL appends its compact form.
 * *start and *end (may be NULL) get its span in the input. Returns 0 or
 * GW_EBADREQ.
 */
int jscan_value(struct jscan *s, struct sbuf *out, size_t *start, size_t *end);

#endif

/*
 * jsonx.h - the JSON rules of DESIGN.md section 10 on top of jansson:
 * strict parsing (duplicate keys rejected, nesting capped, one value and
 * nothing after it) and a compact serializer whose output we control
 * (reals in their shortest round-trip form, insertion order kept). Pure.
 */
#ifndef SG_JSONX_H
#define SG_JSONX_H

#include <jansson.h>
#include <stdbool.h>

#include "common.h"
#include "sbuf.h"

/*
 * Parses buf[0..len) as exactly one JSON value of any type. Rejects
 * duplicate object keys, nesting deeper than max_depth (checked before
 * jansson sees the bytes, so hostile depth costs no stack), NUL in strings,
 * invalid UTF-8 and numbers out of range. Returns a new reference, or NULL
 * with err filled (GW_EBADREQ, message naming the problem).
 */
json_t *jsonx_parse(const char *buf, size_t len, int max_depth,
		    struct gw_error *err);

/* Nesting depth of buf (arrays and objects), stopping early past limit. */
int jsonx_depth(const char *buf, size_t len, int limit);

/* Appends the compact serialization of v (borrowed) to sb. */
void jsonx_dump(const json_t *v, struct sbuf *sb);

/*
 * Reads an integer in [min, max] from v (borrowed). Only JSON integers
 * count (1.0 and "1" do not). Returns 0 or GW_EBADREQ.
 */
int jsonx_int(const json_t *v, int64_t min, int64_t max, int64_t *out);

#endif

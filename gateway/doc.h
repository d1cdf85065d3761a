/*
 * doc.h - the document model of DESIGN.md section 4: its stored JSON form
 * and the body of a write request. Pure.
 *
 * Stored form, always in this key order so that the Lua write script can
 * append the offset and read "deleted" and "offset" without a JSON parser:
 *   {"collection":..,"id":..,"deleted":..,"version":{..},"actor":..,
 *    "timestamp":..,"data":..,"offset":"<epoch>:<seq>"}
 */
#ifndef SG_DOC_H
#define SG_DOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common.h"
#include "names.h"
#include "offset.h"
#include "sbuf.h"
#include "vv.h"

struct doc {
	char collection[NAMES_COLLECTION_MAX + 1];
	char id[NAMES_ID_MAX + 1];
	bool deleted;
	struct vv version;
	char actor[NAMES_ACTOR_MAX + 1];
	int64_t timestamp; /* ms */
	json_t *data;      /* owned reference, or NULL when data_json is
			      all there is; JSON null for tombstones */
	const char *data_json; /* borrowed: data already serialized, or NULL
				  (doc_serialize then serializes data) */
	size_t data_json_len;
	char offset[OFFSET_STR_MAX];
};

struct doc_write {
	char *data_json; /* owned: data as the body spelled it, whitespace
			    dropped (measured for the limit, then stored as
			    is); NULL when the body had no "data" */
	size_t data_json_len;
	bool has_version;
	struct vv version;
	bool has_actor;
	char actor[NAMES_ACTOR_MAX + 1];
	bool has_timestamp;
	int64_t timestamp;
};

struct doc_limits {
	size_t data_max; /* bytes of serialized data (413 past it) */
	int depth_max;   /* JSON nesting of the body */
};

void doc_init(struct doc *d);
void doc_release(struct doc *d);
/* Deep copy (data shared by reference: JSON values are immutable here). */
int doc_copy(struct doc *dst, const struct doc *src);

/*
 * Parses a stored document. Returns 0, or GW_EINTERNAL when the bytes are
 * not a document this gateway wrote.
 */
int doc_parse_stored(const char *json, size_t len, struct doc *out,
		     struct gw_error *err);

/*
 * Appends the stored form of d. With with_offset false the output stops
 * right after "offset":" so that the write script can append
 * <epoch>:<seq>"} itself.
 */
void doc_serialize(const struct doc *d, bool with_offset, struct sbuf *sb);

/*
 * Appends the five fields a resolver and the conflict trail see of d:
 * {"data":..,"version":{..},"actor":..,"timestamp":..,"deleted":..}
 * (data null for a tombstone).
 */
void doc_serialize_brief(const struct doc *d, struct sbuf *sb);

/* The offset at the end of a stored document, or GW_EINTERNAL. */
int doc_stored_offset(const char *json, size_t len, struct offset *out);

/*
 * Parses a PUT (is_delete false) or DELETE body. An empty DELETE body is an
 * unconditional delete. Allowed keys: data (PUT only, required), version,
 * actor, timestamp; anything else is 400. data is checked (jscan.h: what
 * jansson accepts) and kept as bytes, never as a tree. Returns 0,
 * GW_EBADREQ (the syntax first: a body that is not JSON says so whatever
 * else is wrong) or GW_ETOOBIG (data over lim->data_max), with err naming
 * the field.
 */
int doc_parse_write(const char *body, size_t len, bool is_delete,
		    const struct doc_limits *lim, struct doc_write *out,
		    struct gw_error *err);
void doc_write_release(struct doc_write *w);

/* Same state in the sense of rule 3: equal data (as JSON values: data_json
 * is parsed for the comparison when its bytes differ) and equal deleted
 * flag. */
bool doc_same_state(const struct doc *d, const char *data_json, size_t len,
		    bool deleted);

#endif

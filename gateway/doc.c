/*
 * doc.c - stored document (de)serialization and write-body validation.
 * Pure: jansson and our own modules only.
 */
#include "doc.h"

#include <stdlib.h>
#include <string.h>

#include "jscan.h"
#include "jsonx.h"

void doc_init(struct doc *d)
{
	memset(d, 0, sizeof(*d));
	vv_init(&d->version);
}

void doc_release(struct doc *d)
{
	vv_release(&d->version);
	json_decref(d->data);
	doc_init(d);
}

int doc_copy(struct doc *dst, const struct doc *src)
{
	struct vv v = VV_INIT;

	if (vv_copy(&v, &src->version))
		return GW_ENOMEM;
	doc_release(dst);
	*dst = *src;
	dst->version = v;
	dst->data = json_incref(src->data);
	return 0;
}

static int copy_name(const json_t *v, char *dst, size_t cap,
		     bool (*valid)(const char *, size_t))
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);

	if (!s || n >= cap || !valid(s, n))
		return -1;
	memcpy(dst, s, n + 1);
	return 0;
}

int doc_parse_stored(const char *json, size_t len, struct doc *out,
		     struct gw_error *err)
{
	json_t *root = jsonx_parse(json, len, 512, err);
	json_t *v;
	int64_t ts;

	doc_init(out);
	if (!root || !json_is_object(root))
		goto bad;
	if (copy_name(json_object_get(root, "collection"), out->collection,
		      sizeof(out->collection), names_collection_valid) ||
	    copy_name(json_object_get(root, "id"), out->id, sizeof(out->id),
		      names_id_valid) ||
	    copy_name(json_object_get(root, "actor"), out->actor,
		      sizeof(out->actor), names_actor_valid))
		goto bad;
	v = json_object_get(root, "deleted");
	if (!json_is_boolean(v))
		goto bad;
	out->deleted = json_is_true(v);
	if (jsonx_int(json_object_get(root, "timestamp"), 0, GW_MAX_SAFE_INT, &ts))
		goto bad;
	out->timestamp = ts;
	if (vv_from_json(json_object_get(root, "version"), &out->version, NULL))
		goto bad;
	v = json_object_get(root, "data");
	if (!v)
		goto bad;
	out->data = json_incref(v);
	v = json_object_get(root, "offset");
	if (!json_is_string(v) || json_string_length(v) >= sizeof(out->offset))
		goto bad;
	memcpy(out->offset, json_string_value(v), json_string_length(v) + 1);
	json_decref(root);
	return 0;
bad:
	json_decref(root);
	doc_release(out);
	return gw_fail(err, GW_EINTERNAL, "stored document is malformed");
}

static void add_data(const struct doc *d, struct sbuf *sb)
{
	if (d->deleted)
		sbuf_adds(sb, "null");
	else if (d->data_json)
		sbuf_add(sb, d->data_json, d->data_json_len);
	else if (d->data)
		jsonx_dump(d->data, sb);
	else
		sbuf_adds(sb, "null");
}

void doc_serialize_brief(const struct doc *d, struct sbuf *sb)
{
	sbuf_adds(sb, "{\"data\":");
	add_data(d, sb);
	sbuf_adds(sb, ",\"version\":");
	vv_dump(&d->version, sb);
	sbuf_adds(sb, ",\"actor\":");
	sbuf_add_json_str(sb, d->actor, strlen(d->actor));
	sbuf_adds(sb, ",\"timestamp\":");
	sbuf_add_i64(sb, d->timestamp);
	sbuf_adds(sb, d->deleted ? ",\"deleted\":true}" : ",\"deleted\":false}");
}

void doc_serialize(const struct doc *d, bool with_offset, struct sbuf *sb)
{
	sbuf_adds(sb, "{\"collection\":");
	sbuf_add_json_str(sb, d->collection, strlen(d->collection));
	sbuf_adds(sb, ",\"id\":");
	sbuf_add_json_str(sb, d->id, strlen(d->id));
	sbuf_adds(sb, d->deleted ? ",\"deleted\":true" : ",\"deleted\":false");
	sbuf_adds(sb, ",\"version\":");
	vv_dump(&d->version, sb);
	sbuf_adds(sb, ",\"actor\":");
	sbuf_add_json_str(sb, d->actor, strlen(d->actor));
	sbuf_adds(sb, ",\"timestamp\":");
	sbuf_add_i64(sb, d->timestamp);
	sbuf_adds(sb, ",\"data\":");
	add_data(d, sb);
	sbuf_adds(sb, ",\"offset\":\"");
	if (with_offset) {
		sbuf_adds(sb, d->offset);
		sbuf_adds(sb, "\"}");
	}
}

int doc_stored_offset(const char *json, size_t len, struct offset *out)
{
	static const char key[] = "\"offset\":\"";
	const size_t klen = sizeof(key) - 1;
	size_t end, start;

	/* the document ends with "offset":"<epoch>:<seq>"} */
	if (len < klen + 4 || json[len - 1] != '}' || json[len - 2] != '"')
		return GW_EINTERNAL;
	end = len - 2;
	start = end;
	while (start > 0 && json[start - 1] != '"')
		start--;
	if (start < klen || memcmp(json + start - klen, key, klen) != 0)
		return GW_EINTERNAL;
	return offset_parse(json + start, end - start, out) ? GW_EINTERNAL : 0;
}

void doc_write_release(struct doc_write *w)
{
	free(w->data_json);
	vv_release(&w->version);
	memset(w, 0, sizeof(*w));
}

enum { F_DATA, F_VERSION, F_ACTOR, F_TIMESTAMP, F_UNKNOWN };

static int write_field(const char *key, size_t klen, bool is_delete)
{
	static const char *const names[] = {"data", "version", "actor",
					    "timestamp"};

	if (klen != strlen(key))
		return F_UNKNOWN; /* cut short: longer than any field name */
	for (int f = 0; f < F_UNKNOWN; f++)
		if (strcmp(key, names[f]) == 0)
			return f == F_DATA && is_delete ? F_UNKNOWN : f;
	return F_UNKNOWN;
}

/* The value of field f (known, allowed, not seen before): parsed, or the
 * first error of the body kept in *rc (its message in err). */
static void write_member(struct jscan *s, int f, const struct doc_limits *lim,
			 struct doc_write *out, int *rc, struct gw_error *err)
{
	struct sbuf sb = SBUF_INIT;
	size_t start, end;
	json_t *v;

	if (f == F_DATA) {
		if (jscan_value(s, &sb, NULL, NULL)) {
			sbuf_release(&sb);
			return;
		}
		if (sbuf_failed(&sb))
			*rc = gw_fail(err, GW_ENOMEM, "out of memory");
		else if (sb.len > lim->data_max)
			*rc = gw_fail(err, GW_ETOOBIG, "data is %zu bytes, limit %zu",
				      sb.len, lim->data_max);
		else
			out->data_json = sbuf_detach(&sb, &out->data_json_len);
		sbuf_release(&sb);
		return;
	}
	if (jscan_value(s, NULL, &start, &end))
		return;
	/* a small value, already checked: its tree is cheap */
	v = jsonx_parse(s->buf + start, end - start, lim->depth_max, err);
	if (!v) {
		*rc = GW_EBADREQ;
		return;
	}
	if (f == F_VERSION) {
		*rc = vv_from_json(v, &out->version, err);
		out->has_version = *rc == 0;
	} else if (f == F_ACTOR) {
		const char *str = json_string_value(v);

		if (!str || !names_actor_valid(str, json_string_length(v))) {
			*rc = gw_fail(err, GW_EBADREQ,
				      "actor must match ^[A-Za-z0-9_.:@-]{1,128}$");
		} else {
			memcpy(out->actor, str, json_string_length(v) + 1);
			out->has_actor = true;
		}
	} else if (jsonx_int(v, 0, GW_MAX_SAFE_INT, &out->timestamp)) {
		*rc = gw_fail(err, GW_EBADREQ,
			      "timestamp must be an integer in 0..2^53-1 (ms)");
	} else {
		out->has_timestamp = true;
	}
	json_decref(v);
}

int doc_parse_write(const char *body, size_t len, bool is_delete,
		    const struct doc_limits *lim, struct doc_write *out,
		    struct gw_error *err)
{
	struct jscan s;
	char key[72];
	size_t klen;
	unsigned seen = 0;
	int rc = 0, more;

	memset(out, 0, sizeof(*out));
	vv_init(&out->version);
	if (len == 0 && is_delete)
		return 0;
	/*
	 * One pass over the body: the syntax is checked to its end before any
	 * other complaint is made (a body that is not JSON is a 400 whatever
	 * it holds), and data is copied as it came, without a tree.
	 */
	jscan_init(&s, body, len, lim->depth_max, err);
	more = jscan_object_open(&s);
	if (more == 0) {
		if (jscan_check(&s) == 0)
			rc = gw_fail(err, GW_EBADREQ, "body must be a JSON object");
		else
			rc = GW_EBADREQ;
		goto out;
	}
	while (more == 1 &&
	       (more = jscan_member(&s, key, sizeof(key), &klen)) == 1) {
		int f = write_field(key, klen, is_delete);

		if (rc || (f != F_UNKNOWN && (seen & 1u << f))) {
			/* only the syntax is left to check (a repeated field is
			 * refused as a duplicate key when the object closes) */
			jscan_value(&s, NULL, NULL, NULL);
			continue;
		}
		if (f == F_UNKNOWN) {
			rc = gw_fail(err, GW_EBADREQ, "unknown field \"%.64s\"%s",
				     key, strcmp(key, "data") == 0 ?
						  " (a delete carries no data)" : "");
			jscan_value(&s, NULL, NULL, NULL);
			continue;
		}
		seen |= 1u << f;
		write_member(&s, f, lim, out, &rc, err);
	}
	if (s.rc) {
		/* a syntax error wins over anything found before it */
		rc = s.rc;
		goto out;
	}
	if (!rc && !is_delete && !out->data_json)
		rc = gw_fail(err, GW_EBADREQ, "missing field \"data\"");
out:
	jscan_release(&s);
	if (rc)
		doc_write_release(out);
	return rc;
}

bool doc_same_state(const struct doc *d, const char *data_json, size_t len,
		    bool deleted)
{
	json_t *data;
	bool same;

	if (d->deleted != deleted)
		return false;
	if (deleted)
		return true;
	if (d->data_json && d->data_json_len == len &&
	    memcmp(d->data_json, data_json, len) == 0)
		return true;
	if (!d->data || !data_json)
		return false;
	/* equal as JSON values, whatever the spelling (rule 3) */
	data = json_loadb(data_json, len, JSON_DECODE_ANY, NULL);
	same = data && json_equal(d->data, data);
	json_decref(data);
	return same;
}

/*
 * doc.c - stored document (de)serialization and write-body validation.
 * Pure: jansson and our own modules only.
 */
#include "doc.h"

#include <stdlib.h>
#include <string.h>

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
	if (d->deleted || !d->data)
		sbuf_adds(sb, "null");
	else if (d->data_json)
		sbuf_add(sb, d->data_json, d->data_json_len);
	else
		jsonx_dump(d->data, sb);
}

void doc_serialize_brief(const struct doc *d, struct sbuf *sb)
{
	sbuf_adds(sb, "{\"data\":");
	add_data(d, sb);
	sbuf_adds(sb, ",\"version\":");
	vv_dump(&d->version, sb);
	sbuf_adds(sb, ",\"actor\":");
	sbuf_add_json_str(sb, d->actor, strlen(d->actor));
	sbuf_addf(sb, ",\"timestamp\":%lld", (long long)d->timestamp);
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
	sbuf_addf(sb, ",\"timestamp\":%lld,\"data\":", (long long)d->timestamp);
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
	json_decref(w->data);
	free(w->data_json);
	vv_release(&w->version);
	memset(w, 0, sizeof(*w));
}

int doc_parse_write(const char *body, size_t len, bool is_delete,
		    const struct doc_limits *lim, struct doc_write *out,
		    struct gw_error *err)
{
	json_t *root = NULL, *v;
	const char *key;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	vv_init(&out->version);
	if (len == 0 && is_delete)
		return 0;
	root = jsonx_parse(body, len, lim->depth_max, err);
	if (!root)
		return GW_EBADREQ;
	if (!json_is_object(root)) {
		rc = gw_fail(err, GW_EBADREQ, "body must be a JSON object");
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "data") == 0 && !is_delete) {
			struct sbuf sb = SBUF_INIT;
			size_t n;

			jsonx_dump(v, &sb);
			n = sb.len;
			if (sbuf_failed(&sb)) {
				sbuf_release(&sb);
				rc = gw_fail(err, GW_ENOMEM, "out of memory");
				goto out;
			}
			if (n > lim->data_max) {
				sbuf_release(&sb);
				rc = gw_fail(err, GW_ETOOBIG,
					     "data is %zu bytes, limit %zu", n,
					     lim->data_max);
				goto out;
			}
			out->data = json_incref(v);
			out->data_json = sbuf_detach(&sb, &out->data_json_len);
		} else if (strcmp(key, "version") == 0) {
			rc = vv_from_json(v, &out->version, err);
			if (rc)
				goto out;
			out->has_version = true;
		} else if (strcmp(key, "actor") == 0) {
			const char *s = json_string_value(v);

			if (!s || !names_actor_valid(s, json_string_length(v))) {
				rc = gw_fail(err, GW_EBADREQ,
					     "actor must match ^[A-Za-z0-9_.:@-]{1,128}$");
				goto out;
			}
			memcpy(out->actor, s, json_string_length(v) + 1);
			out->has_actor = true;
		} else if (strcmp(key, "timestamp") == 0) {
			if (jsonx_int(v, 0, GW_MAX_SAFE_INT, &out->timestamp)) {
				rc = gw_fail(err, GW_EBADREQ,
					     "timestamp must be an integer in 0..2^53-1 (ms)");
				goto out;
			}
			out->has_timestamp = true;
		} else {
			rc = gw_fail(err, GW_EBADREQ, "unknown field \"%.64s\"%s", key,
				     strcmp(key, "data") == 0 ?
					     " (a delete carries no data)" : "");
			goto out;
		}
	}
	if (!is_delete && !out->data)
		rc = gw_fail(err, GW_EBADREQ, "missing field \"data\"");
out:
	json_decref(root);
	if (rc)
		doc_write_release(out);
	return rc;
}

bool doc_same_state(const struct doc *d, const json_t *data, bool deleted)
{
	if (d->deleted != deleted)
		return false;
	if (deleted)
		return true;
	if (!d->data || !data)
		return d->data == data;
	return json_equal(d->data, data);
}

/*
 * proto.c - WebSocket client message parser and server message builders.
 * Must not depend on the WebSocket library.
 */
#include "proto.h"

#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "sbuf.h"

static char *dump_dup(const json_t *v)
{
	struct sbuf sb = SBUF_INIT;

	jsonx_dump(v, &sb);
	if (sbuf_failed(&sb)) {
		sbuf_release(&sb);
		return NULL;
	}
	return sbuf_detach(&sb, NULL);
}

void proto_msg_release(struct proto_msg *m)
{
	free(m->ref);
	if (m->token) {
		memset(m->token, 0, strlen(m->token));
		free(m->token);
	}
	memset(m, 0, sizeof(*m));
}

static int get_collection(json_t *root, struct proto_msg *out,
			  struct gw_error *err)
{
	json_t *c = json_object_get(root, "collection");
	const char *s = json_string_value(c);

	if (!s)
		return gw_fail(err, GW_EBADREQ, "missing field \"collection\"");
	if (!names_collection_valid(s, json_string_length(c)))
		return gw_fail(err, GW_EBADREQ, "invalid collection name");
	memcpy(out->collection, s, json_string_length(c) + 1);
	return 0;
}

int proto_parse(const char *buf, size_t len, int depth_max,
		struct proto_msg *out, char **ref_out, struct gw_error *err)
{
	json_t *root, *v;
	const char *type;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (ref_out)
		*ref_out = NULL;
	root = jsonx_parse(buf, len, depth_max, err);
	if (!root)
		return GW_EBADREQ;
	if (!json_is_object(root)) {
		rc = gw_fail(err, GW_EBADREQ, "message must be a JSON object");
		goto out;
	}
	v = json_object_get(root, "ref");
	if (v) {
		out->ref = dump_dup(v);
		if (!out->ref) {
			rc = gw_fail(err, GW_ENOMEM, "out of memory");
			goto out;
		}
		/* a subscription keeps its ref for its whole life: bounded,
		 * and a ref too long is not echoed either */
		if (strlen(out->ref) > PROTO_REF_MAX) {
			rc = gw_fail(err, GW_EBADREQ, "ref is longer than %d bytes",
				     PROTO_REF_MAX);
			goto out;
		}
		if (ref_out)
			*ref_out = strdup(out->ref);
	}
	type = json_string_value(json_object_get(root, "type"));
	if (!type) {
		rc = gw_fail(err, GW_EBADREQ, "missing field \"type\"");
	} else if (strcmp(type, "subscribe") == 0) {
		out->type = PROTO_SUBSCRIBE;
		rc = get_collection(root, out, err);
		v = json_object_get(root, "since");
		if (!rc && v && !json_is_null(v)) {
			const char *s = json_string_value(v);

			if (!s || offset_parse(s, json_string_length(v), &out->since))
				rc = gw_fail(err, GW_EBADREQ,
					     "since must be an offset \"<epoch>:<seq>\"");
			else
				out->has_since = true;
		}
		v = json_object_get(root, "conflicts");
		if (!rc && v && !json_is_null(v)) {
			if (!json_is_boolean(v))
				rc = gw_fail(err, GW_EBADREQ, "conflicts must be true or false");
			else
				out->conflicts = json_is_true(v);
		}
	} else if (strcmp(type, "unsubscribe") == 0) {
		out->type = PROTO_UNSUBSCRIBE;
		rc = get_collection(root, out, err);
	} else if (strcmp(type, "auth") == 0) {
		const char *t = json_string_value(json_object_get(root, "token"));

		out->type = PROTO_AUTH;
		if (!t || !*t)
			rc = gw_fail(err, GW_EBADREQ, "missing field \"token\"");
		else if (strlen(t) > PROTO_TOKEN_MAX)
			rc = gw_fail(err, GW_EBADREQ, "token too long");
		else if (!(out->token = strdup(t)))
			rc = gw_fail(err, GW_ENOMEM, "out of memory");
	} else if (strcmp(type, "ping") == 0) {
		out->type = PROTO_PING;
	} else {
		rc = gw_fail(err, GW_EBADREQ, "unknown message type");
	}
out:
	json_decref(root);
	if (rc)
		proto_msg_release(out);
	return rc;
}

static struct msg *finish(struct sbuf *sb)
{
	struct msg *m = NULL;

	if (!sbuf_failed(sb))
		m = msg_new(sb->buf, sb->len);
	sbuf_release(sb);
	return m;
}

static void add_field(struct sbuf *sb, const char *key, const char *val)
{
	sbuf_addf(sb, ",\"%s\":", key);
	sbuf_add_json_str(sb, val, strlen(val));
}

static void add_ref(struct sbuf *sb, const char *ref)
{
	if (ref) {
		sbuf_adds(sb, ",\"ref\":");
		sbuf_adds(sb, ref);
	}
}

struct msg *proto_welcome(const char *node, const char *session)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_adds(&sb, "{\"type\":\"welcome\"");
	add_field(&sb, "node", node);
	add_field(&sb, "session", session);
	sbuf_adds(&sb, ",\"protocol\":1}");
	return finish(&sb);
}

struct msg *proto_subscribed(const char *coll, const char *offset,
			     const char *ref)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_adds(&sb, "{\"type\":\"subscribed\"");
	add_field(&sb, "collection", coll);
	add_field(&sb, "offset", offset);
	add_ref(&sb, ref);
	sbuf_addc(&sb, '}');
	return finish(&sb);
}

struct msg *proto_unsubscribed(const char *coll, const char *ref)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_adds(&sb, "{\"type\":\"unsubscribed\"");
	add_field(&sb, "collection", coll);
	add_ref(&sb, ref);
	sbuf_addc(&sb, '}');
	return finish(&sb);
}

struct msg *proto_reset(const char *coll, const char *reason,
			const char *offset)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_adds(&sb, "{\"type\":\"reset\"");
	add_field(&sb, "collection", coll);
	add_field(&sb, "reason", reason);
	add_field(&sb, "offset", offset);
	sbuf_addc(&sb, '}');
	return finish(&sb);
}

struct msg *proto_pong(const char *ref)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_adds(&sb, "{\"type\":\"pong\"");
	add_ref(&sb, ref);
	sbuf_addc(&sb, '}');
	return finish(&sb);
}

struct msg *proto_error(const char *code, const char *message,
			const char *ref)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_adds(&sb, "{\"type\":\"error\"");
	add_field(&sb, "code", code);
	add_field(&sb, "message", message);
	add_ref(&sb, ref);
	sbuf_addc(&sb, '}');
	return finish(&sb);
}

struct msg *proto_change(const char *doc, size_t len)
{
	static const char head[] = "{\"type\":\"change\",";

	if (len < 2 || doc[0] != '{')
		return NULL;
	return msg_new2(head, sizeof(head) - 1, doc + 1, len - 1);
}

struct msg *proto_conflict(const char *entry, size_t len)
{
	if (len < 2 || entry[0] != '{')
		return NULL;
	return msg_new(entry, len);
}

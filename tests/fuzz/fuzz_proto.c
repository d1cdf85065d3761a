/*
 * fuzz_proto.c - libFuzzer target for proto_parse (DESIGN.md section 7).
 * Checks what a parse promises (valid names, offsets, tokens; a ref that is
 * the input's ref re-serialized; clean failures), then feeds the parsed data
 * to the server message builders and checks that each answer is strict JSON
 * carrying the same values. Inputs that are valid UTF-8 (what the WebSocket
 * layer lets through) must also give a valid JSON error message.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "proto.h"

#define DEPTH 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

/* RFC 3629 UTF-8: no overlongs, no surrogates, nothing past U+10FFFF. */
static int utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i];
		size_t k;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + k >= n)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		i += k + 1;
	}
	return 1;
}

/* The builder's payload as strict JSON (an object). */
static json_t *payload(struct msg *m)
{
	json_t *j;

	check(m != NULL);
	check(m->refs == 1);
	check(strlen((const char *)msg_payload(m)) == m->len);
	j = jsonx_parse((const char *)msg_payload(m), m->len, DEPTH + 2, NULL);
	check(j != NULL && json_is_object(j));
	return j;
}

static void check_str(const json_t *j, const char *key, const char *want)
{
	const char *v = json_string_value(json_object_get(j, key));

	check(v != NULL && strcmp(v, want) == 0);
}

/* "ref" in the answer is the same JSON value as in the request. */
static void check_ref(json_t *answer, const json_t *orig_ref)
{
	json_t *r = json_object_get(answer, "ref");

	if (!orig_ref)
		check(r == NULL);
	else
		check(r != NULL && json_equal(r, orig_ref));
}

static void builders(const struct proto_msg *m, const json_t *root)
{
	const json_t *ref = json_object_get(root, "ref");
	char off[OFFSET_STR_MAX];
	struct msg *out;
	json_t *j;

	switch (m->type) {
	case PROTO_SUBSCRIBE:
		check(names_collection_valid(m->collection, strlen(m->collection)));
		if (m->has_since) {
			check(offset_epoch_valid(m->since.epoch,
						 strlen(m->since.epoch)));
			check(m->since.seq <= (uint64_t)GW_MAX_SAFE_INT);
			offset_format(m->since.epoch, m->since.seq, off);
			check_str(root, "since", off);
		} else {
			const json_t *s = json_object_get(root, "since");

			check(s == NULL || json_is_null(s));
			memcpy(off, "e0:0", 5);
		}
		out = proto_subscribed(m->collection, off, m->ref);
		j = payload(out);
		check_str(j, "type", "subscribed");
		check_str(j, "collection", m->collection);
		check_str(j, "offset", off);
		check_ref(j, ref);
		json_decref(j);
		msg_unref(out);
		out = proto_reset(m->collection, "epoch_changed", off);
		j = payload(out);
		check_str(j, "reason", "epoch_changed");
		check(json_object_size(j) == 4);
		json_decref(j);
		msg_unref(out);
		break;
	case PROTO_UNSUBSCRIBE:
		check(names_collection_valid(m->collection, strlen(m->collection)));
		check(!m->has_since);
		out = proto_unsubscribed(m->collection, m->ref);
		j = payload(out);
		check_str(j, "type", "unsubscribed");
		check_str(j, "collection", m->collection);
		check_ref(j, ref);
		json_decref(j);
		msg_unref(out);
		break;
	case PROTO_AUTH:
		check(m->token != NULL && m->token[0] != '\0');
		check(strlen(m->token) <= PROTO_TOKEN_MAX);
		check_str(root, "token", m->token);
		break;
	case PROTO_PING:
		out = proto_pong(m->ref);
		j = payload(out);
		check_str(j, "type", "pong");
		check_ref(j, ref);
		check(json_object_size(j) == (ref ? 2u : 1u));
		json_decref(j);
		msg_unref(out);
		break;
	default:
		check(0);
	}
	if (m->type != PROTO_AUTH)
		check(m->token == NULL);
	if (m->type != PROTO_SUBSCRIBE && m->type != PROTO_UNSUBSCRIBE)
		check(m->collection[0] == '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct proto_msg m;
	struct gw_error e;
	char *ref = NULL;
	int rc;

	memset(&e, 0, sizeof(e));
	rc = proto_parse(in, size, DEPTH, &m, &ref, &e);
	if (m.ref)
		check(ref != NULL && strcmp(ref, m.ref) == 0);
	if (ref) {
		/* whatever was echoed is one JSON value */
		json_t *r = jsonx_parse(ref, strlen(ref), DEPTH + 1, NULL);

		check(r != NULL);
		json_decref(r);
	}
	if (rc == 0) {
		json_t *root = json_loadb(in, size,
					  JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
					  NULL);

		check(root != NULL && json_is_object(root));
		check(json_object_get(root, "ref") ? m.ref != NULL : m.ref == NULL);
		builders(&m, root);
		json_decref(root);
		proto_msg_release(&m);
		check(m.ref == NULL && m.token == NULL);
	} else {
		struct msg *out;

		check(rc == GW_EBADREQ);
		check(e.code == rc && e.msg[0] != '\0');
		check(m.ref == NULL && m.token == NULL);
		out = proto_error(gw_err_code(rc), e.msg, ref);
		check(out != NULL);
		if (utf8_valid(data, size)) {
			json_t *j = payload(out);

			check_str(j, "type", "error");
			check_str(j, "code", "bad_request");
			check_str(j, "message", e.msg);
			json_decref(j);
		}
		msg_unref(out);
	}
	free(ref);
	/* proto_change: head + the document's bytes after its '{' */
	if (size >= 2 && in[0] == '{') {
		struct msg *c = proto_change(in, size);

		check(c != NULL && c->len == size + 16);
		check(memcmp(msg_payload(c), "{\"type\":\"change\",", 17) == 0);
		check(memcmp(msg_payload(c) + 17, in + 1, size - 1) == 0);
		msg_unref(c);
	} else {
		check(proto_change(in, size) == NULL);
	}
	return 0;
}

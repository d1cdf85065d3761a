/*
 * resolution.c - resolver request bodies, signatures and answer checks.
 * Pure: jansson, libcrypto's HMAC and our own JSON rules; no sockets.
 */
#include "resolution.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "jsonx.h"

void resolution_request(const char *request_id, const char *coll,
			const char *id, const struct doc *stored,
			const struct doc *incoming, struct sbuf *sb)
{
	sbuf_adds(sb, "{\"request_id\":");
	sbuf_add_json_str(sb, request_id, strlen(request_id));
	sbuf_adds(sb, ",\"collection\":");
	sbuf_add_json_str(sb, coll, strlen(coll));
	sbuf_adds(sb, ",\"id\":");
	sbuf_add_json_str(sb, id, strlen(id));
	sbuf_adds(sb, ",\"stored\":");
	doc_serialize_brief(stored, sb);
	sbuf_adds(sb, ",\"incoming\":");
	doc_serialize_brief(incoming, sb);
	sbuf_addc(sb, '}');
}

int resolution_sign(const char *secret, size_t secret_len, int64_t ts,
		    const char *body, size_t len, char *out)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t maclen = 0;
	struct sbuf msg = SBUF_INIT;
	int rc = 0;

	sbuf_addf(&msg, "%lld.", (long long)ts);
	sbuf_add(&msg, body, len);
	if (sbuf_failed(&msg) ||
	    !EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, secret_len,
		       (const unsigned char *)msg.buf, msg.len, mac, sizeof(mac),
		       &maclen) ||
	    maclen != 32) {
		rc = GW_EINTERNAL;
		out[0] = '\0';
	} else {
		memcpy(out, "v1=", 3);
		hex_encode(mac, 32, out + 3);
	}
	sbuf_release(&msg);
	return rc;
}

static int refuse(struct resolution_answer *out, json_t *root, int rc,
		  const char **reason, const char *why)
{
	json_decref(root);
	resolution_answer_release(out);
	*reason = why;
	return rc;
}

int resolution_parse(const char *body, size_t len, const struct doc_limits *lim,
		     struct resolution_answer *out, const char **reason)
{
	struct gw_error e = {0, ""};
	json_t *root, *data, *del;
	struct sbuf sb = SBUF_INIT;
	size_t known = 0;

	memset(out, 0, sizeof(*out));
	root = jsonx_parse(body, len, lim->depth_max, &e);
	if (!root)
		return refuse(out, NULL, GW_EBADREQ, reason, RESOLUTION_INVALID_JSON);
	if (!json_is_object(root))
		return refuse(out, root, GW_EBADREQ, reason, RESOLUTION_BAD_ANSWER);
	data = json_object_get(root, "data");
	del = json_object_get(root, "deleted");
	known = (data != NULL) + (del != NULL);
	if (json_object_size(root) != known || (del && !json_is_boolean(del)))
		return refuse(out, root, GW_EBADREQ, reason, RESOLUTION_BAD_ANSWER);
	out->deleted = del && json_is_true(del);
	if (out->deleted) {
		if (data && !json_is_null(data))
			return refuse(out, root, GW_EBADREQ, reason,
				      RESOLUTION_BAD_ANSWER);
		json_decref(root);
		return 0;
	}
	if (!data)
		return refuse(out, root, GW_EBADREQ, reason, RESOLUTION_BAD_ANSWER);
	jsonx_dump(data, &sb);
	if (sbuf_failed(&sb)) {
		sbuf_release(&sb);
		return refuse(out, root, GW_ENOMEM, reason, RESOLUTION_ERROR);
	}
	if (sb.len > lim->data_max) {
		sbuf_release(&sb);
		return refuse(out, root, GW_EBADREQ, reason, RESOLUTION_TOO_LARGE);
	}
	out->data = json_incref(data);
	out->data_json = sbuf_detach(&sb, &out->data_json_len);
	json_decref(root);
	return 0;
}

void resolution_answer_release(struct resolution_answer *a)
{
	json_decref(a->data);
	free(a->data_json);
	memset(a, 0, sizeof(*a));
}

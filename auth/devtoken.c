/*
 * devtoken.c - dev tooling's all-permissions tokens (--make-token and
 * POST /v1/dev/token) and the request body of the endpoint. Pure: jwt,
 * acl and jsonx only; must not depend on HTTP, sockets or the clock.
 */
#include "devtoken.h"

#include <string.h>

#include "acl.h"
#include "jsonx.h"

static void set_defaults(struct devtoken_req *out)
{
	memcpy(out->sub, DEVTOKEN_SUB_DEFAULT, sizeof(DEVTOKEN_SUB_DEFAULT));
	out->ttl_s = DEVTOKEN_TTL_DEFAULT;
}

static int read_member(const char *key, const json_t *v, struct devtoken_req *out,
		       struct gw_error *err)
{
	if (strcmp(key, "sub") == 0) {
		size_t n = json_is_string(v) ? json_string_length(v) : 0;

		if (!json_is_string(v) ||
		    !acl_token_subject_valid(json_string_value(v), n))
			return gw_fail(err, GW_EBADREQ,
				       "sub must match ^[A-Za-z0-9_.@-]{1,128}$");
		memcpy(out->sub, json_string_value(v), n + 1);
		return 0;
	}
	if (strcmp(key, "ttl_s") == 0) {
		if (jsonx_int(v, 1, DEVTOKEN_TTL_MAX, &out->ttl_s))
			return gw_fail(err, GW_EBADREQ,
				       "ttl_s must be an integer in 1..%d",
				       DEVTOKEN_TTL_MAX);
		return 0;
	}
	return gw_fail(err, GW_EBADREQ,
		       "unknown member \"%.40s\" (only sub and ttl_s)", key);
}

int devtoken_parse(const char *buf, size_t len, int max_depth,
		   struct devtoken_req *out, struct gw_error *err)
{
	struct gw_error perr = {0, ""};
	const char *key;
	json_t *root, *v;
	int rc = 0;

	set_defaults(out);
	if (len == 0)
		return 0;
	root = jsonx_parse(buf, len, max_depth, &perr);
	if (!root)
		return gw_fail(err, GW_EBADREQ, "body: %s", perr.msg);
	if (!json_is_object(root))
		rc = gw_fail(err, GW_EBADREQ, "body must be a JSON object");
	json_object_foreach(root, key, v) {
		if (rc || (rc = read_member(key, v, out, err)))
			break;
	}
	json_decref(root);
	if (rc)
		set_defaults(out);
	return rc;
}

char *devtoken_mint(const char *secret, size_t len, const char *sub,
		    int64_t now_s, int64_t ttl_s)
{
	json_t *claims;
	char *tok;

	if (!sub || !acl_token_subject_valid(sub, strlen(sub)) || ttl_s < 1 ||
	    ttl_s > DEVTOKEN_TTL_MAX)
		return NULL;
	claims = json_pack("{s:s,s:I,s:I,s:{s:[s],s:[s]}}", "sub", sub, "iat",
			   (json_int_t)now_s, "exp", (json_int_t)(now_s + ttl_s),
			   "sync", "read", "*", "write", "*");
	/* jwt_sign_hs256 refuses secrets under JWT_HS256_MIN_SECRET */
	tok = claims ? jwt_sign_hs256((const unsigned char *)secret, len, claims)
		     : NULL;
	json_decref(claims);
	return tok;
}

/*
 * identity.c - credentials to identity and permissions. Pure: builds on
 * jwt.c and acl.c, knows nothing of HTTP or WebSocket libraries.
 */
#include "identity.h"
#include "strx.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void identity_release(struct identity *id)
{
	acl_perms_release(&id->perms);
	memset(id, 0, sizeof(*id));
}

void identity_move(struct identity *dst, struct identity *src)
{
	identity_release(dst);
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

int identity_from_token(const struct identity_cfg *cfg, const char *token,
			size_t len, int64_t now_s, struct identity *out,
			struct gw_error *err)
{
	struct jwt_claims cl;
	int rc;

	memset(out, 0, sizeof(*out));
	if (cfg->open) {
		out->open = true;
		snprintf(out->sub, sizeof(out->sub), "anonymous");
		return 0;
	}
	if (!token || len == 0)
		return gw_fail(err, GW_EUNAUTH, "missing credentials (Authorization: Bearer <token>)");
	memset(&cl, 0, sizeof(cl));
	rc = jwt_verify(cfg->jwt, token, len, now_s, &cl, err);
	if (rc)
		return rc;
	strx_copy(out->sub, sizeof(out->sub), cl.sub);
	out->exp = cl.exp;
	if (cl.sync)
		rc = acl_perms_parse(cl.sync, &out->perms, err);
	else if (cfg->defaults)
		rc = acl_perms_copy(&out->perms, cfg->defaults);
	jwt_claims_release(&cl);
	if (rc) {
		char why[sizeof(err->msg)];

		strx_copy(why, sizeof(why), err ? err->msg : "");
		identity_release(out);
		return gw_fail(err, GW_EUNAUTH, "invalid sync claim: %s", why);
	}
	return 0;
}

int identity_from_api_key(const struct identity_cfg *cfg, const char *key,
			  size_t len, struct identity *out,
			  struct gw_error *err)
{
	const struct apikey *k;

	memset(out, 0, sizeof(*out));
	if (cfg->open) {
		out->open = true;
		snprintf(out->sub, sizeof(out->sub), "anonymous");
		return 0;
	}
	k = apikey_find(cfg->keys, key, len);
	if (!k)
		return gw_fail(err, GW_EUNAUTH, "invalid API key");
	/* ':' is in no token subject (acl_token_subject_valid), so no token
	 * is ever this identity; the name has no ':', so "svc:<name>:<dev>"
	 * stays a device of it */
	snprintf(out->sub, sizeof(out->sub), APIKEY_SUB_PREFIX "%s", k->name);
	if (acl_perms_copy(&out->perms, &k->perms)) {
		identity_release(out);
		return gw_fail(err, GW_ENOMEM, "out of memory");
	}
	return 0;
}

int identity_from_request(const struct identity_cfg *cfg, const char *token,
			  size_t tlen, const char *key, size_t klen,
			  int64_t now_s, struct identity *out,
			  struct gw_error *err)
{
	if (!cfg->open && token && key) {
		memset(out, 0, sizeof(*out));
		return gw_fail(err, GW_EUNAUTH,
			       "both a token and X-API-Key: send one of them");
	}
	if (key && !cfg->open)
		return identity_from_api_key(cfg, key, klen, out, err);
	return identity_from_token(cfg, token, tlen, now_s, out, err);
}

bool identity_allows(const struct identity *id, enum acl_op op,
		     const char *collection)
{
	if (id->open)
		return true;
	return acl_allows(&id->perms, op, id->sub, collection);
}

int identity_actor(const struct identity *id, const char *requested, char *out)
{
	const char *a = requested && *requested ? requested : id->sub;

	if (!id->open && !acl_actor_allowed(id->sub, a))
		return GW_EFORBIDDEN;
	strx_copy(out, JWT_SUB_MAX + 1, a);
	return 0;
}

int identity_bearer(const char *header, const char **tok, size_t *len)
{
	size_t n;

	if (!header || strncasecmp(header, "Bearer ", 7) != 0)
		return GW_EUNAUTH;
	header += 7;
	while (*header == ' ')
		header++;
	n = strlen(header);
	while (n && header[n - 1] == ' ')
		n--;
	if (!n)
		return GW_EUNAUTH;
	*tok = header;
	*len = n;
	return 0;
}

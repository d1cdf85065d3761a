/*
 * apikey.c - the configured API keys and finding the one a request
 * presents. Only hashes are kept: a leaked config file or --print-config
 * gives away no key. Pure: jansson, libcrypto and names only.
 */
#include "apikey.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "names.h"

/* SHA-256 of the empty string: a key nobody could present on purpose,
 * but an empty header would match it. */
static const unsigned char empty_sha256[32] = {
	0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14,
	0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
	0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c,
	0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
};

/* 64 hex digits (either case: sha256sum writes lower case) into out. */
static bool parse_sha256(const json_t *v, unsigned char out[32])
{
	const char *s = json_string_value(v);

	if (!s || json_string_length(v) != 64)
		return false;
	for (size_t i = 0; i < 32; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

/* The actor alphabet without ':', so "svc:<name>" is one subject and
 * ":<device>" after it stays a device. */
static bool name_valid(const json_t *v)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);

	return s && len <= APIKEY_NAME_MAX && strlen(s) == len &&
	       names_actor_valid(s, len) && !memchr(s, ':', len);
}

static bool has_sub(char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(list[i], "${sub}"))
			return true;
	return false;
}

/* One entry into k; e->msg says what is wrong (the caller adds where). */
static int parse_one(const json_t *e, struct apikey *k, struct gw_error *err)
{
	const json_t *name, *hash, *v;
	json_t *perms;
	const char *member;
	int rc;

	if (!json_is_object(e))
		return gw_fail(err, GW_EBADREQ, "must be an object");
	json_object_foreach((json_t *)(uintptr_t)e, member, v) {
		if (strcmp(member, "name") && strcmp(member, "sha256") &&
		    strcmp(member, "read") && strcmp(member, "write"))
			return gw_fail(err, GW_EBADREQ,
				       "unknown member \"%.40s\"", member);
	}
	name = json_object_get(e, "name");
	hash = json_object_get(e, "sha256");
	if (!name_valid(name))
		return gw_fail(err, GW_EBADREQ,
			       "\"name\" must be 1..%d of A-Z a-z 0-9 _ . @ -",
			       APIKEY_NAME_MAX);
	memcpy(k->name, json_string_value(name), json_string_length(name) + 1);
	if (!parse_sha256(hash, k->sha256))
		return gw_fail(err, GW_EBADREQ,
			       "\"sha256\" must be 64 hex digits "
			       "(printf %%s \"$KEY\" | sha256sum)");
	if (CRYPTO_memcmp(k->sha256, empty_sha256, 32) == 0)
		return gw_fail(err, GW_EBADREQ,
			       "\"sha256\" is the hash of the empty key");
	/* read and write as in a sync claim: reuse its parser */
	perms = json_object();
	if (!perms)
		return gw_fail(err, GW_ENOMEM, "out of memory");
	if ((v = json_object_get(e, "read")))
		json_object_set(perms, "read", (json_t *)(uintptr_t)v);
	if ((v = json_object_get(e, "write")))
		json_object_set(perms, "write", (json_t *)(uintptr_t)v);
	rc = acl_perms_parse(perms, &k->perms, err);
	json_decref(perms);
	if (rc)
		return rc;
	/* ${sub} would be "svc:<name>", and ':' is in no collection name: such
	 * a pattern could only ever match nothing, or mislead */
	if (has_sub(k->perms.read, k->perms.nread) ||
	    has_sub(k->perms.write, k->perms.nwrite))
		return gw_fail(err, GW_EBADREQ,
			       "${sub} is not allowed in API-key patterns "
			       "(name the collections)");
	return 0;
}

int apikey_parse(const json_t *list, const char *what, struct apikey_set *out,
		 struct gw_error *err)
{
	size_t i, n;
	const json_t *e;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!json_is_array(list))
		return gw_fail(err, GW_EBADREQ,
			       "%s must be a list of "
			       "{\"name\",\"sha256\",\"read\",\"write\"}",
			       what);
	n = json_array_size(list);
	if (n > APIKEY_LIST_MAX)
		return gw_fail(err, GW_EBADREQ, "%s: more than %d keys", what,
			       APIKEY_LIST_MAX);
	if (n == 0)
		return 0;
	out->keys = calloc(n, sizeof(*out->keys));
	if (!out->keys)
		return gw_fail(err, GW_ENOMEM, "out of memory");
	json_array_foreach(list, i, e) {
		struct apikey *k = &out->keys[i];
		struct gw_error why = {0, ""};

		out->n = i + 1;
		rc = parse_one(e, k, &why);
		for (size_t j = 0; !rc && j < i; j++) {
			if (strcmp(out->keys[j].name, k->name) == 0)
				rc = gw_fail(&why, GW_EBADREQ,
					     "name given twice (entry %zu "
					     "too)", j);
			else if (CRYPTO_memcmp(out->keys[j].sha256, k->sha256,
					       32) == 0)
				rc = gw_fail(&why, GW_EBADREQ,
					     "the same sha256 as entry %zu "
					     "(\"%s\")", j, out->keys[j].name);
		}
		if (rc) {
			/* the name only once it is known to be one */
			if (k->name[0])
				gw_fail(err, rc, "%s[%zu] (\"%s\"): %s", what,
					i, k->name, why.msg);
			else
				gw_fail(err, rc, "%s[%zu]: %s", what, i,
					why.msg);
			apikey_release(out);
			return rc;
		}
	}
	return 0;
}

void apikey_release(struct apikey_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		OPENSSL_cleanse(s->keys[i].sha256, sizeof(s->keys[i].sha256));
		acl_perms_release(&s->keys[i].perms);
	}
	free(s->keys);
	memset(s, 0, sizeof(*s));
}

const struct apikey *apikey_find(const struct apikey_set *s, const char *key,
				 size_t len)
{
	unsigned char h[32];
	size_t hit = 0; /* index + 1 of the match; hashes are unique */

	if (!s || !s->n || !key || len == 0 || len > APIKEY_LEN_MAX)
		return NULL;
	if (!EVP_Digest(key, len, h, NULL, EVP_sha256(), NULL))
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		/* all of them, and no branch on the outcome */
		size_t eq = (size_t)(CRYPTO_memcmp(h, s->keys[i].sha256,
						   sizeof(h)) == 0);

		hit |= (0 - eq) & (i + 1);
	}
	OPENSSL_cleanse(h, sizeof(h));
	return hit ? &s->keys[hit - 1] : NULL;
}

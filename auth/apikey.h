/*
 * apikey.h - API keys for backend services (docs/configuration.md,
 * auth.api_keys): each a name, the SHA-256 of the key (the key itself is
 * never configured) and permissions of its own. Built once at start from
 * the config file or SYNCGATE_API_KEYS, then read-only. Pure: jansson and
 * libcrypto only.
 */
#ifndef SG_APIKEY_H
#define SG_APIKEY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "acl.h"
#include "common.h"

/* A name leaves room in the actor alphabet's 128 characters for "svc:"
 * and a ":<device>" part. */
#define APIKEY_NAME_MAX 64
/* Longer presented keys are refused unhashed (a WebSocket handshake
 * copies the header into a buffer of this size). */
#define APIKEY_LEN_MAX 1024
#define APIKEY_LIST_MAX 1024
/* The subject of a key's identity is APIKEY_SUB_PREFIX + name. */
#define APIKEY_SUB_PREFIX "svc:"

struct apikey {
	char name[APIKEY_NAME_MAX + 1];
	unsigned char sha256[32];
	struct acl_perms perms;     /* owned; no ${sub} */
};

struct apikey_set {
	struct apikey *keys;        /* owned array */
	size_t n;
};

/*
 * Parses [{"name":..,"sha256":..,"read":[..],"write":[..]},..] (list
 * borrowed). what names the list in messages ("auth.api_keys"). Returns 0,
 * or GW_EBADREQ with err naming the entry (not a list, unknown members, a
 * name outside [A-Za-z0-9_.@-]{1,64}, sha256 not 64 hex digits or the hash
 * of the empty key, an invalid pattern or one with ${sub}, a name or a hash
 * given twice). *out is zeroed first and left empty on failure.
 */
int apikey_parse(const json_t *list, const char *what, struct apikey_set *out,
		 struct gw_error *err);
/* Frees what s owns (hashes cleansed); s is left zeroed. */
void apikey_release(struct apikey_set *s);

/*
 * The key whose hash is SHA-256(key[0..len)), or NULL (s NULL or empty,
 * len 0 or over APIKEY_LEN_MAX, no match). Every configured hash is
 * compared, with CRYPTO_memcmp and no early exit: the time depends on len
 * and the number of keys, not on which key matches or how closely.
 */
const struct apikey *apikey_find(const struct apikey_set *s, const char *key,
				 size_t len);

#endif

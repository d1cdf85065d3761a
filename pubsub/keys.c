/*
 * keys.c - Redis key and channel names. Pure.
 */
#include "keys.h"

#include <string.h>

#include "common.h"
#include "strx.h"

static char prefix[KEYS_PREFIX_MAX + 1] = "sg:";

int keys_set_prefix(const char *p)
{
	size_t n = strlen(p);

	if (n > KEYS_PREFIX_MAX || strpbrk(p, "{} \t\r\n"))
		return GW_EBADREQ;
	memcpy(prefix, p, n + 1);
	return 0;
}

const char *keys_prefix(void) { return prefix; }

/* prefix{collection}: into buf[KEYS_MAX]; returns its length */
static size_t key_head(const char *collection, char *buf)
{
	size_t at = 0;

	strx_cat(buf, KEYS_MAX, &at, prefix, strlen(prefix));
	strx_cat(buf, KEYS_MAX, &at, "{", 1);
	strx_cat(buf, KEYS_MAX, &at, collection, strlen(collection));
	strx_cat(buf, KEYS_MAX, &at, "}:", 2);
	return at;
}

size_t keys_format(enum keys_kind kind, const char *collection, char *buf)
{
	static const char *const suffix[] = {"docs", "log", "meta", "ids", "live",
					     "conflicts"};
	size_t at = key_head(collection, buf);

	strx_cat(buf, KEYS_MAX, &at, suffix[kind], strlen(suffix[kind]));
	return at;
}

size_t keys_format_idem(const char *collection, const char *scope, char *buf)
{
	size_t at = key_head(collection, buf);

	strx_cat(buf, KEYS_MAX, &at, "idem:", 5);
	strx_cat(buf, KEYS_MAX, &at, scope, strnlen(scope, 64));
	return at;
}

size_t keys_format_instance(char *buf)
{
	size_t at = 0;

	strx_cat(buf, KEYS_MAX, &at, prefix, strlen(prefix));
	strx_cat(buf, KEYS_MAX, &at, "instance", 8);
	return at;
}

int keys_channel_collection(const char *chan, size_t len, char *coll)
{
	size_t plen = strlen(prefix), clen;
	static const char tail[] = "}:live";
	const size_t tlen = sizeof(tail) - 1;

	if (len < plen + 1 + 1 + tlen || memcmp(chan, prefix, plen) != 0 ||
	    chan[plen] != '{' || memcmp(chan + len - tlen, tail, tlen) != 0)
		return -1;
	clen = len - plen - 1 - tlen;
	if (!names_collection_valid(chan + plen + 1, clen))
		return -1;
	memcpy(coll, chan + plen + 1, clen);
	coll[clen] = '\0';
	return 0;
}

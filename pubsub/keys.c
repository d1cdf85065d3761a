/*
 * keys.c - Redis key and channel names. Pure.
 */
#include "keys.h"

#include <stdio.h>
#include <string.h>

#include "common.h"

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

size_t keys_format(enum keys_kind kind, const char *collection, char *buf)
{
	static const char *const suffix[] = {"docs", "log", "meta", "ids", "live",
					     "conflicts"};
	int n = snprintf(buf, KEYS_MAX, "%s{%s}:%s", prefix, collection,
			 suffix[kind]);

	return n < 0 ? 0 : (size_t)n;
}

size_t keys_format_idem(const char *collection, const char *scope, char *buf)
{
	int n = snprintf(buf, KEYS_MAX, "%s{%s}:idem:%.64s", prefix, collection,
			 scope);

	return n < 0 ? 0 : (size_t)n;
}

size_t keys_format_instance(char *buf)
{
	int n = snprintf(buf, KEYS_MAX, "%sinstance", prefix);

	return n < 0 ? 0 : (size_t)n;
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

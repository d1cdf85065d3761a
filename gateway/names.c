/*
 * names.c - the name alphabets of DESIGN.md section 3. Names become parts of
 * Redis keys, so nothing outside these alphabets may pass. Pure.
 */
#include "names.h"

static bool is_alnum(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9');
}

static bool all_in(const char *s, size_t len, size_t from, const char *extra)
{
	for (size_t i = from; i < len; i++) {
		char c = s[i];
		bool ok = is_alnum(c);

		for (const char *e = extra; !ok && *e; e++)
			ok = (c == *e);
		if (!ok)
			return false;
	}
	return true;
}

bool names_collection_valid(const char *s, size_t len)
{
	if (!s || len < 1 || len > NAMES_COLLECTION_MAX || !is_alnum(s[0]))
		return false;
	return all_in(s, len, 1, "_.-");
}

bool names_id_valid(const char *s, size_t len)
{
	if (!s || len < 1 || len > NAMES_ID_MAX)
		return false;
	return all_in(s, len, 0, "_.:@~-");
}

bool names_actor_valid(const char *s, size_t len)
{
	if (!s || len < 1 || len > NAMES_ACTOR_MAX)
		return false;
	return all_in(s, len, 0, "_.:@-");
}

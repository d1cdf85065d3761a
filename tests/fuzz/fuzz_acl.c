/*
 * fuzz_acl.c - libFuzzer target for permission patterns and the actor rule.
 * Input: "pattern\nsub\ncollection" (a missing part is empty). acl_* results
 * are checked against a naive reference that expands ${sub} into a buffer,
 * and against each other (parse -> allows -> copy agree with match).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "names.h"

#define PART_MAX 300

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

/* Copies the next '\n'-terminated part of *in into out (NUL-terminated). */
static void next_part(const char **in, const char *end, char *out)
{
	const char *nl = memchr(*in, '\n', (size_t)(end - *in));
	size_t n = (size_t)((nl ? nl : end) - *in);

	if (n > PART_MAX)
		n = PART_MAX;
	memcpy(out, *in, n);
	out[n] = '\0';
	*in = nl ? nl + 1 : end;
}

/* The obvious implementation: expand, then compare. */
static int reference_match(const char *pat, const char *sub,
			   const char *coll)
{
	static char buf[256 * 128]; /* a valid pattern expands to less */
	size_t o = 0, cl, ends[64], nends = 0;
	size_t sl = strlen(sub);
	int star = 0;

	if (!acl_pattern_valid(pat) || !acl_subject_valid(sub, sl) ||
	    !names_collection_valid(coll, strlen(coll)))
		return 0;
	for (const char *p = pat; *p;) {
		if (strncmp(p, "${sub}", 6) == 0) {
			memcpy(buf + o, sub, sl);
			o += sl;
			p += 6;
			ends[nends++] = o;
		} else if (*p == '*') {
			star = 1;
			p++;
		} else {
			buf[o++] = *p++;
		}
	}
	cl = strlen(coll);
	if (star ? cl < o : cl != o)
		return 0;
	if (memcmp(coll, buf, o) != 0)
		return 0;
	/* each subject ends a segment of the name */
	for (size_t k = 0; k < nends; k++)
		if (coll[ends[k]] != '\0' && coll[ends[k]] != '.')
			return 0;
	/* with ${sub}, the star part is one segment (after ${sub}: '.' and
	 * one, or nothing) */
	if (star && nends) {
		const char *rest = coll + o;

		if (ends[nends - 1] == o && *rest == '.')
			rest++;
		if (strchr(rest, '.'))
			return 0;
	}
	return 1;
}

static void check_perms(const char *pat, const char *sub, const char *coll,
			int match)
{
	json_t *obj = json_pack("{s:[o],s:[o]}", "read",
				json_stringn_nocheck(pat, strlen(pat)),
				"write",
				json_stringn_nocheck(coll, strlen(coll)));
	struct acl_perms p;
	struct acl_perms copy;
	int rc;

	check(obj != NULL);
	rc = acl_perms_parse(obj, &p, NULL);
	check((rc == 0) == (acl_pattern_valid(pat) && acl_pattern_valid(coll)));
	if (rc == 0) {
		check(p.nread == 1 && p.nwrite == 1);
		check(acl_allows(&p, ACL_READ, sub, coll) == match);
		check(acl_perms_copy(&copy, &p) == 0);
		check(acl_allows(&copy, ACL_READ, sub, coll) == match);
		check(strcmp(copy.read[0], pat) == 0);
		acl_perms_release(&copy);
	} else {
		check(p.read == NULL && p.write == NULL);
		check(p.nread == 0 && p.nwrite == 0);
	}
	acl_perms_release(&p);
	json_decref(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *end = in + size;
	char pat[PART_MAX + 1];
	char sub[PART_MAX + 1];
	char coll[PART_MAX + 1];
	size_t sl;
	size_t cl;
	int valid;
	int match;
	int actor;

	next_part(&in, end, pat);
	next_part(&in, end, sub);
	next_part(&in, end, coll);
	/* Parts are C strings: an embedded NUL shortens them. */
	sl = strlen(sub);
	cl = strlen(coll);

	valid = acl_pattern_valid(pat);
	match = acl_pattern_match(pat, sub, coll);
	check(match == reference_match(pat, sub, coll));
	if (match)
		check(valid && acl_subject_valid(sub, sl) &&
		      names_collection_valid(coll, cl));
	/* A plain exact pattern matches iff equal (and a valid name). */
	if (valid && !strchr(pat, '*') && !strstr(pat, "${sub}") &&
	    acl_subject_valid(sub, sl))
		check(match == (strcmp(pat, coll) == 0 &&
				names_collection_valid(coll, cl)));
	/* "*" matches every valid name for every valid subject. */
	check(acl_pattern_match("*", sub, coll) ==
	      (acl_subject_valid(sub, sl) && names_collection_valid(coll, cl)));
	check(!acl_subject_valid(sub, sl) ||
	      (!strpbrk(sub, "*${}") && sl >= 1 && sl <= 128));

	/* The actor rule, with coll standing in for the actor. */
	actor = acl_actor_allowed(sub, coll);
	check(actor == (acl_subject_valid(sub, sl) &&
			names_actor_valid(coll, cl) &&
			strncmp(coll, sub, sl) == 0 &&
			(cl == sl || (coll[sl] == ':' && cl > sl + 1))));

	check_perms(pat, sub, coll, match);
	return 0;
}

/*
 * acl.h - permission patterns (DESIGN.md section 8): read/write lists of
 * collection patterns, each an exact name or a prefix ending in '*', where
 * "${sub}" stands for the caller's subject. Also the writer-actor rule.
 * Pure; thread-safe for const data.
 */
#ifndef SG_ACL_H
#define SG_ACL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common.h"

enum acl_op { ACL_READ, ACL_WRITE };

struct acl_perms {
	char **read;   /* owned array of owned pattern strings */
	size_t nread;
	char **write;  /* owned, as read */
	size_t nwrite;
};

/*
 * A pattern: 1..256 chars of the collection alphabet plus "${sub}"
 * placeholders, optionally ending in one '*'; "*" alone means every
 * collection. Any other '*', '$', '{' or '}' makes it invalid.
 */
bool acl_pattern_valid(const char *pattern);

/*
 * True when collection matches pattern with ${sub} replaced by sub. An exact
 * pattern matches only the equal name; "p*" matches every name starting with
 * p (including p itself when p is a valid name). Invalid patterns, and
 * subjects failing acl_subject_valid, match nothing.
 */
bool acl_pattern_match(const char *pattern, const char *sub,
		       const char *collection);

/*
 * Parses {"read":[patterns],"write":[patterns]} (obj borrowed; either list
 * may be absent: empty). Returns 0 or GW_EBADREQ (not an object, a list not
 * an array of strings, an invalid pattern, unknown keys). *out is zeroed
 * first and left empty on failure.
 */
int acl_perms_parse(const json_t *obj, struct acl_perms *out,
		    struct gw_error *err);
/* Deep copy; returns 0 or GW_ENOMEM (dst left empty). */
int acl_perms_copy(struct acl_perms *dst, const struct acl_perms *src);
/* Frees what p owns; p is left zeroed. */
void acl_perms_release(struct acl_perms *p);

/* True when any pattern of the op's list matches collection for sub. */
bool acl_allows(const struct acl_perms *p, enum acl_op op, const char *sub,
		const char *collection);

/*
 * A subject usable in ${sub}: the actor alphabet of DESIGN.md section 3
 * (^[A-Za-z0-9_.:@-]{1,128}$), which excludes '*', '$', '{' and '}'.
 */
bool acl_subject_valid(const char *sub, size_t len);

/* A subject a token may carry: acl_subject_valid without ':' (the
 * separator of device actors), and not "svc" (whose devices "svc:<name>"
 * are the API keys' identities). */
bool acl_token_subject_valid(const char *sub, size_t len);

/* The writer-actor rule: actor equals sub or starts with sub + ":". */
bool acl_actor_allowed(const char *sub, const char *actor);

#endif

/*
 * acl.c - permission patterns of DESIGN.md section 8 and the writer-actor
 * rule. Matching walks pattern, subject and collection side by side and
 * never builds the expanded pattern. Pure; depends on jansson (parsing the
 * claim) and names only - no sockets, no config, no token code.
 */
#include "acl.h"

#include "names.h"

#include <stdlib.h>
#include <string.h>

#define ACL_PATTERN_MAX 256
/* A bound on the list we copy; real lists are a handful of patterns. */
#define ACL_LIST_MAX 1024

static const char placeholder[] = "${sub}";
#define PLACEHOLDER_LEN (sizeof(placeholder) - 1)

static bool collection_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

bool acl_pattern_valid(const char *pattern)
{
	size_t len;

	if (!pattern)
		return false;
	len = strnlen(pattern, ACL_PATTERN_MAX + 1);
	if (len < 1 || len > ACL_PATTERN_MAX)
		return false;
	for (size_t i = 0; i < len;) {
		if (strncmp(pattern + i, placeholder, PLACEHOLDER_LEN) == 0) {
			/* the subject is whole: "${sub}x" could never match */
			i += PLACEHOLDER_LEN;
			if (i < len && pattern[i] != '.' && pattern[i] != '*')
				return false;
		} else if (pattern[i] == '*') {
			return i == len - 1;
		} else if (collection_char(pattern[i])) {
			i++;
		} else {
			return false;
		}
	}
	return true;
}

bool acl_subject_valid(const char *sub, size_t len)
{
	/* The actor alphabet has no '*', '$', '{' or '}'. */
	return names_actor_valid(sub, len);
}

bool acl_token_subject_valid(const char *sub, size_t len)
{
	/* ':' separates a subject from its device in actor names: subject
	 * "bob" may write as "bob:x", which must never be another token's
	 * own subject. (Identities the gateway makes itself, "svc:<name>",
	 * come from no token.) "svc" itself is reserved: its devices would
	 * be the API keys' actors. */
	return acl_subject_valid(sub, len) && !memchr(sub, ':', len) &&
	       !(len == 3 && memcmp(sub, "svc", 3) == 0);
}

bool acl_pattern_match(const char *pattern, const char *sub,
		       const char *collection)
{
	size_t sublen;
	size_t c = 0;
	bool has_sub, after_sub = false;

	if (!sub || !collection || !acl_pattern_valid(pattern))
		return false;
	sublen = strnlen(sub, NAMES_ACTOR_MAX + 1);
	if (!acl_subject_valid(sub, sublen) ||
	    !names_collection_valid(collection,
				    strnlen(collection,
					    NAMES_COLLECTION_MAX + 1)))
		return false;
	has_sub = strstr(pattern, placeholder) != NULL;
	for (size_t i = 0; pattern[i];) {
		if (strncmp(pattern + i, placeholder, PLACEHOLDER_LEN) == 0) {
			/* the subject as a whole: what follows it in the name
			 * starts a new segment ("bob" never covers "bobby") */
			if (strncmp(collection + c, sub, sublen) != 0)
				return false;
			c += sublen;
			if (collection[c] != '\0' && collection[c] != '.')
				return false;
			i += PLACEHOLDER_LEN;
			after_sub = true;
		} else if (pattern[i] == '*') {
			/* valid: the last character. In a pattern with ${sub}
			 * it covers one segment only (right after ${sub}: none,
			 * or a '.' and one): subjects may hold '.', and
			 * "user.${sub}.*" for "bob" must not cover
			 * "user.bob.smith.notes", the collection of "bob.smith" */
			const char *rest = collection + c;

			if (!has_sub)
				return true;
			if (after_sub && *rest == '.')
				rest++;
			return strchr(rest, '.') == NULL;
		} else {
			if (collection[c] != pattern[i])
				return false;
			c++;
			i++;
			after_sub = false;
		}
	}
	return collection[c] == '\0';
}

static void list_free(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

void acl_perms_release(struct acl_perms *p)
{
	if (!p)
		return;
	list_free(p->read, p->nread);
	list_free(p->write, p->nwrite);
	memset(p, 0, sizeof(*p));
}

/* Copies n strings; NULL on allocation failure (nothing leaked). */
static char **list_copy(char *const *src, size_t n)
{
	char **dst;

	if (n == 0)
		return NULL;
	dst = calloc(n, sizeof(*dst));
	if (!dst)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		dst[i] = strdup(src[i]);
		if (!dst[i]) {
			list_free(dst, i);
			return NULL;
		}
	}
	return dst;
}

/* Parses one list (arr borrowed, may be NULL: empty) into *out / *n. */
static int list_parse(const json_t *arr, const char *name, char ***out,
		      size_t *n, struct gw_error *err)
{
	size_t count;
	size_t i;
	const json_t *e;
	char **list;

	*out = NULL;
	*n = 0;
	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return gw_fail(err, GW_EBADREQ, "%s must be an array", name);
	count = json_array_size(arr);
	if (count > ACL_LIST_MAX)
		return gw_fail(err, GW_EBADREQ, "too many %s patterns", name);
	if (count == 0)
		return 0;
	list = calloc(count, sizeof(*list));
	if (!list)
		return gw_fail(err, GW_ENOMEM, "out of memory");
	json_array_foreach(arr, i, e) {
		const char *s = json_string_value(e);

		/* A length differing from strlen means an embedded NUL. */
		if (!s || strlen(s) != json_string_length(e) ||
		    !acl_pattern_valid(s)) {
			list_free(list, i);
			return gw_fail(err, GW_EBADREQ, "invalid %s pattern",
				       name);
		}
		list[i] = strdup(s);
		if (!list[i]) {
			list_free(list, i);
			return gw_fail(err, GW_ENOMEM, "out of memory");
		}
	}
	*out = list;
	*n = count;
	return 0;
}

int acl_perms_parse(const json_t *obj, struct acl_perms *out,
		    struct gw_error *err)
{
	const json_t *rlist;
	const json_t *wlist;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj))
		return gw_fail(err, GW_EBADREQ,
			       "permissions must be an object");
	rlist = json_object_get(obj, "read");
	wlist = json_object_get(obj, "write");
	if (json_object_size(obj) != (size_t)(rlist != NULL) + (wlist != NULL))
		return gw_fail(err, GW_EBADREQ, "unknown permissions key");
	rc = list_parse(rlist, "read", &out->read, &out->nread, err);
	if (rc)
		goto cleanup;
	rc = list_parse(wlist, "write", &out->write, &out->nwrite, err);

cleanup:
	if (rc)
		acl_perms_release(out);
	return rc;
}

int acl_perms_copy(struct acl_perms *dst, const struct acl_perms *src)
{
	memset(dst, 0, sizeof(*dst));
	if (!src)
		return 0;
	dst->read = list_copy(src->read, src->nread);
	if (src->nread && !dst->read)
		goto fail;
	dst->nread = src->nread;
	dst->write = list_copy(src->write, src->nwrite);
	if (src->nwrite && !dst->write)
		goto fail;
	dst->nwrite = src->nwrite;
	return 0;

fail:
	acl_perms_release(dst);
	return GW_ENOMEM;
}

bool acl_allows(const struct acl_perms *p, enum acl_op op, const char *sub,
		const char *collection)
{
	char *const *list;
	size_t n;

	if (!p || !sub ||
	    !acl_subject_valid(sub, strnlen(sub, NAMES_ACTOR_MAX + 1)))
		return false;
	list = op == ACL_WRITE ? p->write : p->read;
	n = op == ACL_WRITE ? p->nwrite : p->nread;
	for (size_t i = 0; i < n; i++)
		if (acl_pattern_match(list[i], sub, collection))
			return true;
	return false;
}

bool acl_actor_allowed(const char *sub, const char *actor)
{
	size_t sublen;
	size_t alen;

	if (!sub || !actor)
		return false;
	sublen = strnlen(sub, NAMES_ACTOR_MAX + 1);
	alen = strnlen(actor, NAMES_ACTOR_MAX + 1);
	if (!acl_subject_valid(sub, sublen) || !names_actor_valid(actor, alen))
		return false;
	if (strncmp(actor, sub, sublen) != 0)
		return false;
	if (alen == sublen)
		return true;
	/* "sub:" then a non-empty device part. */
	return actor[sublen] == ':' && alen > sublen + 1;
}

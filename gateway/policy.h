/*
 * policy.h - per-collection policies, the config file's "collections" list
 * (DESIGN.md section 9): the conflict policy, the resolver of the callback
 * policy (URL, timeout, fallback, signing secret), log and conflict-trail
 * retention. The first matching entry wins. Pure (jansson and libc); built
 * once at start, then read-only.
 */
#ifndef SG_POLICY_H
#define SG_POLICY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "sbuf.h"

enum conflict_policy { POLICY_LWW, POLICY_REJECT, POLICY_CALLBACK };

/* The environment variable holding a resolver's HMAC secret unless an
 * entry names another one with "resolver_secret_env". */
#define POLICY_SECRET_ENV "SYNCGATE_RESOLVER_SECRET"
/* Shortest resolver secret accepted (as for HS256 secrets). */
#define POLICY_SECRET_MIN 32
#define POLICY_URL_MAX 2048

struct coll_policy {
	char *match;                 /* owned pattern: exact or trailing '*' */
	enum conflict_policy conflict;
	char *resolver_url;          /* owned; http:// or https://; callback only */
	int resolver_timeout_ms;
	enum conflict_policy fallback; /* lww or reject */
	char *secret_env;            /* owned: name of the secret's variable */
	char *secret;                /* owned, secret: its value (callback only) */
	size_t secret_len;
	uint64_t history;            /* changes kept; 0: the global default */
	uint64_t conflict_history;   /* trail entries kept; 0: the global default */
};

struct policy_set {
	struct coll_policy *v;       /* owned array */
	size_t n;
};

/*
 * Parses the "collections" array (arr borrowed). Secrets of callback
 * entries are read from envp (NULL-terminated "K=V" strings). Returns 0, or
 * GW_EBADREQ / GW_ENOMEM with err naming the entry; *out is then released.
 */
int policy_parse(const json_t *arr, char **envp, struct policy_set *out,
		 struct gw_error *err);
/* Frees what s owns (secrets cleansed); s is left empty. */
void policy_release(struct policy_set *s);
/* The first entry matching collection, or NULL (lww, global defaults). */
const struct coll_policy *policy_find(const struct policy_set *s,
				      const char *collection);
/* "lww", "reject" or "callback". */
const char *policy_name(enum conflict_policy p);
/* Appends the entries as a JSON array, secrets left out; history values of
 * 0 are shown as the given defaults. */
void policy_print(const struct policy_set *s, uint64_t history_default,
		  uint64_t conflict_history_default, struct sbuf *sb);

#endif

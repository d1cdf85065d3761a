/*
 * policy.c - the "collections" list of the config file: parsing (strict:
 * unknown keys refused), the resolver's URL and secret checks, first-match
 * lookup and printing. Pure: jansson and libc only, no sockets.
 */
#include "policy.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "env.h"
#include "jsonx.h"

#define RESOLVER_TIMEOUT_DEFAULT 2000

const char *policy_name(enum conflict_policy p)
{
	switch (p) {
	case POLICY_REJECT: return "reject";
	case POLICY_CALLBACK: return "callback";
	case POLICY_LWW:
	default: return "lww";
	}
}

static int parse_name(const json_t *v, enum conflict_policy *p, bool allow_cb)
{
	const char *s = json_string_value(v);

	if (!s)
		return GW_EBADREQ;
	if (strcmp(s, "lww") == 0)
		*p = POLICY_LWW;
	else if (strcmp(s, "reject") == 0)
		*p = POLICY_REJECT;
	else if (allow_cb && strcmp(s, "callback") == 0)
		*p = POLICY_CALLBACK;
	else
		return GW_EBADREQ;
	return 0;
}

/* http:// or https://, a host, printable ASCII without spaces. */
static bool url_valid(const char *u)
{
	size_t n = strlen(u), skip;

	if (strncmp(u, "http://", 7) == 0)
		skip = 7;
	else if (strncmp(u, "https://", 8) == 0)
		skip = 8;
	else
		return false;
	if (n <= skip || n > POLICY_URL_MAX || u[skip] == '/' || u[skip] == ':')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f)
			return false;
	return true;
}

/* Environment variable names we accept: [A-Z_][A-Z0-9_]*, up to 128. */
static bool env_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : GW_ENOMEM;
}

static int parse_entry(const json_t *e, size_t i, struct coll_policy *p,
		       struct gw_error *err)
{
	const char *key;
	json_t *v;

	if (!json_is_object(e))
		return gw_fail(err, GW_EBADREQ, "collections[%zu] must be an object", i);
	json_object_foreach((json_t *)(uintptr_t)e, key, v) {
		int64_t n;

		if (strcmp(key, "match") == 0) {
			if (!json_is_string(v) || !acl_pattern_valid(json_string_value(v)) ||
			    strstr(json_string_value(v), "${"))
				return gw_fail(err, GW_EBADREQ,
					       "collections[%zu].match: invalid pattern", i);
			if (set_str(&p->match, json_string_value(v)))
				return gw_fail(err, GW_ENOMEM, "out of memory");
		} else if (strcmp(key, "conflict") == 0) {
			if (parse_name(v, &p->conflict, true))
				return gw_fail(err, GW_EBADREQ,
					       "collections[%zu].conflict: lww, reject or callback", i);
		} else if (strcmp(key, "fallback") == 0) {
			if (parse_name(v, &p->fallback, false))
				return gw_fail(err, GW_EBADREQ,
					       "collections[%zu].fallback: lww or reject", i);
		} else if (strcmp(key, "resolver_url") == 0) {
			if (!json_is_string(v) || !url_valid(json_string_value(v)))
				return gw_fail(err, GW_EBADREQ,
					       "collections[%zu].resolver_url: an http:// or "
					       "https:// URL", i);
			if (set_str(&p->resolver_url, json_string_value(v)))
				return gw_fail(err, GW_ENOMEM, "out of memory");
		} else if (strcmp(key, "resolver_timeout_ms") == 0) {
			if (jsonx_int(v, 1, 60000, &n))
				return gw_fail(err, GW_EBADREQ,
					       "collections[%zu].resolver_timeout_ms: 1..60000", i);
			p->resolver_timeout_ms = (int)n;
		} else if (strcmp(key, "resolver_secret_env") == 0) {
			if (!json_is_string(v) || !env_name_valid(json_string_value(v)))
				return gw_fail(err, GW_EBADREQ,
					       "collections[%zu].resolver_secret_env: the name "
					       "of an environment variable", i);
			if (set_str(&p->secret_env, json_string_value(v)))
				return gw_fail(err, GW_ENOMEM, "out of memory");
		} else if (strcmp(key, "history") == 0) {
			if (jsonx_int(v, 1, 100000000, &n))
				return gw_fail(err, GW_EBADREQ,
					       "collections[%zu].history: 1..100000000", i);
			p->history = (uint64_t)n;
		} else if (strcmp(key, "conflict_history") == 0) {
			if (jsonx_int(v, 1, 1000000, &n))
				return gw_fail(err, GW_EBADREQ,
					       "collections[%zu].conflict_history: 1..1000000", i);
			p->conflict_history = (uint64_t)n;
		} else {
			return gw_fail(err, GW_EBADREQ,
				       "collections[%zu]: unknown key \"%.64s\"", i, key);
		}
	}
	if (!p->match)
		return gw_fail(err, GW_EBADREQ, "collections[%zu]: missing match", i);
	return 0;
}

/* A callback entry needs its URL and a long enough secret. */
static int check_callback(struct coll_policy *p, size_t i, char **envp,
			  struct gw_error *err)
{
	const char *sec;

	if (!p->secret_env && set_str(&p->secret_env, POLICY_SECRET_ENV))
		return gw_fail(err, GW_ENOMEM, "out of memory");
	if (p->conflict != POLICY_CALLBACK)
		return 0;
	if (!p->resolver_url)
		return gw_fail(err, GW_EBADREQ,
			       "collections[%zu]: the callback policy needs resolver_url", i);
	sec = env_get(envp, p->secret_env);
	if (!sec || strlen(sec) < POLICY_SECRET_MIN)
		return gw_fail(err, GW_EBADREQ,
			       "collections[%zu]: the callback policy needs the resolver "
			       "secret in %s (at least %d bytes)", i, p->secret_env,
			       POLICY_SECRET_MIN);
	if (set_str(&p->secret, sec))
		return gw_fail(err, GW_ENOMEM, "out of memory");
	p->secret_len = strlen(sec);
	return 0;
}

int policy_parse(const json_t *arr, char **envp, struct policy_set *out,
		 struct gw_error *err)
{
	size_t i;
	json_t *e;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!json_is_array(arr))
		return gw_fail(err, GW_EBADREQ, "collections must be an array");
	out->v = calloc(json_array_size(arr) + 1, sizeof(*out->v));
	if (!out->v)
		return gw_fail(err, GW_ENOMEM, "out of memory");
	json_array_foreach((json_t *)(uintptr_t)arr, i, e) {
		struct coll_policy *p = &out->v[out->n++];

		p->conflict = POLICY_LWW;
		p->fallback = POLICY_LWW;
		p->resolver_timeout_ms = RESOLVER_TIMEOUT_DEFAULT;
		if ((rc = parse_entry(e, i, p, err)) ||
		    (rc = check_callback(p, i, envp, err))) {
			policy_release(out);
			return rc;
		}
	}
	return 0;
}

void policy_release(struct policy_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct coll_policy *p = &s->v[i];

		free(p->match);
		free(p->resolver_url);
		free(p->secret_env);
		if (p->secret)
			memset(p->secret, 0, p->secret_len);
		free(p->secret);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

const struct coll_policy *policy_find(const struct policy_set *s,
				      const char *collection)
{
	for (size_t i = 0; i < s->n; i++)
		if (acl_pattern_match(s->v[i].match, "x", collection))
			return &s->v[i];
	return NULL;
}

void policy_print(const struct policy_set *s, uint64_t history_default,
		  uint64_t conflict_history_default, struct sbuf *sb)
{
	sbuf_addc(sb, '[');
	for (size_t i = 0; i < s->n; i++) {
		const struct coll_policy *p = &s->v[i];

		sbuf_adds(sb, i ? ",{\"match\":" : "{\"match\":");
		sbuf_add_json_str(sb, p->match, strlen(p->match));
		sbuf_addf(sb, ",\"conflict\":\"%s\"", policy_name(p->conflict));
		if (p->conflict == POLICY_CALLBACK) {
			sbuf_adds(sb, ",\"resolver_url\":");
			sbuf_add_json_str(sb, p->resolver_url, strlen(p->resolver_url));
			sbuf_addf(sb, ",\"resolver_timeout_ms\":%d,\"fallback\":\"%s\","
				      "\"resolver_secret_env\":",
				  p->resolver_timeout_ms, policy_name(p->fallback));
			sbuf_add_json_str(sb, p->secret_env, strlen(p->secret_env));
		}
		sbuf_addf(sb, ",\"history\":%llu,\"conflict_history\":%llu}",
			  (unsigned long long)(p->history ? p->history : history_default),
			  (unsigned long long)(p->conflict_history ? p->conflict_history
								   : conflict_history_default));
	}
	sbuf_addc(sb, ']');
}

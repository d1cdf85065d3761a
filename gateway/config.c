/*
 * config.c - table-driven configuration: defaults < JSON file <
 * environment < flags (config_print.c prints --help and --print-config
 * from the same tables). Pure: jansson and libc only, no sockets.
 */
#include "config.h"
#include "config_opts.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "jsonx.h"
#include "sbuf.h"
#include "version.h"

#define O(f) offsetof(struct config, f)
#define KIB 1024LL
#define MIB (1024LL * 1024)

const struct opt config_opts[] = {
	{"node_id", "SYNCGATE_NODE_ID", T_STR, O(node_id), "", 0, 0, 0, NULL,
	 "name of this gateway in logs, welcome and /v1/info (default: hostname)"},
	{"bind", "SYNCGATE_BIND", T_STR, O(bind), "127.0.0.1", 0, 0, 0, NULL,
	 "address both listeners bind to"},
	{"http_port", "SYNCGATE_HTTP_PORT", T_INT, O(http_port), "8080", 1, 65535, 0, NULL,
	 "REST and static files port"},
	{"ws_port", "SYNCGATE_WS_PORT", T_INT, O(ws_port), "8081", 1, 65535, 0, NULL,
	 "WebSocket port (path /v1/ws)"},
	{"redis_url", "SYNCGATE_REDIS_URL", T_STR, O(redis_url),
	 "redis://127.0.0.1:6379", 0, 0, F_SECRET, NULL,
	 "redis://[[user]:password@]host[:port][/db], or "
	 "redis+cluster://[[user]:password@]host:port[,host:port...]"},
	{"auth.mode", "SYNCGATE_AUTH_MODE", T_STR, O(auth_mode), "jwt", 0, 0, 0,
	 "jwt|none", "jwt, or none (dev only: everyone may do everything)"},
	{"auth.jwt_secret", "SYNCGATE_JWT_SECRET", T_STR, O(jwt_secret), "", 0, 0,
	 F_SECRET | F_NOFILE, NULL, "HS256 secret, at least 32 bytes (environment only)"},
	{"auth.jwt_public_key", "SYNCGATE_JWT_PUBLIC_KEY", T_STR, O(jwt_public_key),
	 "", 0, 0, 0, NULL,
	 "PEM file of an RS256/ES256 public key (several: comma-separated)"},
	{"auth.jwks_file", "SYNCGATE_JWKS_FILE", T_STR, O(jwks_file), "", 0, 0, 0,
	 NULL, "JWK Set file of RS256/ES256 public keys, read at start"},
	{"auth.jwks_url", "SYNCGATE_JWKS_URL", T_STR, O(jwks_url), "", 0, 0, 0,
	 NULL, "JWK Set URL (https; http only to loopback), fetched and refreshed"},
	{"auth.jwks_refresh_s", "SYNCGATE_JWKS_REFRESH_S", T_INT, O(jwks_refresh_s),
	 "300", 10, 604800, 0, NULL, "seconds between two fetches of auth.jwks_url"},
	{"auth.jwks_min_refresh_s", "SYNCGATE_JWKS_MIN_REFRESH_S", T_INT,
	 O(jwks_min_refresh_s), "30", 1, 3600, 0, NULL,
	 "a token with an unknown kid refetches auth.jwks_url at most this often"},
	{"auth.jwks_timeout_ms", "SYNCGATE_JWKS_TIMEOUT_MS", T_INT,
	 O(jwks_timeout_ms), "5000", 100, 60000, 0, NULL,
	 "whole-fetch timeout of auth.jwks_url (connect included)"},
	{"auth.issuer", "SYNCGATE_AUTH_ISSUER", T_STR, O(issuer), "", 0, 0, 0, NULL,
	 "required iss claim (empty: not checked)"},
	{"auth.audience", "SYNCGATE_AUTH_AUDIENCE", T_STR, O(audience), "", 0, 0, 0,
	 NULL, "required aud claim (empty: not checked)"},
	{"auth.leeway_s", "SYNCGATE_AUTH_LEEWAY_S", T_INT, O(leeway_s), "30", 0, 300,
	 0, NULL, "clock leeway for exp and nbf, seconds"},
	{"web_root", "SYNCGATE_WEB_ROOT", T_STR, O(web_root), "web", 0, 0, 0, NULL,
	 "folder served at / (empty: no static files)"},
	{"log_level", "SYNCGATE_LOG_LEVEL", T_STR, O(log_level), "info", 0, 0, 0,
	 "debug|info|warn|error", "lowest level logged"},
	{"redis.key_prefix", "SYNCGATE_REDIS_KEY_PREFIX", T_STR, O(key_prefix), "sg:",
	 0, 0, 0, NULL, "prefix of every Redis key and channel"},
	{"redis.timeout_ms", "SYNCGATE_REDIS_TIMEOUT_MS", T_INT, O(redis_timeout_ms),
	 "2000", 10, 60000, 0, NULL, "timeout of every Redis command"},
	{"redis.lossless_restarts", "SYNCGATE_REDIS_LOSSLESS_RESTARTS", T_BOOL,
	 O(lossless_restarts), "false", 0, 0, 0, NULL,
	 "true: a Redis restart, failover or restore lost nothing (appendfsync always): keep the epochs"},
	{"redis.connect_timeout_ms", "SYNCGATE_REDIS_CONNECT_TIMEOUT_MS", T_INT,
	 O(redis_connect_timeout_ms), "2000", 10, 60000, 0, NULL,
	 "timeout of a Redis connection attempt"},
	{"redis.heartbeat_ms", "SYNCGATE_REDIS_HEARTBEAT_MS", T_INT, O(heartbeat_ms),
	 "1000", 50, 60000, 0, NULL,
	 "subscriber-link heartbeat; 3 missed: reconnect and repair"},
	{"history", "SYNCGATE_HISTORY", T_I64, O(history), "10000", 1, 100000000, 0,
	 NULL, "changes kept per collection log (at least)"},
	{"conflict_history", "SYNCGATE_CONFLICT_HISTORY", T_I64, O(conflict_history),
	 "1000", 1, 1000000, 0, NULL,
	 "conflicts kept per collection trail (at least)"},
	{"idempotency_ttl_s", "SYNCGATE_IDEMPOTENCY_TTL_S", T_I64, O(idempotency_ttl_s),
	 "86400", 1, 2592000, 0, NULL,
	 "how long an Idempotency-Key's first answer is kept, seconds"},
	{"resolver.max_inflight", "SYNCGATE_RESOLVER_MAX_INFLIGHT", T_INT,
	 O(resolver_max_inflight), "256", 1, 100000, 0, NULL,
	 "resolver calls in flight per process (past it: the fallback, overloaded)"},
	{"limits.resolver_answer_bytes", "SYNCGATE_LIMIT_RESOLVER_ANSWER_BYTES", T_I64,
	 O(resolver_answer_max), "1048576", 1024, 64 * MIB, 0, NULL,
	 "largest resolver answer read (past it: the fallback, body_too_large)"},
	{"limits.write_retry_ms", "SYNCGATE_LIMIT_WRITE_RETRY_MS", T_INT,
	 O(write_retry_ms), "10000", 100, 600000, 0, NULL,
	 "longest a write re-decides a document other writers keep changing (then 503)"},
	{"limits.writes_waiting", "SYNCGATE_LIMIT_WRITES_WAITING", T_INT,
	 O(writes_waiting_max), "10000", 1, 1000000, 0, NULL,
	 "writes waiting behind earlier writes of their documents (past it: 429)"},
	{"lww_clamp_ms", "SYNCGATE_LWW_CLAMP_MS", T_I64, O(lww_clamp_ms), "60000", 0,
	 86400000, 0, NULL, "client timestamps capped at server time plus this"},
	{"lww_clock", "SYNCGATE_LWW_CLOCK", T_STR, O(lww_clock), "client", 0, 0, 0,
	 "client|server", "server: ignore client timestamps for last-writer-wins"},
	{"ws.public_url", "SYNCGATE_WS_PUBLIC_URL", T_STR, O(ws_public_url), "", 0, 0,
	 0, NULL, "ws_url given by /v1/info (default: WS port on the request's host)"},
	{"limits.body_bytes", "SYNCGATE_LIMIT_BODY_BYTES", T_I64, O(body_max),
	 "1048576", 64, 64 * MIB, 0, NULL, "largest request body (413 past it)"},
	{"limits.data_bytes", "SYNCGATE_LIMIT_DATA_BYTES", T_I64, O(data_max),
	 "524288", 16, 64 * MIB, 0, NULL,
	 "largest document data, whitespace between tokens not counted (413)"},
	{"limits.ws_message_bytes", "SYNCGATE_LIMIT_WS_MESSAGE_BYTES", T_I64,
	 O(ws_msg_max), "65536", 256, 16 * MIB, 0, NULL,
	 "largest inbound WebSocket message (close 1009)"},
	{"limits.subscriptions_per_connection", "SYNCGATE_LIMIT_SUBSCRIPTIONS", T_INT,
	 O(subs_max), "256", 1, 100000, 0, NULL, "subscriptions per WebSocket"},
	{"limits.queue_bytes", "SYNCGATE_LIMIT_QUEUE_BYTES", T_I64, O(queue_max),
	 "4194304", 4 * KIB, 1024 * MIB, 0, NULL,
	 "outbound queue per WebSocket (close 4008 past it)"},
	{"limits.json_depth", "SYNCGATE_LIMIT_JSON_DEPTH", T_INT, O(json_depth), "64",
	 2, 512, 0, NULL, "deepest JSON nesting accepted"},
	{"limits.http_timeout_s", "SYNCGATE_LIMIT_HTTP_TIMEOUT_S", T_INT,
	 O(http_timeout_s), "30", 1, 3600, 0, NULL, "idle HTTP connection timeout"},
	{"limits.http_header_timeout_s", "SYNCGATE_LIMIT_HTTP_HEADER_TIMEOUT_S", T_INT,
	 O(http_header_timeout_s), "10", 1, 3600, 0, NULL,
	 "time a new HTTP connection has to send its request headers"},
	{"limits.http_body_timeout_s", "SYNCGATE_LIMIT_HTTP_BODY_TIMEOUT_S", T_INT,
	 O(http_body_timeout_s), "60", 1, 3600, 0, NULL,
	 "time a request has from its headers to the end of its body"},
	{"limits.page_bytes", "SYNCGATE_LIMIT_PAGE_BYTES", T_I64, O(page_bytes),
	 "4194304", 64 * KIB, 1024 * MIB, 0, NULL,
	 "bytes of documents a list or changes page (or a replay batch) holds "
	 "past its first one"},
	{"limits.actors_per_subject", "SYNCGATE_LIMIT_ACTORS_PER_SUBJECT", T_INT,
	 O(actors_per_subject), "64", 1, 1024, 0, NULL,
	 "actors of one subject (sub, sub:<device>) a document's version holds"},
	{"limits.requests_per_s", "SYNCGATE_LIMIT_REQUESTS_PER_S", T_INT,
	 O(requests_per_s), "10000", 0, 1000000, 0, NULL,
	 "REST requests per second one caller (token subject or API key) may "
	 "keep up (429 past it; 0: no limit)"},
	{"limits.requests_burst", "SYNCGATE_LIMIT_REQUESTS_BURST", T_INT,
	 O(requests_burst), "20000", 1, 10000000, 0, NULL,
	 "REST requests one caller may send at once above the rate"},
	{"limits.auth_failures_per_s", "SYNCGATE_LIMIT_AUTH_FAILURES_PER_S", T_INT,
	 O(auth_failures_per_s), "100", 0, 1000000, 0, NULL,
	 "failed authentications a second one client address may keep up; past "
	 "it, its requests and handshakes get 429 unchecked (0: no limit)"},
	{"limits.auth_failures_burst", "SYNCGATE_LIMIT_AUTH_FAILURES_BURST", T_INT,
	 O(auth_failures_burst), "1000", 1, 10000000, 0, NULL,
	 "failed authentications one client address may have at once"},
	{"limits.ws_messages_per_s", "SYNCGATE_LIMIT_WS_MESSAGES_PER_S", T_INT,
	 O(ws_messages_per_s), "1000", 0, 1000000, 0, NULL,
	 "messages per second a WebSocket may keep up (close 4029 past it; "
	 "0: no limit)"},
	{"limits.ws_messages_burst", "SYNCGATE_LIMIT_WS_MESSAGES_BURST", T_INT,
	 O(ws_messages_burst), "5000", 1, 10000000, 0, NULL,
	 "messages a WebSocket may send at once above the rate"},
	{"limits.http_connections", "SYNCGATE_LIMIT_HTTP_CONNECTIONS", T_INT,
	 O(http_conn_max), "4096", 1, 1000000, 0, NULL, "concurrent HTTP connections"},
	{"limits.http_connections_per_ip", "SYNCGATE_LIMIT_HTTP_CONNECTIONS_PER_IP",
	 T_INT, O(http_conn_per_ip), "256", 0, 1000000, 0, NULL,
	 "concurrent HTTP connections per client IP (0: no limit)"},
	{"limits.ws_connections_per_ip", "SYNCGATE_LIMIT_WS_CONNECTIONS_PER_IP",
	 T_INT, O(ws_conn_per_ip), "0", 0, 1000000, 0, NULL,
	 "WebSockets one client address may hold (the handshake gets 429 past "
	 "it; 0, the default: no limit but limits.ws_connections)"},
	{"trusted_proxies", "SYNCGATE_TRUSTED_PROXIES", T_STR, O(trusted_proxies),
	 "", 0, 0, 0, NULL,
	 "load balancers whose X-Forwarded-For is believed: addresses and "
	 "networks, comma-separated (10.0.0.0/8,127.0.0.1)"},
	{"cors_origins", "SYNCGATE_CORS_ORIGINS", T_STR, O(cors_origins), "", 0, 0,
	 0, NULL,
	 "web origins whose pages may call the REST API (CORS), comma-separated "
	 "(https://app.example.com); none by default"},
	{"limits.ws_connections", "SYNCGATE_LIMIT_WS_CONNECTIONS", T_INT,
	 O(ws_conn_max), "15000", 1, 1000000, 0, NULL, "concurrent WebSockets"},
	{"limits.ws_auth_timeout_s", "SYNCGATE_LIMIT_WS_AUTH_TIMEOUT_S", T_INT,
	 O(ws_auth_timeout_s), "10", 1, 600, 0, NULL,
	 "time for the first auth message (close 1008 after)"},
	{"limits.list_max", "SYNCGATE_LIMIT_LIST_MAX", T_INT, O(list_limit_max),
	 "1000", 1, 5000, 0, NULL,
	 "largest limit of a list or changes page (at most 5,000)"},
	{"shutdown_timeout_s", "SYNCGATE_SHUTDOWN_TIMEOUT_S", T_INT,
	 O(shutdown_timeout_s), "10", 1, 300, 0, NULL,
	 "SIGTERM: longest wait for in-flight requests"},
	{"dev", "SYNCGATE_DEV", T_BOOL, O(dev), "false", 0, 0, 0, NULL,
	 "dev mode: POST /v1/dev/token mints tokens for anyone (loopback bind only)"},
};
const size_t config_nopts = GW_ARRAY_LEN(config_opts);

/* config.file_hidden has a bit per option */
_Static_assert(GW_ARRAY_LEN(config_opts) <= 64, "more options than config.file_hidden bits");

/* ---- setting one option ------------------------------------------------ */

static char **str_field(struct config *c, const struct opt *o)
{
	return (char **)(void *)((char *)c + o->off);
}

static bool in_choices(const char *choices, const char *v)
{
	size_t n = strlen(v);
	const char *p = choices;

	while (p && *p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && strncmp(p, v, n) == 0)
			return true;
		p = bar ? bar + 1 : NULL;
	}
	return false;
}

static int set_opt(struct config *c, const struct opt *o, const char *v,
		   const char *from, struct gw_error *err)
{
	if (o->type == T_STR) {
		char **f = str_field(c, o), *dup;

		if (o->choices && !in_choices(o->choices, v))
			return gw_fail(err, GW_EBADREQ, "%s (%s): must be one of %s",
				       o->name, from, o->choices);
		dup = strdup(v);
		if (!dup)
			return gw_fail(err, GW_ENOMEM, "out of memory");
		if (o->flags & F_SECRET)
			gw_free_secret(*f);
		else
			free(*f);
		*f = dup;
		return 0;
	} else if (o->type == T_BOOL) {
		bool *b = (bool *)(void *)((char *)c + o->off);

		if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
			*b = true;
		else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
			*b = false;
		else
			return gw_fail(err, GW_EBADREQ,
				       "%s (%s): must be true, false, 1 or 0", o->name,
				       from);
		return 0;
	} else {
		char *end;
		long long n;

		errno = 0;
		n = strtoll(v, &end, 10);
		if (errno || end == v || *end || n < o->min || n > o->max)
			return gw_fail(err, GW_EBADREQ,
				       "%s (%s): must be an integer in %lld..%lld",
				       o->name, from, (long long)o->min,
				       (long long)o->max);
		if (o->type == T_INT)
			*(int *)(void *)((char *)c + o->off) = (int)n;
		else
			*(int64_t *)(void *)((char *)c + o->off) = n;
		return 0;
	}
}

static const struct opt *find_opt(const char *name)
{
	for (size_t i = 0; i < config_nopts; i++)
		if (strcmp(config_opts[i].name, name) == 0)
			return &config_opts[i];
	return NULL;
}

/* The flag of an option is its environment variable without "SYNCGATE_",
 * in lower case, '_' as '-': SYNCGATE_LIMIT_BODY_BYTES is
 * --limit-body-bytes. Environment-only options (F_NOFILE) have none. */
bool config_flag_name(const struct opt *o, char *out, size_t cap)
{
	const char *e = o->env + strlen("SYNCGATE_");
	size_t i;

	if (o->flags & F_NOFILE)
		return false;
	for (i = 0; e[i] && i + 1 < cap; i++)
		out[i] = e[i] == '_' ? '-' : (char)tolower((unsigned char)e[i]);
	out[i] = '\0';
	return true;
}

static const struct opt *find_flag(const char *flag, size_t len)
{
	char buf[96];

	for (size_t i = 0; i < config_nopts; i++)
		if (config_flag_name(&config_opts[i], buf, sizeof(buf)) && strlen(buf) == len &&
		    strncmp(buf, flag, len) == 0)
			return &config_opts[i];
	return NULL;
}

/* An environment-only option named as a flag (--jwt-secret): refused with
 * a message naming its variable. */
static const struct opt *find_env_only(const char *flag, size_t len)
{
	for (size_t i = 0; i < config_nopts; i++) {
		const char *e = config_opts[i].env + strlen("SYNCGATE_");
		size_t j;

		if (!(config_opts[i].flags & F_NOFILE) || strlen(e) != len)
			continue;
		for (j = 0; j < len; j++)
			if ((e[j] == '_' ? '-' : tolower((unsigned char)e[j])) != flag[j])
				break;
		if (j == len)
			return &config_opts[i];
	}
	return NULL;
}

/* ---- the file ------------------------------------------------------------- */

static int parse_patterns(json_t *arr, char ***out, size_t *n, const char *what,
			  struct gw_error *err)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr))
		return gw_fail(err, GW_EBADREQ, "%s must be an array of strings", what);
	*out = calloc(json_array_size(arr) + 1, sizeof(char *));
	if (!*out)
		return gw_fail(err, GW_ENOMEM, "out of memory");
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			return gw_fail(err, GW_EBADREQ, "%s must be an array of strings",
				       what);
		if (!((*out)[i] = strdup(json_string_value(v))))
			return gw_fail(err, GW_ENOMEM, "out of memory");
		(*n)++;
	}
	return 0;
}

/* The options a file may not give twice: a list would be parsed onto the
 * first one ("ws": {"allowed_origins": ..} and "ws.allowed_origins"). */
enum {
	SEEN_COLLECTIONS = 1, SEEN_PERMS = 2, SEEN_ORIGINS = 4, SEEN_KEYS = 8,
	SEEN_PUBKEYS = 16
};

/* An optional string member of a key entry, copied (absent or null: not
 * given). */
static int pubkey_str(json_t *e, const char *key, bool required, char **out,
		      struct gw_error *err)
{
	json_t *v = json_object_get(e, key);

	if ((!v || json_is_null(v)) && !required) /* null: as printed */
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0)
		return gw_fail(err, GW_EBADREQ,
			       "auth.jwt_public_keys: \"%s\" must be a non-empty "
			       "string", key);
	if (!(*out = strdup(json_string_value(v))))
		return gw_fail(err, GW_ENOMEM, "out of memory");
	return 0;
}

/* auth.jwt_public_keys: [{"kid","alg","pem_file"}]; the keys themselves
 * are read at start (main), not here. */
static int parse_pubkeys(json_t *arr, struct config *c, struct gw_error *err)
{
	size_t i;
	json_t *e;
	int rc;

	if (!json_is_array(arr))
		return gw_fail(err, GW_EBADREQ,
			       "auth.jwt_public_keys must be an array of objects");
	c->pubkeys = calloc(json_array_size(arr) + 1, sizeof(*c->pubkeys));
	if (!c->pubkeys)
		return gw_fail(err, GW_ENOMEM, "out of memory");
	json_array_foreach(arr, i, e) {
		struct config_pubkey *k = &c->pubkeys[i];
		const char *key;
		json_t *v;

		if (!json_is_object(e))
			return gw_fail(err, GW_EBADREQ,
				       "auth.jwt_public_keys must be an array of "
				       "objects");
		json_object_foreach(e, key, v) {
			if (strcmp(key, "kid") && strcmp(key, "alg") &&
			    strcmp(key, "pem_file"))
				return gw_fail(err, GW_EBADREQ,
					       "auth.jwt_public_keys: unknown key "
					       "\"%s\"", key);
		}
		c->npubkeys++;
		if ((rc = pubkey_str(e, "pem_file", true, &k->pem_file, err)) ||
		    (rc = pubkey_str(e, "kid", false, &k->kid, err)) ||
		    (rc = pubkey_str(e, "alg", false, &k->alg, err)))
			return rc;
		if (k->alg && strcmp(k->alg, "RS256") && strcmp(k->alg, "ES256"))
			return gw_fail(err, GW_EBADREQ,
				       "auth.jwt_public_keys: alg must be RS256 or "
				       "ES256");
	}
	return 0;
}

/* Whether a file's auth.api_keys holds a hash as --print-config prints
 * it ("***"): the list then has to come from SYNCGATE_API_KEYS. */
static bool keys_hidden(json_t *list)
{
	size_t i;
	json_t *e;

	json_array_foreach(list, i, e) {
		json_t *h = json_object_get(e, "sha256");

		if (json_is_string(h) && strcmp(json_string_value(h), CONFIG_HIDDEN) == 0)
			return true;
	}
	return false;
}

static int given_twice(unsigned *seen, unsigned bit, const char *name,
		       struct gw_error *err)
{
	if (*seen & bit)
		return gw_fail(err, GW_EBADREQ, "config file: \"%s\" given twice",
			       name);
	*seen |= bit;
	return 0;
}

/* Walks obj; path is the dotted prefix so far. */
static int load_object(struct config *c, json_t *obj, const char *path,
		       char **envp, unsigned *seen, struct gw_error *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		char name[96];
		const struct opt *o;
		int rc;

		snprintf(name, sizeof(name), "%s%s%s", path, *path ? "." : "", key);
		if (strcmp(name, "collections") == 0) {
			rc = given_twice(seen, SEEN_COLLECTIONS, name, err);
			if (!rc) {
				policy_release(&c->colls);
				rc = policy_parse(v, envp, &c->colls, err);
			}
		} else if (strcmp(name, "auth.default_permissions") == 0) {
			rc = given_twice(seen, SEEN_PERMS, name, err);
			if (!rc)
				rc = acl_perms_parse(v, &c->default_perms, err);
		} else if (strcmp(name, "auth.api_keys") == 0) {
			rc = given_twice(seen, SEEN_KEYS, name, err);
			if (!rc && keys_hidden(v))
				c->file_hidden_keys = true; /* SYNCGATE_API_KEYS must give them */
			else if (!rc)
				rc = apikey_parse(v, "config file: auth.api_keys",
						  &c->api_keys, err);
		} else if (strcmp(name, "ws.allowed_origins") == 0) {
			rc = given_twice(seen, SEEN_ORIGINS, name, err);
			if (!rc)
				rc = parse_patterns(v, &c->allowed_origins,
						    &c->norigins, name, err);
		} else if (strcmp(name, "auth.jwt_public_keys") == 0) {
			rc = given_twice(seen, SEEN_PUBKEYS, name, err);
			if (!rc)
				rc = parse_pubkeys(v, c, err);
		} else if (json_is_object(v) && !find_opt(name)) {
			rc = load_object(c, v, name, envp, seen, err);
		} else if (!(o = find_opt(name))) {
			rc = gw_fail(err, GW_EBADREQ, "config file: unknown option \"%s\"",
				     name);
		} else if ((o->flags & F_NOFILE) && json_is_string(v) &&
			   (json_string_length(v) == 0 ||
			    strcmp(json_string_value(v), CONFIG_HIDDEN) == 0)) {
			/* as --print-config writes it: unset, or set elsewhere */
			if (json_string_length(v))
				c->file_hidden |= 1ull << (o - config_opts);
			rc = 0;
		} else if (o->flags & F_NOFILE) {
			rc = gw_fail(err, GW_EBADREQ,
				     "config file: \"%s\" may only come from %s", name,
				     o->env);
		} else if (json_is_string(v)) {
			rc = set_opt(c, o, json_string_value(v), "config file", err);
		} else if (json_is_boolean(v) && o->type == T_BOOL) {
			rc = set_opt(c, o, json_is_true(v) ? "true" : "false",
				     "config file", err);
		} else if (json_is_integer(v) && o->type != T_STR) {
			char num[32];

			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(v));
			rc = set_opt(c, o, num, "config file", err);
		} else {
			rc = gw_fail(err, GW_EBADREQ, "config file: \"%s\" has the wrong type",
				     name);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int load_file(struct config *c, const char *path, char **envp,
		     struct gw_error *err)
{
	FILE *f = fopen(path, "rb");
	struct sbuf sb = SBUF_INIT;
	char buf[4096];
	size_t n;
	json_t *root;
	unsigned seen = 0;
	int rc;

	if (!f)
		return gw_fail(err, GW_EBADREQ, "cannot open config file %s: %s", path,
			       strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && sb.len < 16 * MIB)
		sbuf_add(&sb, buf, n);
	fclose(f);
	{
		struct gw_error perr = {0, ""};

		root = jsonx_parse(sb.buf ? sb.buf : "", sb.len, 64, &perr);
		sbuf_release(&sb);
		if (!root)
			return gw_fail(err, GW_EBADREQ, "config file %s: %s", path,
				       perr.msg);
	}
	if (!json_is_object(root))
		rc = gw_fail(err, GW_EBADREQ, "config file %s: not a JSON object", path);
	else
		rc = load_object(c, root, "", envp, &seen, err);
	json_decref(root);
	return rc;
}

/* SYNCGATE_API_KEYS: the list of auth.api_keys as JSON, for containers
 * (their config files are baked into images; hashes are not secrets, but
 * which services exist changes per deployment). Replaces the file's list;
 * empty counts as unset, as compose files leave ${KEYS:-}. */
static int load_env_keys(struct config *c, char **envp, struct gw_error *err)
{
	const char *v = env_get(envp, "SYNCGATE_API_KEYS");
	struct gw_error perr = {0, ""};
	json_t *root;
	int rc;

	if ((!v || !*v) && c->file_hidden_keys)
		return gw_fail(err, GW_EBADREQ,
			       "config file: auth.api_keys has \"" CONFIG_HIDDEN "\" for a "
			       "hash (as --print-config prints it): give the hashes "
			       "there, or the list in SYNCGATE_API_KEYS");
	if (!v || !*v)
		return 0;
	c->file_hidden_keys = false;
	root = jsonx_parse(v, strlen(v), 64, &perr);
	if (!root)
		return gw_fail(err, GW_EBADREQ, "SYNCGATE_API_KEYS: %s", perr.msg);
	apikey_release(&c->api_keys);
	rc = apikey_parse(root, "SYNCGATE_API_KEYS", &c->api_keys, err);
	json_decref(root);
	return rc;
}

/* ---- the dev option ------------------------------------------------------ */

bool config_bind_loopback(const char *addr)
{
	struct in_addr v4;
	struct in6_addr v6;

	if (inet_pton(AF_INET, addr, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, addr, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

int config_check_dev(const struct config *c, struct gw_error *err)
{
	if (!c->dev || config_bind_loopback(c->bind))
		return 0;
	return gw_fail(err, GW_EBADREQ,
		       "dev mode mints tokens for anyone who can connect: it needs a "
		       "loopback bind address (127.0.0.0/8 or ::1), not \"%s\"",
		       c->bind);
}

/* ---- loading ---------------------------------------------------------------- */

/* The flags that are not options: what to do, and where the file is. */
const struct action_flag config_actions[] = {
	{"--help", "-h", NULL, CONFIG_HELP, "print this text and exit"},
	{"--version", NULL, NULL, CONFIG_VERSION, "print the version and exit"},
	{"--config", NULL, "FILE", CONFIG_RUN,
	 "the JSON config file (also SYNCGATE_CONFIG; the flag wins)"},
	{"--print-config", NULL, NULL, CONFIG_PRINT,
	 "print the effective configuration as a config file and exit (secrets "
	 "as \"" CONFIG_HIDDEN "\": see docs/configuration.md)"},
	{"--health", NULL, NULL, CONFIG_HEALTH,
	 "GET /v1/health on this configuration's REST port and exit: 0 when "
	 "200, else 1 (for container health checks)"},
	{"--make-token", NULL, "SUBJECT", CONFIG_MAKE_TOKEN,
	 "print a 24-hour HS256 token with every permission for SUBJECT "
	 "(development; needs SYNCGATE_JWT_SECRET) and exit"},
};
const size_t config_nactions = GW_ARRAY_LEN(config_actions);

/* The action flag arg spells (with "=value" or not), or NULL. */
static const struct action_flag *find_action(const char *arg, const char **eq)
{
	size_t n = strcspn(arg, "=");

	*eq = arg[n] == '=' ? arg + n + 1 : NULL;
	for (size_t i = 0; i < config_nactions; i++) {
		const struct action_flag *a = &config_actions[i];

		if ((strlen(a->flag) == n && strncmp(a->flag, arg, n) == 0) ||
		    (a->alias && strlen(a->alias) == n && strncmp(a->alias, arg, n) == 0))
			return a;
	}
	return NULL;
}

/* One action flag at argv[*i]: its value (borrowed from argv) into *val;
 * 0 or GW_EBADREQ. */
static int action_value(const struct action_flag *a, const char *eq, int argc,
			char **argv, int *i, const char **val, struct gw_error *err)
{
	*val = NULL;
	if (!a->value && eq)
		return gw_fail(err, GW_EBADREQ, "flag %s takes no value", a->flag);
	if (!a->value)
		return 0;
	if (eq)
		*val = eq;
	else if (*i + 1 < argc)
		*val = argv[++*i];
	else
		return gw_fail(err, GW_EBADREQ, "flag %s needs a value (%s)", a->flag,
			       a->value);
	return 0;
}

/* An option flag at argv[*i] into c; 0 or GW_EBADREQ. */
static int option_flag(struct config *c, int argc, char **argv, int *i,
		       struct gw_error *err)
{
	const char *a = argv[*i], *val, *eq;
	const struct opt *o;
	size_t n;

	if (strncmp(a, "--", 2) != 0 || !a[2])
		return gw_fail(err, GW_EBADREQ,
			       "unexpected argument \"%s\" (flags start with --; see "
			       "--help)", a);
	eq = strchr(a + 2, '=');
	n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
	o = find_flag(a + 2, n);
	if (!o && (o = find_env_only(a + 2, n)))
		return gw_fail(err, GW_EBADREQ,
			       "--%.*s is not a flag: %s may only come from the "
			       "environment, %s (flags show up in ps)", (int)n, a + 2,
			       o->name, o->env);
	if (!o)
		return gw_fail(err, GW_EBADREQ, "unknown flag \"--%.*s\" (see --help)",
			       (int)n, a + 2);
	if (eq)
		val = eq + 1;
	else if (o->type == T_BOOL)
		val = "true"; /* --dev alone; never takes the next argument */
	else if (*i + 1 < argc)
		val = argv[++*i];
	else
		return gw_fail(err, GW_EBADREQ, "flag %s needs a value", a);
	return set_opt(c, o, val, "flag", err);
}

int config_load(struct config *c, int argc, char **argv, char **envp,
		enum config_action *action, const char **token_sub,
		struct gw_error *err)
{
	const char *file = env_get(envp, "SYNCGATE_CONFIG");
	int rc;

	memset(c, 0, sizeof(*c));
	*action = CONFIG_RUN;
	for (size_t i = 0; i < config_nopts; i++)
		if ((rc = set_opt(c, &config_opts[i], config_opts[i].def, "default", err)))
			return rc;

	/* first pass over the flags: what to do and what to load; --help and
	 * --version answer at once, whatever else argv holds */
	for (int i = 1; i < argc; i++) {
		const char *eq, *val;
		const struct action_flag *a = find_action(argv[i], &eq);

		if (!a) {
			const struct opt *o;
			size_t n = strcspn(argv[i], "=");

			/* skip an option's separate value ("--node-id --help"
			 * names a node) */
			if (strncmp(argv[i], "--", 2) == 0 && !strchr(argv[i], '=') &&
			    (o = find_flag(argv[i] + 2, n - 2)) && o->type != T_BOOL)
				i++;
			continue;
		}
		if ((rc = action_value(a, eq, argc, argv, &i, &val, err)))
			return rc;
		if (a->action == CONFIG_HELP || a->action == CONFIG_VERSION) {
			*action = a->action;
			return 0;
		}
		if (strcmp(a->flag, "--config") == 0)
			file = val;
	}
	if (file && *file) {
		if (!(c->config_file = strdup(file)))
			return gw_fail(err, GW_ENOMEM, "out of memory");
		if ((rc = load_file(c, file, envp, err)))
			return rc;
	}
	if ((rc = load_env_keys(c, envp, err)))
		return rc;
	for (size_t i = 0; i < config_nopts; i++) {
		const char *v = env_get(envp, config_opts[i].env);

		if (v && (rc = set_opt(c, &config_opts[i], v, config_opts[i].env, err)))
			return rc;
	}
	for (int i = 1; i < argc; i++) {
		const char *eq, *val;
		const struct action_flag *a = find_action(argv[i], &eq);

		if (!a) {
			if ((rc = option_flag(c, argc, argv, &i, err)))
				return rc;
			continue;
		}
		if ((rc = action_value(a, eq, argc, argv, &i, &val, err)))
			return rc;
		if (a->action == CONFIG_RUN)
			continue; /* --config: read above */
		if (*action != CONFIG_RUN && *action != a->action)
			return gw_fail(err, GW_EBADREQ,
				       "--print-config and --make-token exclude each other");
		*action = a->action;
		if (a->action == CONFIG_MAKE_TOKEN)
			*token_sub = val;
	}
	for (size_t i = 0; i < config_nopts; i++) {
		const struct opt *o = &config_opts[i];

		if ((c->file_hidden & (1ull << i)) && !**str_field(c, o))
			return gw_fail(err, GW_EBADREQ,
				       "config file: \"%s\" is \"" CONFIG_HIDDEN "\" (as "
				       "--print-config prints it) but %s is not set",
				       o->name, o->env);
	}
	if ((rc = config_parse_redis_url(c, c->redis_url, err)))
		return rc;
	if (c->redis_password && strcmp(c->redis_password, CONFIG_HIDDEN) == 0)
		return gw_fail(err, GW_EBADREQ,
			       "redis_url: the password is \"" CONFIG_HIDDEN "\", as "
			       "--print-config prints it: give the real one (in "
			       "SYNCGATE_REDIS_URL, say)");
	netaddr_set_release(&c->trusted);
	{
		struct gw_error perr = {0, ""};

		if (netaddr_set_parse(c->trusted_proxies, &c->trusted, &perr))
			return gw_fail(err, GW_EBADREQ, "trusted_proxies: %s",
				       perr.msg);
	}
	return 0;
}

void config_release(struct config *c)
{
	for (size_t i = 0; i < config_nopts; i++) {
		char **f;

		if (config_opts[i].type != T_STR)
			continue;
		f = str_field(c, &config_opts[i]);
		if (config_opts[i].flags & F_SECRET)
			gw_free_secret(*f);
		else
			free(*f);
	}
	policy_release(&c->colls);
	for (size_t i = 0; i < c->norigins; i++)
		free(c->allowed_origins[i]);
	free(c->allowed_origins);
	acl_perms_release(&c->default_perms);
	apikey_release(&c->api_keys);
	netaddr_set_release(&c->trusted);
	for (size_t i = 0; i < c->npubkeys; i++) {
		free(c->pubkeys[i].kid);
		free(c->pubkeys[i].alg);
		free(c->pubkeys[i].pem_file);
	}
	free(c->pubkeys);
	gw_free_secret(c->redis_password);
	free(c->redis_user);
	free(c->redis_host);
	free(c->redis_cluster_seeds);
	free(c->config_file);
	memset(c, 0, sizeof(*c));
}

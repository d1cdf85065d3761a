/*
 * config.h - the gateway's configuration (DESIGN.md section 9): one table
 * row per option (name, environment variable, type, default, bounds), from
 * which the JSON file, the environment, the flags, --help and
 * --print-config all work. Precedence: defaults < file < environment <
 * flags. Pure (jansson only); built once at start, then read-only.
 */
#ifndef SG_CONFIG_H
#define SG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "acl.h"
#include "apikey.h"
#include "common.h"
#include "netaddr.h"
#include "policy.h"

/* One entry of auth.jwt_public_keys (file only). */
struct config_pubkey {
	char *kid;      /* owned; NULL: the key serves any kid */
	char *alg;      /* owned; NULL: from the key (RSA RS256, P-256 ES256) */
	char *pem_file; /* owned */
};

struct config {
	/* table-driven options: see config.c for names, env vars, defaults */
	char *node_id;
	char *bind;
	int http_port;
	int ws_port;
	char *redis_url;
	char *auth_mode;            /* "jwt" or "none" */
	char *jwt_secret;           /* environment only; never printed */
	char *jwt_public_key;       /* PEM file paths, comma-separated */
	char *jwks_file;
	char *jwks_url;
	int jwks_refresh_s;
	int jwks_min_refresh_s;     /* unknown-kid refreshes at most this often */
	int jwks_timeout_ms;
	char *issuer;
	char *audience;
	int leeway_s;
	char *web_root;
	char *log_level;
	char *key_prefix;
	char *ws_public_url;
	int redis_timeout_ms;
	bool lossless_restarts;     /* a new Redis life keeps the epochs */
	int redis_connect_timeout_ms;
	int heartbeat_ms;
	int64_t body_max;
	int64_t data_max;
	int64_t ws_msg_max;
	int subs_max;
	int64_t queue_max;
	int json_depth;
	int http_timeout_s;
	int http_header_timeout_s;
	int http_body_timeout_s;
	int actors_per_subject;
	int64_t page_bytes;
	int requests_per_s, requests_burst;       /* REST, per caller */
	int ws_messages_per_s, ws_messages_burst; /* per WebSocket */
	int auth_failures_per_s, auth_failures_burst; /* per client address */
	int http_conn_max;
	int http_conn_per_ip;
	int ws_conn_per_ip;
	char *trusted_proxies;           /* the option's text */
	char *cors_origins;              /* comma-separated, "" none */
	struct netaddr_set trusted;      /* parsed from it */
	int ws_conn_max;
	int ws_auth_timeout_s;
	int64_t lww_clamp_ms;
	char *lww_clock;            /* "client" or "server" */
	int64_t history;
	int64_t conflict_history;
	int64_t idempotency_ttl_s;
	int resolver_max_inflight;
	int64_t resolver_answer_max;
	int write_retry_ms;
	int writes_waiting_max;
	int shutdown_timeout_s;
	int list_limit_max;
	bool dev;                   /* POST /v1/dev/token; loopback bind only */
	/* structured options (file only) */
	struct policy_set colls;    /* owned; secrets from the environment */
	struct acl_perms default_perms;
	struct apikey_set api_keys; /* file or SYNCGATE_API_KEYS; hashes only */
	char **allowed_origins;     /* owned array of owned strings */
	size_t norigins;
	struct config_pubkey *pubkeys; /* owned: auth.jwt_public_keys */
	size_t npubkeys;
	/* parsed from redis_url */
	char *redis_host;
	int redis_port;
	char *redis_password;
	char *redis_user;           /* Redis 6 ACL user, or NULL */
	int redis_db;
	/* redis+cluster://: the seed nodes "host:port[,host:port...]"
	 * (redis_host/redis_port: the first); NULL for one Redis */
	char *redis_cluster_seeds;
	/* set by --config */
	char *config_file;
	/* secrets the file gave as CONFIG_HIDDEN: the environment must */
	uint64_t file_hidden;       /* bit i: option i of the table */
	bool file_hidden_keys;      /* an auth.api_keys hash */
};

/* What --print-config prints for a secret that is set. Read back from a
 * file it means "set elsewhere": the environment must give the value, or
 * the load fails (a Redis password of exactly this is refused). */
#define CONFIG_HIDDEN "***"

enum config_action {
	CONFIG_RUN,
	CONFIG_HELP,
	CONFIG_VERSION,
	CONFIG_PRINT,
	CONFIG_MAKE_TOKEN,
	CONFIG_HEALTH    /* main runs health_probe_main before config_load */
};

/*
 * Builds cfg from defaults, the file (--config or SYNCGATE_CONFIG), the
 * environment (envp, NULL-terminated "K=V" strings) and argv. Returns 0 and
 * the action asked for, or GW_EBADREQ with err naming the bad option.
 * For CONFIG_MAKE_TOKEN, *token_sub receives the subject (borrowed from
 * argv).
 */
int config_load(struct config *cfg, int argc, char **argv, char **envp,
		enum config_action *action, const char **token_sub,
		struct gw_error *err);
/* Frees what cfg owns (secrets cleansed); cfg is left zeroed. */
void config_release(struct config *cfg);
/* Writes --help text: every flag accepted, from the tables of config.c. */
void config_print_help(FILE *out);
/* Writes "syncgate <version>" (--version). */
void config_print_version(FILE *out);
/*
 * Writes the effective configuration as a config file (JSON, one
 * top-level option a line): loading it with the same environment gives
 * the same configuration. Secrets that are set are CONFIG_HIDDEN.
 */
void config_print(const struct config *cfg, FILE *out);
/*
 * Whether addr is a loopback address literal: IPv4 in 127.0.0.0/8 or IPv6
 * ::1 (names such as "localhost" are not: they are not resolved).
 */
bool config_bind_loopback(const char *addr);
/*
 * The rule of the dev option: 0 when dev is off or bind is loopback
 * (config_bind_loopback); else GW_EBADREQ with err saying why.
 */
int config_check_dev(const struct config *cfg, struct gw_error *err);
/* Parses redis://[[user]:password@]host[:port][/db], or for a Redis
 * Cluster redis+cluster://[[user]:password@]host:port[,host:port...] (no
 * database: a cluster has only 0), into cfg's redis_* fields. */
int config_parse_redis_url(struct config *cfg, const char *url,
			   struct gw_error *err);

#endif

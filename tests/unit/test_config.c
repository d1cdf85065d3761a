/*
 * test_config.c - configuration (DESIGN.md sections 3, 9 and 11): defaults,
 * defaults < file < environment < flags, --print-config without secrets,
 * clear errors for bad values, collection policies (first match wins),
 * redis_url parsing and which options come from where (the keys of
 * authentication: test_config_auth.c). Files are temp files; the
 * environment is a fake envp array, never the real one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config_rig.h"
#include "jsonx.h"


static void test_defaults(void **state)
{
	struct config c;
	enum config_action act = CONFIG_HELP;
	struct gw_error e;

	(void)state;
	assert_int_equal(load(&c, NULL, NULL, &act, &e), 0);
	assert_int_equal(act, CONFIG_RUN);
	assert_string_equal(c.node_id, "");
	assert_string_equal(c.bind, "127.0.0.1");
	assert_int_equal(c.http_port, 8080);
	assert_int_equal(c.ws_port, 8081);
	assert_string_equal(c.redis_url, "redis://127.0.0.1:6379");
	assert_string_equal(c.redis_host, "127.0.0.1");
	assert_int_equal(c.redis_port, 6379);
	assert_int_equal(c.redis_db, 0);
	assert_null(c.redis_password);
	assert_string_equal(c.auth_mode, "jwt");
	assert_string_equal(c.jwt_secret, "");
	assert_int_equal(c.leeway_s, 30);
	assert_string_equal(c.log_level, "info");
	assert_string_equal(c.key_prefix, "sg:");
	assert_string_equal(c.lww_clock, "client");
	/* the limits of DESIGN.md section 3 and the other documented numbers */
	assert_int_equal(c.body_max, 1024 * 1024);
	assert_int_equal(c.data_max, 512 * 1024);
	assert_int_equal(c.ws_msg_max, 64 * 1024);
	assert_int_equal(c.subs_max, 256);
	assert_int_equal(c.queue_max, 4 * 1024 * 1024);
	assert_int_equal(c.json_depth, 64);
	assert_int_equal(c.history, 10000);
	assert_int_equal(c.lww_clamp_ms, 60000);
	assert_int_equal(c.ws_auth_timeout_s, 10);
	assert_int_equal(c.shutdown_timeout_s, 10);
	assert_int_equal(c.list_limit_max, 1000);
	assert_int_equal(c.colls.n, 0);
	assert_int_equal(c.norigins, 0);
	assert_null(c.config_file);
	assert_null(policy_find(&c.colls, "todos"));
	config_release(&c);
	assert_null(c.bind);
	assert_int_equal(c.http_port, 0);
}

static void test_design_env_names(void **state)
{
	static const char *const env[] = {
		"SYNCGATE_NODE_ID=gw-7",
		"SYNCGATE_BIND=0.0.0.0",
		"SYNCGATE_HTTP_PORT=9000",
		"SYNCGATE_WS_PORT=9001",
		"SYNCGATE_REDIS_URL=redis://cache:7000/4",
		"SYNCGATE_AUTH_MODE=none",
		"SYNCGATE_JWT_SECRET=" SECRET,
		"SYNCGATE_JWT_PUBLIC_KEY=/keys/pub.pem",
		"SYNCGATE_WEB_ROOT=/srv/web",
		"SYNCGATE_LOG_LEVEL=debug",
		"SYNCGATE_HTTP_PORTX=1", /* a longer name is another variable */
		"XSYNCGATE_WS_PORT=2",
		"NOT_A_PAIR",
		NULL,
	};
	struct config c;
	enum config_action act;
	struct gw_error e;
	char *help = NULL;
	size_t hlen = 0;
	FILE *f;

	(void)state;
	assert_int_equal(load(&c, NULL, env, &act, &e), 0);
	assert_string_equal(c.node_id, "gw-7");
	assert_string_equal(c.bind, "0.0.0.0");
	assert_int_equal(c.http_port, 9000);
	assert_int_equal(c.ws_port, 9001);
	assert_string_equal(c.redis_host, "cache");
	assert_int_equal(c.redis_port, 7000);
	assert_int_equal(c.redis_db, 4);
	assert_string_equal(c.auth_mode, "none");
	assert_string_equal(c.jwt_secret, SECRET);
	assert_string_equal(c.jwt_public_key, "/keys/pub.pem");
	assert_string_equal(c.web_root, "/srv/web");
	assert_string_equal(c.log_level, "debug");
	config_release(&c);
	/* --help names every one of them */
	f = open_memstream(&help, &hlen);
	assert_non_null(f);
	config_print_help(f);
	fclose(f);
	for (size_t i = 0; i < 10; i++) {
		char name[64];

		snprintf(name, sizeof(name), "%.*s",
			 (int)(strchr(env[i], '=') - env[i]), env[i]);
		if (!strstr(help, name))
			fail_msg("--help lacks %s", name);
	}
	assert_null(strstr(help, SECRET));
	free(help);
}

static void test_precedence(void **state)
{
	char *file = tmp_file("{\"http_port\":1000,\"bind\":\"0.0.0.0\","
			      "\"log_level\":\"warn\",\"ws_port\":\"1001\","
			      "\"limits\":{\"json_depth\":32,\"queue_bytes\":8192}}");
	char *file2 = tmp_file("{\"http_port\":1500}");
	char envcfg[128];
	struct config c;
	enum config_action act;
	struct gw_error e;

	(void)state;
	snprintf(envcfg, sizeof(envcfg), "SYNCGATE_CONFIG=%s", file);
	{
		const char *env[] = {envcfg, NULL};

		assert_int_equal(load(&c, NULL, env, &act, &e), 0);
		assert_int_equal(c.http_port, 1000);
		assert_int_equal(c.ws_port, 1001);
		assert_string_equal(c.bind, "0.0.0.0");
		assert_string_equal(c.log_level, "warn");
		assert_int_equal(c.json_depth, 32);
		assert_int_equal(c.queue_max, 8192);
		assert_string_equal(c.config_file, file);
		config_release(&c);
	}
	{
		const char *env[] = {envcfg, "SYNCGATE_HTTP_PORT=2000",
				     "SYNCGATE_LOG_LEVEL=debug",
				     "SYNCGATE_LIMIT_JSON_DEPTH=16", NULL};
		const char *args[] = {"--http-port", "3000", NULL};

		assert_int_equal(load(&c, NULL, env, &act, &e), 0);
		assert_int_equal(c.http_port, 2000);       /* env over file */
		assert_string_equal(c.log_level, "debug");
		assert_int_equal(c.json_depth, 16);
		assert_string_equal(c.bind, "0.0.0.0");    /* file over default */
		config_release(&c);
		assert_int_equal(load(&c, args, env, &act, &e), 0);
		assert_int_equal(c.http_port, 3000);       /* flag over env */
		assert_string_equal(c.log_level, "debug");
		config_release(&c);
	}
	{
		/* --config beats SYNCGATE_CONFIG; both flag spellings */
		const char *env[] = {envcfg, NULL};
		const char *a1[] = {"--config", file2, NULL};
		char eq[128];
		const char *a2[] = {eq, "--limit-json-depth=8", NULL};

		assert_int_equal(load(&c, a1, env, &act, &e), 0);
		assert_int_equal(c.http_port, 1500);
		assert_string_equal(c.bind, "127.0.0.1");
		config_release(&c);
		snprintf(eq, sizeof(eq), "--config=%s", file2);
		assert_int_equal(load(&c, a2, env, &act, &e), 0);
		assert_int_equal(c.http_port, 1500);
		assert_int_equal(c.json_depth, 8);
		config_release(&c);
	}
	drop_file(file);
	drop_file(file2);
}

static void test_actions(void **state)
{
	struct config c;
	enum config_action act;
	struct gw_error e;
	const char *sub = NULL;
	char *argv[] = {(char *)(uintptr_t)"syncgate",
			(char *)(uintptr_t)"--make-token",
			(char *)(uintptr_t)"alice", NULL};
	char *envp[] = {NULL};
	const char *help[] = {"--help", NULL};
	const char *pc[] = {"--print-config", NULL};

	(void)state;
	assert_int_equal(load(&c, help, NULL, &act, &e), 0);
	assert_int_equal(act, CONFIG_HELP);
	config_release(&c);
	assert_int_equal(load(&c, pc, NULL, &act, &e), 0);
	assert_int_equal(act, CONFIG_PRINT);
	config_release(&c);
	assert_int_equal(config_load(&c, 3, argv, envp, &act, &sub, &e), 0);
	assert_int_equal(act, CONFIG_MAKE_TOKEN);
	assert_string_equal(sub, "alice");
	config_release(&c);
}

static void test_print_hides_secrets(void **state)
{
	static const char *const env[] = {
		"SYNCGATE_JWT_SECRET=" SECRET,
		"SYNCGATE_REDIS_URL=redis://:hunter2hunter2@redis.local:6380/3",
		NULL,
	};
	struct config c;
	enum config_action act;
	struct gw_error e;
	json_t *j;
	char *out;

	(void)state;
	assert_int_equal(load(&c, NULL, env, &act, &e), 0);
	assert_string_equal(c.redis_password, "hunter2hunter2");
	out = printed(&c);
	assert_null(strstr(out, SECRET));
	assert_null(strstr(out, "hunter2"));
	j = jsonx_parse(out, strlen(out), 8, &e);
	if (!j)
		fail_msg("--print-config is not JSON: %s", out);
	assert_string_equal(json_string_value(json_object_get(j, "auth.jwt_secret")),
			    "***");
	assert_string_equal(json_string_value(json_object_get(j, "redis_url")),
			    "redis://:***@redis.local:6380/3");
	assert_int_equal(json_integer_value(json_object_get(j, "http_port")), 8080);
	json_decref(j);
	free(out);
	config_release(&c);
	/* nothing to hide: the URL is shown as configured */
	assert_int_equal(load(&c, NULL, NULL, &act, &e), 0);
	out = printed(&c);
	assert_non_null(strstr(out, "\"redis_url\":\"redis://127.0.0.1:6379\""));
	free(out);
	config_release(&c);
}

static const struct {
	const char *arg;   /* a flag, or NULL */
	const char *env;   /* an environment entry, or NULL */
	const char *says;  /* what the error message must name */
} bad_rows[] = {
	{"--http-port=0", NULL, "http_port"}, {"--http-port=", NULL, "http_port"},
	{"--http-port=65536", NULL, "http_port"},
	{"--http-port=abc", NULL, "http_port"}, {"--http-port=80x", NULL, "http_port"},
	{"--http-port=99999999999999999999", NULL, "http_port"},
	{"--auth-mode=basic", NULL, "jwt|none"},
	{"--log-level=verbose", NULL, "log_level"},
	{"--lww-clock=local", NULL, "lww_clock"},
	{"--limit-json-depth=1", NULL, "json_depth"},
	{"--history=0", NULL, "history"},
	{"--nope=1", NULL, "--nope"},
	{"--http-port", NULL, "needs a value"},
	{"positional", NULL, "positional"},
	{"-x", NULL, "-x"},
	{"--redis-url=http://x:1", NULL, "redis"},
	{NULL, "SYNCGATE_HTTP_PORT=abc", "SYNCGATE_HTTP_PORT"},
	{NULL, "SYNCGATE_AUTH_MODE=JWT", "SYNCGATE_AUTH_MODE"},
	{NULL, "SYNCGATE_LIMIT_QUEUE_BYTES=10", "queue_bytes"},
	{NULL, "SYNCGATE_REDIS_URL=redis://h:0", "port"},
	{NULL, "SYNCGATE_REDIS_URL=redis://h/x", "database"},
	{NULL, "SYNCGATE_CONFIG=/nonexistent/sg.json", "/nonexistent/sg.json"},
	{"--config=/nonexistent/sg.json", NULL, "/nonexistent/sg.json"},
};

static void test_bad_values(void **state)
{
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(bad_rows); i++) {
		const char *args[] = {bad_rows[i].arg, NULL};
		const char *env[] = {bad_rows[i].env, NULL};
		const char *what = bad_rows[i].arg ? bad_rows[i].arg :
						     bad_rows[i].env;
		struct config c;
		enum config_action act;
		struct gw_error e;
		int rc = load(&c, args, env, &act, &e);

		if (rc != GW_EBADREQ) {
			print_error("row %zu (%s): accepted, rc %d\n", i, what, rc);
			bad++;
		} else if (!strstr(e.msg, bad_rows[i].says)) {
			print_error("row %zu (%s): message \"%s\" lacks \"%s\"\n",
				    i, what, e.msg, bad_rows[i].says);
			bad++;
		}
		config_release(&c);
	}
	assert_int_equal(bad, 0);
}

static const struct {
	const char *file;
	const char *says;
} bad_files[] = {
	{"[]", "not a JSON object"},
	{"{\"nope\":1}", "nope"}, {"{\"limits\":{\"nope\":1}}", "limits.nope"},
	{"{\"bind\":5}", "bind"}, {"{\"http_port\":80.5}", "http_port"},
	{"{\"http_port\":true}", "http_port"}, {"{\"http_port\":70000}", "http_port"},
	{"{\"auth\":{\"mode\":\"open\"}}", "auth.mode"},
	{"{\"auth\":{\"jwt_secret\":\"" SECRET "\"}}", "SYNCGATE_JWT_SECRET"},
	{"{\"collections\":{}}", "collections"},
	{"{\"collections\":[5]}", "collections[0]"},
	{"{\"collections\":[{\"conflict\":\"lww\"}]}", "match"},
	{"{\"collections\":[{\"match\":\"a*b\"}]}", "match"},
	{"{\"collections\":[{\"match\":\"user.${sub}\"}]}", "match"},
	{"{\"collections\":[{\"match\":\"a\"},{\"match\":\"b\",\"conflict\":\"x\"}]}",
	 "collections[1].conflict"},
	{"{\"collections\":[{\"match\":\"a\",\"conflict\":\"callback\"}]}",
	 "callback"},
	{"{\"collections\":[{\"match\":\"a\",\"fallback\":\"callback\"}]}",
	 "fallback"},
	{"{\"collections\":[{\"match\":\"a\",\"history\":0}]}", "history"},
	{"{\"collections\":[{\"match\":\"a\",\"resolver_timeout_ms\":0}]}",
	 "resolver_timeout_ms"},
	{"{\"collections\":[{\"match\":\"a\",\"colour\":1}]}", "colour"},
	{"{\"collections\":[{\"match\":\"a\",\"conflict\":\"callback\","
	 "\"resolver_url\":\"http://127.0.0.1:9/r\"}]}", "SYNCGATE_RESOLVER_SECRET"},
	{"{\"collections\":[{\"match\":\"a\",\"resolver_url\":\"ftp://h/r\"}]}",
	 "resolver_url"},
	{"{\"collections\":[{\"match\":\"a\",\"resolver_url\":\"file:///etc/x\"}]}",
	 "resolver_url"},
	{"{\"collections\":[{\"match\":\"a\",\"resolver_url\":\"http://\"}]}",
	 "resolver_url"},
	{"{\"collections\":[{\"match\":\"a\",\"resolver_url\":\"http://h/a b\"}]}",
	 "resolver_url"},
	{"{\"collections\":[{\"match\":\"a\",\"resolver_url\":7}]}", "resolver_url"},
	{"{\"collections\":[{\"match\":\"a\",\"resolver_secret_env\":\"a-b\"}]}",
	 "resolver_secret_env"},
	{"{\"collections\":[{\"match\":\"a\",\"conflict_history\":0}]}",
	 "conflict_history"},
	{"{\"auth\":{\"default_permissions\":{\"read\":[\"a*b\"]}}}", "read"},
	{"{\"auth\":{\"default_permissions\":[]}}", "permissions"},
	{"{\"ws\":{\"allowed_origins\":[1]}}", "allowed_origins"},
	/* a list option nested and dotted: refused, not parsed onto itself */
	{"{\"ws\":{\"allowed_origins\":[\"https://a\"]},"
	 "\"ws.allowed_origins\":[\"https://b\",\"https://c\"]}", "given twice"},
	{"{\"auth\":{\"default_permissions\":{\"read\":[\"a\"]}},"
	 "\"auth.default_permissions\":{\"read\":[\"b\"]}}", "given twice"},
	{"{\"auth\":{\"default_permissions\":{\"read\":[\"u.${sub}x\"]}}}", "read"},
};

static void test_bad_files(void **state)
{
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(bad_files); i++) {
		char *path = tmp_file(bad_files[i].file);
		const char *args[] = {"--config", path, NULL};
		struct config c;
		enum config_action act;
		struct gw_error e;
		int rc = load(&c, args, NULL, &act, &e);

		if (rc != GW_EBADREQ) {
			print_error("file row %zu %s: accepted, rc %d\n", i,
				    bad_files[i].file, rc);
			bad++;
		} else if (!strstr(e.msg, bad_files[i].says)) {
			print_error("file row %zu %s: message \"%s\" lacks \"%s\"\n",
				    i, bad_files[i].file, e.msg, bad_files[i].says);
			bad++;
		}
		config_release(&c);
		drop_file(path);
	}
	assert_int_equal(bad, 0);
}

/* "--config" as the last argument has no value: an error, not a no-op. */
static void test_config_flag_needs_value(void **state)
{
	const char *args[] = {"--config", NULL};
	const char *args2[] = {"--http-port=9000", "--config", NULL};
	struct config c;
	enum config_action act;
	struct gw_error e;
	int rc, rc2;

	(void)state;
	rc = load(&c, args, NULL, &act, &e);
	config_release(&c);
	rc2 = load(&c, args2, NULL, &act, &e);
	config_release(&c);
	assert_int_equal(rc, GW_EBADREQ);
	assert_int_equal(rc2, GW_EBADREQ);
}

/* A config file that is not valid JSON: the message names the file once
 * and says what is wrong, as jsonx_parse reported it. */
static void test_bad_file_json_message(void **state)
{
	static const struct {
		const char *file, *says;
	} rows[] = {
		{"", "invalid JSON"},
		{"{\"bind\":", "invalid JSON"},
		{"{\"bind\":\"a\",\"bind\":\"b\"}", "duplicate object key"},
		/* 1 + 64 levels: one past the cap */
		{"{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
		 "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
		 "deeper than 64"},
	};
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		char *path = tmp_file(rows[i].file);
		const char *args[] = {"--config", path, NULL};
		struct config c;
		enum config_action act;
		struct gw_error e;
		int rc = load(&c, args, NULL, &act, &e);
		const char *first = strstr(e.msg, path);

		if (rc != GW_EBADREQ || !first || strstr(first + 1, path) ||
		    !strstr(e.msg, rows[i].says)) {
			print_error("row %zu: rc %d, message \"%s\", want the path "
				    "once and \"%s\"\n", i, rc, e.msg, rows[i].says);
			bad++;
		}
		config_release(&c);
		drop_file(path);
	}
	assert_int_equal(bad, 0);
}

static void test_collections(void **state)
{
	char *path = tmp_file(
		"{\"collections\":["
		"{\"match\":\"todos\",\"conflict\":\"reject\"},"
		"{\"match\":\"notes.*\",\"history\":50},"
		"{\"match\":\"notes.private\",\"conflict\":\"reject\"},"
		"{\"match\":\"*\",\"conflict\":\"lww\",\"fallback\":\"reject\","
		"\"resolver_timeout_ms\":500}],"
		"\"auth\":{\"default_permissions\":{\"read\":[\"todos\"],"
		"\"write\":[]}},"
		"\"ws\":{\"allowed_origins\":[\"https://app.example\"]}}");
	const char *args[] = {"--config", path, NULL};
	const char *env[] = {"SYNCGATE_COLLECTIONS=[]", NULL};
	const struct coll_policy *p;
	struct config c;
	enum config_action act;
	struct gw_error e;
	char *out;

	(void)state;
	assert_int_equal(load(&c, args, env, &act, &e), 0);
	assert_int_equal(c.colls.n, 4);
	p = policy_find(&c.colls, "todos");
	assert_ptr_equal(p, &c.colls.v[0]);
	assert_int_equal(p->conflict, POLICY_REJECT);
	assert_int_equal(p->history, 0);
	p = policy_find(&c.colls, "notes.a");
	assert_ptr_equal(p, &c.colls.v[1]);
	assert_int_equal(p->conflict, POLICY_LWW);
	assert_int_equal(p->history, 50);
	/* first match wins, even over a more specific later entry */
	assert_ptr_equal(policy_find(&c.colls, "notes.private"), &c.colls.v[1]);
	p = policy_find(&c.colls, "todos2");
	assert_ptr_equal(p, &c.colls.v[3]);
	assert_int_equal(p->fallback, POLICY_REJECT);
	assert_int_equal(p->resolver_timeout_ms, 500);
	assert_ptr_equal(policy_find(&c.colls, "notes"), &c.colls.v[3]);
	assert_int_equal(c.default_perms.nread, 1);
	assert_string_equal(c.default_perms.read[0], "todos");
	assert_int_equal(c.default_perms.nwrite, 0);
	assert_int_equal(c.norigins, 1);
	assert_string_equal(c.allowed_origins[0], "https://app.example");
	out = printed(&c);
	assert_non_null(strstr(out, "{\"match\":\"todos\",\"conflict\":\"reject\","
				    "\"history\":10000,\"conflict_history\":1000}"));
	assert_non_null(strstr(out, "{\"match\":\"notes.*\",\"conflict\":\"lww\","
				    "\"history\":50,\"conflict_history\":1000}"));
	free(out);
	config_release(&c);
	/* without a catch-all, unmatched collections get NULL: lww */
	drop_file(path);
	path = tmp_file("{\"collections\":[{\"match\":\"a*\",\"conflict\":\"reject\"}]}");
	args[1] = path;
	assert_int_equal(load(&c, args, NULL, &act, &e), 0);
	assert_non_null(policy_find(&c.colls, "a"));
	assert_non_null(policy_find(&c.colls, "abc"));
	assert_null(policy_find(&c.colls, "b"));
	config_release(&c);
	drop_file(path);
	/* collections come from the file only */
	{
		const char *flag[] = {"--collections=[]", NULL};

		assert_int_equal(load(&c, flag, NULL, &act, &e), GW_EBADREQ);
		config_release(&c);
	}
}

/* The callback policy: URL, timeout, fallback and the secret's variable. */
static void test_callback_policy(void **state)
{
	char *path = tmp_file(
		"{\"collections\":["
		"{\"match\":\"carts\",\"conflict\":\"callback\","
		"\"resolver_url\":\"https://app.example/resolve\","
		"\"resolver_timeout_ms\":500,\"fallback\":\"reject\"},"
		"{\"match\":\"notes*\",\"conflict\":\"callback\","
		"\"resolver_url\":\"http://127.0.0.1:9000/r\","
		"\"resolver_secret_env\":\"NOTES_SECRET\",\"conflict_history\":7}]}");
	const char *args[] = {"--config", path, NULL};
	const char *env[] = {"SYNCGATE_RESOLVER_SECRET=" SECRET,
			     "NOTES_SECRET=another-secret-of-32-bytes-or-more!", NULL};
	const char *short_env[] = {"SYNCGATE_RESOLVER_SECRET=" SECRET,
				   "NOTES_SECRET=short", NULL};
	const struct coll_policy *p;
	struct config c;
	enum config_action act;
	struct gw_error e;
	char *out;

	(void)state;
	assert_int_equal(load(&c, args, env, &act, &e), 0);
	p = policy_find(&c.colls, "carts");
	assert_non_null(p);
	assert_int_equal(p->conflict, POLICY_CALLBACK);
	assert_string_equal(p->resolver_url, "https://app.example/resolve");
	assert_int_equal(p->resolver_timeout_ms, 500);
	assert_int_equal(p->fallback, POLICY_REJECT);
	assert_string_equal(p->secret, SECRET);
	assert_int_equal(p->secret_len, strlen(SECRET));
	p = policy_find(&c.colls, "notes.x");
	assert_int_equal(p->fallback, POLICY_LWW);
	assert_int_equal(p->resolver_timeout_ms, 2000);
	assert_string_equal(p->secret, "another-secret-of-32-bytes-or-more!");
	assert_int_equal(p->conflict_history, 7);
	/* printed without the secrets, with the variables' names */
	out = printed(&c);
	assert_null(strstr(out, SECRET));
	assert_null(strstr(out, "another-secret"));
	assert_non_null(strstr(out, "\"resolver_secret_env\":\"NOTES_SECRET\""));
	assert_non_null(strstr(out, "\"conflict_history\":7}"));
	assert_non_null(strstr(out, "\"conflict_history\":1000}"));
	free(out);
	config_release(&c);
	/* a secret shorter than 32 bytes refuses the start */
	assert_int_equal(load(&c, args, short_env, &act, &e), GW_EBADREQ);
	assert_non_null(strstr(e.msg, "NOTES_SECRET"));
	config_release(&c);
	drop_file(path);
}

static const struct {
	const char *url;
	int rc;
	const char *host, *password;
	int port, db;
} url_rows[] = {
	{"redis://127.0.0.1:6379", 0, "127.0.0.1", NULL, 6379, 0},
	{"redis://h", 0, "h", NULL, 6379, 0},
	{"redis://h:1", 0, "h", NULL, 1, 0},
	{"redis://h:65535/1000", 0, "h", NULL, 65535, 1000},
	{"redis://h/5", 0, "h", NULL, 6379, 5},
	{"redis://h:6379/", 0, "h", NULL, 6379, 0},
	{"redis://:pw@h:6380/2", 0, "h", "pw", 6380, 2},
	{"redis://:p@ss:w0rd@h", 0, "h", "p@ss:w0rd", 6379, 0},
	{"redis://:@h:7", 0, "h", NULL, 7, 0},
	{"redis://user:pw@h", 0, "h", "pw", 6379, 0},
	/* rejected */
#define BAD(u) {u, GW_EBADREQ, NULL, NULL, 0, 0}
	BAD("http://h:6379"), BAD("h:6379"), BAD("redis://h:0"),
	BAD("redis://h:65536"), BAD("redis://h:"), BAD("redis://h:12ab"),
	BAD("redis://h/abc"), BAD("redis://h/-1"), BAD("redis://h/1001"),
	BAD("redis://h/1x"),
	/* userinfo without ':' is ambiguous; a user needs a password; users
	 * are [A-Za-z0-9_.-] (they are printed by --print-config) */
	BAD("redis://secret@h"), BAD("redis://bob:@h"), BAD("redis://b\"b:pw@h"),
#undef BAD
};

static void test_redis_url(void **state)
{
	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(url_rows); i++) {
		struct config c;
		struct gw_error e = {0};
		int rc;

		memset(&c, 0, sizeof(c));
		rc = config_parse_redis_url(&c, url_rows[i].url, &e);
		if (rc != url_rows[i].rc)
			fail_msg("row %zu %s: rc %d", i, url_rows[i].url, rc);
		if (rc) {
			assert_true(e.msg[0] != '\0');
		} else {
			assert_string_equal(c.redis_host, url_rows[i].host);
			assert_int_equal(c.redis_port, url_rows[i].port);
			assert_int_equal(c.redis_db, url_rows[i].db);
			if (url_rows[i].password)
				assert_string_equal(c.redis_password,
						    url_rows[i].password);
			else
				assert_null(c.redis_password);
			if (strncmp(url_rows[i].url, "redis://user:", 13) == 0)
				assert_string_equal(c.redis_user, "user");
			else
				assert_null(c.redis_user);
		}
		config_release(&c);
	}
}

/* redis+cluster:// seed lists: normalized seeds, the first one as host */
static void test_redis_cluster_url(void **state)
{
	static const struct {
		const char *url, *seeds, *host, *password;
		int port;
	} good[] = {
		{"redis+cluster://h:7000", "h:7000", "h", NULL, 7000},
		{"redis+cluster://a:1,b:2,c:3", "a:1,b:2,c:3", "a", NULL, 1},
		{"redis+cluster://:pw@10.0.0.1:6379,10.0.0.2:6380",
		 "10.0.0.1:6379,10.0.0.2:6380", "10.0.0.1", "pw", 6379},
		{"redis+cluster://user:pw@[::1]:7000,[fd00::2]:7001",
		 "::1:7000,fd00::2:7001", "::1", "pw", 7000},
	};
	static const char *const bad[] = {
		"redis+cluster://", "redis+cluster://h", "redis+cluster://h:",
		"redis+cluster://h:0", "redis+cluster://h:7000/0",
		"redis+cluster://h:7000,", "redis+cluster://h:7000,,g:1",
		"redis+cluster://:7000", "redis+cluster://h:70000",
		"redis+cluster://[::1:7000", "redis+cluster://secret@h:1",
		"redis+clusters://h:1",
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(good); i++) {
		struct config c;
		struct gw_error e = {0};

		memset(&c, 0, sizeof(c));
		if (config_parse_redis_url(&c, good[i].url, &e))
			fail_msg("%s: %s", good[i].url, e.msg);
		assert_string_equal(c.redis_cluster_seeds, good[i].seeds);
		assert_string_equal(c.redis_host, good[i].host);
		assert_int_equal(c.redis_port, good[i].port);
		assert_int_equal(c.redis_db, 0);
		if (good[i].password)
			assert_string_equal(c.redis_password, good[i].password);
		else
			assert_null(c.redis_password);
		/* back to one Redis: no seeds left */
		assert_int_equal(config_parse_redis_url(&c, "redis://h:1", &e), 0);
		assert_null(c.redis_cluster_seeds);
		config_release(&c);
	}
	for (size_t i = 0; i < GW_ARRAY_LEN(bad); i++) {
		struct config c;
		struct gw_error e = {0};

		memset(&c, 0, sizeof(c));
		if (config_parse_redis_url(&c, bad[i], &e) != GW_EBADREQ)
			fail_msg("accepted %s", bad[i]);
		assert_true(e.msg[0] != '\0');
		config_release(&c);
	}
}

/*
 * jwt_secret comes from the environment only (docs/configuration.md): the
 * file and flags (visible in ps) are refused; everything else may come
 * from any of the three.
 */
static void test_option_sources(void **state)
{
	char *path = tmp_file("{\"auth\":{\"issuer\":\"https://idp\"}}");
	const char *args[] = {"--config", path, NULL};
	const char *env[] = {"SYNCGATE_JWT_SECRET=" SECRET,
			     "SYNCGATE_AUTH_AUDIENCE=aud", NULL};
	const char *flag[] = {"--jwt-secret=" SECRET, NULL};
	const char *flag2[] = {"--auth-jwt-secret", SECRET, NULL};
	const char *iss[] = {"--auth-issuer", "https://other", NULL};
	struct config c;
	enum config_action act;
	struct gw_error e;

	(void)state;
	assert_int_equal(load(&c, args, env, &act, &e), 0);
	assert_string_equal(c.jwt_secret, SECRET);
	assert_string_equal(c.issuer, "https://idp");
	assert_string_equal(c.audience, "aud");
	config_release(&c);
	assert_int_equal(load(&c, flag, NULL, &act, &e), GW_EBADREQ);
	assert_non_null(strstr(e.msg, "SYNCGATE_JWT_SECRET"));
	assert_null(strstr(e.msg, SECRET));
	config_release(&c);
	assert_int_equal(load(&c, flag2, NULL, &act, &e), GW_EBADREQ);
	assert_null(strstr(e.msg, SECRET));
	config_release(&c);
	assert_int_equal(load(&c, iss, NULL, &act, &e), 0);
	assert_string_equal(c.issuer, "https://other");
	config_release(&c);
	drop_file(path);
}


static void test_dev_option(void **state)
{
	static const char *const flag[] = {"--dev", "--print-config", NULL};
	static const char *const flag_off[] = {"--dev=false", NULL};
	static const char *const bad[] = {"--dev=yes", NULL};
	static const char *const env[] = {"SYNCGATE_DEV=1", NULL};
	static const char *const env_bad[] = {"SYNCGATE_DEV=on", NULL};
	char *path = tmp_file("{\"dev\":true}");
	char *path_str = tmp_file("{\"dev\":\"yes\"}");
	const char *file[] = {"--config", path, NULL};
	const char *file_bad[] = {"--config", path_str, NULL};
	struct config c;
	enum config_action act;
	struct gw_error e;
	char *out;

	(void)state;
	assert_int_equal(load(&c, NULL, NULL, &act, &e), 0);
	assert_false(c.dev);
	out = printed(&c);
	assert_non_null(strstr(out, "\"dev\":false"));
	free(out);
	config_release(&c);
	/* --dev takes no value: the next argument stays a flag */
	assert_int_equal(load(&c, flag, NULL, &act, &e), 0);
	assert_true(c.dev);
	assert_int_equal(act, CONFIG_PRINT);
	out = printed(&c);
	assert_non_null(strstr(out, "\"dev\":true"));
	free(out);
	config_release(&c);
	assert_int_equal(load(&c, NULL, env, &act, &e), 0);
	assert_true(c.dev);
	config_release(&c);
	/* flags beat the environment */
	assert_int_equal(load(&c, flag_off, env, &act, &e), 0);
	assert_false(c.dev);
	config_release(&c);
	assert_int_equal(load(&c, file, NULL, &act, &e), 0);
	assert_true(c.dev);
	config_release(&c);
	assert_int_equal(load(&c, bad, NULL, &act, &e), GW_EBADREQ);
	assert_non_null(strstr(e.msg, "dev"));
	config_release(&c);
	assert_int_equal(load(&c, NULL, env_bad, &act, &e), GW_EBADREQ);
	assert_non_null(strstr(e.msg, "SYNCGATE_DEV"));
	config_release(&c);
	assert_int_equal(load(&c, file_bad, NULL, &act, &e), GW_EBADREQ);
	config_release(&c);
	drop_file(path);
	drop_file(path_str);
}

static void test_bind_loopback(void **state)
{
	static const struct {
		const char *addr;
		bool loopback;
	} rows[] = {
		{"127.0.0.1", true}, {"127.255.255.254", true}, {"127.1.2.3", true},
		{"::1", true}, {"0:0:0:0:0:0:0:1", true},
		{"0.0.0.0", false}, {"10.0.0.1", false}, {"128.0.0.1", false},
		{"126.255.255.255", false}, {"::", false}, {"::ffff:127.0.0.1", false},
		{"localhost", false}, {"127.1", false}, {"", false},
		{"127.0.0.1 ", false}, {"192.168.1.10", false},
	};
	static const char *const dev_any[] = {"SYNCGATE_DEV=1", "SYNCGATE_BIND=0.0.0.0", NULL};
	static const char *const dev_lo[] = {"SYNCGATE_DEV=1", "SYNCGATE_BIND=127.0.0.2", NULL};
	static const char *const any[] = {"SYNCGATE_BIND=0.0.0.0", NULL};
	struct config c;
	enum config_action act;
	struct gw_error e;

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++)
		if (config_bind_loopback(rows[i].addr) != rows[i].loopback)
			fail_msg("row %zu (%s)", i, rows[i].addr);
	assert_int_equal(load(&c, NULL, dev_any, &act, &e), 0);
	assert_int_equal(config_check_dev(&c, &e), GW_EBADREQ);
	assert_non_null(strstr(e.msg, "loopback"));
	assert_non_null(strstr(e.msg, "0.0.0.0"));
	config_release(&c);
	assert_int_equal(load(&c, NULL, dev_lo, &act, &e), 0);
	assert_int_equal(config_check_dev(&c, &e), 0);
	config_release(&c);
	assert_int_equal(load(&c, NULL, any, &act, &e), 0);
	assert_int_equal(config_check_dev(&c, &e), 0); /* dev off: any bind */
	config_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_design_env_names),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_print_hides_secrets),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_callback_policy),
		cmocka_unit_test(test_config_flag_needs_value),
		cmocka_unit_test(test_bad_file_json_message),
		cmocka_unit_test(test_collections),
		cmocka_unit_test(test_redis_url),
		cmocka_unit_test(test_redis_cluster_url),
		cmocka_unit_test(test_option_sources),
		cmocka_unit_test(test_dev_option),
		cmocka_unit_test(test_bind_loopback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

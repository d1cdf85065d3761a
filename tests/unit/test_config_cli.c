/*
 * test_config_cli.c - the command line of the configuration: --help names
 * exactly the flags that are accepted, each option's flag is its
 * environment variable's name, the action flags (--version, --config,
 * --print-config, --make-token) and their errors, and --print-config read
 * back as a config file (same environment) giving the same configuration,
 * with its secret placeholders refused when nothing else supplies them.
 */
#include <ctype.h>

#include "config_rig.h"
#include "version.h"

/* sha256 of "svc-key-one" */
#define HASH "dc7664bc85c697dbfc676f23d853c14bd7d0e479acb803ccc8db0130bb274e36"

/* (static: gcc 12 takes the stream's pointer for one into the frame) */
static char *help_text(void)
{
	static char *buf;
	static size_t len;
	FILE *f;

	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	config_print_help(f);
	fclose(f);
	return buf;
}

/* The flags --help names: the first word of each line that starts with two
 * spaces and '-' ("-h, --help" gives both). At most cap; returns how many. */
static size_t help_flags(const char *help, char flags[][64], char envs[][64],
			 size_t cap)
{
	size_t n = 0;

	for (const char *l = help; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *p = l + 2;

		if (strncmp(l, "  -", 3) != 0)
			continue;
		while (*p == '-' && n < cap) {
			size_t w = strcspn(p, " ,\n");
			const char *env = p + w;

			snprintf(flags[n], 64, "%.*s", (int)w, p);
			envs[n][0] = '\0';
			/* the column after the flag and its value's name */
			env += strspn(env, " ");
			if (strncmp(env, "SYNCGATE_", 9) != 0) {
				env += strcspn(env, " \n");
				env += strspn(env, " ");
			}
			if (strncmp(env, "SYNCGATE_", 9) == 0)
				snprintf(envs[n], 64, "%.*s", (int)strcspn(env, " \n"), env);
			n++;
			p += w;
			if (strncmp(p, ", ", 2) != 0)
				break;
			p += 2;
		}
	}
	return n;
}

/* A value the option of flag takes that is not its default: from the
 * help line's kind and bounds (the upper bound), or one per special case. */
static const char *pick_value(const char *help, const char *flag, char *num,
			      size_t cap)
{
	const char *line, *lo;

	if (strstr(flag, "port"))
		return "4321";
	if (strcmp(flag, "--redis-url") == 0)
		return "redis://10.0.0.9:6400/2";
	if (strcmp(flag, "--trusted-proxies") == 0)
		return "10.0.0.0/8";
	if (strcmp(flag, "--auth-mode") == 0)
		return "none";
	if (strcmp(flag, "--log-level") == 0)
		return "warn";
	if (strcmp(flag, "--lww-clock") == 0)
		return "server";
	if (strcmp(flag, "--dev") == 0 || strstr(flag, "lossless"))
		return "true";
	{
		char pat[80];

		snprintf(pat, sizeof(pat), "\n  %s ", flag);
		line = strstr(help, pat);
		assert_non_null(line);
		line += 3;
	}
	if (strncmp(line + strlen(flag), " N ", 3) != 0)
		return "some-text";
	lo = strstr(line, "..");
	assert_non_null(lo);
	snprintf(num, cap, "%lld", strtoll(lo + 2, NULL, 10));
	return num;
}

/* Every flag of --help is accepted (options with a value of their own
 * type), its variable is SYNCGATE_ + the flag in capitals, and the flag
 * sets the same option as the variable. */
static void test_help_flags_accepted(void **state)
{
	static char flags[160][64], envs[160][64];
	char *help = help_text();
	size_t n = help_flags(help, flags, envs, 160), options = 0;
	struct config c;
	enum config_action act;
	struct gw_error e;

	(void)state;
	assert_true(n > 60);
	for (size_t i = 0; i < n; i++) {
		char want[64] = "SYNCGATE_", envset[160], arg[160], num[32];
		const char *args[] = {arg, NULL};
		const char *env[] = {envset, NULL};
		const char *value;
		char *byflag, *byenv;

		if (!envs[i][0]) { /* an action flag: checked below */
			assert_true(strcmp(flags[i], "--help") == 0 ||
				    strcmp(flags[i], "-h") == 0 ||
				    strcmp(flags[i], "--version") == 0 ||
				    strcmp(flags[i], "--config") == 0 ||
				    strcmp(flags[i], "--print-config") == 0 ||
				    strcmp(flags[i], "--health") == 0 ||
				    strcmp(flags[i], "--make-token") == 0);
			continue;
		}
		options++;
		for (size_t j = 2; flags[i][j]; j++)
			want[9 + j - 2] = flags[i][j] == '-' ? '_'
					  : (char)toupper((unsigned char)flags[i][j]);
		want[9 + strlen(flags[i]) - 2] = '\0';
		if (strcmp(want, envs[i]) != 0)
			fail_msg("%s is documented with %s, not %s", flags[i], envs[i], want);
		value = pick_value(help, flags[i], num, sizeof(num));
		snprintf(arg, sizeof(arg), "%.60s=%.60s", flags[i], value);
		snprintf(envset, sizeof(envset), "%.60s=%.60s", envs[i], value);
		if (load(&c, args, NULL, &act, &e) != 0)
			fail_msg("%s refused: %s", arg, e.msg);
		byflag = printed(&c);
		config_release(&c);
		assert_int_equal(load(&c, NULL, env, &act, &e), 0);
		byenv = printed(&c);
		config_release(&c);
		if (strcmp(byflag, byenv) != 0)
			fail_msg("%s and %s differ", arg, envset);
		assert_int_equal(load(&c, NULL, NULL, &act, &e), 0);
		free(byenv);
		byenv = printed(&c);
		config_release(&c);
		if (strcmp(byflag, byenv) == 0)
			fail_msg("%s changed nothing", arg);
		free(byflag);
		free(byenv);
	}
	{
		/* every option line was seen */
		size_t lines = 0;

		for (const char *l = strstr(help, "(file: "); l; l = strstr(l + 1, "(file: "))
			lines++;
		assert_int_equal(options, lines);
		assert_true(options > 50);
	}
	free(help);
}

/* The other way: flags not in --help are refused, with a clear message,
 * and --help has no environment-only option as a flag. */
static void test_unlisted_flags_refused(void **state)
{
	static const struct {
		const char *arg, *says;
	} rows[] = {
		{"--nope", "unknown flag \"--nope\""},
		{"--limits-json-depth=8", "unknown flag \"--limits-json-depth\""},
		{"--auth-jwt-public-key=x", "unknown flag"},
		{"--http_port=1", "unknown flag"},
		{"--HTTP-PORT=1", "unknown flag"},
		{"--jwt-secret=" SECRET, "SYNCGATE_JWT_SECRET"},
		{"--jwt-secret", "SYNCGATE_JWT_SECRET"},
		{"--api-keys=[]", "unknown flag"},
		{"--", "unexpected argument"},
		{"-v", "unexpected argument \"-v\""},
		{"run", "unexpected argument \"run\""},
		{"--print-config=yes", "--print-config takes no value"},
		{"--help=1", "--help takes no value"},
		{"--version=1", "--version takes no value"},
		{"--config", "--config needs a value"},
		{"--make-token", "--make-token needs a value"},
	};
	char *help = help_text();
	struct config c;
	enum config_action act;
	struct gw_error e;

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		const char *args[] = {rows[i].arg, NULL};

		if (load(&c, args, NULL, &act, &e) != GW_EBADREQ)
			fail_msg("%s accepted", rows[i].arg);
		if (!strstr(e.msg, rows[i].says))
			fail_msg("%s: \"%s\" lacks \"%s\"", rows[i].arg, e.msg, rows[i].says);
		assert_null(strstr(e.msg, SECRET));
		config_release(&c);
	}
	assert_null(strstr(help, "--jwt-secret"));
	assert_null(strstr(help, "--limits-"));
	assert_non_null(strstr(help, "SYNCGATE_JWT_SECRET"));
	free(help);
}

static void test_version_and_actions(void **state)
{
	char *buf = NULL, *help = help_text();
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *ver[] = {"--http-port=1", "--version", NULL};
	const char *bad_then_help[] = {"--nope", "--help", NULL};
	const char *node_help[] = {"--node-id", "--help", "--print-config", NULL};
	const char *both[] = {"--print-config", "--make-token", "a", NULL};
	const char *tok[] = {"--make-token=bob", NULL};
	const char *sub = NULL;
	struct config c;
	enum config_action act;
	struct gw_error e;

	(void)state;
	config_print_version(f);
	fclose(f);
	assert_string_equal(buf, "syncgate " SYNCGATE_VERSION "\n");
	assert_non_null(strstr(help, "syncgate " SYNCGATE_VERSION));
	free(buf);
	free(help);
	assert_int_equal(load(&c, ver, NULL, &act, &e), 0);
	assert_int_equal(act, CONFIG_VERSION);
	config_release(&c);
	{
		const char *health[] = {"--health", NULL};

		assert_int_equal(load(&c, health, NULL, &act, &e), 0);
		assert_int_equal(act, CONFIG_HEALTH);
		config_release(&c);
	}
	/* --help wins over what else argv holds */
	assert_int_equal(load(&c, bad_then_help, NULL, &act, &e), 0);
	assert_int_equal(act, CONFIG_HELP);
	config_release(&c);
	/* ... but not over an option's value */
	assert_int_equal(load(&c, node_help, NULL, &act, &e), 0);
	assert_int_equal(act, CONFIG_PRINT);
	assert_string_equal(c.node_id, "--help");
	config_release(&c);
	assert_int_equal(load(&c, both, NULL, &act, &e), GW_EBADREQ);
	config_release(&c);
	{
		char *argv[] = {(char *)(uintptr_t)"syncgate", (char *)(uintptr_t)tok[0],
				NULL};
		char *envp[] = {NULL};

		assert_int_equal(config_load(&c, 2, argv, envp, &act, &sub, &e), 0);
		assert_int_equal(act, CONFIG_MAKE_TOKEN);
		assert_string_equal(sub, "bob");
		config_release(&c);
	}
}

/* print -> file -> load -> print gives the same bytes */
static void round_trip(const char *const *args, const char *const *env,
		       char **first)
{
	struct config c;
	enum config_action act;
	struct gw_error e;
	char *again, *path, cfgarg[128];
	const char *back[] = {cfgarg, NULL};

	if (load(&c, args, env, &act, &e) != 0)
		fail_msg("load: %s", e.msg);
	*first = printed(&c);
	config_release(&c);
	path = tmp_file(*first);
	snprintf(cfgarg, sizeof(cfgarg), "--config=%s", path);
	if (load(&c, back, env, &act, &e) != 0)
		fail_msg("reading back: %s", e.msg);
	again = printed(&c);
	config_release(&c);
	if (strcmp(*first, again) != 0)
		fail_msg("printed:\n%s\nread back and printed:\n%s", *first, again);
	free(again);
	drop_file(path);
}

static void test_print_round_trip(void **state)
{
	char *file = tmp_file(
		"{\"node_id\":\"gw-9\",\"bind\":\"0.0.0.0\",\"history\":77,"
		"\"log_level\":\"debug\",\"cors_origins\":\"https://a.example\","
		"\"auth\":{\"issuer\":\"https://idp\",\"default_permissions\":"
		"{\"read\":[\"pub.*\"],\"write\":[\"${sub}.*\"]},"
		"\"jwt_public_keys\":[{\"kid\":\"k1\",\"pem_file\":\"/k/1.pem\"}]},"
		"\"ws\":{\"allowed_origins\":[\"https://a.example\"],"
		"\"public_url\":\"wss://x/v1/ws\"},"
		"\"redis\":{\"lossless_restarts\":true,\"key_prefix\":\"t:\"},"
		"\"limits\":{\"json_depth\":12,\"queue_bytes\":8192},"
		"\"collections\":[{\"match\":\"carts\",\"conflict\":\"callback\","
		"\"resolver_url\":\"http://r:9/x\"},{\"match\":\"l.*\","
		"\"conflict\":\"reject\",\"history\":5}]}");
	char cfgarg[128];
	const char *args[] = {cfgarg, "--ws-port", "9911", "--dev", NULL};
	const char *env[] = {
		"SYNCGATE_JWT_SECRET=" SECRET,
		"SYNCGATE_RESOLVER_SECRET=" SECRET "-resolver",
		"SYNCGATE_REDIS_URL=redis://app:hunter2hunter2@cache:6380/3",
		"SYNCGATE_API_KEYS=[{\"name\":\"billing\",\"sha256\":\"" HASH
		"\",\"read\":[\"orders*\"]}]",
		"SYNCGATE_LIMIT_BODY_BYTES=4096",
		NULL,
	};
	char *out;

	(void)state;
	snprintf(cfgarg, sizeof(cfgarg), "--config=%s", file);
	round_trip(NULL, NULL, &out); /* the defaults */
	free(out);
	round_trip(args, env, &out);
	/* the non-default values are there, the secrets are not */
	for (const char *want = "\"node_id\":\"gw-9\"\0\"history\":77\0\"ws_port\":9911\0"
				"\"dev\":true\0\"limits.body_bytes\":4096\0"
				"\"limits.json_depth\":12\0\"redis.lossless_restarts\":true\0"
				"\"redis_url\":\"redis://app:***@cache:6380/3\"\0"
				"\"auth.jwt_secret\":\"***\"\0\"sha256\":\"***\"\0"
				"\"resolver_secret_env\":\"SYNCGATE_RESOLVER_SECRET\"\0";
	     *want; want += strlen(want) + 1)
		if (!strstr(out, want))
			fail_msg("printed config lacks %s:\n%s", want, out);
	assert_null(strstr(out, SECRET));
	assert_null(strstr(out, "hunter2"));
	assert_null(strstr(out, HASH));
	free(out);
	drop_file(file);
}

/* The placeholders alone (no environment behind them) are refused, each
 * with a message that says what to set. */
static void test_placeholders_need_the_environment(void **state)
{
	static const struct {
		const char *file, *says;
	} rows[] = {
		{"{\"auth.jwt_secret\":\"***\"}", "SYNCGATE_JWT_SECRET is not set"},
		{"{\"redis_url\":\"redis://:***@h:1/0\"}", "redis_url: the password is \"***\""},
		{"{\"auth.api_keys\":[{\"name\":\"a\",\"sha256\":\"***\"}]}",
		 "SYNCGATE_API_KEYS"},
		{"{\"auth\":{\"jwt_secret\":\"" SECRET "\"}}",
		 "may only come from SYNCGATE_JWT_SECRET"},
	};
	const char *env[] = {"SYNCGATE_JWT_SECRET=" SECRET,
			     "SYNCGATE_REDIS_URL=redis://:pw@h:1/0",
			     "SYNCGATE_API_KEYS=[{\"name\":\"a\",\"sha256\":\"" HASH "\"}]",
			     NULL};
	struct config c;
	enum config_action act;
	struct gw_error e;

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		char *path = tmp_file(rows[i].file);
		const char *args[] = {"--config", path, NULL};

		if (load(&c, args, NULL, &act, &e) != GW_EBADREQ)
			fail_msg("accepted %s", rows[i].file);
		if (!strstr(e.msg, rows[i].says))
			fail_msg("%s: \"%s\" lacks \"%s\"", rows[i].file, e.msg, rows[i].says);
		config_release(&c);
		/* with the environment behind them: the environment's values */
		if (i < 3) {
			if (load(&c, args, env, &act, &e) != 0)
				fail_msg("%s with the environment: %s", rows[i].file, e.msg);
			assert_string_equal(c.jwt_secret, SECRET);
			assert_string_equal(c.redis_password, "pw");
			assert_int_equal(c.api_keys.n, 1);
			config_release(&c);
		}
		drop_file(path);
	}
	/* an unset secret as printed ("") is no secret */
	{
		char *path = tmp_file("{\"auth.jwt_secret\":\"\"}");
		const char *args[] = {"--config", path, NULL};

		assert_int_equal(load(&c, args, NULL, &act, &e), 0);
		assert_string_equal(c.jwt_secret, "");
		config_release(&c);
		drop_file(path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help_flags_accepted),
		cmocka_unit_test(test_unlisted_flags_refused),
		cmocka_unit_test(test_version_and_actions),
		cmocka_unit_test(test_print_round_trip),
		cmocka_unit_test(test_placeholders_need_the_environment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_redis_health.c - the readiness checks (redis_health.h): the INFO
 * decision over bytes (policy, version, run_id, where a key counts as
 * found), then the state machine over a recording fake of redis_conn.h
 * (the only way redis_health.o and redis_scripts.o reach Redis): what a
 * connect sends, which answers make the store ready, when "passed" fires.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common.h"
#include "metrics.h"
#include "redis_conn.h"
#include "redis_health.h"
#include "redis_scripts.h"

#define INFO_OK(policy, version)                                              \
	"# Server\r\nredis_version:" version "\r\nredis_mode:standalone\r\n"  \
	"run_id:0123456789abcdef0123456789abcdef01234567\r\ntcp_port:6379\r\n" \
	"\r\n# Memory\r\nused_memory:1000\r\nmaxmemory:0\r\n"                  \
	"maxmemory_policy:" policy "\r\n"

/* Decides on an exact-size copy (no NUL after it: ASan sees overreads). */
static enum health_verdict check(const char *text, size_t len,
				 struct health_info *in)
{
	char *copy = malloc(len ? len : 1);
	enum health_verdict v;

	assert_non_null(copy);
	memcpy(copy, text, len);
	v = health_check_info(copy, len, in);
	free(copy);
	return v;
}

static enum health_verdict check_str(const char *text, struct health_info *in)
{
	return check(text, strlen(text), in);
}

/* ---- the INFO decision --------------------------------------------------- */

static void test_info_ok(void **state)
{
	struct health_info in;

	(void)state;
	assert_int_equal(check_str(INFO_OK("noeviction", "7.2.4"), &in), HEALTH_OK);
	assert_string_equal(in.policy, "noeviction");
	assert_string_equal(in.version, "7.2.4");
	assert_string_equal(in.run_id, "0123456789abcdef0123456789abcdef01234567");
	assert_string_equal(in.why, "");
	assert_int_equal(check_str(INFO_OK("noeviction", "7.0.0"), &in), HEALTH_OK);
	assert_int_equal(check_str(INFO_OK("noeviction", "10.0.1"), &in), HEALTH_OK);
	assert_int_equal(check_str(INFO_OK("noeviction", "255.255.255"), &in), HEALTH_OK);
}

static void test_info_policy(void **state)
{
	static const char *const other[] = {
		"allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru",
		"volatile-lfu", "volatile-random", "volatile-ttl",
	};
	struct health_info in;

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(other); i++) {
		char text[512], why[160];

		snprintf(text, sizeof(text),
			 "redis_version:7.2.0\r\nrun_id:r1\r\nmaxmemory_policy:%s\r\n",
			 other[i]);
		snprintf(why, sizeof(why),
			 "redis maxmemory-policy is %s, not noeviction", other[i]);
		assert_int_equal(check_str(text, &in), HEALTH_EVICTS);
		assert_string_equal(in.policy, other[i]);
		assert_string_equal(in.why, why);
	}
	/* the exact word only */
	assert_int_equal(check_str("redis_version:7.2.0\r\nmaxmemory_policy:noevictionx\r\n", &in),
			 HEALTH_EVICTS);
	assert_int_equal(check_str("redis_version:7.2.0\r\nmaxmemory_policy:NOEVICTION\r\n", &in),
			 HEALTH_EVICTS);
	assert_int_equal(check_str("redis_version:7.2.0\r\nmaxmemory_policy: noeviction\r\n", &in),
			 HEALTH_EVICTS);
	assert_int_equal(check_str("redis_version:7.2.0\r\nmaxmemory_policy:\r\n", &in),
			 HEALTH_EVICTS);
	assert_string_equal(in.why, "redis maxmemory-policy is , not noeviction");
	/* absent: refused as another policy */
	assert_int_equal(check_str("redis_version:7.2.0\r\nrun_id:r1\r\n", &in), HEALTH_EVICTS);
	assert_string_equal(in.policy, "");
	/* judged before the version */
	assert_int_equal(check_str(INFO_OK("allkeys-lru", "6.2.14"), &in), HEALTH_EVICTS);
	assert_string_equal(in.version, "6.2.14");
}

static void test_info_version(void **state)
{
	struct health_info in;

	(void)state;
	assert_int_equal(check_str(INFO_OK("noeviction", "6.2.14"), &in), HEALTH_TOO_OLD);
	assert_string_equal(in.version, "6.2.14");
	assert_string_equal(in.why, "redis 6.2.14 is too old (7.0 or later needed)");
	assert_int_equal(check_str(INFO_OK("noeviction", "6.9.999"), &in), HEALTH_TOO_OLD);
	assert_int_equal(check_str(INFO_OK("noeviction", "5.0.7"), &in), HEALTH_TOO_OLD);
	assert_int_equal(check_str(INFO_OK("noeviction", "x7"), &in), HEALTH_TOO_OLD);
	assert_int_equal(check_str(INFO_OK("noeviction", ""), &in), HEALTH_TOO_OLD);
	assert_string_equal(in.why, "redis  is too old (7.0 or later needed)");
	/* absent */
	assert_int_equal(check_str("maxmemory_policy:noeviction\r\nrun_id:r\r\n", &in),
			 HEALTH_TOO_OLD);
	assert_string_equal(in.version, "");
	/* the major number is what counts, as atoi reads it */
	assert_int_equal(check_str(INFO_OK("noeviction", "7"), &in), HEALTH_OK);
	assert_int_equal(check_str(INFO_OK("noeviction", "07.0.0"), &in), HEALTH_OK);
}

static void test_info_where_keys_count(void **state)
{
	struct health_info in;
	char text[512];

	(void)state;
	/* fields at the very start, LF only, the last one without a newline */
	assert_int_equal(check_str("maxmemory_policy:noeviction\nredis_version:7.0.0\nrun_id:abc", &in),
			 HEALTH_OK);
	assert_string_equal(in.policy, "noeviction");
	assert_string_equal(in.version, "7.0.0");
	assert_string_equal(in.run_id, "abc");
	/* CRLF: the value stops before \r */
	assert_int_equal(check_str("run_id:abc\r\nredis_version:7.0.0\r\nmaxmemory_policy:noeviction\r\n", &in),
			 HEALTH_OK);
	assert_string_equal(in.run_id, "abc");
	assert_string_equal(in.version, "7.0.0");
	/* a key that is a prefix of another: either order */
	assert_int_equal(check_str("redis_version_x:9.0\r\nredis_version:6.0.0\r\n"
				   "maxmemory_policy:noeviction\r\n", &in),
			 HEALTH_TOO_OLD);
	assert_string_equal(in.version, "6.0.0");
	assert_int_equal(check_str("redis_version:7.0.0\r\nredis_version_x:5.0\r\n"
				   "maxmemory_policy:noeviction\r\n", &in),
			 HEALTH_OK);
	assert_string_equal(in.version, "7.0.0");
	assert_int_equal(check_str("maxmemory_policy_x:noeviction\r\nredis_version:7.0.0\r\n", &in),
			 HEALTH_EVICTS);
	/* ... or a suffix of another, or not at the start of its line */
	assert_int_equal(check_str("master_run_id:zzz\r\nxredis_version:9.0\r\n"
				   "# run_id:fake\r\nredis_version:7.1.0\r\nrun_id:real\r\n"
				   "maxmemory_policy:noeviction\r\n", &in),
			 HEALTH_OK);
	assert_string_equal(in.run_id, "real");
	assert_string_equal(in.version, "7.1.0");
	/* a key without its colon is not the field */
	assert_int_equal(check_str("run_id\r\nrun_id=x\r\nrun_id:abc\r\nredis_version:7.0.0\r\n"
				   "maxmemory_policy:noeviction", &in),
			 HEALTH_OK);
	assert_string_equal(in.run_id, "abc");
	/* the first line with the key wins */
	assert_int_equal(check_str("run_id:one\nrun_id:two\nredis_version:7.0.0\n"
				   "maxmemory_policy:noeviction\n", &in),
			 HEALTH_OK);
	assert_string_equal(in.run_id, "one");
	/* an empty value, and one at the very end */
	assert_int_equal(check_str("run_id:\r\nredis_version:7.0.0\r\nmaxmemory_policy:noeviction", &in),
			 HEALTH_OK);
	assert_string_equal(in.run_id, "");
	assert_string_equal(in.policy, "noeviction");
	/* values longer than their field are cut */
	snprintf(text, sizeof(text),
		 "run_id:%s\r\nredis_version:7.0.0\r\nmaxmemory_policy:noeviction\r\n",
		 "0123456789012345678901234567890123456789012345678901234567890123");
	assert_int_equal(check_str(text, &in), HEALTH_OK);
	assert_int_equal(strlen(in.run_id), sizeof(in.run_id) - 1);
	assert_memory_equal(in.run_id, "0123456789", 10);
	/* len ends the text: a key past it, or cut inside it, is not there */
	strcpy(text, "redis_version:7.0.0\r\nmaxmemory_policy:noeviction\r\n");
	assert_int_equal(check(text, strlen(text), &in), HEALTH_OK);
	assert_int_equal(check(text, 21, &in), HEALTH_EVICTS);
	assert_int_equal(check(text, 21 + 16, &in), HEALTH_EVICTS); /* no ':' yet */
	assert_int_equal(check(text, 21 + 17, &in), HEALTH_EVICTS);
	assert_string_equal(in.policy, "");
	assert_int_equal(check(text, 21 + 19, &in), HEALTH_EVICTS);
	assert_string_equal(in.policy, "no");
	assert_int_equal(check(text, 13, &in), HEALTH_EVICTS); /* "redis_version" */
	assert_string_equal(in.version, "");
	/* nothing at all */
	assert_int_equal(check("", 0, &in), HEALTH_EVICTS);
	assert_string_equal(in.policy, "");
	assert_string_equal(in.version, "");
	assert_string_equal(in.run_id, "");
}

/* ---- a recording fake of the command connection -------------------------- */

struct sent {
	rconn_reply_fn cb;
	void *arg;
	char cmd[32];      /* argv[0], or argv[0] and argv[1] for SCRIPT */
	const char *body;  /* argv[2] of SCRIPT LOAD */
	size_t body_len;
};

static struct sent sent[64];
static size_t nsent;
static bool fake_up;
static size_t enomem_at; /* the command with this index fails; SIZE_MAX none */
static int fake_conn;
#define CONN ((struct rconn *)&fake_conn)

int rconn_command(struct rconn *c, rconn_reply_fn cb, void *arg, int argc,
		  const char **argv, const size_t *argvlen)
{
	struct sent *s;

	assert_ptr_equal(c, CONN);
	assert_true(argc >= 1);
	if (nsent == enomem_at) {
		enomem_at = SIZE_MAX;
		return GW_ENOMEM;
	}
	assert_true(nsent < GW_ARRAY_LEN(sent));
	s = &sent[nsent++];
	memset(s, 0, sizeof(*s));
	s->cb = cb;
	s->arg = arg;
	if (strcmp(argv[0], "SCRIPT") == 0) {
		assert_int_equal(argc, 3);
		snprintf(s->cmd, sizeof(s->cmd), "%s %s", argv[0], argv[1]);
		s->body = argv[2];
		s->body_len = argvlen[2];
	} else {
		snprintf(s->cmd, sizeof(s->cmd), "%s", argv[0]);
	}
	return 0;
}

bool rconn_is_up(const struct rconn *c)
{
	assert_ptr_equal(c, CONN);
	return fake_up;
}

/* ---- the state machine --------------------------------------------------- */

struct rig {
	uv_loop_t loop;
	struct scripts sc;
	struct health *h;
	int passed;
	bool freed;
};

static void on_passed(void *ctx) { ((struct rig *)ctx)->passed++; }

static void on_freed(void *arg) { ((struct rig *)arg)->freed = true; }

static int rig_up(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	nsent = 0;
	fake_up = false;
	enomem_at = SIZE_MAX;
	memset(&metrics, 0, sizeof(metrics));
	uv_loop_init(&r->loop);
	scripts_init(&r->sc);
	r->h = health_new(&r->loop, CONN, &r->sc, on_passed, r);
	if (!r->h)
		return -1;
	*state = r;
	return 0;
}

static int rig_down(void **state)
{
	struct rig *r = *state;

	health_free(r->h, on_freed, r);
	assert_false(r->freed); /* not before libuv closed the timer */
	uv_run(&r->loop, UV_RUN_DEFAULT);
	assert_true(r->freed);
	assert_int_equal(uv_loop_close(&r->loop), 0);
	free(r);
	return 0;
}

static void answer(size_t i, int err, redisReply *reply)
{
	assert_true(i < nsent);
	sent[i].cb(CONN, err, reply, sent[i].arg);
}

static void answer_info(size_t i, const char *text)
{
	char buf[1024];
	redisReply r = {.type = REDIS_REPLY_STRING};

	assert_string_equal(sent[i].cmd, "INFO");
	snprintf(buf, sizeof(buf), "%s", text);
	r.str = buf;
	r.len = strlen(buf);
	answer(i, 0, &r);
}

/* the run_id INFO_OK reports */
#define RUN_ID "0123456789abcdef0123456789abcdef01234567"

/* Answers the instance marker's SET ... GET with its old value (NULL: none). */
static void answer_marker(size_t i, const char *old)
{
	char buf[64];
	redisReply r = {.type = old ? REDIS_REPLY_STRING : REDIS_REPLY_NIL};

	assert_string_equal(sent[i].cmd, "SET");
	if (old) {
		snprintf(buf, sizeof(buf), "%s", old);
		r.str = buf;
		r.len = strlen(buf);
	}
	answer(i, 0, &r);
}

/* A connect or recheck sent the SCRIPT LOADs (table order), then INFO,
 * from index first on. */
static void assert_checks_sent(struct rig *r, size_t first)
{
	assert_int_equal(nsent, first + SCRIPT_COUNT + 1);
	for (size_t i = 0; i < SCRIPT_COUNT; i++) {
		assert_string_equal(sent[first + i].cmd, "SCRIPT LOAD");
		assert_ptr_equal(sent[first + i].body, r->sc.s[i].src);
		assert_int_equal(sent[first + i].body_len, r->sc.s[i].len);
	}
	assert_string_equal(sent[first + SCRIPT_COUNT].cmd, "INFO");
}

static void up_and_pass(struct rig *r)
{
	size_t first = nsent;

	fake_up = true;
	health_conn_up(r->h);
	assert_checks_sent(r, first);
	answer_info(nsent - 1, INFO_OK("noeviction", "7.2.4"));
}

static void test_connect(void **state)
{
	struct rig *r = *state;
	redisReply ok = {.type = REDIS_REPLY_STATUS};
	redisReply refused = {.type = REDIS_REPLY_ERROR};
	char msg[] = "ERR Error compiling script";

	assert_string_equal(health_status(r->h), "connecting to redis");
	assert_false(health_ready(r->h));
	health_recheck(r->h); /* down: nothing is sent */
	assert_int_equal(nsent, 0);

	fake_up = true;
	health_conn_up(r->h);
	assert_int_equal(metrics.redis_cmd_up, 1);
	assert_int_equal(metrics.redis_reconnects, 1);
	assert_string_equal(health_status(r->h), "checking redis");
	assert_false(health_ready(r->h));
	assert_checks_sent(r, 0);
	/* SCRIPT LOAD answers are only logged */
	ok.str = msg;
	ok.len = 2;
	answer(0, 0, &ok);
	refused.str = msg;
	refused.len = strlen(msg);
	answer(1, 0, &refused);
	answer(2, GW_ETIMEOUT, NULL);
	assert_string_equal(health_status(r->h), "checking redis");
	assert_int_equal(r->passed, 0);

	answer_info(SCRIPT_COUNT, INFO_OK("noeviction", "7.2.4"));
	assert_string_equal(health_status(r->h), "");
	assert_true(health_ready(r->h));
	assert_int_equal(r->passed, 1);
	/* then the instance marker is set; none before this process: no news */
	assert_int_equal(nsent, SCRIPT_COUNT + 2);
	assert_string_equal(sent[SCRIPT_COUNT + 1].cmd, "SET");
	answer_marker(SCRIPT_COUNT + 1, NULL);
	assert_int_equal(r->passed, 1);
	/* the connection's own state counts too */
	fake_up = false;
	assert_false(health_ready(r->h));
	fake_up = true;

	/* a recheck that passes again, marker in place, is not news */
	health_recheck(r->h);
	assert_checks_sent(r, SCRIPT_COUNT + 2);
	answer_info(2 * SCRIPT_COUNT + 2, INFO_OK("noeviction", "7.2.4"));
	answer_marker(2 * SCRIPT_COUNT + 3, RUN_ID);
	assert_true(health_ready(r->h));
	assert_int_equal(r->passed, 1);
}

static void test_marker_gone_or_changed(void **state)
{
	struct rig *r = *state;

	up_and_pass(r);
	answer_marker(nsent - 1, NULL);
	assert_int_equal(r->passed, 1);
	/* FLUSHALL: the marker this process set is gone, same run_id */
	health_recheck(r->h);
	answer_info(nsent - 1, INFO_OK("noeviction", "7.2.4"));
	answer_marker(nsent - 1, NULL);
	assert_int_equal(r->passed, 2);
	/* a restored copy: the marker names another process */
	health_recheck(r->h);
	answer_info(nsent - 1, INFO_OK("noeviction", "7.2.4"));
	answer_marker(nsent - 1, "ffffffffffffffffffffffffffffffffffffffff");
	assert_int_equal(r->passed, 3);
	/* in place again: no news */
	health_recheck(r->h);
	answer_info(nsent - 1, INFO_OK("noeviction", "7.2.4"));
	answer_marker(nsent - 1, RUN_ID);
	assert_int_equal(r->passed, 3);
}

static void test_policy_changed_while_running(void **state)
{
	struct rig *r = *state;

	up_and_pass(r);
	assert_int_equal(r->passed, 1);
	health_recheck(r->h);
	answer_info(nsent - 1, INFO_OK("allkeys-lru", "7.2.4"));
	assert_false(health_ready(r->h));
	assert_string_equal(health_status(r->h),
			    "redis maxmemory-policy is allkeys-lru, not noeviction");
	health_recheck(r->h);
	answer_info(nsent - 1, INFO_OK("volatile-ttl", "7.2.4"));
	assert_string_equal(health_status(r->h),
			    "redis maxmemory-policy is volatile-ttl, not noeviction");
	assert_int_equal(r->passed, 1);
	/* back to noeviction: the checks pass anew */
	health_recheck(r->h);
	answer_info(nsent - 1, INFO_OK("noeviction", "7.2.4"));
	assert_true(health_ready(r->h));
	assert_int_equal(r->passed, 2);
}

static void test_too_old(void **state)
{
	struct rig *r = *state;

	fake_up = true;
	health_conn_up(r->h);
	answer_info(nsent - 1, INFO_OK("noeviction", "6.2.14"));
	assert_false(health_ready(r->h));
	assert_string_equal(health_status(r->h),
			    "redis 6.2.14 is too old (7.0 or later needed)");
	assert_int_equal(r->passed, 0);
}

static void test_info_failed(void **state)
{
	struct rig *r = *state;
	redisReply e = {.type = REDIS_REPLY_ERROR};
	redisReply a = {.type = REDIS_REPLY_ARRAY};
	char msg[] = "LOADING Redis is loading the dataset in memory";

	fake_up = true;
	health_conn_up(r->h);
	answer(nsent - 1, GW_ETIMEOUT, NULL);
	assert_string_equal(health_status(r->h), "redis INFO failed");
	assert_false(health_ready(r->h));
	health_recheck(r->h);
	e.str = msg;
	e.len = strlen(msg);
	answer(nsent - 1, 0, &e);
	assert_string_equal(health_status(r->h), "redis INFO failed");
	health_recheck(r->h);
	answer(nsent - 1, 0, &a);
	assert_string_equal(health_status(r->h), "redis INFO failed");
	assert_int_equal(r->passed, 0);
	health_recheck(r->h);
	answer_info(nsent - 1, INFO_OK("noeviction", "7.0.0"));
	assert_true(health_ready(r->h));
	assert_int_equal(r->passed, 1);

	/* a failed recheck once ready: not ready, but passing again is no news
	 * (nothing was lost on this connection) */
	health_recheck(r->h);
	answer(nsent - 1, GW_EUNAVAIL, NULL);
	assert_false(health_ready(r->h));
	health_recheck(r->h);
	answer_info(nsent - 1, INFO_OK("noeviction", "7.0.0"));
	assert_true(health_ready(r->h));
	assert_int_equal(r->passed, 1);
}

static void test_down_and_up(void **state)
{
	struct rig *r = *state;
	size_t before;

	up_and_pass(r);
	health_recheck(r->h);
	/* the link drops: redis_conn fails what is in flight, then says down */
	fake_up = false;
	answer(nsent - 1, GW_EUNAVAIL, NULL);
	health_conn_down(r->h);
	assert_int_equal(metrics.redis_cmd_up, 0);
	assert_string_equal(health_status(r->h), "redis unreachable");
	assert_false(health_ready(r->h));
	before = nsent;
	health_recheck(r->h); /* the timer, while down: nothing sent */
	assert_int_equal(nsent, before);

	up_and_pass(r); /* a restarted Redis: another run_id is fine */
	assert_true(health_ready(r->h));
	assert_int_equal(metrics.redis_reconnects, 2);
	assert_int_equal(r->passed, 2);
}

static void test_out_of_memory(void **state)
{
	struct rig *r = *state;

	/* a SCRIPT LOAD that cannot be queued: no INFO, the timer retries */
	fake_up = true;
	enomem_at = 2;
	health_conn_up(r->h);
	assert_int_equal(nsent, 2);
	assert_string_equal(health_status(r->h), "checking redis");
	/* an INFO that cannot be queued */
	enomem_at = nsent + SCRIPT_COUNT;
	health_recheck(r->h);
	assert_int_equal(nsent, 2 + SCRIPT_COUNT);
	assert_string_equal(health_status(r->h), "out of memory");
	assert_false(health_ready(r->h));
	health_recheck(r->h);
	assert_checks_sent(r, 2 + SCRIPT_COUNT);
	answer_info(nsent - 1, INFO_OK("noeviction", "7.0.0"));
	assert_true(health_ready(r->h));
	assert_int_equal(r->passed, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_ok),
		cmocka_unit_test(test_info_policy),
		cmocka_unit_test(test_info_version),
		cmocka_unit_test(test_info_where_keys_count),
		cmocka_unit_test_setup_teardown(test_connect, rig_up, rig_down),
		cmocka_unit_test_setup_teardown(test_policy_changed_while_running,
						rig_up, rig_down),
		cmocka_unit_test_setup_teardown(test_marker_gone_or_changed, rig_up, rig_down),
		cmocka_unit_test_setup_teardown(test_too_old, rig_up, rig_down),
		cmocka_unit_test_setup_teardown(test_info_failed, rig_up, rig_down),
		cmocka_unit_test_setup_teardown(test_down_and_up, rig_up, rig_down),
		cmocka_unit_test_setup_teardown(test_out_of_memory, rig_up, rig_down),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_client.c - the client protocol of one connection (client.c,
 * docs/decisions.md 16-20) over a real hub with a backend that records
 * nothing: the auth-first rule, the auth deadline, first auth and refresh
 * (same subject, narrowed permissions, another subject, an expired token),
 * ping, subscribe (permission, duplicate, limit), unsubscribe, errors that
 * keep the socket open, open mode, the token expiry timer, and an API key
 * in the handshake.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "common.h"
#include "hub.h"
#include "jwt.h"
#include "seen.h"

#define NOW 1700000000LL

static const unsigned char key[32] = "client-key-0123456789abcdefghijk";
static struct jwt_verifier ver;
static struct acl_perms defaults;
static struct apikey_set keys;
/* printf %s "$FEED_KEY" | sha256sum */
#define FEED_KEY "feed-key-0123456789abcdef"
#define FEED_SHA256 \
	"4308bb79367169af5baf3ddddf318c0f7d5e9f6279afd4a095750076906459c2"
static struct identity_cfg idcfg;
static struct client_env env;
static struct seen *seen;
static struct client c;
static int metas; /* head reads the hub asked for */

static void be_open(void *ctx, const char *coll) { (void)ctx; (void)coll; }
static void be_close(void *ctx, const char *coll) { (void)ctx; (void)coll; }
static int be_meta(void *ctx, const char *coll, struct hub_sub *sub)
{
	(void)ctx; (void)coll; (void)sub;
	metas++;
	return 0;
}
static int be_log(void *ctx, const char *coll, uint64_t from, size_t count,
		  struct hub_sub *sub)
{
	(void)ctx; (void)coll; (void)from; (void)count; (void)sub;
	return 0;
}
static int be_rotate(void *ctx, const char *coll, const char *epoch,
		     uint64_t min_seq)
{
	(void)ctx; (void)coll; (void)epoch; (void)min_seq;
	return 0;
}

static int setup(void **state)
{
	struct hub_backend be = {NULL, be_open, be_close, be_meta, be_log, be_rotate};
	json_t *d = json_loads("{\"read\":[\"public.*\"],\"write\":[]}", 0, NULL);
	int rc;

	(void)state;
	jwt_verifier_init(&ver);
	rc = jwt_verifier_add_hs256(&ver, key, sizeof(key), NULL);
	if (!rc)
		rc = acl_perms_parse(d, &defaults, NULL);
	json_decref(d);
	d = json_pack("[{s:s,s:s,s:[s]}]", "name", "feeder", "sha256",
		      FEED_SHA256, "read", "feed.*");
	if (!rc)
		rc = apikey_parse(d, "keys", &keys, NULL);
	json_decref(d);
	idcfg.open = false;
	idcfg.jwt = &ver;
	idcfg.defaults = &defaults;
	idcfg.keys = &keys;
	seen = seen_new(0);
	memset(&env, 0, sizeof(env));
	env.hub = hub_new(&be, seen);
	env.idcfg = &idcfg;
	env.node = "n1";
	env.json_depth = 32;
	env.subs_max = 3;
	env.auth_timeout_s = 10;
	env.leeway_s = 5;
	metas = 0;
	client_init(&c, &env, NULL, "s1", 1 << 20);
	return rc || !env.hub;
}

static int teardown(void **state)
{
	(void)state;
	client_release(&c);
	hub_free(env.hub);
	seen_free(seen);
	jwt_verifier_release(&ver);
	acl_perms_release(&defaults);
	apikey_release(&keys);
	return 0;
}

static char *token(const char *claims)
{
	json_t *j = json_loads(claims, 0, NULL);
	char *t;

	assert_non_null(j);
	t = jwt_sign_hs256(key, sizeof(key), j);
	assert_non_null(t);
	json_decref(j);
	return t;
}

/* The oldest queued message, parsed (the caller decrefs); NULL if none. */
static json_t *next(void)
{
	struct msg *m = session_peek(&c.s);
	json_t *j;

	if (!m)
		return NULL;
	j = json_loadb((const char *)msg_payload(m), m->len, 0, NULL);
	assert_non_null(j);
	session_pop(&c.s);
	return j;
}

static void expect(const char *type, const char *code, const char *ref)
{
	json_t *j = next();

	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "type")), type);
	if (code)
		assert_string_equal(json_string_value(json_object_get(j, "code")), code);
	if (ref)
		assert_string_equal(json_string_value(json_object_get(j, "ref")), ref);
	json_decref(j);
}

static bool say(const char *text, struct client_close *cc)
{
	return client_message(&c, text, strlen(text), NOW, cc);
}

static void auth_as(const char *claims)
{
	struct client_close cc;
	char msg[2048], *t = token(claims);

	snprintf(msg, sizeof(msg), "{\"type\":\"auth\",\"token\":\"%s\"}", t);
	free(t);
	assert_true(say(msg, &cc));
	expect("welcome", NULL, NULL);
}

static void test_auth_first(void **state)
{
	struct client_close cc;

	(void)state;
	assert_true(client_open(&c, NULL, NULL, NOW, &cc));
	assert_null(session_peek(&c.s));
	assert_int_equal(client_deadline(&c), NOW + 10);
	/* anything but auth, even well-formed, closes with 1008 */
	assert_false(say("{\"type\":\"ping\",\"ref\":\"p\"}", &cc));
	assert_int_equal(cc.code, 1008);
	assert_string_equal(cc.reason, "authenticate first");
	assert_null(session_peek(&c.s));
}

static void test_malformed_before_auth(void **state)
{
	struct client_close cc;

	(void)state;
	assert_true(client_open(&c, NULL, NULL, NOW, &cc));
	assert_false(say("{not json", &cc));
	assert_int_equal(cc.code, 1008);
}

static void test_auth_deadline(void **state)
{
	struct client_close cc;

	(void)state;
	assert_true(client_open(&c, NULL, NULL, NOW, &cc));
	assert_true(client_timer(&c, NOW + 9, &cc));
	assert_false(client_timer(&c, NOW + 10, &cc));
	assert_int_equal(cc.code, 1008);
	assert_string_equal(cc.reason, "no auth message in time");
}

static void test_handshake_token(void **state)
{
	struct client_close cc;
	char *t = token("{\"sub\":\"alice\",\"exp\":1700000100}");

	(void)state;
	assert_true(client_open(&c, t, NULL, NOW, &cc));
	free(t);
	expect("welcome", NULL, NULL);
	assert_true(c.authed);
	assert_int_equal(client_deadline(&c), 1700000100 + 5);
	/* the expiry timer: within leeway open, past it 4001 */
	assert_true(client_timer(&c, 1700000104, &cc));
	assert_false(client_timer(&c, 1700000105, &cc));
	assert_int_equal(cc.code, 4001);
}

static void test_bad_handshake_token(void **state)
{
	struct client_close cc;

	(void)state;
	assert_false(client_open(&c, "not-a-token", NULL, NOW, &cc));
	assert_int_equal(cc.code, 1008);
	assert_string_equal(cc.reason, "invalid token");
	assert_null(session_peek(&c.s));
}

static void test_handshake_api_key(void **state)
{
	struct client_close cc;
	char msg[2048], *t;

	(void)state;
	assert_true(client_open(&c, NULL, FEED_KEY, NOW, &cc));
	expect("welcome", NULL, NULL);
	assert_string_equal(c.who.sub, "svc:feeder");
	/* a key does not expire */
	assert_int_equal(client_deadline(&c), 0);
	assert_true(client_timer(&c, NOW + 10 * 365 * 86400LL, &cc));
	assert_true(say("{\"type\":\"subscribe\",\"collection\":\"todos\",\"ref\":\"s0\"}", &cc));
	expect("error", "forbidden", "s0");
	assert_true(say("{\"type\":\"subscribe\",\"collection\":\"feed.a\",\"ref\":\"s1\"}", &cc));
	assert_int_equal(c.s.nsubs, 1);
	/* auth messages carry tokens, and no token is svc:feeder */
	t = token("{\"sub\":\"feeder\",\"exp\":1700000100}");
	snprintf(msg, sizeof(msg), "{\"type\":\"auth\",\"token\":\"%s\"}", t);
	free(t);
	assert_false(say(msg, &cc));
	assert_int_equal(cc.code, 1008);
	assert_string_equal(cc.reason, "token subject changed");
}

static void test_bad_handshake_api_key(void **state)
{
	struct client_close cc;
	char *t = token("{\"sub\":\"alice\",\"exp\":1700000100}");

	(void)state;
	assert_false(client_open(&c, NULL, FEED_KEY "x", NOW, &cc));
	assert_int_equal(cc.code, 1008);
	assert_string_equal(cc.reason, "invalid API key");
	assert_null(session_peek(&c.s));
	/* a token and a key: refused, though both are good */
	assert_false(client_open(&c, t, FEED_KEY, NOW, &cc));
	assert_int_equal(cc.code, 1008);
	assert_false(c.authed);
	free(t);
}

static void test_open_mode(void **state)
{
	struct client_close cc;

	(void)state;
	idcfg.open = true;
	env.open = true;
	assert_true(client_open(&c, NULL, NULL, NOW, &cc));
	expect("welcome", NULL, NULL);
	assert_string_equal(c.who.sub, "anonymous");
	assert_int_equal(client_deadline(&c), 0);
}

static void test_protocol(void **state)
{
	struct client_close cc;

	(void)state;
	assert_true(client_open(&c, NULL, NULL, NOW, &cc));
	auth_as("{\"sub\":\"alice\",\"exp\":1700000100,\"sync\":"
		"{\"read\":[\"todos\",\"notes.*\"],\"write\":[]}}");
	assert_int_equal(client_deadline(&c), 1700000105);
	assert_true(say("{\"type\":\"ping\",\"ref\":\"p1\"}", &cc));
	expect("pong", NULL, "p1");
	/* errors the client can correct keep the socket open */
	assert_true(say("{\"type\":\"nope\",\"ref\":\"x\"}", &cc));
	expect("error", "bad_request", NULL);
	assert_true(say("[1,2", &cc));
	expect("error", "bad_request", NULL);
	assert_true(say("{\"type\":\"subscribe\",\"collection\":\"secret\",\"ref\":\"s0\"}", &cc));
	expect("error", "forbidden", "s0");
	assert_int_equal(c.s.nsubs, 0);
	assert_true(say("{\"type\":\"subscribe\",\"collection\":\"todos\",\"ref\":\"s1\"}", &cc));
	assert_int_equal(c.s.nsubs, 1);
	assert_null(session_peek(&c.s)); /* subscribed comes from the hub's sync */
	hub_on_open(env.hub, "todos");
	assert_int_equal(metas, 1);
	hub_on_meta(env.hub, "todos", NULL, 0, "ep1", 4);
	expect("subscribed", NULL, "s1");
	assert_true(say("{\"type\":\"subscribe\",\"collection\":\"todos\",\"ref\":\"s2\"}", &cc));
	expect("error", "bad_request", "s2");
	assert_true(say("{\"type\":\"unsubscribe\",\"collection\":\"notes.a\",\"ref\":\"u0\"}", &cc));
	expect("error", "not_found", "u0");
	assert_true(say("{\"type\":\"unsubscribe\",\"collection\":\"todos\",\"ref\":\"u1\"}", &cc));
	expect("unsubscribed", NULL, "u1");
	assert_int_equal(c.s.nsubs, 0);
	assert_null(session_peek(&c.s));
}

static void test_subscription_limit(void **state)
{
	struct client_close cc;
	char msg[128];
	json_t *j;

	(void)state;
	assert_true(client_open(&c, NULL, NULL, NOW, &cc));
	auth_as("{\"sub\":\"alice\",\"exp\":1700000100,\"sync\":{\"read\":[\"n.*\"]}}");
	for (int i = 0; i < 3; i++) {
		snprintf(msg, sizeof(msg),
			 "{\"type\":\"subscribe\",\"collection\":\"n.%d\"}", i);
		assert_true(say(msg, &cc));
	}
	assert_int_equal(c.s.nsubs, 3);
	assert_true(say("{\"type\":\"subscribe\",\"collection\":\"n.3\",\"ref\":\"x\"}", &cc));
	j = next();
	assert_string_equal(json_string_value(json_object_get(j, "code")), "bad_request");
	assert_non_null(strstr(json_string_value(json_object_get(j, "message")),
			       "subscription limit (3)"));
	json_decref(j);
	assert_int_equal(c.s.nsubs, 3);
}

static void test_refresh(void **state)
{
	struct client_close cc;
	char msg[2048], *t;

	(void)state;
	assert_true(client_open(&c, NULL, NULL, NOW, &cc));
	auth_as("{\"sub\":\"alice\",\"exp\":1700000100,\"sync\":{\"read\":[\"a\",\"b\"]}}");
	assert_true(say("{\"type\":\"subscribe\",\"collection\":\"a\"}", &cc));
	assert_true(say("{\"type\":\"subscribe\",\"collection\":\"b\"}", &cc));
	assert_int_equal(c.s.nsubs, 2);
	/* the same subject with less: b ends with unsubscribed, a new expiry */
	t = token("{\"sub\":\"alice\",\"exp\":1700000500,\"sync\":{\"read\":[\"a\"]}}");
	snprintf(msg, sizeof(msg), "{\"type\":\"auth\",\"token\":\"%s\"}", t);
	free(t);
	assert_true(say(msg, &cc));
	{
		json_t *j = next();

		assert_string_equal(json_string_value(json_object_get(j, "type")),
				    "unsubscribed");
		assert_string_equal(json_string_value(json_object_get(j, "collection")), "b");
		json_decref(j);
	}
	expect("welcome", NULL, NULL);
	assert_int_equal(c.s.nsubs, 1);
	assert_int_equal(client_deadline(&c), 1700000505);
	/* an expired token in a refresh: 4001 */
	t = token("{\"sub\":\"alice\",\"exp\":1600000000}");
	snprintf(msg, sizeof(msg), "{\"type\":\"auth\",\"token\":\"%s\"}", t);
	free(t);
	assert_false(say(msg, &cc));
	assert_int_equal(cc.code, 4001);
	/* another subject: 1008 */
	t = token("{\"sub\":\"mallory\",\"exp\":1700000100}");
	snprintf(msg, sizeof(msg), "{\"type\":\"auth\",\"token\":\"%s\"}", t);
	free(t);
	assert_false(say(msg, &cc));
	assert_int_equal(cc.code, 1008);
	assert_string_equal(cc.reason, "token subject changed");
	/* a token that does not verify: 1008 */
	assert_false(say("{\"type\":\"auth\",\"token\":\"x.y.z\"}", &cc));
	assert_int_equal(cc.code, 1008);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_auth_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_before_auth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handshake_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_handshake_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handshake_api_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_handshake_api_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscription_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

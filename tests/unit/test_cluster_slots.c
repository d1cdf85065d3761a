/*
 * test_cluster_slots.c - Redis Cluster key slots (CRC16 XMODEM, hash tag
 * rules of the cluster spec), the slot map built from CLUSTER SLOTS rows
 * and moved by MOVED, and the MOVED/ASK parser (IPv6 forms, malformed
 * errors refused).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cluster_slots.h"
#include "common.h"
#include "keys.h"

static int slot_of(const char *k) { return cluster_key_slot(k, strlen(k)); }

static void test_crc16(void **state)
{
	(void)state;
	/* the check value of CRC-16/XMODEM */
	assert_int_equal(cluster_crc16("123456789", 9), 0x31C3);
	assert_int_equal(cluster_crc16("", 0), 0);
	assert_int_equal(slot_of("123456789"), 12739);
	/* values redis-cli CLUSTER KEYSLOT gives */
	assert_int_equal(slot_of("foo"), 12182);
	assert_int_equal(slot_of("bar"), 5061);
	assert_int_equal(slot_of(""), 0);
}

static void test_hash_tags(void **state)
{
	static const struct {
		const char *key, *hashed; /* the slot of key is hashed's */
	} rows[] = {
		{"{user1000}.following", "user1000"},
		{"{user1000}.followers", "user1000"},
		{"foo{}{bar}", "foo{}{bar}"}, /* empty tag: the whole key */
		{"foo{{bar}}zap", "{bar"},    /* from the first '{' */
		{"foo{bar}{zap}", "bar"},     /* the first tag only */
		{"{}", "{}"},
		{"{", "{"},
		{"}{", "}{"},
		{"a}b{c}", "c"},
		{"no tag", "no tag"},
		{"x{y", "x{y"},                /* never closed */
		{"sg:{todos}:docs", "todos"},
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++)
		assert_int_equal(slot_of(rows[i].key), slot_of(rows[i].hashed));
	assert_int_equal(slot_of("{user1000}.following"),
			 slot_of("{user1000}.followers"));
	/* not all the same: the tag matters */
	assert_int_not_equal(slot_of("{a}x"), slot_of("{b}x"));
	/* a key with a NUL byte: lengths are honoured */
	assert_int_equal(cluster_key_slot("ab\0{c}", 6), slot_of("c"));
	assert_int_equal(cluster_key_slot("ab\0cd", 5),
			 cluster_crc16("ab\0cd", 5) & 16383);
}

/* Every key of a collection shares its slot (DESIGN.md section 11). */
static void test_collection_keys(void **state)
{
	static const enum keys_kind kinds[] = {KEYS_DOCS, KEYS_LOG, KEYS_META,
					       KEYS_IDS, KEYS_LIVE,
					       KEYS_CONFLICTS};
	char buf[KEYS_MAX];
	size_t n;
	int want;

	(void)state;
	n = keys_format(KEYS_DOCS, "todos", buf);
	want = cluster_key_slot(buf, n);
	assert_int_equal(want, slot_of("todos"));
	for (size_t i = 0; i < GW_ARRAY_LEN(kinds); i++) {
		n = keys_format(kinds[i], "todos", buf);
		assert_int_equal(cluster_key_slot(buf, n), want);
	}
	n = keys_format_idem("todos", "abcdef", buf);
	assert_int_equal(cluster_key_slot(buf, n), want);
	n = keys_format_idem("todos", "", buf);
	assert_int_equal(cluster_key_slot(buf, n), want);
}

static struct cluster_map map; /* 32 KiB: not on the stack */

static void test_map_build(void **state)
{
	const struct cluster_range three[] = {
		{0, 5460, {"127.0.0.1", 7000}},
		{5461, 10922, {"127.0.0.1", 7001}},
		{10923, 16383, {"127.0.0.1", 7002}},
	};
	const struct cluster_range moved[] = {
		{0, 5460, {"127.0.0.1", 7000}},
		{5461, 5461, {"127.0.0.1", 7002}},
		{5462, 10922, {"127.0.0.1", 7001}},
		{10923, 16383, {"127.0.0.1", 7002}},
	};

	(void)state;
	cluster_map_init(&map);
	assert_false(cluster_map_complete(&map));
	assert_int_equal(cluster_map_owner(&map, 0), -1);
	assert_int_equal(cluster_map_build(&map, three, 3), 0);
	assert_int_equal(map.nnodes, 3);
	assert_true(cluster_map_complete(&map));
	assert_int_equal(cluster_map_owner(&map, 0), 0);
	assert_int_equal(cluster_map_owner(&map, 5460), 0);
	assert_int_equal(cluster_map_owner(&map, 5461), 1);
	assert_int_equal(cluster_map_owner(&map, 16383), 2);
	assert_int_equal(cluster_map_owner(&map, 16384), -1);
	assert_int_equal(cluster_map_owner(&map, -1), -1);
	assert_int_equal(cluster_map_slots_of(&map, 0), 5461);
	assert_int_equal(cluster_map_slots_of(&map, 2), 5461);
	/* a rebuild keeps node indices */
	assert_int_equal(cluster_map_build(&map, moved, 4), 0);
	assert_int_equal(map.nnodes, 3);
	assert_int_equal(cluster_map_owner(&map, 5461), 2);
	assert_int_equal(cluster_map_owner(&map, 5462), 1);
	assert_int_equal(cluster_map_slots_of(&map, 2), 5462);
	/* a gap: those slots have no owner */
	assert_int_equal(cluster_map_build(&map, three + 1, 2), 0);
	assert_false(cluster_map_complete(&map));
	assert_int_equal(cluster_map_owner(&map, 100), -1);
	assert_int_equal(cluster_map_owner(&map, 6000), 1);
	/* nothing at all */
	assert_int_equal(cluster_map_build(&map, NULL, 0), 0);
	assert_int_equal(cluster_map_owner(&map, 6000), -1);
}

static void test_map_bad_rows(void **state)
{
	const struct cluster_range good[] = {{0, 16383, {"10.0.0.1", 6379}}};
	const struct cluster_range bad[][2] = {
		{{0, 10, {"h", 1}}, {20, 10, {"h", 1}}},      /* first > last */
		{{0, 10, {"h", 1}}, {20, 16384, {"h", 1}}},   /* past 16383 */
		{{-1, 10, {"h", 1}}, {11, 20, {"h", 1}}},     /* below 0 */
		{{0, 10, {"h", 1}}, {11, 20, {"", 1}}},       /* no host */
		{{0, 10, {"h", 0}}, {11, 20, {"h", 1}}},      /* port 0 */
		{{0, 10, {"h", 1}}, {11, 20, {"h", 65536}}},  /* port too big */
	};

	(void)state;
	cluster_map_init(&map);
	assert_int_equal(cluster_map_build(&map, good, 1), 0);
	for (size_t i = 0; i < GW_ARRAY_LEN(bad); i++) {
		assert_int_equal(cluster_map_build(&map, bad[i], 2), GW_EBADREQ);
		/* unchanged */
		assert_int_equal(map.nnodes, 1);
		assert_true(cluster_map_complete(&map));
		assert_int_equal(cluster_map_owner(&map, 5), 0);
	}
}

static void test_map_nodes_and_move(void **state)
{
	char host[32];
	char longhost[CLUSTER_HOST_MAX + 2];

	(void)state;
	cluster_map_init(&map);
	assert_int_equal(cluster_map_node(&map, "a", 1), 0);
	assert_int_equal(cluster_map_node(&map, "a", 2), 1);
	assert_int_equal(cluster_map_node(&map, "a", 1), 0);
	assert_int_equal(cluster_map_node(&map, "", 1), GW_EBADREQ);
	assert_int_equal(cluster_map_node(&map, "a", 0), GW_EBADREQ);
	memset(longhost, 'h', sizeof(longhost) - 1);
	longhost[sizeof(longhost) - 1] = '\0';
	assert_int_equal(cluster_map_node(&map, longhost, 1), GW_EBADREQ);
	longhost[CLUSTER_HOST_MAX] = '\0';
	assert_int_equal(cluster_map_node(&map, longhost, 1), 2);
	for (int i = 3; i < CLUSTER_NODES_MAX; i++) {
		snprintf(host, sizeof(host), "n%d", i);
		assert_int_equal(cluster_map_node(&map, host, 7000), i);
	}
	assert_int_equal(cluster_map_node(&map, "one-too-many", 7000), GW_ENOMEM);
	assert_int_equal(cluster_map_node(&map, "n5", 7000), 5);

	/* MOVED: one slot changes owner, a new node is appended */
	cluster_map_init(&map);
	assert_int_equal(cluster_map_move(&map, 12739, "127.0.0.1", 7000), 0);
	assert_int_equal(cluster_map_owner(&map, 12739), 0);
	assert_int_equal(cluster_map_owner(&map, 12738), -1);
	assert_int_equal(cluster_map_move(&map, 12739, "::1", 7001), 1);
	assert_int_equal(cluster_map_owner(&map, 12739), 1);
	assert_int_equal(cluster_map_move(&map, 16384, "::1", 7001), GW_EBADREQ);
	assert_int_equal(cluster_map_move(&map, -1, "::1", 7001), GW_EBADREQ);
	assert_int_equal(cluster_map_move(&map, 1, "::1", 70000), GW_EBADREQ);
	assert_int_equal(map.nnodes, 2);
}

static void test_redirect_good(void **state)
{
	static const struct {
		const char *in;
		enum cluster_redirect_kind kind;
		int slot;
		const char *host;
		int port;
	} rows[] = {
		{"MOVED 3999 127.0.0.1:6381", CLUSTER_MOVED, 3999, "127.0.0.1", 6381},
		{"ASK 3999 127.0.0.1:6381", CLUSTER_ASK, 3999, "127.0.0.1", 6381},
		{"MOVED 0 redis-a.example:1", CLUSTER_MOVED, 0, "redis-a.example", 1},
		{"MOVED 16383 h:65535", CLUSTER_MOVED, 16383, "h", 65535},
		{"MOVED 12 ::1:7000", CLUSTER_MOVED, 12, "::1", 7000},
		{"ASK 12 2001:db8::7:7000", CLUSTER_ASK, 12, "2001:db8::7", 7000},
		{"MOVED 12 [::1]:7000", CLUSTER_MOVED, 12, "::1", 7000},
		{"MOVED 12 [fe80::1%eth0]:7000", CLUSTER_MOVED, 12, "fe80::1%eth0", 7000},
		{"MOVED 12 :7000", CLUSTER_MOVED, 12, "", 7000},
		{"MOVED 00012 h:07000", CLUSTER_MOVED, 12, "h", 7000},
	};
	struct cluster_redirect r;

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		memset(&r, 0x55, sizeof(r));
		assert_int_equal(cluster_parse_redirect(rows[i].in,
							strlen(rows[i].in), &r), 0);
		assert_int_equal(r.kind, rows[i].kind);
		assert_int_equal(r.slot, rows[i].slot);
		assert_string_equal(r.host, rows[i].host);
		assert_int_equal(r.port, rows[i].port);
	}
}

static void test_redirect_bad(void **state)
{
	static const char *const rows[] = {
		"", "MOVED", "MOVED ", "MOVED 1", "MOVED 1 ", "MOVED 1 h",
		"MOVED 1 h:", "MOVED 1 h:0", "MOVED 1 h:65536", "MOVED 1 h:123456",
		"MOVED 16384 h:1", "MOVED 99999 h:1", "MOVED -1 h:1",
		"MOVED  1 h:1", "MOVED 1  h:1", "MOVED 1 h:1 ", "MOVED 1 h:1\r\n",
		"MOVED x h:1", "MOVED 1 h:x", "MOVED 1 h:+1", "MOVED 1 h:-1",
		"MOVED 1 ?:1", "MOVED 1 h h:1", "MOVED 1 []:1", "MOVED 1 [::1:1",
		"MOVED 1 [::1]x:1", "moved 1 h:1", "ASKING 1 h:1", "ASK1 h:1",
		"MOVE 1 h:1", "TRYAGAIN Multiple keys request during rehashing",
		"ERR unknown command", "MOVED 1 h/x:1", "MOVED 1 h\t:1",
	};
	struct cluster_redirect r;
	char longhost[CLUSTER_HOST_MAX + 32];

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		if (cluster_parse_redirect(rows[i], strlen(rows[i]), &r) != GW_EBADREQ)
			fail_msg("accepted \"%s\"", rows[i]);
	}
	/* an embedded NUL is not a space or a host byte */
	assert_int_equal(cluster_parse_redirect("MOVED 1 h\0:1", 12, &r), GW_EBADREQ);
	/* length is honoured: a prefix of a good one */
	assert_int_equal(cluster_parse_redirect("MOVED 1 h:12", 11, &r), 0);
	assert_int_equal(r.port, 1);
	/* the longest host fits, one more does not */
	snprintf(longhost, sizeof(longhost), "MOVED 1 %0*d:1", CLUSTER_HOST_MAX, 0);
	assert_int_equal(cluster_parse_redirect(longhost, strlen(longhost), &r), 0);
	assert_int_equal(strlen(r.host), CLUSTER_HOST_MAX);
	snprintf(longhost, sizeof(longhost), "MOVED 1 %0*d:1", CLUSTER_HOST_MAX + 1, 0);
	assert_int_equal(cluster_parse_redirect(longhost, strlen(longhost), &r),
			 GW_EBADREQ);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc16),
		cmocka_unit_test(test_hash_tags),
		cmocka_unit_test(test_collection_keys),
		cmocka_unit_test(test_map_build),
		cmocka_unit_test(test_map_bad_rows),
		cmocka_unit_test(test_map_nodes_and_move),
		cmocka_unit_test(test_redirect_good),
		cmocka_unit_test(test_redirect_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

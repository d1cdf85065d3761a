/*
 * test_redis_reply.c - the store's reply decoders (redis_reply.h) over
 * hand-built hiredis reply trees: every shape each one accepts, and the
 * near misses it refuses (wrong types, short or long arrays, bad offsets and
 * seqs, stream entries without "d"), plus the error classification that
 * decides between 503 and 500.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "redis_reply.h"

/* ---- building replies: a pool reset before each test ---------------------- */

static redisReply nodes[256];
static redisReply *kids[512];
static char text[8192];
static size_t nnodes, nkids, ntext;

static int reset_pool(void **state)
{
	(void)state;
	memset(nodes, 0, sizeof(nodes));
	nnodes = nkids = ntext = 0;
	return 0;
}

static redisReply *node(int type)
{
	assert_true(nnodes < GW_ARRAY_LEN(nodes));
	nodes[nnodes].type = type;
	return &nodes[nnodes++];
}

/* hiredis NUL-terminates every string it hands out; so does this */
static redisReply *bytes(int type, const char *s, size_t len)
{
	redisReply *r = node(type);

	assert_true(ntext + len + 1 <= sizeof(text));
	memcpy(text + ntext, s, len);
	text[ntext + len] = '\0';
	r->str = text + ntext;
	r->len = len;
	ntext += len + 1;
	return r;
}

static redisReply *str(const char *s) { return bytes(REDIS_REPLY_STRING, s, strlen(s)); }
static redisReply *err(const char *s) { return bytes(REDIS_REPLY_ERROR, s, strlen(s)); }
static redisReply *status(const char *s) { return bytes(REDIS_REPLY_STATUS, s, strlen(s)); }
static redisReply *nil(void) { return node(REDIS_REPLY_NIL); }

static redisReply *num(long long v)
{
	redisReply *r = node(REDIS_REPLY_INTEGER);

	r->integer = v;
	return r;
}

static redisReply *arr_of(redisReply *const *e, size_t n)
{
	redisReply *r = node(REDIS_REPLY_ARRAY);

	assert_true(nkids + n <= GW_ARRAY_LEN(kids));
	for (size_t i = 0; i < n; i++)
		kids[nkids + i] = e[i];
	r->element = n ? kids + nkids : NULL;
	r->elements = n;
	nkids += n;
	return r;
}

#define ARR(...)                                                              \
	arr_of((redisReply *[]){__VA_ARGS__},                                 \
	       sizeof((redisReply *[]){__VA_ARGS__}) / sizeof(redisReply *))
#define EMPTY() arr_of(NULL, 0)

#define EPOCH "k3v9q2x7m1c8b4n6"

/* ---- error replies ------------------------------------------------------- */

static void test_error_classes(void **state)
{
	static const struct {
		const char *msg;
		int want;
	} rows[] = {
		{"OOM command not allowed when used memory > 'maxmemory'.", GW_EUNAVAIL},
		{"BUSY Redis is busy running a script.", GW_EUNAVAIL},
		{"LOADING Redis is loading the dataset in memory", GW_EUNAVAIL},
		{"READONLY You can't write against a read only replica.", GW_EUNAVAIL},
		{"MASTERDOWN Link with MASTER is down", GW_EUNAVAIL},
		{"NOREPLICAS Not enough good replicas to write.", GW_EUNAVAIL},
		{"TRYAGAIN Multiple keys request during rehashing of slot", GW_EUNAVAIL},
		{"CLUSTERDOWN The cluster is down", GW_EUNAVAIL},
		{"MISCONF Redis is configured to save RDB snapshots", GW_EUNAVAIL},
		{"OOM", GW_EUNAVAIL},
		{"OOMKILL", GW_EUNAVAIL}, /* a prefix, not a word: as before */
		{"WRONGTYPE Operation against a key holding the wrong kind of value",
		 GW_EINTERNAL},
		{"WRONGTYPE syncgate: a key of this collection holds the wrong type",
		 GW_EINTERNAL},
		{"NOSCRIPT No matching script. Please use EVAL.", GW_EINTERNAL},
		{"ERR syncgate list.lua: bad arguments", GW_EINTERNAL},
		{"ERR Error running script (call to f_0123): @user_script:1: oops",
		 GW_EINTERNAL},
		{"oom lower case", GW_EINTERNAL},
		{" OOM", GW_EINTERNAL},
		{"OO", GW_EINTERNAL},
		{"READ", GW_EINTERNAL},
		{"", GW_EINTERNAL},
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++)
		if (reply_error(err(rows[i].msg)) != rows[i].want)
			fail_msg("error row %zu: %s", i, rows[i].msg);
	/* only error replies are refusals */
	assert_int_equal(reply_error(str("OOM")), GW_EINTERNAL);
	assert_int_equal(reply_error(status("READONLY")), GW_EINTERNAL);
}

static void test_noscript(void **state)
{
	(void)state;
	assert_true(reply_is_noscript(err("NOSCRIPT No matching script. Please use EVAL.")));
	assert_true(reply_is_noscript(err("NOSCRIPT")));
	assert_false(reply_is_noscript(err("NOSCRIP")));
	assert_false(reply_is_noscript(err("noscript No matching script")));
	assert_false(reply_is_noscript(err("ERR NOSCRIPT")));
	assert_false(reply_is_noscript(err("OOM command not allowed")));
	assert_false(reply_is_noscript(str("NOSCRIPT")));
	assert_false(reply_is_noscript(status("NOSCRIPT")));
}

/* ---- values -------------------------------------------------------------- */

static void test_u64(void **state)
{
	uint64_t v;

	(void)state;
	assert_true(reply_u64(num(0), &v));
	assert_int_equal(v, 0);
	assert_true(reply_u64(num(42), &v));
	assert_int_equal(v, 42);
	/* integers are not bounded to 2^53 (Redis's own counters) */
	assert_true(reply_u64(num(1LL << 60), &v));
	assert_true(v == (uint64_t)1 << 60);
	assert_true(reply_u64(str("0"), &v));
	assert_int_equal(v, 0);
	assert_true(reply_u64(str("9007199254740991"), &v));
	assert_true(v == 9007199254740991ULL);

	v = 7;
	assert_false(reply_u64(num(-1), &v));
	assert_false(reply_u64(str("-1"), &v));
	assert_false(reply_u64(str("01"), &v));
	assert_false(reply_u64(str(""), &v));
	assert_false(reply_u64(str("1a"), &v));
	assert_false(reply_u64(str(" 1"), &v));
	assert_false(reply_u64(str("9007199254740992"), &v)); /* 2^53 */
	assert_false(reply_u64(bytes(REDIS_REPLY_STRING, "12\0", 3), &v));
	assert_false(reply_u64(status("5"), &v));
	assert_false(reply_u64(err("5"), &v));
	assert_false(reply_u64(nil(), &v));
	assert_false(reply_u64(ARR(num(5)), &v));
	assert_int_equal(v, 7); /* untouched */
}

static void test_doc(void **state)
{
	struct reply_str d;

	(void)state;
	assert_int_equal(reply_doc(nil(), &d), 0);
	assert_null(d.str);
	assert_int_equal(d.len, 0);
	assert_int_equal(reply_doc(str("{\"a\":1}"), &d), 0);
	assert_string_equal(d.str, "{\"a\":1}");
	assert_int_equal(d.len, 7);
	assert_int_equal(reply_doc(bytes(REDIS_REPLY_STRING, "a\0b", 3), &d), 0);
	assert_int_equal(d.len, 3);
	assert_memory_equal(d.str, "a\0b", 3);

	assert_int_equal(reply_doc(num(1), &d), GW_EINTERNAL);
	assert_int_equal(reply_doc(status("OK"), &d), GW_EINTERNAL);
	assert_int_equal(reply_doc(EMPTY(), &d), GW_EINTERNAL);
	assert_int_equal(reply_doc(ARR(str("x")), &d), GW_EINTERNAL);
}

static void test_read(void **state)
{
	struct reply_read r;

	(void)state;
	assert_int_equal(reply_read(ARR(str("doc"), str("rec!")), &r), 0);
	assert_string_equal(r.doc.str, "doc");
	assert_int_equal(r.doc.len, 3);
	assert_string_equal(r.rec.str, "rec!");
	assert_int_equal(r.rec.len, 4);
	assert_int_equal(reply_read(ARR(nil(), nil()), &r), 0);
	assert_null(r.doc.str);
	assert_null(r.rec.str);
	assert_int_equal(r.doc.len + r.rec.len, 0);
	assert_int_equal(reply_read(ARR(str("doc"), nil()), &r), 0);
	assert_non_null(r.doc.str);
	assert_null(r.rec.str);
	assert_int_equal(reply_read(ARR(nil(), str("rec")), &r), 0);
	assert_null(r.doc.str);
	assert_non_null(r.rec.str);

	assert_int_equal(reply_read(str("doc"), &r), GW_EINTERNAL);
	assert_int_equal(reply_read(nil(), &r), GW_EINTERNAL);
	assert_int_equal(reply_read(EMPTY(), &r), GW_EINTERNAL);
	assert_int_equal(reply_read(ARR(str("doc")), &r), GW_EINTERNAL);
	assert_int_equal(reply_read(ARR(nil(), nil(), nil()), &r), GW_EINTERNAL);
	assert_int_equal(reply_read(ARR(num(1), nil()), &r), GW_EINTERNAL);
	assert_int_equal(reply_read(ARR(nil(), num(1)), &r), GW_EINTERNAL);
	assert_int_equal(reply_read(ARR(status("x"), nil()), &r), GW_EINTERNAL);
	assert_int_equal(reply_read(ARR(ARR(str("d")), nil()), &r), GW_EINTERNAL);
}

static void test_write_accepts(void **state)
{
	struct reply_write w;
	const char *e33 = "abcdefghijklmnopqrstuvwxyz0123456"; /* 33 */

	(void)state;
	assert_int_equal(reply_write(status(EPOCH ":17"), &w), 0);
	assert_int_equal(w.result, SW_OK);
	assert_string_equal(w.epoch, EPOCH);
	assert_int_equal(w.seq, 17);
	assert_null(w.rec.str);
	assert_int_equal(reply_write(status("a:0"), &w), 0);
	assert_string_equal(w.epoch, "a");
	assert_int_equal(w.seq, 0);

	/* "changed" carries the document stored now, or nil for none */
	assert_int_equal(reply_write(ARR(str("changed"), nil()), &w), 0);
	assert_int_equal(w.result, SW_CHANGED);
	assert_string_equal(w.epoch, "");
	assert_int_equal(w.seq, 0);
	assert_null(w.rec.str);
	assert_int_equal(reply_write(ARR(str("changed"), str("{\"d\":1}")), &w), 0);
	assert_int_equal(w.result, SW_CHANGED);
	assert_int_equal(w.rec.len, 7);
	assert_memory_equal(w.rec.str, "{\"d\":1}", 7);
	assert_int_equal(reply_write(ARR(str("changed")), &w), GW_EINTERNAL);
	assert_int_equal(reply_write(ARR(str("changed"), num(3)), &w), GW_EINTERNAL);

	assert_int_equal(reply_write(ARR(str("stale"), str(EPOCH), num(9)), &w), 0);
	assert_int_equal(w.result, SW_STALE);
	assert_string_equal(w.epoch, EPOCH);
	assert_int_equal(w.seq, 9);
	assert_null(w.rec.str);
	assert_int_equal(reply_write(ARR(str("stale"), str(EPOCH), str("12")), &w), 0);
	assert_int_equal(w.seq, 12);
	/* the stale epoch is not checked, only cut to fit */
	assert_int_equal(reply_write(ARR(str("stale"), str(e33), num(1)), &w), 0);
	assert_int_equal(strlen(w.epoch), OFFSET_EPOCH_MAX);
	assert_memory_equal(w.epoch, e33, OFFSET_EPOCH_MAX);
	assert_int_equal(reply_write(ARR(str("stale"), str(""), num(0)), &w), 0);
	assert_string_equal(w.epoch, "");

	assert_int_equal(reply_write(ARR(str("idem"), str("{\"rec\":1}")), &w), 0);
	assert_int_equal(w.result, SW_IDEM);
	assert_string_equal(w.epoch, "");
	assert_int_equal(w.seq, 0);
	assert_string_equal(w.rec.str, "{\"rec\":1}");
	assert_int_equal(w.rec.len, 9);
}

static void test_write_refuses(void **state)
{
	struct reply_write w;
	redisReply *bad[] = {
		/* not the array of a kind */
		str("ok"),
		nil(),
		num(1),
		EMPTY(),
		ARR(num(1)),
		ARR(nil()),
		ARR(status("ok"), str(EPOCH ":1")),
		ARR(str("OK"), str(EPOCH ":1")),
		ARR(str("nope")),
		ARR(str("")),
		/* stored: a status reply of exactly one valid offset; the
		 * array form of other kinds is not taken for it */
		ARR(str("ok"), str(EPOCH ":1")),
		status(""),
		status(EPOCH),
		status(EPOCH ":"),
		status(":1"),
		status(EPOCH ":01"),
		status(EPOCH ":-1"),
		status(EPOCH ":1x"),
		status(EPOCH ":9007199254740992"),
		status("ab-c:1"),
		status("abcdefghijklmnopqrstuvwxyz0123456:1"),
		/* stale: epoch string and seq */
		ARR(str("stale")),
		ARR(str("stale"), str(EPOCH)),
		ARR(str("stale"), str(EPOCH), num(1), num(2)),
		ARR(str("stale"), num(1), num(1)),
		ARR(str("stale"), nil(), num(1)),
		ARR(str("stale"), str(EPOCH), num(-1)),
		ARR(str("stale"), str(EPOCH), str("x")),
		ARR(str("stale"), str(EPOCH), nil()),
		/* idem: exactly one string */
		ARR(str("idem")),
		ARR(str("idem"), nil()),
		ARR(str("idem"), num(1)),
		ARR(str("idem"), str("r"), str("x")),
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(bad); i++)
		if (reply_write(bad[i], &w) != GW_EINTERNAL)
			fail_msg("write row %zu accepted", i);
}

static void test_record(void **state)
{
	struct reply_str rec;
	redisReply *bad[] = {
		str("ok"), nil(), EMPTY(), ARR(num(1)), ARR(nil()),
		ARR(str("OK")), ARR(str("nope")), ARR(str("idem")),
		ARR(str("idem"), nil()), ARR(str("idem"), num(1)),
		ARR(str("idem"), str("r"), str("x")), ARR(status("ok")),
	};

	(void)state;
	assert_int_equal(reply_record(ARR(str("ok")), &rec), 0);
	assert_null(rec.str);
	assert_int_equal(rec.len, 0);
	/* "ok" ignores anything after it */
	assert_int_equal(reply_record(ARR(str("ok"), num(1)), &rec), 0);
	assert_null(rec.str);
	assert_int_equal(reply_record(ARR(str("idem"), str("{\"r\":2}")), &rec), 0);
	assert_string_equal(rec.str, "{\"r\":2}");
	assert_int_equal(rec.len, 7);
	for (size_t i = 0; i < GW_ARRAY_LEN(bad); i++)
		if (reply_record(bad[i], &rec) != GW_EINTERNAL)
			fail_msg("record row %zu accepted", i);
}

static void test_meta(void **state)
{
	struct reply_meta m;
	redisReply *bad[] = {
		str(EPOCH), nil(), EMPTY(),
		ARR(str(EPOCH), num(1)),
		ARR(num(1), num(1), num(1)),
		ARR(nil(), num(1), num(1)),
		ARR(str(""), num(1), num(1)),
		ARR(str("ab-c"), num(1), num(1)),
		ARR(str("abcdefghijklmnopqrstuvwxyz0123456"), num(1), num(1)),
		ARR(str(EPOCH), num(-1), num(1)),
		ARR(str(EPOCH), num(1), num(-1)),
		ARR(str(EPOCH), str("01"), num(1)),
		ARR(str(EPOCH), nil(), num(1)),
		ARR(str(EPOCH), num(1), nil()),
		ARR(str(EPOCH), num(1), str("x")),
	};

	(void)state;
	assert_int_equal(reply_meta(ARR(str(EPOCH), num(5), num(2)), &m), 0);
	assert_string_equal(m.epoch, EPOCH);
	assert_int_equal(m.seq, 5);
	assert_int_equal(m.base, 2);
	assert_false(m.rotated);
	assert_int_equal(reply_meta(ARR(str(EPOCH), str("5"), str("0")), &m), 0);
	assert_int_equal(m.seq, 5);
	assert_int_equal(m.base, 0);
	/* rotate.lua's fourth element: integer 1 and nothing else */
	assert_int_equal(reply_meta(ARR(str(EPOCH), num(0), num(0), num(1)), &m), 0);
	assert_true(m.rotated);
	assert_int_equal(reply_meta(ARR(str(EPOCH), num(0), num(0), num(0)), &m), 0);
	assert_false(m.rotated);
	assert_int_equal(reply_meta(ARR(str(EPOCH), num(0), num(0), str("1")), &m), 0);
	assert_false(m.rotated);
	assert_int_equal(reply_meta(ARR(str(EPOCH), num(0), num(0), num(2), num(1)), &m), 0);
	assert_false(m.rotated);
	for (size_t i = 0; i < GW_ARRAY_LEN(bad); i++)
		if (reply_meta(bad[i], &m) != GW_EINTERNAL)
			fail_msg("meta row %zu accepted", i);
}

/* ---- arrays -------------------------------------------------------------- */

static void test_log_accepts(void **state)
{
	struct reply_log l;

	(void)state;
	assert_int_equal(reply_log(EMPTY(), &l), 0);
	assert_null(l.e);
	assert_int_equal(l.n, 0);

	assert_int_equal(reply_log(ARR(ARR(str("5-0"), ARR(str("d"), str("doc5"))),
				       ARR(str("6-0"), ARR(str("d"), str("doc6"),
							    str("c"), str("conf6"))),
				       /* field order is free */
				       ARR(str("7-1"), ARR(str("c"), str("conf7"),
							    str("d"), str("doc7"))),
				       /* a "d" of another type: the next "d" */
				       ARR(str("8-0"), ARR(str("d"), num(1),
							    str("d"), str("doc8"))),
				       /* unknown fields and a dangling one */
				       ARR(str("9-0"), ARR(str("x"), str("y"),
							    str("d"), str("doc9"),
							    str("c")))),
			 &l),
			 0);
	assert_int_equal(l.n, 5);
	assert_int_equal(l.e[0].seq, 5);
	assert_string_equal(l.e[0].doc, "doc5");
	assert_int_equal(l.e[0].len, 4);
	assert_null(l.e[0].conflict);
	assert_int_equal(l.e[0].clen, 0);
	assert_int_equal(l.e[1].seq, 6);
	assert_string_equal(l.e[1].conflict, "conf6");
	assert_int_equal(l.e[1].clen, 5);
	assert_int_equal(l.e[2].seq, 7);
	assert_string_equal(l.e[2].doc, "doc7");
	assert_string_equal(l.e[2].conflict, "conf7");
	assert_string_equal(l.e[3].doc, "doc8");
	assert_null(l.e[3].conflict);
	assert_string_equal(l.e[4].doc, "doc9");
	assert_null(l.e[4].conflict);
	free(l.e);
}

static void test_log_refuses(void **state)
{
	struct reply_log l;
	redisReply *bad[] = {
		str("5-0"), nil(), num(0),
		/* entry shapes */
		ARR(str("5-0")),
		ARR(ARR(str("5-0"))),
		ARR(ARR(str("5-0"), ARR(str("d"), str("x")), str("extra"))),
		ARR(ARR(num(5), ARR(str("d"), str("x")))),
		ARR(ARR(str("5-0"), str("d"))),
		ARR(ARR(str("5-0"), nil())),
		/* no "d" */
		ARR(ARR(str("5-0"), EMPTY())),
		ARR(ARR(str("5-0"), ARR(str("c"), str("conf")))),
		ARR(ARR(str("5-0"), ARR(str("d")))),
		ARR(ARR(str("5-0"), ARR(str("d"), num(1)))),
		ARR(ARR(str("5-0"), ARR(str("d"), nil()))),
		ARR(ARR(str("5-0"), ARR(str("D"), str("x")))),
		ARR(ARR(str("5-0"), ARR(num(1), str("x")))),
		/* ids: "<seq>-<n>" with a valid seq */
		ARR(ARR(str("5"), ARR(str("d"), str("x")))),
		ARR(ARR(str("-0"), ARR(str("d"), str("x")))),
		ARR(ARR(str("x-0"), ARR(str("d"), str("x")))),
		ARR(ARR(str("05-0"), ARR(str("d"), str("x")))),
		ARR(ARR(str(""), ARR(str("d"), str("x")))),
		ARR(ARR(str("9007199254740992-0"), ARR(str("d"), str("x")))),
		/* one bad entry spoils the page */
		ARR(ARR(str("5-0"), ARR(str("d"), str("x"))), nil()),
		ARR(ARR(str("5-0"), ARR(str("d"), str("x"))),
		    ARR(str("6-0"), ARR(str("c"), str("y")))),
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(bad); i++) {
		l.e = (struct hub_entry *)&l; /* must come back NULL */
		if (reply_log(bad[i], &l) != GW_EINTERNAL)
			fail_msg("log row %zu accepted", i);
		assert_null(l.e);
	}
}

static void test_list(void **state)
{
	struct reply_list l;
	redisReply *bad[] = {
		str(EPOCH), nil(), EMPTY(),
		ARR(str(EPOCH), num(3)),
		ARR(num(1), num(3), str("")),
		ARR(nil(), num(3), str("")),
		ARR(str(EPOCH), num(-1), str("")),
		ARR(str(EPOCH), str("x"), str("")),
		ARR(str(EPOCH), nil(), str("")),
		ARR(str(EPOCH), num(3), nil()),
		ARR(str(EPOCH), num(3), num(0)),
		ARR(str(EPOCH), num(3), str(""), nil()),
		ARR(str(EPOCH), num(3), str(""), str("d1"), num(2)),
		ARR(str(EPOCH), num(3), str(""), ARR(str("d1"))),
	};

	(void)state;
	assert_int_equal(reply_list(ARR(str(EPOCH), num(3), str("")), &l), 0);
	assert_string_equal(l.epoch, EPOCH);
	assert_int_equal(l.seq, 3);
	assert_string_equal(l.next, "");
	assert_null(l.docs);
	assert_int_equal(l.n, 0);

	assert_int_equal(reply_list(ARR(str(EPOCH), str("12"), str("b"), str("{\"id\":\"a\"}"),
					str("{\"id\":\"b\"}")),
				    &l),
			 0);
	assert_int_equal(l.seq, 12);
	assert_string_equal(l.next, "b");
	assert_int_equal(l.n, 2);
	assert_string_equal(l.docs[0].doc, "{\"id\":\"a\"}");
	assert_int_equal(l.docs[0].len, 10);
	assert_string_equal(l.docs[1].doc, "{\"id\":\"b\"}");
	assert_null(l.docs[1].conflict);
	free(l.docs);

	/* list.lua makes the epoch; this decoder does not check it */
	assert_int_equal(reply_list(ARR(str(""), num(0), str("")), &l), 0);
	assert_string_equal(l.epoch, "");

	for (size_t i = 0; i < GW_ARRAY_LEN(bad); i++)
		if (reply_list(bad[i], &l) != GW_EINTERNAL)
			fail_msg("list row %zu accepted", i);
}

static void test_trail(void **state)
{
	struct reply_trail t;
	redisReply *bad[] = {
		str("1-0"), nil(), num(0),
		ARR(nil()),
		ARR(ARR(str("1-0"))),
		ARR(ARR(num(1), ARR(str("d"), str("x")))),
		ARR(ARR(str("1-0"), str("d"))),
		ARR(ARR(str("1-0"), EMPTY())),
		ARR(ARR(str("1-0"), ARR(str("c"), str("x")))),
		ARR(ARR(str("1-0"), ARR(str("d"), num(1)))),
		ARR(ARR(str("1-0"), ARR(str("d")))),
		ARR(ARR(str("1-0"), ARR(str("d"), str("x"))),
		    ARR(str("2-0"), ARR(str("e"), str("y")))),
	};

	(void)state;
	assert_int_equal(reply_trail(EMPTY(), &t), 0);
	assert_null(t.e);
	assert_int_equal(t.n, 0);

	assert_int_equal(reply_trail(ARR(ARR(str("1700000000000-0"),
					     ARR(str("d"), str("{\"n\":1}"))),
					 /* trail ids are not parsed */
					 ARR(str("x"),
					     ARR(str("c"), str("-"), str("d"), str("{}")))),
				     &t),
			 0);
	assert_int_equal(t.n, 2);
	assert_string_equal(t.e[0].id, "1700000000000-0");
	assert_string_equal(t.e[0].json, "{\"n\":1}");
	assert_int_equal(t.e[0].len, 7);
	assert_string_equal(t.e[1].id, "x");
	assert_string_equal(t.e[1].json, "{}");
	free(t.e);

	for (size_t i = 0; i < GW_ARRAY_LEN(bad); i++) {
		t.e = (struct store_trail_entry *)&t;
		if (reply_trail(bad[i], &t) != GW_EINTERNAL)
			fail_msg("trail row %zu accepted", i);
		assert_null(t.e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_error_classes, reset_pool),
		cmocka_unit_test_setup(test_noscript, reset_pool),
		cmocka_unit_test_setup(test_u64, reset_pool),
		cmocka_unit_test_setup(test_doc, reset_pool),
		cmocka_unit_test_setup(test_read, reset_pool),
		cmocka_unit_test_setup(test_write_accepts, reset_pool),
		cmocka_unit_test_setup(test_write_refuses, reset_pool),
		cmocka_unit_test_setup(test_record, reset_pool),
		cmocka_unit_test_setup(test_meta, reset_pool),
		cmocka_unit_test_setup(test_log_accepts, reset_pool),
		cmocka_unit_test_setup(test_log_refuses, reset_pool),
		cmocka_unit_test_setup(test_list, reset_pool),
		cmocka_unit_test_setup(test_trail, reset_pool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

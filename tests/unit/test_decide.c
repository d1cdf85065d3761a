/*
 * test_decide.c - the write rules of DESIGN.md section 4 and sections 10-11
 * as one table: rules 1-5 under lww and reject, unconditional writes
 * (docs/decisions.md 3), If-Match (decisions 8), deletes and tombstones,
 * the 201 flag (decisions 7), the timestamp clamp and lww_clock=server.
 * JSON in the table is written with ' for " to keep rows readable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "jsonx.h"

#define NOW 1764150000000LL
#define CLAMP 60000LL
#define T0 (NOW - 5000)
#define T1 (NOW - 1000)
#define NO_TS (-1)
#define MAXC "9007199254740991"

struct row {
	const char *name;
	/* stored document: sver NULL means none; sdel makes a tombstone */
	const char *sver, *sdata, *sactor;
	bool sdel;
	int64_t sts;
	/* the write: wver NULL is unconditional, wdata NULL a DELETE */
	const char *wver, *wdata, *writer;
	int64_t wts;
	const char *if_match; /* "@ok": the stored ETag; "@stale": another */
	enum conflict_policy policy;
	bool server_clock;
	/* expected */
	enum decide_kind kind;
	int err;
	const char *nver, *ndata, *nactor; /* ndata NULL: a tombstone */
	int64_t nts;
	bool applied, created, conflict;
	const char *winner;
};

#define STORED(v, d, a, t) .sver = v, .sdata = d, .sactor = a, .sts = t
#define TOMB(v, a, t) .sver = v, .sdel = true, .sactor = a, .sts = t
#define PUT(v, d, w, t) .wver = v, .wdata = d, .writer = w, .wts = t
#define DEL(v, w, t) .wver = v, .writer = w, .wts = t
#define APPLY(v, d, a, t) .kind = DECIDE_APPLY, .nver = v, .ndata = d, \
	.nactor = a, .nts = t
#define FAIL(e) .kind = DECIDE_FAIL, .err = e
#define NOOP .kind = DECIDE_NOOP
#define RESOLVE(v, d, a, t) .kind = DECIDE_RESOLVE, .nver = v, .ndata = d, \
	.nactor = a, .nts = t, .conflict = true, .winner = "resolver"
#define INC .applied = true, .conflict = true, .winner = "incoming"
#define KEPT .applied = false, .conflict = true, .winner = "stored"

/* The usual concurrent pair: S = {a:2,b:1} by a at T0, W = {a:1,b:2} by b. */
#define S5 STORED("{'a':2,'b':1}", "{'v':'s'}", "a", T0)
#define W5 "{'a':1,'b':2}"
#define M5 "{'a':2,'b':2}"

static const struct row rows[] = {
	/* rule 1: only the server tells a replica about other actors */
	{"r1 other actor ahead", STORED("{'a':1,'b':1}", "1", "a", T0),
	 PUT("{'a':2,'b':2}", "2", "a", T1), FAIL(GW_EINVVER)},
	{"r1 no document", PUT("{'b':1}", "1", "a", T1), FAIL(GW_EINVVER)},
	{"r1 unknown actor", STORED("{'a':1}", "1", "a", T0),
	 PUT("{'a':2,'c':1}", "2", "a", T1), FAIL(GW_EINVVER)},
	{"r1 another device", STORED("{'u:p':1}", "1", "u:p", T0),
	 PUT("{'u:p':2,'u:w':1}", "2", "u:p", T1), FAIL(GW_EINVVER)},
	{"r1 delete", STORED("{'a':1,'b':1}", "1", "a", T0),
	 DEL("{'a':1,'b':2}", "a", T1), FAIL(GW_EINVVER)},
	{"r1 reject policy", STORED("{'a':1}", "1", "a", T0),
	 PUT("{'a':1,'b':1}", "2", "a", T1), .policy = POLICY_REJECT,
	 FAIL(GW_EINVVER)},
	/* rule 2: W dominates S */
	{"r2 first write", PUT("{'a':1}", "{'t':'milk'}", "a", T1),
	 APPLY("{'a':1}", "{'t':'milk'}", "a", T1), .applied = true,
	 .created = true},
	{"r2 next edit", STORED("{'a':1}", "1", "a", T0),
	 PUT("{'a':2}", "2", "a", T1), APPLY("{'a':2}", "2", "a", T1),
	 .applied = true},
	{"r2 offline edits", STORED("{'a':1,'b':3}", "1", "b", T0),
	 PUT("{'a':4,'b':3}", "[4]", "a", T1),
	 APPLY("{'a':4,'b':3}", "[4]", "a", T1), .applied = true},
	{"r2 older timestamp", STORED("{'a':1}", "1", "a", T1),
	 PUT("{'a':2}", "2", "a", T0), APPLY("{'a':2}", "2", "a", T0),
	 .applied = true},
	{"r2 new writer", STORED("{'a':2}", "1", "a", T0),
	 PUT("{'a':2,'b':1}", "2", "b", T1),
	 APPLY("{'a':2,'b':1}", "2", "b", T1), .applied = true},
	{"r2 on tombstone", TOMB("{'a':2}", "a", T0),
	 PUT("{'a':2,'b':1}", "2", "b", T1),
	 APPLY("{'a':2,'b':1}", "2", "b", T1), .applied = true,
	 .created = true},
	{"r2 delete", STORED("{'a':1}", "1", "a", T0),
	 DEL("{'a':1,'b':1}", "b", T1), APPLY("{'a':1,'b':1}", NULL, "b", T1),
	 .applied = true},
	{"r2 delete a tombstone", TOMB("{'a':1}", "a", T0),
	 DEL("{'a':2}", "a", T1), APPLY("{'a':2}", NULL, "a", T1),
	 .applied = true},
	{"r2 reject policy", STORED("{'a':1}", "1", "a", T0),
	 PUT("{'a':2}", "2", "a", T1), .policy = POLICY_REJECT,
	 APPLY("{'a':2}", "2", "a", T1), .applied = true},
	/* rule 3: W equals S */
	{"r3 same data", STORED("{'a':1}", "{'v':1,'w':[2]}", "a", T0),
	 PUT("{'a':1}", "{'w':[2],'v':1}", "a", T1), NOOP},
	{"r3 same null data", STORED("{'a':1}", "null", "a", T0),
	 PUT("{'a':1}", "null", "a", T1), NOOP},
	{"r3 different data", STORED("{'a':1}", "{'v':1}", "a", T0),
	 PUT("{'a':1}", "{'v':2}", "a", T1), FAIL(GW_EINVVER)},
	{"r3 delete tombstone", TOMB("{'a':1}", "a", T0),
	 DEL("{'a':1}", "a", T1), NOOP},
	{"r3 delete live doc", STORED("{'a':1}", "1", "a", T0),
	 DEL("{'a':1}", "a", T1), FAIL(GW_EINVVER)},
	{"r3 put on tombstone", TOMB("{'a':1}", "a", T0),
	 PUT("{'a':1}", "null", "a", T1), FAIL(GW_EINVVER)},
	{"r3 empty vector, no doc", PUT("{}", "1", "a", T1), FAIL(GW_EINVVER)},
	{"r3 empty vector, no doc, reject", PUT("{}", "1", "a", T1),
	 .policy = POLICY_REJECT, FAIL(GW_EINVVER)},
	/* rule 4: S dominates W */
	{"r4 retry", STORED("{'a':2,'b':1}", "2", "b", T0),
	 PUT("{'a':2}", "9", "a", T1), NOOP},
	{"r4 empty vector", STORED("{'a':1}", "1", "a", T0),
	 PUT("{}", "9", "a", T1), NOOP},
	{"r4 delete", STORED("{'a':3}", "1", "a", T0), DEL("{'a':2}", "a", T1),
	 NOOP},
	{"r4 put on tombstone", TOMB("{'a':3}", "a", T0),
	 PUT("{'a':1}", "1", "a", T1), NOOP},
	/* rule 5, lww: larger (timestamp, actor) wins, version is the merge */
	{"lww incoming newer", S5, PUT(W5, "{'v':'w'}", "b", T1),
	 APPLY(M5, "{'v':'w'}", "b", T1), INC},
	{"lww stored newer", S5, PUT(W5, "{'v':'w'}", "b", T0 - 1),
	 APPLY(M5, "{'v':'s'}", "a", T0), KEPT},
	{"lww tie, incoming actor larger", S5, PUT(W5, "{'v':'w'}", "b", T0),
	 APPLY(M5, "{'v':'w'}", "b", T0), INC},
	{"lww tie, stored actor larger", STORED("{'a':1,'z':1}", "9", "z", T0),
	 PUT("{'a':2}", "1", "a", T0), APPLY("{'a':2,'z':1}", "9", "z", T0),
	 KEPT},
	{"lww tie, same actor", STORED("{'a':2,'b':1}", "9", "a", T0),
	 PUT("{'a':3}", "1", "a", T0), APPLY("{'a':3,'b':1}", "9", "a", T0),
	 KEPT},
	{"lww no timestamp: server time", S5, PUT(W5, "1", "b", NO_TS),
	 APPLY(M5, "1", "b", NOW), INC},
	{"lww no timestamp, stored ahead", STORED("{'a':2,'b':1}", "9", "a",
						  NOW + 1000),
	 PUT(W5, "1", "b", NO_TS), APPLY(M5, "9", "a", NOW + 1000), KEPT},
	{"lww clamped, still wins", STORED("{'a':2,'b':1}", "9", "a",
					   NOW + 30000),
	 PUT(W5, "1", "b", NOW + 600000), APPLY(M5, "1", "b", NOW + CLAMP), INC},
	{"lww clamp makes incoming lose", STORED("{'a':2,'b':1}", "9", "a",
						 NOW + CLAMP + 5),
	 PUT(W5, "1", "b", NOW + 600000), APPLY(M5, "9", "a", NOW + CLAMP + 5),
	 KEPT},
	{"lww server clock, old client ts", STORED("{'a':2,'b':1}", "9", "a",
						   NOW - 1),
	 PUT(W5, "1", "b", 1), .server_clock = true, APPLY(M5, "1", "b", NOW),
	 INC},
	{"lww server clock, future client ts", STORED("{'a':2,'b':1}", "9",
						      "a", NOW + 10),
	 PUT(W5, "1", "b", NOW + 50000), .server_clock = true,
	 APPLY(M5, "9", "a", NOW + 10), KEPT},
	{"lww delete beats edit", S5, DEL(W5, "b", T1),
	 APPLY(M5, NULL, "b", T1), INC},
	{"lww edit survives delete", S5, DEL(W5, "b", T0 - 1),
	 APPLY(M5, "{'v':'s'}", "a", T0), KEPT},
	{"lww edit beats tombstone: 201", TOMB("{'a':2,'b':1}", "a", T0),
	 PUT(W5, "1", "b", T1), APPLY(M5, "1", "b", T1), INC, .created = true},
	{"lww tombstone stays", TOMB("{'a':2,'b':1}", "a", T0),
	 PUT(W5, "1", "b", T0 - 1), APPLY(M5, NULL, "a", T0), KEPT},
	/* rule 5, reject: 409 conflict, nothing changes */
	{"reject put", S5, PUT(W5, "1", "b", T1), .policy = POLICY_REJECT,
	 FAIL(GW_ECONFLICT), .conflict = true, .winner = "stored"},
	{"reject older put", S5, PUT(W5, "1", "b", 0), .policy = POLICY_REJECT,
	 FAIL(GW_ECONFLICT), .conflict = true, .winner = "stored"},
	{"reject delete", S5, DEL(W5, "b", T1), .policy = POLICY_REJECT,
	 FAIL(GW_ECONFLICT), .conflict = true, .winner = "stored"},
	{"reject rule 4", S5, PUT("{'a':1,'b':1}", "1", "b", T1),
	 .policy = POLICY_REJECT, NOOP},
	/* rule 5, callback: ask the resolver, sending the incoming doc as is */
	{"callback put", S5, PUT(W5, "{'x':1}", "b", T1), .policy = POLICY_CALLBACK,
	 RESOLVE(W5, "{'x':1}", "b", T1)},
	{"callback delete", S5, DEL(W5, "b", T1), .policy = POLICY_CALLBACK,
	 RESOLVE(W5, NULL, "b", T1)},
	{"callback clamps the ts it sends", S5, PUT(W5, "1", "b", NOW + 999999),
	 .policy = POLICY_CALLBACK, RESOLVE(W5, "1", "b", NOW + CLAMP)},
	{"callback against a tombstone", TOMB("{'a':2,'b':1}", "a", T0),
	 PUT(W5, "1", "b", T1), .policy = POLICY_CALLBACK, RESOLVE(W5, "1", "b", T1)},
	{"callback rule 4", S5, PUT("{'a':1,'b':1}", "1", "b", T1),
	 .policy = POLICY_CALLBACK, NOOP},
	{"callback rule 2", S5, PUT("{'a':2,'b':2}", "1", "b", T1),
	 .policy = POLICY_CALLBACK, APPLY("{'a':2,'b':2}", "1", "b", T1),
	 .applied = true},
	{"callback rule 1", S5, PUT("{'a':3,'b':2}", "1", "b", T1),
	 .policy = POLICY_CALLBACK, FAIL(GW_EINVVER)},
	{"callback unconditional", S5, PUT(NULL, "1", "b", T1),
	 .policy = POLICY_CALLBACK, APPLY("{'a':2,'b':2}", "1", "b", T1),
	 .applied = true},
	/* unconditional writes: +1 on the writer's entry of S */
	{"uncond create", PUT(NULL, "{'v':1}", "a", NO_TS),
	 APPLY("{'a':1}", "{'v':1}", "a", NOW), .applied = true,
	 .created = true},
	{"uncond increments", STORED("{'a':1,'b':3}", "1", "a", T0),
	 PUT(NULL, "2", "b", T1), APPLY("{'a':1,'b':4}", "2", "b", T1),
	 .applied = true},
	{"uncond new writer", STORED("{'a':1}", "1", "a", T0),
	 PUT(NULL, "2", "c", T1), APPLY("{'a':1,'c':1}", "2", "c", T1),
	 .applied = true},
	{"uncond same data: no-op", STORED("{'a':1}", "{'v':[1,{}]}", "a", T0),
	 PUT(NULL, "{'v':[1,{}]}", "b", T1), NOOP},
	{"uncond same data, reject policy", STORED("{'a':1}", "1", "a", T0),
	 PUT(NULL, "1", "b", T1), .policy = POLICY_REJECT, NOOP},
	{"uncond delete", STORED("{'a':1}", "1", "a", T0), DEL(NULL, "a", T1),
	 APPLY("{'a':2}", NULL, "a", T1), .applied = true},
	{"uncond delete of tombstone: no-op", TOMB("{'a':2}", "a", T0),
	 DEL(NULL, "b", T1), NOOP},
	{"uncond delete of missing", DEL(NULL, "a", T1), FAIL(GW_ENOTFOUND)},
	{"versioned delete of missing", DEL("{'a':1}", "a", T1),
	 FAIL(GW_ENOTFOUND)},
	{"empty-vector delete of missing", DEL("{}", "a", T1),
	 FAIL(GW_ENOTFOUND)},
	{"uncond put on tombstone: 201", TOMB("{'a':2}", "a", T0),
	 PUT(NULL, "null", "a", T1), APPLY("{'a':3}", "null", "a", T1),
	 .applied = true, .created = true},
	{"uncond at 2^53-1", STORED("{'a':" MAXC "}", "1", "a", T0),
	 PUT(NULL, "2", "a", T1), FAIL(GW_EBADREQ)},
	{"uncond clamp", PUT(NULL, "1", "a", NOW + 999999),
	 APPLY("{'a':1}", "1", "a", NOW + CLAMP), .applied = true,
	 .created = true},
	/* If-Match */
	{"if-match ok", STORED("{'a':1,'b':2}", "1", "b", T0),
	 PUT(NULL, "2", "a", T1), .if_match = "@ok",
	 APPLY("{'a':2,'b':2}", "2", "a", T1), .applied = true},
	{"if-match *", STORED("{'a':1,'b':2}", "1", "b", T0),
	 PUT(NULL, "2", "a", T1), .if_match = "*",
	 APPLY("{'a':2,'b':2}", "2", "a", T1), .applied = true},
	{"if-match stale", STORED("{'a':1,'b':2}", "1", "b", T0),
	 PUT(NULL, "2", "a", T1), .if_match = "@stale", FAIL(GW_EPRECOND)},
	{"if-match garbage", STORED("{'a':1}", "1", "a", T0),
	 PUT(NULL, "2", "a", T1), .if_match = "\"nope\"", FAIL(GW_EPRECOND)},
	{"if-match empty", STORED("{'a':1}", "1", "a", T0),
	 PUT(NULL, "2", "a", T1), .if_match = "", FAIL(GW_EPRECOND)},
	{"if-match same data", STORED("{'a':1}", "1", "a", T0),
	 PUT(NULL, "1", "a", T1), .if_match = "@ok", NOOP},
	{"if-match * on missing", PUT(NULL, "1", "a", T1), .if_match = "*",
	 FAIL(GW_EPRECOND)},
	{"if-match etag on missing", PUT(NULL, "1", "a", T1),
	 .if_match = "@stale", FAIL(GW_EPRECOND)},
	{"if-match with version", STORED("{'a':1}", "1", "a", T0),
	 PUT("{'a':2}", "2", "a", T1), .if_match = "@ok", FAIL(GW_EBADREQ)},
	{"if-match * with version", STORED("{'a':1}", "1", "a", T0),
	 PUT("{'a':2}", "2", "a", T1), .if_match = "*", FAIL(GW_EBADREQ)},
	{"if-match with version, missing", PUT("{'a':1}", "2", "a", T1),
	 .if_match = "*", FAIL(GW_EBADREQ)},
	{"if-match delete ok", STORED("{'a':1}", "1", "a", T0),
	 DEL(NULL, "a", T1), .if_match = "@ok", APPLY("{'a':2}", NULL, "a", T1),
	 .applied = true},
	{"if-match delete stale", STORED("{'a':1}", "1", "a", T0),
	 DEL(NULL, "a", T1), .if_match = "@stale", FAIL(GW_EPRECOND)},
	/* timestamps outside conflicts */
	{"far-future ts clamped", STORED("{'a':1}", "1", "a", T0),
	 PUT("{'a':2}", "2", "a", NOW + 1000000000LL),
	 APPLY("{'a':2}", "2", "a", NOW + CLAMP), .applied = true},
	{"ts at the clamp kept", STORED("{'a':1}", "1", "a", T0),
	 PUT("{'a':2}", "2", "a", NOW + CLAMP),
	 APPLY("{'a':2}", "2", "a", NOW + CLAMP), .applied = true},
	{"ts 0 kept", STORED("{'a':1}", "1", "a", T0), PUT("{'a':2}", "2", "a", 0),
	 APPLY("{'a':2}", "2", "a", 0), .applied = true},
	{"ts max clamped", STORED("{'a':1}", "1", "a", T0),
	 PUT("{'a':2}", "2", "a", GW_MAX_SAFE_INT),
	 APPLY("{'a':2}", "2", "a", NOW + CLAMP), .applied = true},
	{"server clock", STORED("{'a':1}", "1", "a", T0),
	 PUT("{'a':2}", "2", "a", 5), .server_clock = true,
	 APPLY("{'a':2}", "2", "a", NOW), .applied = true},
};

/* ' -> " so that the table reads well. */
static json_t *j(const char *s)
{
	char *t = strdup(s);
	json_error_t je;
	json_t *v;

	assert_non_null(t);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	v = json_loads(t, JSON_DECODE_ANY, &je);
	if (!v)
		fail_msg("bad test JSON %s: %s", s, je.text);
	free(t);
	return v;
}

/* A write's data as doc_parse_write keeps it: serialized bytes. */
static void wdata(struct doc_write *w, const char *s)
{
	struct sbuf sb = SBUF_INIT;
	json_t *v = j(s);

	jsonx_dump(v, &sb);
	json_decref(v);
	assert_false(sbuf_failed(&sb));
	w->data_json = sbuf_detach(&sb, &w->data_json_len);
}

/* The data of a decided document as a tree (new reference). */
static json_t *next_data(const struct doc *n)
{
	if (n->data_json)
		return json_loadb(n->data_json, n->data_json_len, JSON_DECODE_ANY,
				  NULL);
	return json_incref(n->data);
}

static void vv_j(struct vv *v, const char *s)
{
	json_t *o = j(s);

	vv_init(v);
	assert_int_equal(vv_from_json(o, v, NULL), 0);
	json_decref(o);
}

static void check_row(const struct row *r, size_t i)
{
	struct doc stored;
	struct doc_write w;
	struct decide_in in;
	struct decide_out out;
	char etag[VV_ETAG_LEN + 1];

	doc_init(&stored);
	memset(&w, 0, sizeof(w));
	memset(&in, 0, sizeof(in));
	if (r->sver) {
		snprintf(stored.collection, sizeof(stored.collection), "todos");
		snprintf(stored.id, sizeof(stored.id), "a1");
		snprintf(stored.actor, sizeof(stored.actor), "%s", r->sactor);
		snprintf(stored.offset, sizeof(stored.offset), "e1:5");
		vv_j(&stored.version, r->sver);
		stored.deleted = r->sdel;
		stored.data = r->sdel ? json_null() : j(r->sdata);
		stored.timestamp = r->sts;
		in.stored = &stored;
	}
	if (r->wver) {
		w.has_version = true;
		vv_j(&w.version, r->wver);
	}
	if (r->wdata)
		wdata(&w, r->wdata);
	w.has_timestamp = r->wts != NO_TS;
	w.timestamp = r->wts;
	in.write = &w;
	in.collection = "todos";
	in.id = "a1";
	in.writer = r->writer;
	in.is_delete = r->wdata == NULL;
	in.policy = r->policy;
	in.now_ms = NOW;
	in.clamp_ms = CLAMP;
	in.server_clock = r->server_clock;
	in.if_match = r->if_match;
	if (r->if_match && strcmp(r->if_match, "@ok") == 0) {
		vv_etag(&stored.version, etag);
		in.if_match = etag;
	} else if (r->if_match && strcmp(r->if_match, "@stale") == 0) {
		struct vv other;

		vv_j(&other, "{'zz':1}");
		vv_etag(&other, etag);
		vv_release(&other);
		in.if_match = etag;
	}

	decide_write(&in, &out);
	if (out.kind != r->kind || (r->kind == DECIDE_FAIL && out.err != r->err))
		fail_msg("row %zu \"%s\": kind %d err %d (%s), want kind %d err %d",
			 i, r->name, out.kind, out.err,
			 out.message ? out.message : "", r->kind, r->err);
	if (out.conflict != r->conflict || out.created != r->created ||
	    out.applied != r->applied)
		fail_msg("row %zu \"%s\": conflict %d created %d applied %d", i,
			 r->name, out.conflict, out.created, out.applied);
	if (r->winner == NULL ? out.winner != NULL :
	    out.winner == NULL || strcmp(out.winner, r->winner) != 0)
		fail_msg("row %zu \"%s\": winner %s", i, r->name,
			 out.winner ? out.winner : "(none)");
	if (r->kind == DECIDE_APPLY || r->kind == DECIDE_RESOLVE) {
		struct vv want;
		struct sbuf sb = SBUF_INIT;

		vv_j(&want, r->nver);
		vv_dump(&out.next.version, &sb);
		if (vv_compare(&out.next.version, &want) != VV_EQUAL)
			fail_msg("row %zu \"%s\": next version %s", i, r->name,
				 sb.buf);
		sbuf_release(&sb);
		vv_release(&want);
		/* every applied change advances the stored version */
		if (r->sver && r->kind == DECIDE_APPLY)
			assert_int_equal(vv_compare(&out.next.version,
						    &stored.version),
					 VV_DOMINATES);
		assert_string_equal(out.next.collection, "todos");
		assert_string_equal(out.next.id, "a1");
		assert_string_equal(out.next.offset, "");
		if (strcmp(out.next.actor, r->nactor) != 0 ||
		    out.next.timestamp != r->nts)
			fail_msg("row %zu \"%s\": actor %s ts %lld", i, r->name,
				 out.next.actor, (long long)out.next.timestamp);
		assert_int_equal(out.next.deleted, r->ndata == NULL);
		if (r->ndata) {
			json_t *want_data = j(r->ndata);
			json_t *got = next_data(&out.next);

			if (!got || !json_equal(got, want_data))
				fail_msg("row %zu \"%s\": data differs", i,
					 r->name);
			json_decref(want_data);
			json_decref(got);
		} else {
			assert_true(json_is_null(out.next.data));
		}
	} else {
		assert_null(out.next.data);
		assert_int_equal(out.next.version.n, 0);
		if (r->kind == DECIDE_FAIL)
			assert_non_null(out.message);
	}
	decide_out_release(&out);
	doc_write_release(&w);
	doc_release(&stored);
}

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++)
		check_row(&rows[i], i);
}

/* A resolution whose merged vector would pass VV_MAX_ENTRIES fails cleanly. */
static void test_merge_too_large(void **state)
{
	struct doc s;
	struct doc_write w;
	struct decide_in in;
	struct decide_out out;
	char name[16];

	(void)state;
	doc_init(&s);
	memset(&w, 0, sizeof(w));
	for (int i = 0; i < VV_MAX_ENTRIES; i++) {
		snprintf(name, sizeof(name), "s%04d", i);
		assert_int_equal(vv_set(&s.version, name, 1), 0);
	}
	snprintf(s.actor, sizeof(s.actor), "s0000");
	s.data = json_integer(1);
	w.has_version = true;
	assert_int_equal(vv_set(&w.version, "zz", 1), 0);
	wdata(&w, "2");
	memset(&in, 0, sizeof(in));
	in.stored = &s;
	in.write = &w;
	in.collection = "c";
	in.id = "d";
	in.writer = "zz";
	in.now_ms = NOW;
	in.clamp_ms = CLAMP;
	decide_write(&in, &out);
	assert_int_equal(out.kind, DECIDE_FAIL);
	assert_int_equal(out.err, GW_EBADREQ);
	assert_null(out.next.data);
	decide_out_release(&out);
	/* unconditional: the writer's entry cannot be added either */
	w.has_version = false;
	decide_write(&in, &out);
	assert_int_equal(out.kind, DECIDE_FAIL);
	assert_int_equal(out.err, GW_EBADREQ);
	decide_out_release(&out);
	doc_write_release(&w);
	doc_release(&s);
}

/* A subject fills a shared document's version with its devices only up
 * to the cap; at the cap it may still write as one of them, and others
 * are not affected. */
static void test_devices_cap(void **state)
{
	struct doc s;
	struct doc_write w;
	struct decide_in in;
	struct decide_out out;
	char name[32];

	(void)state;
	doc_init(&s);
	memset(&w, 0, sizeof(w));
	snprintf(s.actor, sizeof(s.actor), "bob");
	s.data = json_integer(1);
	s.timestamp = NOW - 1000;
	assert_int_equal(vv_set(&s.version, "alice", 1), 0);
	assert_int_equal(vv_set(&s.version, "bob", 1), 0);
	for (int i = 1; i < 4; i++) {
		snprintf(name, sizeof(name), "bob:%d", i);
		assert_int_equal(vv_set(&s.version, name, 1), 0);
	}
	wdata(&w, "2");
	memset(&in, 0, sizeof(in));
	in.stored = &s;
	in.write = &w;
	in.collection = "c";
	in.id = "d";
	in.now_ms = NOW;
	in.clamp_ms = CLAMP;
	in.subject = "bob";
	in.devices_max = 4; /* bob, bob:1..bob:3: full */
	in.writer = "bob:9";
	decide_write(&in, &out);
	assert_int_equal(out.kind, DECIDE_FAIL);
	assert_int_equal(out.err, GW_EBADREQ);
	assert_non_null(strstr(out.message, "actors_per_subject"));
	assert_int_equal(out.next.version.n, 0);
	decide_out_release(&out);
	/* one of its own devices: fine */
	in.writer = "bob:2";
	decide_write(&in, &out);
	assert_int_equal(out.kind, DECIDE_APPLY);
	assert_int_equal(vv_get(&out.next.version, "bob:2"), 2);
	decide_out_release(&out);
	/* another subject: not counted ("bobby" is not bob's) */
	in.subject = "bobby";
	in.writer = "bobby";
	decide_write(&in, &out);
	assert_int_equal(out.kind, DECIDE_APPLY);
	decide_out_release(&out);
	/* without a cap: anything */
	in.subject = "bob";
	in.writer = "bob:9";
	in.devices_max = 0;
	decide_write(&in, &out);
	assert_int_equal(out.kind, DECIDE_APPLY);
	decide_out_release(&out);
	doc_write_release(&w);
	doc_release(&s);
}

static void test_policy_names(void **state)
{
	(void)state;
	assert_string_equal(policy_name(POLICY_LWW), "lww");
	assert_string_equal(policy_name(POLICY_REJECT), "reject");
	assert_string_equal(policy_name(POLICY_CALLBACK), "callback");
}

/* The resolver's answer: its data, merge(W, S), the writer, server time. */
static void test_resolved(void **state)
{
	struct doc s;
	struct doc_write w;
	struct decide_in in;
	struct decide_out out;
	struct vv want;
	json_t *data = j("{'merged':[1,2]}");

	(void)state;
	doc_init(&s);
	memset(&w, 0, sizeof(w));
	vv_j(&s.version, "{'a':2,'b':1}");
	snprintf(s.actor, sizeof(s.actor), "a");
	s.data = j("1");
	s.timestamp = T0;
	w.has_version = true;
	vv_j(&w.version, W5);
	wdata(&w, "2");
	memset(&in, 0, sizeof(in));
	in.stored = &s;
	in.write = &w;
	in.collection = "c";
	in.id = "d";
	in.writer = "b";
	in.policy = POLICY_CALLBACK;
	in.now_ms = NOW;
	in.clamp_ms = CLAMP;
	decide_resolved(&in, data, "{\"merged\":[1,2]}", 16, false, &out);
	assert_int_equal(out.kind, DECIDE_APPLY);
	assert_true(out.applied && out.conflict && !out.created);
	assert_string_equal(out.winner, "resolver");
	vv_j(&want, M5);
	assert_int_equal(vv_compare(&out.next.version, &want), VV_EQUAL);
	assert_int_equal(vv_compare(&out.next.version, &s.version), VV_DOMINATES);
	assert_int_equal(vv_compare(&out.next.version, &w.version), VV_DOMINATES);
	assert_string_equal(out.next.actor, "b");
	assert_int_equal(out.next.timestamp, NOW);
	assert_true(json_equal(out.next.data, data));
	assert_int_equal(out.next.data_json_len, 16);
	assert_false(out.next.deleted);
	decide_out_release(&out);
	/* a tombstone answer */
	decide_resolved(&in, NULL, NULL, 0, true, &out);
	assert_int_equal(out.kind, DECIDE_APPLY);
	assert_true(out.next.deleted && json_is_null(out.next.data));
	decide_out_release(&out);
	/* bringing a tombstone back to life is a creation (201) */
	s.deleted = true;
	decide_resolved(&in, data, "{\"merged\":[1,2]}", 16, false, &out);
	assert_true(out.created);
	decide_out_release(&out);
	/* only a versioned write against a stored doc can have been resolved */
	w.has_version = false;
	decide_resolved(&in, data, NULL, 0, false, &out);
	assert_int_equal(out.kind, DECIDE_FAIL);
	decide_out_release(&out);
	in.stored = NULL;
	w.has_version = true;
	decide_resolved(&in, data, NULL, 0, false, &out);
	assert_int_equal(out.kind, DECIDE_FAIL);
	decide_out_release(&out);
	vv_release(&want);
	json_decref(data);
	doc_write_release(&w);
	doc_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_merge_too_large),
		cmocka_unit_test(test_devices_cap),
		cmocka_unit_test(test_policy_names),
		cmocka_unit_test(test_resolved),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

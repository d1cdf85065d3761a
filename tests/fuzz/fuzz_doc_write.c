/*
 * fuzz_doc_write.c - libFuzzer target for doc_parse_write followed by
 * decide_write against a fixed stored document (DESIGN.md section 4).
 * Input: one control byte, then the request body. The control byte picks
 * PUT or DELETE, the policy, lww_clock, an If-Match form and the stored
 * document. Invariants: a parsed body holds only valid values; APPLY's next
 * version dominates the stored one and dominates or equals merge(W, S);
 * NOOP and FAIL never produce a document; the flags agree with each other;
 * every stored result serializes and parses back unchanged.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "doc.h"
#include "jsonx.h"

#define NOW 1764150000000LL
#define CLAMP 60000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static const struct {
	const char *version, *data, *actor;
	bool deleted;
	int64_t ts;
} stored_rows[] = {
	{"{\"fz\":2,\"b\":1}", "{\"v\":1}", "b", false, NOW - 1000},
	{"{\"fz\":1,\"c\":3}", "null", "c", true, NOW + 100000},
	{"{\"a\":5,\"fz\":9007199254740991}", "[1,2.5,\"x\"]", "a", false, NOW},
};

static struct doc stored[3];

static void setup(void)
{
	for (size_t i = 0; i < 3; i++) {
		json_t *v = json_loads(stored_rows[i].version, 0, NULL);

		doc_init(&stored[i]);
		memcpy(stored[i].collection, "todos", 6);
		memcpy(stored[i].id, "a1", 3);
		strcpy(stored[i].actor, stored_rows[i].actor);
		strcpy(stored[i].offset, "e1:7");
		stored[i].deleted = stored_rows[i].deleted;
		stored[i].timestamp = stored_rows[i].ts;
		stored[i].data = json_loads(stored_rows[i].data, JSON_DECODE_ANY,
					    NULL);
		check(v && stored[i].data &&
		      vv_from_json(v, &stored[i].version, NULL) == 0);
		json_decref(v);
	}
}

static void check_vv(const struct vv *v)
{
	check(vv_check_invariants(v));
}

/* d's data as a tree (new reference). */
static json_t *data_of(const struct doc *d)
{
	if (d->data_json)
		return json_loadb(d->data_json, d->data_json_len, JSON_DECODE_ANY,
				  NULL);
	return json_incref(d->data);
}

/* The stored form of d parses back to the same document. */
static void check_round_trip(const struct doc *d)
{
	struct sbuf sb = SBUF_INIT;
	struct doc back;
	struct offset off;

	doc_serialize(d, false, &sb);
	sbuf_adds(&sb, "e1:8\"}");
	check(!sbuf_failed(&sb));
	check(doc_parse_stored(sb.buf, sb.len, &back, NULL) == 0);
	check(doc_stored_offset(sb.buf, sb.len, &off) == 0 && off.seq == 8);
	check(strcmp(back.collection, d->collection) == 0);
	check(strcmp(back.id, d->id) == 0);
	check(strcmp(back.actor, d->actor) == 0);
	check(back.deleted == d->deleted && back.timestamp == d->timestamp);
	check(vv_compare(&back.version, &d->version) == VV_EQUAL);
	if (d->deleted) {
		check(json_is_null(back.data));
	} else {
		json_t *v = data_of(d);

		check(v && json_equal(back.data, v));
		json_decref(v);
	}
	doc_release(&back);
	sbuf_release(&sb);
}

static void check_write(const struct doc_write *w, bool is_delete)
{
	check(is_delete ? w->data_json == NULL : w->data_json != NULL);
	if (w->has_version)
		check_vv(&w->version);
	else
		check(w->version.n == 0);
	if (w->has_actor)
		check(names_actor_valid(w->actor, strlen(w->actor)));
	if (w->has_timestamp)
		check(w->timestamp >= 0 && w->timestamp <= GW_MAX_SAFE_INT);
}

static void run(const struct doc_write *w, uint8_t ctl)
{
	static const char *const matches[] = {NULL, "*", "@", "\"0000\""};
	const struct doc *s = (ctl >> 5) & 3 ? &stored[((ctl >> 5) & 3) - 1] : NULL;
	struct decide_in in;
	struct decide_out out;
	char etag[VV_ETAG_LEN + 1];
	const char *writer = w->has_actor ? w->actor : "fz";

	memset(&in, 0, sizeof(in));
	in.stored = s;
	in.write = w;
	in.collection = "todos";
	in.id = "a1";
	in.writer = writer;
	in.is_delete = ctl & 1;
	in.policy = ctl & 2 ? POLICY_REJECT : POLICY_LWW;
	in.server_clock = ctl & 4;
	in.if_match = matches[(ctl >> 3) & 3];
	if (in.if_match && in.if_match[0] == '@') {
		vv_etag(s ? &s->version : &stored[0].version, etag);
		in.if_match = etag;
	}
	in.now_ms = NOW;
	in.clamp_ms = CLAMP;

	decide_write(&in, &out);
	if (in.if_match && w->has_version)
		check(out.kind == DECIDE_FAIL && out.err == GW_EBADREQ);
	if (in.is_delete && !s)
		check(out.kind == DECIDE_FAIL);
	if (out.conflict)
		check(s != NULL && out.winner != NULL);
	else
		check(out.winner == NULL);
	if (out.conflict && in.policy == POLICY_LWW) {
		/* rule 5: the larger (clamped timestamp, actor) pair wins */
		int64_t ts = NOW;
		int c;

		if (w->has_timestamp && !in.server_clock)
			ts = w->timestamp < NOW + CLAMP ? w->timestamp : NOW + CLAMP;
		c = ts != s->timestamp ? (ts > s->timestamp ? 1 : -1) :
					 strcmp(writer, s->actor);
		check(out.kind == DECIDE_APPLY);
		check(strcmp(out.winner, c > 0 ? "incoming" : "stored") == 0);
		check(out.applied == (c > 0));
	}
	switch (out.kind) {
	case DECIDE_APPLY: {
		const struct doc *n = &out.next;

		check(n->data != NULL || n->data_json != NULL);
		check_vv(&n->version);
		check(strcmp(n->collection, "todos") == 0);
		check(strcmp(n->id, "a1") == 0 && n->offset[0] == '\0');
		if (n->deleted)
			check(json_is_null(n->data));
		/* progress: the writer's entry grew, and S is included */
		check(vv_get(&n->version, writer) >
		      (s ? vv_get(&s->version, writer) : 0));
		if (s)
			check(vv_compare(&n->version, &s->version) == VV_DOMINATES);
		if (w->has_version) {
			struct vv m = VV_INIT, empty = VV_INIT;
			enum vv_order o;

			check(vv_merge(&w->version, s ? &s->version : &empty,
				       &m) == 0);
			o = vv_compare(&n->version, &m);
			check(o == VV_EQUAL || o == VV_DOMINATES);
			vv_release(&m);
		}
		if (out.applied) {
			check(strcmp(n->actor, writer) == 0);
			check(n->deleted == in.is_delete);
			if (!in.is_delete)
				check(n->data_json == w->data_json &&
				      n->data_json_len == w->data_json_len);
			check(n->timestamp <= NOW + CLAMP);
			if (in.server_clock || !w->has_timestamp)
				check(n->timestamp == NOW);
			else
				check(n->timestamp == (w->timestamp < NOW + CLAMP ?
						       w->timestamp : NOW + CLAMP));
			check(!out.conflict || strcmp(out.winner, "incoming") == 0);
		} else {
			/* the stored state won under the merged version */
			check(s && out.conflict && strcmp(out.winner, "stored") == 0);
			check(in.policy == POLICY_LWW);
			check(strcmp(n->actor, s->actor) == 0);
			check(n->timestamp == s->timestamp);
			check(n->deleted == s->deleted);
			check(json_equal(n->data, s->data));
		}
		check(out.created == (out.applied && !in.is_delete &&
				      (!s || s->deleted)));
		check_round_trip(n);
		break;
	}
	case DECIDE_NOOP:
		check(s != NULL);
		check(!out.applied && !out.created && !out.conflict);
		check(out.next.data == NULL && out.next.version.n == 0);
		break;
	case DECIDE_FAIL:
		check(out.err == GW_EBADREQ || out.err == GW_ENOTFOUND ||
		      out.err == GW_EINVVER || out.err == GW_ECONFLICT ||
		      out.err == GW_EPRECOND);
		check(out.message != NULL);
		check(!out.applied && !out.created);
		check(out.next.data == NULL && out.next.version.n == 0);
		if (out.err == GW_ECONFLICT)
			check(out.conflict && in.policy == POLICY_REJECT);
		break;
	default:
		check(0);
	}
	decide_out_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct doc_limits lim = {4096, 16};
	static int ready;
	struct doc_write w;
	struct gw_error e;
	uint8_t ctl;
	int rc;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (size < 1)
		return 0;
	ctl = data[0];
	memset(&e, 0, sizeof(e));
	rc = doc_parse_write((const char *)data + 1, size - 1, ctl & 1, &lim, &w,
			     &e);
	if (rc) {
		check(rc == GW_EBADREQ || rc == GW_ETOOBIG);
		check(e.code == rc && e.msg[0] != '\0');
		check(w.data_json == NULL && !w.has_version && w.version.n == 0);
		return 0;
	}
	check_write(&w, ctl & 1);
	if (w.data_json) {
		/* data is JSON jansson reads, within the limit */
		json_t *v = json_loadb(w.data_json, w.data_json_len,
				       JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
				       NULL);

		check(v != NULL && w.data_json_len <= lim.data_max);
		json_decref(v);
	}
	run(&w, ctl);
	doc_write_release(&w);
	return 0;
}

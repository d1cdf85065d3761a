/*
 * decide.c - DESIGN.md section 4 write rules: version checks, the lww and
 * reject conflict policies, the callback policy's two halves (ask, then
 * store the answer), unconditional writes, If-Match and the timestamp
 * clamp. Pure: no I/O, time comes in through decide_in.
 */
#include "decide.h"
#include "strx.h"

#include <stdio.h>
#include <string.h>

static int fail(struct decide_out *out, int err, const char *msg)
{
	out->kind = DECIDE_FAIL;
	out->err = err;
	out->message = msg;
	return err;
}

/* The incoming state as the next document, with version w. */
static int take_incoming(const struct decide_in *in, const struct vv *w,
			 int64_t ts, struct decide_out *out)
{
	struct doc *n = &out->next;

	if (vv_copy(&n->version, w))
		return GW_ENOMEM;
	strx_copy(n->collection, sizeof(n->collection), in->collection);
	strx_copy(n->id, sizeof(n->id), in->id);
	strx_copy(n->actor, sizeof(n->actor), in->writer);
	n->timestamp = ts;
	n->deleted = in->is_delete;
	n->data = in->is_delete ? json_null() : NULL;
	if (!in->is_delete) {
		/* serialized once, when the body was checked against the limit */
		n->data_json = in->write->data_json;
		n->data_json_len = in->write->data_json_len;
	}
	out->kind = DECIDE_APPLY;
	out->applied = true;
	out->created = !in->is_delete && (!in->stored || in->stored->deleted);
	return 0;
}

static bool incoming_wins(const struct decide_in *in, int64_t ts)
{
	const struct doc *s = in->stored;

	if (ts != s->timestamp)
		return ts > s->timestamp;
	return strcmp(in->writer, s->actor) > 0;
}

static int resolve_conflict(const struct decide_in *in, const struct vv *w,
			     int64_t ts, struct decide_out *out)
{
	const struct doc *s = in->stored;
	struct vv merged = VV_INIT;

	if (in->policy == POLICY_CALLBACK) {
		/* the resolver decides: send it the incoming document as is */
		out->conflict = true;
		out->winner = "resolver";
		if (take_incoming(in, w, ts, out))
			return fail(out, GW_ENOMEM, "out of memory");
		out->kind = DECIDE_RESOLVE;
		out->applied = false;
		out->created = false;
		return 0;
	}
	if (in->policy == POLICY_REJECT) {
		out->conflict = true;
		out->winner = "stored";
		return fail(out, GW_ECONFLICT,
			    "concurrent write: merge with the stored document and write again");
	}
	if (vv_merge(w, &s->version, &merged))
		return fail(out, GW_EBADREQ, "merged version vector is too large");
	out->conflict = true;
	if (incoming_wins(in, ts)) {
		out->winner = "incoming";
		if (take_incoming(in, &merged, ts, out))
			fail(out, GW_ENOMEM, "out of memory");
	} else {
		/* the stored state stays, under the merged version: a change */
		out->winner = "stored";
		if (doc_copy(&out->next, s) == 0) {
			vv_release(&out->next.version);
			out->next.version = merged;
			merged = (struct vv)VV_INIT;
			out->next.offset[0] = '\0';
			out->kind = DECIDE_APPLY;
			out->applied = false;
		} else {
			fail(out, GW_ENOMEM, "out of memory");
		}
	}
	vv_release(&merged);
	return 0;
}

static int decide(const struct decide_in *in, struct decide_out *out)
{
	const struct doc_write *wr = in->write;
	const struct doc *s = in->stored;
	struct vv empty = VV_INIT, w = VV_INIT;
	const struct vv *sv = s ? &s->version : &empty;
	int64_t ts;

	if (in->if_match && wr->has_version)
		return fail(out, GW_EBADREQ,
			    "If-Match and a body version cannot be combined");
	if (in->is_delete && !s)
		return fail(out, GW_ENOTFOUND, "no such document");

	ts = in->now_ms;
	if (wr->has_timestamp && !in->server_clock) {
		ts = wr->timestamp;
		if (ts > in->now_ms + in->clamp_ms)
			ts = in->now_ms + in->clamp_ms;
	}
	out->ts = ts;

	if (in->if_match) {
		char etag[VV_ETAG_LEN + 1];

		if (!s)
			return fail(out, GW_EPRECOND, "no document to match");
		vv_etag(&s->version, etag);
		if (strcmp(in->if_match, "*") != 0 &&
		    strcmp(in->if_match, etag) != 0)
			return fail(out, GW_EPRECOND,
				    "the stored version is not the one If-Match names");
	}

	if (!wr->has_version) {
		/* unconditional: add 1 to the writer's entry of S */
		if (s && doc_same_state(s, wr->data_json, wr->data_json_len,
					  in->is_delete)) {
			out->kind = DECIDE_NOOP;
			return 0;
		}
		if (vv_copy(&w, sv) || vv_increment(&w, in->writer)) {
			vv_release(&w);
			return fail(out, GW_EBADREQ, "version cannot be incremented");
		}
		if (take_incoming(in, &w, ts, out))
			fail(out, GW_ENOMEM, "out of memory");
		vv_release(&w);
		return 0;
	}

	/* rule 1: only the server can tell a replica about other actors */
	if (vv_exceeds_for_others(&wr->version, sv, in->writer))
		return fail(out, GW_EINVVER,
			    "version claims edits of another actor that the stored "
			    "document does not have");

	switch (vv_compare(&wr->version, sv)) {
	case VV_DOMINATES: /* rule 2 */
		if (take_incoming(in, &wr->version, ts, out))
			return fail(out, GW_ENOMEM, "out of memory");
		return 0;
	case VV_EQUAL:     /* rule 3 */
		if (s && doc_same_state(s, wr->data_json, wr->data_json_len,
					  in->is_delete)) {
			out->kind = DECIDE_NOOP;
			return 0;
		}
		return fail(out, GW_EINVVER,
			    "version equals the stored one but the data differs: "
			    "a write must add to its own entry");
	case VV_DOMINATED: /* rule 4 */
		out->kind = DECIDE_NOOP;
		return 0;
	case VV_CONCURRENT: /* rule 5 */
	default:
		return resolve_conflict(in, &wr->version, ts, out);
	}
}

/* Entries of v that are subject's own actor or one of its devices. */
static size_t devices_of(const struct vv *v, const char *subject)
{
	size_t n = 0, len = strlen(subject);

	for (size_t i = 0; i < v->n; i++)
		if (strncmp(v->e[i].actor, subject, len) == 0 &&
		    (v->e[i].actor[len] == '\0' || v->e[i].actor[len] == ':'))
			n++;
	return n;
}

void decide_write(const struct decide_in *in, struct decide_out *out)
{
	memset(out, 0, sizeof(*out));
	doc_init(&out->next);
	decide(in, out);
	/* one subject may not fill a shared document's version with its own
	 * devices (the version is capped, so everyone else would be locked
	 * out): past the cap, a write that adds another is refused */
	if (in->subject && in->devices_max > 0 &&
	    (out->kind == DECIDE_APPLY || out->kind == DECIDE_RESOLVE)) {
		size_t now = devices_of(&out->next.version, in->subject);
		size_t had = in->stored ?
			devices_of(&in->stored->version, in->subject) : 0;

		if (now > (size_t)in->devices_max && now > had) {
			decide_out_release(out);
			memset(out, 0, sizeof(*out));
			doc_init(&out->next);
			fail(out, GW_EBADREQ, "the document's version holds the "
			     "most actors of this subject allowed "
			     "(limits.actors_per_subject): write as one of them");
		}
	}
}

void decide_out_release(struct decide_out *out)
{
	doc_release(&out->next);
}

void decide_resolved(const struct decide_in *in, json_t *data,
		     const char *data_json, size_t data_json_len, bool deleted,
		     struct decide_out *out)
{
	const struct doc *s = in->stored;
	struct doc *n = &out->next;

	memset(out, 0, sizeof(*out));
	doc_init(n);
	out->conflict = true;
	out->winner = "resolver";
	if (!s || !in->write->has_version) {
		fail(out, GW_EINTERNAL, "no conflict to resolve");
		return;
	}
	if (vv_merge(&in->write->version, &s->version, &n->version)) {
		fail(out, GW_EBADREQ, "merged version vector is too large");
		return;
	}
	strx_copy(n->collection, sizeof(n->collection), in->collection);
	strx_copy(n->id, sizeof(n->id), in->id);
	strx_copy(n->actor, sizeof(n->actor), in->writer);
	n->timestamp = in->now_ms;
	n->deleted = deleted;
	n->data = deleted || !data ? json_null() : json_incref(data);
	if (!deleted && data) {
		n->data_json = data_json;
		n->data_json_len = data_json_len;
	}
	out->kind = DECIDE_APPLY;
	out->applied = true;
	out->created = !deleted && !in->is_delete && s->deleted;
}

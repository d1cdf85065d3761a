/*
 * fuzz_vv.c - libFuzzer target for version vectors (DESIGN.md section 4).
 * Two vectors come from the input: as two JSON texts separated by '\n'
 * (through jsonx_parse and vv_from_json), or, when the input starts with
 * '#', from byte pairs (actor index, count) so that the algebra is reached
 * quickly. Checked: compare is antisymmetric and agrees with a naive
 * entry-wise comparison; merge is commutative, idempotent and dominates or
 * equals both; dumps are canonical and parse back; ETags are equal iff the
 * vectors are; the rule-1 check matches its definition.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "vv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static void check_vv(const struct vv *v)
{
	check(vv_check_invariants(v));
}

static enum vv_order inverse(enum vv_order o)
{
	return o == VV_DOMINATES ? VV_DOMINATED :
	       o == VV_DOMINATED ? VV_DOMINATES : o;
}

/* Entry-wise, by looking every actor of both up. */
static enum vv_order naive(const struct vv *a, const struct vv *b)
{
	int gt = 0, lt = 0;

	for (size_t i = 0; i < a->n; i++) {
		int64_t x = a->e[i].n, y = vv_get(b, a->e[i].actor);

		gt |= x > y;
		lt |= x < y;
	}
	for (size_t i = 0; i < b->n; i++) {
		int64_t x = vv_get(a, b->e[i].actor), y = b->e[i].n;

		gt |= x > y;
		lt |= x < y;
	}
	return gt && lt ? VV_CONCURRENT : gt ? VV_DOMINATES :
	       lt ? VV_DOMINATED : VV_EQUAL;
}

static int from_text(const char *s, size_t n, struct vv *out)
{
	struct gw_error e = {0};
	json_t *j = jsonx_parse(s, n, 4, &e);
	int rc;

	if (!j)
		return -1;
	rc = vv_from_json(j, out, &e);
	if (rc) {
		check(rc == GW_EBADREQ && e.msg[0] != '\0');
		check(out->n == 0);
	} else {
		check(out->n == json_object_size(j));
	}
	json_decref(j);
	return rc;
}

/* "#" mode: (actor index, count) byte pairs; a 0xff byte ends vector a. */
static void from_bytes(const uint8_t *d, size_t n, struct vv *a, struct vv *b)
{
	struct vv *cur = a;

	for (size_t i = 0; i < n; i++) {
		char name[8];
		int64_t count;

		if (d[i] == 0xff) {
			cur = b;
			continue;
		}
		if (i + 1 >= n)
			break;
		snprintf(name, sizeof(name), "a%u", d[i] % 24);
		count = d[i + 1] == 0xfe ? GW_MAX_SAFE_INT : d[i + 1] % 8;
		check(vv_set(cur, name, count) == 0);
		check(vv_get(cur, name) == count);
		i++;
	}
}

static void laws(const struct vv *a, const struct vv *b)
{
	struct vv ab = VV_INIT, ba = VV_INIT, aa = VV_INIT, c = VV_INIT;
	enum vv_order o = vv_compare(a, b);
	char ta[VV_ETAG_LEN + 1], tb[VV_ETAG_LEN + 1];
	struct sbuf sa = SBUF_INIT, sb = SBUF_INIT;

	check_vv(a);
	check_vv(b);
	check(o == naive(a, b));
	check(vv_compare(b, a) == inverse(o));
	check(vv_compare(a, a) == VV_EQUAL);
	if (vv_merge(a, b, &ab) == 0) {
		check(vv_merge(b, a, &ba) == 0);
		check_vv(&ab);
		check(vv_compare(&ab, &ba) == VV_EQUAL);
		check(vv_compare(&ab, a) == VV_EQUAL ||
		      vv_compare(&ab, a) == VV_DOMINATES);
		check(vv_compare(&ab, b) == VV_EQUAL ||
		      vv_compare(&ab, b) == VV_DOMINATES);
		for (size_t i = 0; i < ab.n; i++) {
			int64_t x = vv_get(a, ab.e[i].actor);
			int64_t y = vv_get(b, ab.e[i].actor);

			check(ab.e[i].n == (x > y ? x : y));
		}
		if (o == VV_DOMINATES || o == VV_EQUAL)
			check(vv_compare(&ab, a) == VV_EQUAL);
	} else {
		check(a->n + b->n > VV_MAX_ENTRIES);
	}
	check(vv_merge(a, a, &aa) == 0 && vv_compare(&aa, a) == VV_EQUAL);
	/* canonical dump: equal vectors, equal bytes; it parses back */
	vv_dump(a, &sa);
	vv_dump(b, &sb);
	check(!sbuf_failed(&sa) && !sbuf_failed(&sb));
	check((o == VV_EQUAL) == (sa.len == sb.len &&
				  memcmp(sa.buf, sb.buf, sa.len) == 0));
	check(from_text(sa.buf, sa.len, &c) == 0);
	check(vv_compare(&c, a) == VV_EQUAL);
	vv_etag(a, ta);
	vv_etag(b, tb);
	check(strlen(ta) == VV_ETAG_LEN);
	check((strcmp(ta, tb) == 0) == (o == VV_EQUAL));
	/* rule 1 for each of a's actors (and an absent one) as the writer */
	for (size_t i = 0; i <= a->n && i < 8; i++) {
		const char *w = i < a->n ? a->e[i].actor : "zz-absent";
		bool want = false;

		for (size_t k = 0; k < a->n; k++)
			if (strcmp(a->e[k].actor, w) != 0 &&
			    a->e[k].n > vv_get(b, a->e[k].actor))
				want = true;
		check(vv_exceeds_for_others(a, b, w) == want);
	}
	/* increment: one more for that actor, unless at the maximum */
	check(vv_copy(&c, a) == 0);
	if (a->n) {
		int64_t before = vv_get(a, a->e[0].actor);
		int rc = vv_increment(&c, a->e[0].actor);

		if (before == GW_MAX_SAFE_INT) {
			check(rc == GW_EBADREQ && vv_compare(&c, a) == VV_EQUAL);
		} else {
			check(rc == 0 && vv_compare(&c, a) == VV_DOMINATES);
			check(vv_get(&c, a->e[0].actor) == before + 1);
		}
	}
	sbuf_release(&sa);
	sbuf_release(&sb);
	vv_release(&ab);
	vv_release(&ba);
	vv_release(&aa);
	vv_release(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vv a = VV_INIT, b = VV_INIT;
	const char *in = (const char *)data;

	if (size > 0 && in[0] == '#') {
		from_bytes(data + 1, size - 1, &a, &b);
		laws(&a, &b);
	} else {
		const char *nl = memchr(in, '\n', size);
		size_t n1 = nl ? (size_t)(nl - in) : size;

		if (from_text(in, n1, &a) == 0 &&
		    from_text(nl ? nl + 1 : in + size,
			      nl ? size - n1 - 1 : 0, &b) == 0)
			laws(&a, &b);
	}
	vv_release(&a);
	vv_release(&b);
	return 0;
}

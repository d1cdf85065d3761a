/*
 * vv.c - version vector arithmetic and its JSON form. Pure: jansson for
 * input, OpenSSL only for the ETag digest.
 */
#include "vv.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "hex.h"

void vv_init(struct vv *v) { memset(v, 0, sizeof(*v)); }

void vv_release(struct vv *v)
{
	free(v->e);
	vv_init(v);
}

static int reserve(struct vv *v, size_t n)
{
	struct vv_entry *ne;
	size_t cap;

	if (n <= v->cap)
		return 0;
	cap = v->cap ? v->cap * 2 : 4;
	while (cap < n)
		cap *= 2;
	ne = realloc(v->e, cap * sizeof(*ne));
	if (!ne)
		return GW_ENOMEM;
	v->e = ne;
	v->cap = cap;
	return 0;
}

int vv_copy(struct vv *dst, const struct vv *src)
{
	vv_release(dst);
	if (reserve(dst, src->n))
		return GW_ENOMEM;
	if (src->n)
		memcpy(dst->e, src->e, src->n * sizeof(*src->e));
	dst->n = src->n;
	return 0;
}

/* Index of actor, or -(insertion point) - 1. */
static long find(const struct vv *v, const char *actor)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(v->e[mid].actor, actor);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

int64_t vv_get(const struct vv *v, const char *actor)
{
	long i = find(v, actor);

	return i >= 0 ? v->e[i].n : 0;
}

int vv_set(struct vv *v, const char *actor, int64_t n)
{
	size_t alen = strlen(actor);
	long i;

	if (!names_actor_valid(actor, alen) || n < 0 || n > GW_MAX_SAFE_INT)
		return GW_EBADREQ;
	i = find(v, actor);
	if (i >= 0) {
		if (n == 0) {
			memmove(&v->e[i], &v->e[i + 1],
				(v->n - (size_t)i - 1) * sizeof(*v->e));
			v->n--;
		} else {
			v->e[i].n = n;
		}
		return 0;
	}
	if (n == 0)
		return 0;
	if (v->n >= VV_MAX_ENTRIES)
		return GW_EBADREQ;
	if (reserve(v, v->n + 1))
		return GW_ENOMEM;
	i = -i - 1;
	memmove(&v->e[i + 1], &v->e[i], (v->n - (size_t)i) * sizeof(*v->e));
	memcpy(v->e[i].actor, actor, alen + 1);
	v->e[i].n = n;
	v->n++;
	return 0;
}

int vv_increment(struct vv *v, const char *actor)
{
	int64_t n = vv_get(v, actor);

	if (n >= GW_MAX_SAFE_INT)
		return GW_EBADREQ;
	return vv_set(v, actor, n + 1);
}

int vv_from_json(const json_t *obj, struct vv *out, struct gw_error *err)
{
	const char *actor;
	json_t *val;
	int rc;

	vv_release(out);
	if (!json_is_object(obj))
		return gw_fail(err, GW_EBADREQ, "version must be an object");
	if (json_object_size(obj) > VV_MAX_ENTRIES)
		return gw_fail(err, GW_EBADREQ, "version has more than %d entries",
			       VV_MAX_ENTRIES);
	json_object_foreach((json_t *)(uintptr_t)obj, actor, val) {
		int64_t n;

		if (!names_actor_valid(actor, strlen(actor))) {
			rc = gw_fail(err, GW_EBADREQ, "version: invalid actor name");
			goto fail;
		}
		if (!json_is_integer(val) || json_integer_value(val) < 1 ||
		    json_integer_value(val) > GW_MAX_SAFE_INT) {
			rc = gw_fail(err, GW_EBADREQ,
				     "version: counts must be integers in 1..2^53-1");
			goto fail;
		}
		n = (int64_t)json_integer_value(val);
		rc = vv_set(out, actor, n);
		if (rc) {
			gw_fail(err, rc, "version: cannot store entry");
			goto fail;
		}
	}
	return 0;
fail:
	vv_release(out);
	return rc;
}

void vv_dump(const struct vv *v, struct sbuf *sb)
{
	sbuf_addc(sb, '{');
	for (size_t i = 0; i < v->n; i++) {
		if (i)
			sbuf_addc(sb, ',');
		sbuf_add_json_str(sb, v->e[i].actor, strlen(v->e[i].actor));
		sbuf_addc(sb, ':');
		sbuf_add_i64(sb, v->e[i].n);
	}
	sbuf_addc(sb, '}');
}

/*
 * Walks two sorted vectors side by side: returns <0 when a's entry i comes
 * first (absent from b), >0 when b's entry j does, 0 when both name the
 * same actor. Only called while i < a->n or j < b->n.
 */
static int side(const struct vv *a, size_t i, const struct vv *b, size_t j)
{
	if (i == a->n)
		return 1;
	if (j == b->n)
		return -1;
	return strcmp(a->e[i].actor, b->e[j].actor);
}

enum vv_order vv_compare(const struct vv *a, const struct vv *b)
{
	bool a_gt = false, b_gt = false;
	size_t i = 0, j = 0;

	while (i < a->n || j < b->n) {
		int c = side(a, i, b, j);

		if (c < 0) {            /* only in a */
			a_gt = true;
			i++;
		} else if (c > 0) {     /* only in b */
			b_gt = true;
			j++;
		} else {
			if (a->e[i].n > b->e[j].n)
				a_gt = true;
			else if (a->e[i].n < b->e[j].n)
				b_gt = true;
			i++;
			j++;
		}
		if (a_gt && b_gt)
			return VV_CONCURRENT;
	}
	if (a_gt)
		return VV_DOMINATES;
	if (b_gt)
		return VV_DOMINATED;
	return VV_EQUAL;
}

int vv_merge(const struct vv *a, const struct vv *b, struct vv *out)
{
	size_t i = 0, j = 0;

	vv_release(out);
	if (reserve(out, a->n + b->n))
		return GW_ENOMEM;
	while (i < a->n || j < b->n) {
		int c = side(a, i, b, j);

		if (c < 0) {
			out->e[out->n++] = a->e[i++];
		} else if (c > 0) {
			out->e[out->n++] = b->e[j++];
		} else {
			out->e[out->n] = a->e[i];
			if (b->e[j].n > a->e[i].n)
				out->e[out->n].n = b->e[j].n;
			out->n++;
			i++;
			j++;
		}
	}
	if (out->n > VV_MAX_ENTRIES) {
		vv_release(out);
		return GW_EBADREQ;
	}
	return 0;
}

bool vv_exceeds_for_others(const struct vv *w, const struct vv *s,
			   const char *writer)
{
	for (size_t i = 0; i < w->n; i++) {
		if (strcmp(w->e[i].actor, writer) == 0)
			continue;
		if (w->e[i].n > vv_get(s, w->e[i].actor))
			return true;
	}
	return false;
}

bool vv_check_invariants(const struct vv *v)
{
	if (v->n > VV_MAX_ENTRIES || v->n > v->cap)
		return false;
	for (size_t i = 0; i < v->n; i++) {
		if (!names_actor_valid(v->e[i].actor, strlen(v->e[i].actor)) ||
		    v->e[i].n < 1 || v->e[i].n > GW_MAX_SAFE_INT ||
		    (i && strcmp(v->e[i - 1].actor, v->e[i].actor) >= 0))
			return false;
	}
	return true;
}

void vv_etag(const struct vv *v, char out[VV_ETAG_LEN + 1])
{
	unsigned char md[32];
	struct sbuf sb = SBUF_INIT;

	vv_dump(v, &sb);
	if (sbuf_failed(&sb) || !digest_sha256_of(sb.buf, sb.len, md))
		memset(md, 0, sizeof(md));
	sbuf_release(&sb);
	out[0] = '"';
	hex_encode(md, 16, out + 1);
	out[33] = '"';
	out[34] = '\0';
}

/*
 * redis_reply.c - decoders of the store's Redis replies: pure functions over
 * hiredis's redisReply tree (plain data; nothing of hiredis is called), so
 * the unit tests build replies by hand. Must not depend on a connection, the
 * loop or the log: the store logs and calls back with what they return.
 */
#include "redis_reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "strx.h"

/* ---- error replies ------------------------------------------------------- */

int reply_error(const redisReply *r)
{
	static const char *const temporary[] = {
		"OOM", "BUSY", "LOADING", "READONLY", "MASTERDOWN",
		"NOREPLICAS", "TRYAGAIN", "CLUSTERDOWN", "MISCONF"};

	if (r->type != REDIS_REPLY_ERROR)
		return GW_EINTERNAL;
	for (size_t i = 0; i < GW_ARRAY_LEN(temporary); i++)
		if (strncmp(r->str, temporary[i], strlen(temporary[i])) == 0)
			return GW_EUNAVAIL;
	return GW_EINTERNAL;
}

bool reply_is_noscript(const redisReply *r)
{
	return r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* ---- values -------------------------------------------------------------- */

bool reply_u64(const redisReply *r, uint64_t *out)
{
	if (r->type == REDIS_REPLY_INTEGER && r->integer >= 0) {
		*out = (uint64_t)r->integer;
		return true;
	}
	if (r->type == REDIS_REPLY_STRING)
		return offset_parse_seq(r->str, r->len, out) == 0;
	return false;
}

/* A string or nil element into *out; false for any other type. */
static bool str_or_nil(const redisReply *r, struct reply_str *out)
{
	if (r->type == REDIS_REPLY_NIL) {
		out->str = NULL;
		out->len = 0;
		return true;
	}
	if (r->type == REDIS_REPLY_STRING) {
		out->str = r->str;
		out->len = r->len;
		return true;
	}
	return false;
}

int reply_doc(const redisReply *r, struct reply_str *out)
{
	return str_or_nil(r, out) ? 0 : GW_EINTERNAL;
}

int reply_read(const redisReply *r, struct reply_read *out)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    !str_or_nil(r->element[0], &out->doc) ||
	    !str_or_nil(r->element[1], &out->rec))
		return GW_EINTERNAL;
	return 0;
}

int reply_write(const redisReply *r, struct reply_write *out)
{
	const char *kind;
	struct offset off;

	memset(out, 0, sizeof(*out));
	/* stored: a status reply holding the offset, the one reply per write
	 * that comes without an array (hiredis allocates per element) */
	if (r->type == REDIS_REPLY_STATUS) {
		if (offset_parse(r->str, r->len, &off))
			return GW_EINTERNAL;
		out->result = SW_OK;
		memcpy(out->epoch, off.epoch, strlen(off.epoch) + 1);
		out->seq = off.seq;
		return 0;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		return GW_EINTERNAL;
	kind = r->element[0]->str;
	if (strcmp(kind, "changed") == 0 && r->elements == 2 &&
	    str_or_nil(r->element[1], &out->rec)) {
		out->result = SW_CHANGED;
		return 0;
	}
	if (strcmp(kind, "stale") == 0 && r->elements == 3 &&
	    r->element[1]->type == REDIS_REPLY_STRING &&
	    reply_u64(r->element[2], &out->seq)) {
		out->result = SW_STALE;
		strx_copy(out->epoch, sizeof(out->epoch), r->element[1]->str);
		return 0;
	}
	if (strcmp(kind, "idem") == 0 && r->elements == 2 &&
	    r->element[1]->type == REDIS_REPLY_STRING) {
		out->result = SW_IDEM;
		out->rec.str = r->element[1]->str;
		out->rec.len = r->element[1]->len;
		return 0;
	}
	return GW_EINTERNAL;
}

int reply_record(const redisReply *r, struct reply_str *rec)
{
	rec->str = NULL;
	rec->len = 0;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		return GW_EINTERNAL;
	if (strcmp(r->element[0]->str, "ok") == 0)
		return 0;
	if (strcmp(r->element[0]->str, "idem") == 0 && r->elements == 2 &&
	    r->element[1]->type == REDIS_REPLY_STRING) {
		rec->str = r->element[1]->str;
		rec->len = r->element[1]->len;
		return 0;
	}
	return GW_EINTERNAL;
}

int reply_meta(const redisReply *r, struct reply_meta *out)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    !offset_epoch_valid(r->element[0]->str, r->element[0]->len) ||
	    !reply_u64(r->element[1], &out->seq) ||
	    !reply_u64(r->element[2], &out->base))
		return GW_EINTERNAL;
	out->epoch = r->element[0]->str;
	out->rotated = r->elements >= 4 &&
		       r->element[3]->type == REDIS_REPLY_INTEGER &&
		       r->element[3]->integer == 1;
	return 0;
}

/* ---- stream entries ------------------------------------------------------ */

/* The value of field name in a stream entry's [field, value, ...]: the
 * first pair whose field is name and whose value is a string. */
static const redisReply *entry_field(const redisReply *f, const char *name)
{
	for (size_t i = 0; i + 1 < f->elements; i += 2)
		if (f->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(f->element[i]->str, name) == 0 &&
		    f->element[i + 1]->type == REDIS_REPLY_STRING)
			return f->element[i + 1];
	return NULL;
}

/* One XRANGE entry [id, [field, value, ...]]: its id and "d" (and "c")
 * values, or false when it has another shape or no "d". */
static bool stream_entry(const redisReply *it, const redisReply **id,
			 const redisReply **d, const redisReply **c)
{
	if (it->type != REDIS_REPLY_ARRAY || it->elements != 2 ||
	    it->element[0]->type != REDIS_REPLY_STRING ||
	    it->element[1]->type != REDIS_REPLY_ARRAY)
		return false;
	*id = it->element[0];
	*d = entry_field(it->element[1], "d");
	if (c)
		*c = entry_field(it->element[1], "c");
	return *d != NULL;
}

int reply_log(const redisReply *r, struct reply_log *out)
{
	struct hub_entry *e = NULL;
	size_t n = 0;

	out->e = NULL;
	out->n = 0;
	if (r->type != REDIS_REPLY_ARRAY)
		return GW_EINTERNAL;
	if (r->elements && !(e = calloc(r->elements, sizeof(*e))))
		return GW_ENOMEM;
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *id, *d, *c;
		const char *dash = NULL;

		if (stream_entry(r->element[i], &id, &d, &c))
			dash = memchr(id->str, '-', id->len);
		if (!dash || offset_parse_seq(id->str, (size_t)(dash - id->str),
					      &e[n].seq)) {
			free(e);
			return GW_EINTERNAL;
		}
		e[n].doc = d->str;
		e[n].len = d->len;
		e[n].conflict = c ? c->str : NULL;
		e[n].clen = c ? c->len : 0;
		n++;
	}
	out->e = e;
	out->n = n;
	return 0;
}

int reply_list(const redisReply *r, struct reply_list *out)
{
	struct hub_entry *e = NULL;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    !reply_u64(r->element[1], &out->seq) ||
	    r->element[2]->type != REDIS_REPLY_STRING)
		return GW_EINTERNAL;
	n = r->elements - 3;
	if (n && !(e = calloc(n, sizeof(*e))))
		return GW_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const redisReply *d = r->element[i + 3];

		if (d->type != REDIS_REPLY_STRING) {
			free(e);
			return GW_EINTERNAL;
		}
		e[i].doc = d->str;
		e[i].len = d->len;
	}
	out->epoch = r->element[0]->str;
	out->next = r->element[2]->str;
	out->docs = e;
	out->n = n;
	return 0;
}

int reply_trail(const redisReply *r, struct reply_trail *out)
{
	struct store_trail_entry *e = NULL;
	size_t n = 0;

	out->e = NULL;
	out->n = 0;
	if (r->type != REDIS_REPLY_ARRAY)
		return GW_EINTERNAL;
	if (r->elements && !(e = calloc(r->elements, sizeof(*e))))
		return GW_ENOMEM;
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *id, *d;

		if (!stream_entry(r->element[i], &id, &d, NULL)) {
			free(e);
			return GW_EINTERNAL;
		}
		e[n].id = id->str;
		e[n].json = d->str;
		e[n].len = d->len;
		n++;
	}
	out->e = e;
	out->n = n;
	return 0;
}

/*
 * redis_store.c - document, log and head operations on the command
 * connection, the embedded Lua scripts (EVALSHA, falling back to EVAL on
 * NOSCRIPT) and the readiness checks. Adapter: hiredis in, plain values out.
 */
#include "redis_store.h"

#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "keys.h"
#include "log.h"
#include "lua_scripts.h"
#include "metrics.h"
#include "offset.h"

enum script_id {
	SC_WRITE, SC_META, SC_ROTATE, SC_LIST, SC_READ, SC_RECORD, SC_COUNT_
};

struct script {
	const char *src;
	size_t len;
	char sha[41];
};

enum op_kind {
	OP_GET, OP_READ, OP_WRITE, OP_RECORD, OP_META, OP_ROTATE, OP_LOG,
	OP_LIST, OP_TRAIL
};

#define OP_MAXARG 24

union op_cb {
	store_doc_fn doc;
	store_read_fn read;
	store_write_fn write;
	store_record_fn record;
	store_meta_fn meta;
	store_log_fn log;
	store_list_fn list;
	store_trail_fn trail;
};

struct op {
	struct store *s;
	enum op_kind kind;
	union op_cb cb;
	void *arg;
	int script; /* -1: plain command */
	int argc;
	const char *argv[OP_MAXARG];
	size_t lens[OP_MAXARG];
	char keys[8][KEYS_MAX];
	char nums[6][32];
	char epoch[OFFSET_EPOCH_MAX + 1];
	char coll[NAMES_COLLECTION_MAX + 1];
	char strs[1024]; /* copies of small arguments (a NOSCRIPT retry
			    re-sends argv after the caller has moved on) */
	size_t nstrs;
};

struct store {
	struct rconn *conn;
	struct script scripts[SC_COUNT_];
	struct store_opts o;
	bool checked;        /* INFO checks passed on this connection */
	char status[160];
	char run_id[48];
	uv_timer_t recheck;
	bool closing;
};

static void run_checks(struct store *s);

/* ---- helpers ------------------------------------------------------------ */

void store_new_epoch(char *buf)
{
	unsigned char rnd[12];

	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		for (size_t i = 0; i < sizeof(rnd); i++)
			rnd[i] = (unsigned char)rand();
	}
	offset_epoch_from_bytes(rnd, sizeof(rnd), buf);
}

static void sha1_hex(const char *src, size_t len, char out[41])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(src, len, md, &n, EVP_sha1(), NULL);
	for (unsigned int i = 0; i < 20; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[40] = '\0';
}

/* Maps an error reply: refusals Redis means as temporary are 503. */
static int error_reply(struct store *s, const redisReply *r, const char *what)
{
	static const char *const temporary[] = {
		"OOM", "BUSY", "LOADING", "READONLY", "MASTERDOWN",
		"NOREPLICAS", "TRYAGAIN", "CLUSTERDOWN", "MISCONF"};

	for (size_t i = 0; i < GW_ARRAY_LEN(temporary); i++) {
		size_t n = strlen(temporary[i]);

		if (strncmp(r->str, temporary[i], n) == 0) {
			log_warn("redis refused %s: %.200s", what, r->str);
			return GW_EUNAVAIL;
		}
	}
	GW_UNUSED(s);
	log_error("redis error on %s: %.200s", what, r->str);
	return GW_EINTERNAL;
}

static bool reply_u64(const redisReply *r, uint64_t *out)
{
	if (r->type == REDIS_REPLY_INTEGER && r->integer >= 0) {
		*out = (uint64_t)r->integer;
		return true;
	}
	if (r->type == REDIS_REPLY_STRING)
		return offset_parse_seq(r->str, r->len, out) == 0;
	return false;
}

static struct op *op_new(struct store *s, enum op_kind kind, union op_cb cb,
			 void *arg, const char *coll)
{
	struct op *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->s = s;
	o->kind = kind;
	o->cb = cb;
	o->arg = arg;
	o->script = -1;
	snprintf(o->coll, sizeof(o->coll), "%s", coll ? coll : "");
	return o;
}

static void op_arg(struct op *o, const char *p, size_t len)
{
	o->argv[o->argc] = p;
	o->lens[o->argc] = len;
	o->argc++;
}

static void op_args(struct op *o, const char *p) { op_arg(o, p, strlen(p)); }

/* Like op_args, but the op keeps its own copy (names are short: bounded
 * by the name limits, well inside strs). */
static void op_args_copy(struct op *o, const char *p)
{
	size_t n = strlen(p);
	char *dst = o->strs + o->nstrs;

	if (o->nstrs + n + 1 > sizeof(o->strs))
		n = sizeof(o->strs) - o->nstrs - 1;
	memcpy(dst, p, n);
	dst[n] = '\0';
	o->nstrs += n + 1;
	op_arg(o, dst, n);
}

static const char *op_key(struct op *o, int i, enum keys_kind k)
{
	keys_format(k, o->coll, o->keys[i]);
	return o->keys[i];
}

static const char *op_num(struct op *o, int i, uint64_t v)
{
	snprintf(o->nums[i], sizeof(o->nums[i]), "%llu", (unsigned long long)v);
	return o->nums[i];
}

static void op_reply(struct rconn *c, int err, redisReply *r, void *arg);

/* Sends o; on failure o is freed and the error returned (no callback). */
static int op_send(struct op *o)
{
	int rc = rconn_command(o->s->conn, op_reply, o, o->argc, o->argv, o->lens);

	if (rc)
		free(o);
	return rc;
}

/* Starts a script call: argv[0..1] are EVALSHA sha, filled here. */
static int op_script(struct op *o, enum script_id id)
{
	o->script = (int)id;
	o->argv[0] = "EVALSHA";
	o->lens[0] = 7;
	o->argv[1] = o->s->scripts[id].sha;
	o->lens[1] = 40;
	return op_send(o);
}

/* ---- answers ------------------------------------------------------------- */

static void answer_fail(struct op *o, int err)
{
	switch (o->kind) {
	case OP_GET:
		o->cb.doc(o->arg, err, NULL, 0);
		break;
	case OP_READ:
		o->cb.read(o->arg, err, NULL, 0, NULL, 0);
		break;
	case OP_WRITE:
		o->cb.write(o->arg, err, SW_OK, "", 0, NULL, 0);
		break;
	case OP_RECORD:
		o->cb.record(o->arg, err, NULL, 0);
		break;
	case OP_TRAIL:
		o->cb.trail(o->arg, err, NULL, 0);
		break;
	case OP_META:
	case OP_ROTATE:
		o->cb.meta(o->arg, err, "", 0, 0);
		break;
	case OP_LOG:
		o->cb.log(o->arg, err, NULL, 0);
		break;
	case OP_LIST:
		o->cb.list(o->arg, err, "", 0, "", NULL, 0);
		break;
	}
}

static int parse_meta(const redisReply *r, const char **epoch, uint64_t *seq,
		      uint64_t *base)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    !offset_epoch_valid(r->element[0]->str, r->element[0]->len) ||
	    !reply_u64(r->element[1], seq) || !reply_u64(r->element[2], base))
		return GW_EINTERNAL;
	*epoch = r->element[0]->str;
	return 0;
}

static int answer_write(struct op *o, const redisReply *r)
{
	const char *kind;
	struct offset off;

	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		return GW_EINTERNAL;
	kind = r->element[0]->str;
	if (strcmp(kind, "ok") == 0 && r->elements == 2 &&
	    r->element[1]->type == REDIS_REPLY_STRING &&
	    offset_parse(r->element[1]->str, r->element[1]->len, &off) == 0) {
		o->cb.write(o->arg, 0, SW_OK, off.epoch, off.seq, NULL, 0);
		return 0;
	}
	if (strcmp(kind, "changed") == 0) {
		o->cb.write(o->arg, 0, SW_CHANGED, "", 0, NULL, 0);
		return 0;
	}
	if (strcmp(kind, "stale") == 0 && r->elements == 3 &&
	    r->element[1]->type == REDIS_REPLY_STRING &&
	    reply_u64(r->element[2], &off.seq)) {
		snprintf(off.epoch, sizeof(off.epoch), "%s", r->element[1]->str);
		o->cb.write(o->arg, 0, SW_STALE, off.epoch, off.seq, NULL, 0);
		return 0;
	}
	if (strcmp(kind, "idem") == 0 && r->elements == 2 &&
	    r->element[1]->type == REDIS_REPLY_STRING) {
		o->cb.write(o->arg, 0, SW_IDEM, "", 0, r->element[1]->str,
			    r->element[1]->len);
		return 0;
	}
	return GW_EINTERNAL;
}

/* read.lua: {doc|nil, record|nil} */
static int answer_read(struct op *o, const redisReply *r)
{
	const redisReply *d, *rec;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
		return GW_EINTERNAL;
	d = r->element[0];
	rec = r->element[1];
	if ((d->type != REDIS_REPLY_NIL && d->type != REDIS_REPLY_STRING) ||
	    (rec->type != REDIS_REPLY_NIL && rec->type != REDIS_REPLY_STRING))
		return GW_EINTERNAL;
	o->cb.read(o->arg, 0, d->type == REDIS_REPLY_STRING ? d->str : NULL,
		   d->type == REDIS_REPLY_STRING ? d->len : 0,
		   rec->type == REDIS_REPLY_STRING ? rec->str : NULL,
		   rec->type == REDIS_REPLY_STRING ? rec->len : 0);
	return 0;
}

/* record.lua: {"ok"} | {"idem", record} */
static int answer_record(struct op *o, const redisReply *r)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		return GW_EINTERNAL;
	if (strcmp(r->element[0]->str, "ok") == 0) {
		o->cb.record(o->arg, 0, NULL, 0);
		return 0;
	}
	if (strcmp(r->element[0]->str, "idem") == 0 && r->elements == 2 &&
	    r->element[1]->type == REDIS_REPLY_STRING) {
		o->cb.record(o->arg, 0, r->element[1]->str, r->element[1]->len);
		return 0;
	}
	return GW_EINTERNAL;
}

/* The value of field name in a stream entry's [field, value, ...]. */
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
 * values, or false when it has another shape. */
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

/* XRANGE of the trail: [[id, ["d", entry]], ...] */
static int answer_trail(struct op *o, const redisReply *r)
{
	struct store_trail_entry *e = NULL;
	size_t n = 0;
	int rc = 0;

	if (r->type != REDIS_REPLY_ARRAY)
		return GW_EINTERNAL;
	if (r->elements && !(e = calloc(r->elements, sizeof(*e))))
		return GW_ENOMEM;
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *id, *d;

		if (!stream_entry(r->element[i], &id, &d, NULL)) {
			rc = GW_EINTERNAL;
			break;
		}
		e[n].id = id->str;
		e[n].json = d->str;
		e[n].len = d->len;
		n++;
	}
	if (!rc)
		o->cb.trail(o->arg, 0, e, n);
	free(e);
	return rc;
}

/* XRANGE reply: [[id, ["d", document, ("c", conflict)]], ...] */
static int answer_log(struct op *o, const redisReply *r)
{
	struct hub_entry *e = NULL;
	size_t n = 0;
	int rc = 0;

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
			rc = GW_EINTERNAL;
			break;
		}
		e[n].doc = d->str;
		e[n].len = d->len;
		e[n].conflict = c ? c->str : NULL;
		e[n].clen = c ? c->len : 0;
		n++;
	}
	if (!rc)
		o->cb.log(o->arg, 0, e, n);
	free(e);
	return rc;
}

static int answer_list(struct op *o, const redisReply *r)
{
	struct hub_entry *e = NULL;
	const char *epoch;
	uint64_t seq;
	size_t n;

	if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    !reply_u64(r->element[1], &seq) ||
	    r->element[2]->type != REDIS_REPLY_STRING)
		return GW_EINTERNAL;
	epoch = r->element[0]->str;
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
	o->cb.list(o->arg, 0, epoch, seq, r->element[2]->str, e, n);
	free(e);
	return 0;
}

static void op_reply(struct rconn *c, int err, redisReply *r, void *arg)
{
	struct op *o = arg;
	const char *epoch;
	uint64_t seq, base;
	int rc = 0;

	GW_UNUSED(c);
	if (err) {
		answer_fail(o, err);
		free(o);
		return;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		if (o->script >= 0 && strncmp(r->str, "NOSCRIPT", 8) == 0 &&
		    strcmp(o->argv[0], "EVAL") != 0) {
			/* not executed: send the source instead */
			const struct script *sc = &o->s->scripts[o->script];

			o->argv[0] = "EVAL";
			o->lens[0] = 4;
			o->argv[1] = sc->src;
			o->lens[1] = sc->len;
			if (rconn_command(o->s->conn, op_reply, o, o->argc, o->argv,
					  o->lens) == 0)
				return;
			answer_fail(o, GW_ENOMEM);
			free(o);
			return;
		}
		answer_fail(o, error_reply(o->s, r, o->argv[0]));
		free(o);
		return;
	}
	switch (o->kind) {
	case OP_GET:
		if (r->type == REDIS_REPLY_NIL)
			o->cb.doc(o->arg, 0, NULL, 0);
		else if (r->type == REDIS_REPLY_STRING)
			o->cb.doc(o->arg, 0, r->str, r->len);
		else
			rc = GW_EINTERNAL;
		break;
	case OP_READ:
		rc = answer_read(o, r);
		break;
	case OP_WRITE:
		rc = answer_write(o, r);
		break;
	case OP_RECORD:
		rc = answer_record(o, r);
		break;
	case OP_TRAIL:
		rc = answer_trail(o, r);
		break;
	case OP_META:
	case OP_ROTATE:
		rc = parse_meta(r, &epoch, &seq, &base);
		if (!rc) {
			if (o->kind == OP_ROTATE && r->elements >= 4 &&
			    r->element[3]->type == REDIS_REPLY_INTEGER &&
			    r->element[3]->integer == 1) {
				metrics.epoch_rotations++;
				log_warn("collection \"%s\": Redis lost changes this "
					 "gateway had seen; new epoch %s",
					 o->coll, epoch);
			}
			o->cb.meta(o->arg, 0, epoch, seq, base);
		}
		break;
	case OP_LOG:
		rc = answer_log(o, r);
		break;
	case OP_LIST:
		rc = answer_list(o, r);
		break;
	}
	if (rc) {
		log_error("unexpected redis reply to %s on \"%s\"", o->argv[0],
			  o->coll);
		answer_fail(o, rc);
	}
	free(o);
}

/* ---- operations ------------------------------------------------------------ */

int store_get(struct store *s, const char *coll, const char *id,
	      store_doc_fn cb, void *arg)
{
	struct op *o = op_new(s, OP_GET, (union op_cb){.doc = cb}, arg, coll);

	if (!o)
		return GW_ENOMEM;
	op_args(o, "HGET");
	op_args(o, op_key(o, 0, KEYS_DOCS));
	op_args_copy(o, id);
	return op_send(o);
}

/* The idempotency record's key of scope (or of "" for none: a name in the
 * collection's slot that is never written). */
static const char *op_idem_key(struct op *o, int i, const char *scope)
{
	keys_format_idem(o->coll, scope ? scope : "", o->keys[i]);
	return o->keys[i];
}

int store_read(struct store *s, const char *coll, const char *id,
	       const char *scope, store_read_fn cb, void *arg)
{
	struct op *o = op_new(s, OP_READ, (union op_cb){.read = cb}, arg, coll);

	if (!o)
		return GW_ENOMEM;
	o->argc = 2; /* EVALSHA sha */
	op_args(o, "2");
	op_args(o, op_key(o, 0, KEYS_DOCS));
	op_args(o, op_idem_key(o, 1, scope));
	op_args_copy(o, id);
	return op_script(o, SC_READ);
}

int store_write(struct store *s, const struct store_write_args *a,
		store_write_fn cb, void *arg)
{
	struct op *o = op_new(s, OP_WRITE, (union op_cb){.write = cb}, arg, a->coll);

	if (!o)
		return GW_ENOMEM;
	o->argc = 2; /* EVALSHA sha */
	op_args(o, "6");
	op_args(o, op_key(o, 0, KEYS_DOCS));
	op_args(o, op_key(o, 1, KEYS_LOG));
	op_args(o, op_key(o, 2, KEYS_META));
	op_args(o, op_key(o, 3, KEYS_IDS));
	op_args(o, op_key(o, 4, KEYS_CONFLICTS));
	op_args(o, op_idem_key(o, 5, a->scope));
	op_args_copy(o, a->id);
	op_args_copy(o, a->expected);
	op_arg(o, a->doc, a->doc_len);
	store_new_epoch(o->epoch);
	op_args(o, o->epoch);
	op_args_copy(o, a->known_epoch);
	op_args(o, op_num(o, 0, a->min_seq));
	op_args(o, op_num(o, 1, a->history));
	op_args(o, op_key(o, 6, KEYS_LIVE));
	op_arg(o, a->conflict ? a->conflict : "", a->conflict ? a->conflict_len : 0);
	op_args(o, op_num(o, 2, a->conflict_history ? a->conflict_history : 1));
	op_arg(o, a->scope ? a->rec_head : "", a->scope ? a->rec_head_len : 0);
	op_arg(o, a->scope ? a->answer_tail : "", a->scope ? a->answer_tail_len : 0);
	op_args(o, op_num(o, 3, a->idem_ttl_s > 0 ? (uint64_t)a->idem_ttl_s : 1));
	return op_script(o, SC_WRITE);
}

int store_record(struct store *s, const struct store_record_args *a,
		 store_record_fn cb, void *arg)
{
	struct op *o = op_new(s, OP_RECORD, (union op_cb){.record = cb}, arg, a->coll);

	if (!o)
		return GW_ENOMEM;
	o->argc = 2; /* EVALSHA sha */
	op_args(o, "3");
	op_args(o, op_key(o, 0, KEYS_META));
	op_args(o, op_key(o, 1, KEYS_CONFLICTS));
	op_args(o, op_idem_key(o, 2, a->scope));
	op_arg(o, a->conflict ? a->conflict : "", a->conflict ? a->conflict_len : 0);
	op_args(o, op_num(o, 0, a->conflict_history ? a->conflict_history : 1));
	op_args(o, op_key(o, 3, KEYS_LIVE));
	op_arg(o, a->scope ? a->rec : "", a->scope ? a->rec_len : 0);
	op_args(o, op_num(o, 1, a->idem_ttl_s > 0 ? (uint64_t)a->idem_ttl_s : 1));
	return op_script(o, SC_RECORD);
}

int store_meta(struct store *s, const char *coll, store_meta_fn cb, void *arg)
{
	struct op *o = op_new(s, OP_META, (union op_cb){.meta = cb}, arg, coll);

	if (!o)
		return GW_ENOMEM;
	o->argc = 2;
	op_args(o, "2");
	op_args(o, op_key(o, 0, KEYS_META));
	op_args(o, op_key(o, 1, KEYS_LOG));
	store_new_epoch(o->epoch);
	op_args(o, o->epoch);
	return op_script(o, SC_META);
}

int store_rotate(struct store *s, const char *coll, const char *epoch,
		 uint64_t min_seq, store_meta_fn cb, void *arg)
{
	struct op *o = op_new(s, OP_ROTATE, (union op_cb){.meta = cb}, arg, coll);

	if (!o)
		return GW_ENOMEM;
	o->argc = 2;
	op_args(o, "1");
	op_args(o, op_key(o, 0, KEYS_META));
	op_args_copy(o, epoch);
	op_args(o, op_num(o, 0, min_seq));
	store_new_epoch(o->epoch);
	op_args(o, o->epoch);
	return op_script(o, SC_ROTATE);
}

int store_log(struct store *s, const char *coll, uint64_t from, size_t count,
	      store_log_fn cb, void *arg)
{
	struct op *o = op_new(s, OP_LOG, (union op_cb){.log = cb}, arg, coll);

	if (!o)
		return GW_ENOMEM;
	op_args(o, "XRANGE");
	op_args(o, op_key(o, 0, KEYS_LOG));
	snprintf(o->nums[0], sizeof(o->nums[0]), "%llu-0", (unsigned long long)from);
	op_args(o, o->nums[0]);
	op_args(o, "+");
	op_args(o, "COUNT");
	op_args(o, op_num(o, 1, count));
	return op_send(o);
}

int store_list(struct store *s, const char *coll, const char *after,
	       size_t limit, bool include_deleted, store_list_fn cb, void *arg)
{
	struct op *o = op_new(s, OP_LIST, (union op_cb){.list = cb}, arg, coll);

	if (!o)
		return GW_ENOMEM;
	o->argc = 2;
	op_args(o, "4");
	op_args(o, op_key(o, 0, KEYS_IDS));
	op_args(o, op_key(o, 1, KEYS_DOCS));
	op_args(o, op_key(o, 2, KEYS_META));
	op_args(o, op_key(o, 3, KEYS_LOG));
	op_args_copy(o, after);
	op_args(o, op_num(o, 0, limit));
	op_args(o, include_deleted ? "1" : "0");
	store_new_epoch(o->epoch);
	op_args(o, o->epoch);
	return op_script(o, SC_LIST);
}

int store_conflicts(struct store *s, const char *coll, const char *after,
		    size_t count, store_trail_fn cb, void *arg)
{
	struct op *o = op_new(s, OP_TRAIL, (union op_cb){.trail = cb}, arg, coll);

	if (!o)
		return GW_ENOMEM;
	op_args(o, "XRANGE");
	op_args(o, op_key(o, 0, KEYS_CONFLICTS));
	if (after && *after)
		snprintf(o->nums[0], sizeof(o->nums[0]), "(%.30s", after);
	else
		snprintf(o->nums[0], sizeof(o->nums[0]), "-");
	op_args(o, o->nums[0]);
	op_args(o, "+");
	op_args(o, "COUNT");
	op_args(o, op_num(o, 1, count));
	return op_send(o);
}

static void ignore_reply(struct rconn *c, int err, redisReply *r, void *arg)
{
	GW_UNUSED(c);
	GW_UNUSED(err);
	GW_UNUSED(r);
	GW_UNUSED(arg);
}

int store_publish(struct store *s, const char *channel, const char *payload)
{
	const char *argv[3] = {"PUBLISH", channel, payload};
	size_t lens[3] = {7, strlen(channel), strlen(payload)};

	return rconn_command(s->conn, ignore_reply, NULL, 3, argv, lens);
}

/* ---- readiness checks ------------------------------------------------------ */

/* Finds "key:value" in an INFO reply; copies value (up to cap - 1). */
static bool info_field(const char *info, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key);
	const char *p = info;

	while ((p = strstr(p, key)) != NULL) {
		if ((p == info || p[-1] == '\n') && p[klen] == ':') {
			size_t n = strcspn(p + klen + 1, "\r\n");

			if (n >= cap)
				n = cap - 1;
			memcpy(out, p + klen + 1, n);
			out[n] = '\0';
			return true;
		}
		p += klen;
	}
	return false;
}

static void info_reply(struct rconn *c, int err, redisReply *r, void *arg)
{
	struct store *s = arg;
	char policy[32] = "", run_id[48] = "", version[24] = "";

	GW_UNUSED(c);
	if (err || !r || r->type != REDIS_REPLY_STRING) {
		snprintf(s->status, sizeof(s->status), "redis INFO failed");
		return;
	}
	info_field(r->str, "maxmemory_policy", policy, sizeof(policy));
	info_field(r->str, "run_id", run_id, sizeof(run_id));
	info_field(r->str, "redis_version", version, sizeof(version));
	if (strcmp(policy, "noeviction") != 0) {
		if (!s->checked || strcmp(s->status, "") == 0)
			log_error("redis maxmemory-policy is \"%s\": it would evict "
				  "documents and change logs silently; set it to "
				  "noeviction. Not ready until then.", policy);
		snprintf(s->status, sizeof(s->status),
			 "redis maxmemory-policy is %s, not noeviction", policy);
		s->checked = false;
		return;
	}
	if (atoi(version) < 7) {
		snprintf(s->status, sizeof(s->status),
			 "redis %s is too old (7.0 or later needed)", version);
		log_error("%s", s->status);
		return;
	}
	if (s->run_id[0] && strcmp(s->run_id, run_id) != 0)
		log_warn("redis restarted (run_id changed): checking every live "
			 "collection for lost changes");
	snprintf(s->run_id, sizeof(s->run_id), "%s", run_id);
	s->status[0] = '\0';
	if (!s->checked) {
		s->checked = true;
		if (s->o.reconnected)
			s->o.reconnected(s->o.ctx);
	}
}

static void load_reply(struct rconn *c, int err, redisReply *r, void *arg)
{
	GW_UNUSED(c);
	GW_UNUSED(arg);
	if (!err && r && r->type == REDIS_REPLY_ERROR)
		log_error("redis SCRIPT LOAD failed: %.200s", r->str);
}

static void run_checks(struct store *s)
{
	const char *argv[3] = {"INFO", NULL, NULL};
	size_t lens[3] = {4, 0, 0};

	if (!rconn_is_up(s->conn))
		return;
	for (int i = 0; i < SC_COUNT_; i++) {
		argv[0] = "SCRIPT";
		argv[1] = "LOAD";
		argv[2] = s->scripts[i].src;
		lens[0] = 6;
		lens[1] = 4;
		lens[2] = s->scripts[i].len;
		if (rconn_command(s->conn, load_reply, s, 3, argv, lens))
			return; /* out of memory: the recheck timer tries again */
	}
	argv[0] = "INFO";
	lens[0] = 4;
	if (rconn_command(s->conn, info_reply, s, 1, argv, lens))
		snprintf(s->status, sizeof(s->status), "out of memory");
}

static void conn_up(struct rconn *c, void *ctx)
{
	struct store *s = ctx;

	GW_UNUSED(c);
	metrics.redis_cmd_up = 1;
	metrics.redis_reconnects++;
	s->checked = false;
	snprintf(s->status, sizeof(s->status), "checking redis");
	run_checks(s);
}

static void conn_down(struct rconn *c, void *ctx)
{
	struct store *s = ctx;

	GW_UNUSED(c);
	metrics.redis_cmd_up = 0;
	s->checked = false;
	snprintf(s->status, sizeof(s->status), "redis unreachable");
}

static void recheck_cb(uv_timer_t *t)
{
	struct store *s = t->data;

	/* catches a CONFIG SET maxmemory-policy made while running */
	run_checks(s);
}

struct store *store_new(uv_loop_t *loop, const struct store_opts *opts)
{
	static const struct {
		const char *src;
		const size_t *len;
	} src[SC_COUNT_] = {
		[SC_WRITE] = {lua_write, &lua_write_len},
		[SC_META] = {lua_meta, &lua_meta_len},
		[SC_ROTATE] = {lua_rotate, &lua_rotate_len},
		[SC_LIST] = {lua_list, &lua_list_len},
		[SC_READ] = {lua_read, &lua_read_len},
		[SC_RECORD] = {lua_record, &lua_record_len},
	};
	struct store *s = calloc(1, sizeof(*s));
	struct rconn_opts co;

	if (!s)
		return NULL;
	s->o = *opts;
	for (int i = 0; i < SC_COUNT_; i++) {
		s->scripts[i].src = src[i].src;
		s->scripts[i].len = *src[i].len;
		sha1_hex(src[i].src, *src[i].len, s->scripts[i].sha);
	}
	snprintf(s->status, sizeof(s->status), "connecting to redis");
	co = opts->conn;
	co.up = conn_up;
	co.down = conn_down;
	co.ctx = s;
	co.message = NULL;
	s->conn = rconn_new(loop, &co);
	if (!s->conn) {
		free(s);
		return NULL;
	}
	uv_timer_init(loop, &s->recheck);
	s->recheck.data = s;
	uv_timer_start(&s->recheck, recheck_cb, 10000, 10000);
	return s;
}

static void recheck_closed(uv_handle_t *h) { free(h->data); }

void store_free(struct store *s)
{
	if (!s)
		return;
	rconn_free(s->conn);
	uv_close((uv_handle_t *)&s->recheck, recheck_closed);
}

bool store_ready(const struct store *s)
{
	return rconn_is_up(s->conn) && s->checked && s->status[0] == '\0';
}

const char *store_status(const struct store *s) { return s->status; }

/*
 * redis_store.c - the operations of redis_store.h on the command
 * connection: each builds its command or script call in one struct op,
 * sends it, decodes the answer (redis_reply.c) and calls back once. Scripts
 * are redis_scripts.c's, the readiness checks redis_health.c's, key names
 * keys.c's. Adapter: hiredis in, plain values out.
 */
#include "redis_store.h"

#include <hiredis/hiredis.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "offset.h"
#include "cluster_slots.h"
#include "redis_cluster.h"
#include "redis_health.h"
#include "redis_reply.h"
#include "redis_scripts.h"
#include "strx.h"

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
	struct store *s;  /* borrowed */
	enum op_kind kind;
	union op_cb cb;
	void *arg;        /* borrowed: the caller's, for cb */
	int script;       /* enum script_id; -1: plain command */
	int slot;         /* the collection's cluster slot; -1: none */
	int argc;
	const char *argv[OP_MAXARG]; /* borrowed: this op's buffers, the
					caller's strings, the script table */
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
	const char *trust;      /* "1": lossless_restarts, else "0" */
	const char *sharded;    /* "1": a cluster (SPUBLISH), else "0" */
	size_t page_bytes;      /* store_opts.page_bytes */
	struct rconn *conn;     /* owned; NULL in cluster mode */
	struct health *health;  /* owned; NULL in cluster mode */
	struct scripts scripts; /* health borrows it */
	/* cluster mode: the nodes' connections and one health per node */
	uv_loop_t *loop;
	struct rcluster *cluster;                   /* owned */
	struct health *healths[CLUSTER_NODES_MAX];  /* owned */
	int healths_open;       /* store_free: healths not yet closed */
	void (*reconnected)(void *ctx);
	void *ctx;              /* borrowed, for reconnected */
	void (*map_hook)(void *ctx);
	void *map_ctx;          /* borrowed */
};

/* ---- helpers ------------------------------------------------------------ */

/* A write proposes a new epoch in case its collection needs one (most
 * never do), so this runs per write: the random bytes come from a pool
 * refilled 128 epochs at a time (one RAND_bytes call costs about as much
 * as the rest of this function's caller). Loop thread only. */
#define EPOCH_BYTES 12

void store_new_epoch(char *buf)
{
	static unsigned char pool[EPOCH_BYTES * 128];
	static size_t used = sizeof(pool);
	const unsigned char *rnd;

	if (used == sizeof(pool)) {
		if (RAND_bytes(pool, sizeof(pool)) != 1) {
			for (size_t i = 0; i < sizeof(pool); i++)
				pool[i] = (unsigned char)rand();
		}
		used = 0;
	}
	rnd = pool + used;
	used += EPOCH_BYTES;
	offset_epoch_from_bytes(rnd, EPOCH_BYTES, buf);
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
	strx_copy(o->coll, sizeof(o->coll), coll ? coll : "");
	/* (a CRC16 of the name per command: only a cluster needs it) */
	o->slot = s->cluster && coll && *coll ? cluster_key_slot(o->coll, strlen(o->coll)) : -1;
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
	_Static_assert(sizeof(o->nums[i]) >= STRX_INT_MAX, "a number fits");
	strx_u64(o->nums[i], v);
	return o->nums[i];
}

static void op_reply(struct rconn *c, int err, redisReply *r, void *arg);

/* Sends o, to its collection's node in a cluster (o's argv outlives the
 * answer, as rcluster_command needs). */
static int op_send_raw(struct op *o)
{
	if (o->s->cluster)
		return rcluster_command(o->s->cluster, o->slot, op_reply, o,
					o->argc, o->argv, o->lens);
	return rconn_command(o->s->conn, op_reply, o, o->argc, o->argv, o->lens);
}

/* Sends o; on failure o is freed and the error returned (no callback). */
static int op_send(struct op *o)
{
	int rc = op_send_raw(o);

	if (rc)
		free(o);
	return rc;
}

/* Starts a script call: argv[0..1] are EVALSHA sha, filled here. */
static int op_script(struct op *o, enum script_id id)
{
	o->script = (int)id;
	scripts_evalsha(&o->s->scripts, id, o->argv, o->lens);
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

/* An error reply to o: GW_EUNAVAIL for the refusals Redis means as
 * temporary, GW_EINTERNAL otherwise; logged either way. */
static int refused(const struct op *o, const redisReply *r)
{
	int rc = reply_error(r);

	if (rc == GW_EUNAVAIL)
		log_warn("redis refused %s: %.200s", o->argv[0], r->str);
	else
		log_error("redis error on %s: %.200s", o->argv[0], r->str);
	return rc;
}

/* Decodes r (not an error reply) for o and calls back; on a reply of
 * another shape returns the error without calling back. */
static int answer(struct op *o, const redisReply *r)
{
	int rc;

	switch (o->kind) {
	case OP_GET: {
		struct reply_str d;

		if (!(rc = reply_doc(r, &d)))
			o->cb.doc(o->arg, 0, d.str, d.len);
		return rc;
	}
	case OP_READ: {
		struct reply_read d;

		if (!(rc = reply_read(r, &d)))
			o->cb.read(o->arg, 0, d.doc.str, d.doc.len, d.rec.str,
				   d.rec.len);
		return rc;
	}
	case OP_WRITE: {
		struct reply_write w;

		if (!(rc = reply_write(r, &w)))
			o->cb.write(o->arg, 0, w.result, w.epoch, w.seq,
				    w.rec.str, w.rec.len);
		return rc;
	}
	case OP_RECORD: {
		struct reply_str rec;

		if (!(rc = reply_record(r, &rec)))
			o->cb.record(o->arg, 0, rec.str, rec.len);
		return rc;
	}
	case OP_TRAIL: {
		struct reply_trail t;

		if (!(rc = reply_trail(r, &t))) {
			o->cb.trail(o->arg, 0, t.e, t.n);
			free(t.e);
		}
		return rc;
	}
	case OP_META:
	case OP_ROTATE: {
		struct reply_meta m;

		if ((rc = reply_meta(r, &m)))
			return rc;
		if (m.rotated) {
			metrics.epoch_rotations++;
			log_warn("collection \"%s\": new epoch %s: %s", o->coll,
				 m.epoch, o->kind == OP_ROTATE
				 ? "Redis holds less than was seen of it"
				 : "this Redis is not the one that served it (restart, "
				   "failover or restore): what it acknowledged may be lost");
		}
		o->cb.meta(o->arg, 0, m.epoch, m.seq, m.base);
		return 0;
	}
	case OP_LOG: {
		struct reply_log l;

		if (!(rc = reply_log(r, &l))) {
			o->cb.log(o->arg, 0, l.e, l.n);
			free(l.e);
		}
		return rc;
	}
	case OP_LIST: {
		struct reply_list l;

		if (!(rc = reply_list(r, &l))) {
			o->cb.list(o->arg, 0, l.epoch, l.seq, l.next, l.docs, l.n);
			free(l.docs);
		}
		return rc;
	}
	}
	return GW_EINTERNAL;
}

static void op_reply(struct rconn *c, int err, redisReply *r, void *arg)
{
	struct op *o = arg;
	int rc;

	GW_UNUSED(c);
	if (err) {
		answer_fail(o, err);
		free(o);
		return;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		/* NOSCRIPT: nothing ran; send the source with EVAL */
		if (o->script >= 0 &&
		    scripts_resend(&o->s->scripts, (enum script_id)o->script, r,
				   o->argv, o->lens)) {
			if (op_send_raw(o) == 0)
				return;
			answer_fail(o, GW_ENOMEM);
			free(o);
			return;
		}
		answer_fail(o, refused(o, r));
		free(o);
		return;
	}
	if ((rc = answer(o, r))) {
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
	return op_script(o, SCRIPT_READ);
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
	op_args(o, s->trust);
	op_args(o, s->sharded);
	return op_script(o, SCRIPT_WRITE);
}

int store_record(struct store *s, const struct store_record_args *a,
		 store_record_fn cb, void *arg)
{
	struct op *o = op_new(s, OP_RECORD, (union op_cb){.record = cb}, arg, a->coll);

	if (!o)
		return GW_ENOMEM;
	o->argc = 2; /* EVALSHA sha */
	op_args(o, "4");
	op_args(o, op_key(o, 0, KEYS_META));
	op_args(o, op_key(o, 1, KEYS_CONFLICTS));
	op_args(o, op_idem_key(o, 2, a->scope));
	op_args(o, op_key(o, 4, KEYS_LOG));
	op_arg(o, a->conflict ? a->conflict : "", a->conflict ? a->conflict_len : 0);
	op_args(o, op_num(o, 0, a->conflict_history ? a->conflict_history : 1));
	op_args(o, op_key(o, 3, KEYS_LIVE));
	op_arg(o, a->scope ? a->rec : "", a->scope ? a->rec_len : 0);
	op_args(o, op_num(o, 1, a->idem_ttl_s > 0 ? (uint64_t)a->idem_ttl_s : 1));
	store_new_epoch(o->epoch);
	op_args(o, o->epoch);
	op_args(o, s->trust);
	op_args(o, s->sharded);
	return op_script(o, SCRIPT_RECORD);
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
	op_args(o, s->trust);
	return op_script(o, SCRIPT_META);
}

int store_rotate(struct store *s, const char *coll, const char *epoch,
		 uint64_t min_seq, store_meta_fn cb, void *arg)
{
	struct op *o = op_new(s, OP_ROTATE, (union op_cb){.meta = cb}, arg, coll);

	if (!o)
		return GW_ENOMEM;
	o->argc = 2;
	op_args(o, "2");
	op_args(o, op_key(o, 0, KEYS_META));
	op_args(o, op_key(o, 1, KEYS_LOG));
	op_args_copy(o, epoch);
	op_args(o, op_num(o, 0, min_seq));
	store_new_epoch(o->epoch);
	op_args(o, o->epoch);
	op_args(o, s->trust);
	op_args(o, op_num(o, 1, STORE_ROTATE_INTERVAL_MS));
	return op_script(o, SCRIPT_ROTATE);
}

int store_log(struct store *s, const char *coll, uint64_t from, size_t count,
	      store_log_fn cb, void *arg)
{
	struct op *o = op_new(s, OP_LOG, (union op_cb){.log = cb}, arg, coll);

	if (!o)
		return GW_ENOMEM;
	o->argc = 2; /* EVALSHA sha */
	op_args(o, "1");
	op_args(o, op_key(o, 0, KEYS_LOG));
	snprintf(o->nums[0], sizeof(o->nums[0]), "%llu-0", (unsigned long long)from);
	op_args(o, o->nums[0]);
	op_args(o, op_num(o, 1, count));
	op_args(o, op_num(o, 2, s->page_bytes));
	return op_script(o, SCRIPT_LOG);
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
	op_args(o, s->trust);
	op_args(o, op_num(o, 1, s->page_bytes));
	return op_script(o, SCRIPT_LIST);
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

/* A PUBLISH sent through the cluster: its arguments live until the answer */
struct pub {
	const char *argv[3];
	size_t lens[3];
	char buf[];
};

static void pub_reply(struct rconn *c, int err, redisReply *r, void *arg)
{
	GW_UNUSED(c);
	GW_UNUSED(err);
	GW_UNUSED(r);
	free(arg);
}

int store_publish(struct store *s, const char *channel, const char *payload)
{
	const char *argv[3] = {"PUBLISH", channel, payload};
	size_t lens[3] = {7, strlen(channel), strlen(payload)};
	struct pub *p;
	int rc;

	if (!s->cluster)
		return rconn_command(s->conn, ignore_reply, NULL, 3, argv, lens);
	/* a plain PUBLISH reaches every node of a cluster: any node will do */
	if (!(p = malloc(sizeof(*p) + lens[1] + lens[2] + 2)))
		return GW_ENOMEM;
	memcpy(p->buf, channel, lens[1] + 1);
	memcpy(p->buf + lens[1] + 1, payload, lens[2] + 1);
	p->argv[0] = "PUBLISH";
	p->argv[1] = p->buf;
	p->argv[2] = p->buf + lens[1] + 1;
	memcpy(p->lens, lens, sizeof(lens));
	if ((rc = rcluster_command(s->cluster, -1, pub_reply, p, 3, p->argv, p->lens)))
		free(p);
	return rc;
}

struct rcluster *store_cluster(struct store *s) { return s->cluster; }

void store_set_map_hook(struct store *s, void (*fn)(void *ctx), void *ctx)
{
	s->map_hook = fn;
	s->map_ctx = ctx;
}

/* ---- lifecycle ----------------------------------------------------------- */

static void conn_up(struct rconn *c, void *ctx)
{
	struct store *s = ctx;

	GW_UNUSED(c);
	health_conn_up(s->health);
}

static void conn_down(struct rconn *c, void *ctx)
{
	struct store *s = ctx;

	GW_UNUSED(c);
	health_conn_down(s->health);
}

/* ---- cluster mode: one health per node ------------------------------------ */

static void node_new(void *ctx, int i, struct rconn *c)
{
	struct store *s = ctx;

	/* OOM: that node never counts as ready */
	s->healths[i] = health_new(s->loop, c, &s->scripts, s->reconnected, s->ctx);
}

static void node_up(void *ctx, int i)
{
	struct store *s = ctx;

	if (s->healths[i])
		health_conn_up(s->healths[i]);
}

static void node_down(void *ctx, int i)
{
	struct store *s = ctx;

	if (s->healths[i])
		health_conn_down(s->healths[i]);
}

static void map_changed(void *ctx)
{
	struct store *s = ctx;

	if (s->map_hook)
		s->map_hook(s->map_ctx);
}

static int cluster_start(struct store *s, uv_loop_t *loop,
			 const struct store_opts *opts)
{
	struct rcluster_opts co;

	memset(&co, 0, sizeof(co));
	co.conn = opts->conn;
	co.seeds = opts->cluster_seeds;
	co.node_new = node_new;
	co.node_up = node_up;
	co.node_down = node_down;
	co.map_changed = map_changed;
	co.ctx = s;
	s->loop = loop;
	s->reconnected = opts->reconnected;
	s->ctx = opts->ctx;
	s->sharded = "1";
	s->cluster = rcluster_new(loop, &co);
	return s->cluster ? 0 : GW_ENOMEM;
}

struct store *store_new(uv_loop_t *loop, const struct store_opts *opts)
{
	struct store *s = calloc(1, sizeof(*s));
	struct rconn_opts co;

	if (!s)
		return NULL;
	scripts_init(&s->scripts);
	s->trust = opts->lossless_restarts ? "1" : "0";
	s->sharded = "0";
	s->page_bytes = opts->page_bytes ? opts->page_bytes : 4u << 20;
	if (opts->cluster_seeds) {
		if (cluster_start(s, loop, opts)) {
			free(s);
			return NULL;
		}
		return s;
	}
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
	/* no event reaches conn_up before the loop runs */
	s->health = health_new(loop, s->conn, &s->scripts, opts->reconnected,
			       opts->ctx);
	if (!s->health) {
		rconn_free(s->conn);
		free(s);
		return NULL;
	}
	return s;
}

static void health_closed(void *arg) { free(arg); }

static void node_health_closed(void *arg)
{
	struct store *s = arg;

	if (--s->healths_open == 0)
		free(s);
}

void store_free(struct store *s)
{
	if (!s)
		return;
	if (s->cluster) {
		rcluster_free(s->cluster); /* fails what is in flight */
		s->healths_open = 1;
		for (size_t i = 0; i < CLUSTER_NODES_MAX; i++) {
			if (s->healths[i]) {
				s->healths_open++;
				health_free(s->healths[i], node_health_closed, s);
			}
		}
		node_health_closed(s);
		return;
	}
	rconn_free(s->conn); /* fails what is in flight: ops and checks */
	/* s (and the scripts health borrows) stays until the loop has closed
	 * health's timer */
	health_free(s->health, health_closed, s);
}

bool store_ready(const struct store *s)
{
	if (!s->cluster)
		return health_ready(s->health);
	if (!rcluster_ready(s->cluster))
		return false;
	for (int i = 0; i < CLUSTER_NODES_MAX; i++)
		if (rcluster_owns(s->cluster, i) &&
		    (!s->healths[i] || !health_ready(s->healths[i])))
			return false;
	return true;
}

const char *store_status(const struct store *s)
{
	if (!s->cluster)
		return health_status(s->health);
	if (!rcluster_ready(s->cluster))
		return "redis cluster: a slot without a reachable master";
	for (int i = 0; i < CLUSTER_NODES_MAX; i++) {
		if (!rcluster_owns(s->cluster, i))
			continue;
		if (!s->healths[i])
			return "out of memory";
		if (!health_ready(s->healths[i]))
			return health_status(s->healths[i]);
	}
	return "";
}

/*
 * redis_cluster.c - slot routing over one redis_conn per cluster node, the
 * slot map's loading (CLUSTER SLOTS) and the redirects of the cluster spec
 * (MOVED, ASK, TRYAGAIN). Adapter: hiredis replies in, node choices out;
 * the slot arithmetic and the parsing are cluster_slots.c's. Knows nothing
 * of documents.
 */
#include "redis_cluster.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "log.h"
#include "strx.h"

#define TICK_MS 100          /* the timer: retries, refresh requests */
#define REFRESH_MS 5000      /* map reload when all is well */
#define REFRESH_BAD_MS 1000  /* ... and while a slot or an owner is missing */
#define MAX_HOPS 5           /* MOVED/ASK redirects of one command */
#define TRYAGAIN_MS 20
#define TRYAGAIN_MAX 100     /* 2 s of a slot in migration */

struct cnode {
	struct rcluster *cl;  /* borrowed: the owner */
	int idx;              /* in cl->map.nodes */
	struct rconn *conn;   /* owned */
};

struct ccmd {
	struct ccmd *next;    /* the TRYAGAIN list */
	struct rcluster *cl;
	int slot;             /* -1: any node */
	int ask;              /* node of an ASK for the next send, or -1 */
	int sent;             /* node it was last sent to */
	int hops, tries;
	uint64_t retry_at;
	rconn_reply_fn cb;
	void *arg;
	int argc;
	const char **argv;    /* borrowed until cb */
	const size_t *lens;
};

struct rcluster {
	uv_loop_t *loop;
	struct rconn_opts o;  /* template for node connections */
	char *password, *user; /* owned: o's */
	struct cluster_map map;
	bool owns[CLUSTER_NODES_MAX]; /* node owns a slot in map */
	struct cnode *nodes[CLUSTER_NODES_MAX]; /* owned */
	uv_timer_t tick;
	struct ccmd *waiting; /* TRYAGAIN, oldest last */
	bool loading;         /* CLUSTER SLOTS in flight */
	bool want;            /* reload at the next tick */
	bool freeing;
	uint64_t loaded_at;   /* uv_now of the last CLUSTER SLOTS sent */
	unsigned rr;
	void (*map_changed)(void *ctx);
	void (*node_new)(void *ctx, int node, struct rconn *c);
	void (*node_up)(void *ctx, int node);
	void (*node_down)(void *ctx, int node);
	void *ctx;
};

static void load_map(struct rcluster *cl);

/* ---- nodes ----------------------------------------------------------------- */

static void node_up_cb(struct rconn *c, void *ctx)
{
	struct cnode *n = ctx;

	GW_UNUSED(c);
	if (!cluster_map_complete(&n->cl->map))
		n->cl->want = true;
	if (n->cl->node_up)
		n->cl->node_up(n->cl->ctx, n->idx);
}

static void node_down_cb(struct rconn *c, void *ctx)
{
	struct cnode *n = ctx;

	GW_UNUSED(c);
	n->cl->want = true; /* a failover may be under way */
	if (n->cl->node_down)
		n->cl->node_down(n->cl->ctx, n->idx);
}

/* The connection of node i, created if it has none; NULL on OOM. */
static struct cnode *node_get(struct rcluster *cl, int i)
{
	struct rconn_opts co = cl->o;
	struct cnode *n;

	if (i < 0 || (size_t)i >= cl->map.nnodes)
		return NULL;
	if (cl->nodes[i])
		return cl->nodes[i];
	if (!(n = calloc(1, sizeof(*n))))
		return NULL;
	n->cl = cl;
	n->idx = i;
	co.host = cl->map.nodes[i].host;
	co.port = cl->map.nodes[i].port;
	co.db = 0;
	co.up = node_up_cb;
	co.down = node_down_cb;
	co.message = NULL;
	co.push = NULL;
	co.ctx = n;
	if (!(n->conn = rconn_new(cl->loop, &co))) {
		free(n);
		return NULL;
	}
	cl->nodes[i] = n;
	if (cl->node_new)
		cl->node_new(cl->ctx, i, n->conn);
	return n;
}

static void owners_update(struct rcluster *cl)
{
	memset(cl->owns, 0, sizeof(cl->owns));
	for (size_t s = 0; s < CLUSTER_SLOTS; s++)
		if (cl->map.slot[s] >= 0)
			cl->owns[cl->map.slot[s]] = true;
	for (size_t i = 0; i < cl->map.nnodes; i++)
		if (cl->owns[i])
			(void)node_get(cl, (int)i);
}

/* A node that is up, slot owners first, round robin; -1 if none is. */
static int node_any(struct rcluster *cl)
{
	size_t n = cl->map.nnodes;

	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < n; k++) {
			size_t i = (cl->rr + k) % n;

			if ((pass || cl->owns[i]) && cl->nodes[i] &&
			    rconn_is_up(cl->nodes[i]->conn)) {
				cl->rr = (unsigned)i + 1;
				return (int)i;
			}
		}
	}
	return -1;
}

/* ---- the slot map ------------------------------------------------------------ */

/* One CLUSTER SLOTS row: start, end, master [host, port, ...], replicas. */
static bool slots_row(const redisReply *e, const char *from,
		      struct cluster_range *out)
{
	const redisReply *m;
	size_t hl;

	if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
	    e->element[0]->type != REDIS_REPLY_INTEGER ||
	    e->element[1]->type != REDIS_REPLY_INTEGER)
		return false;
	m = e->element[2];
	if (m->type != REDIS_REPLY_ARRAY || m->elements < 2 ||
	    m->element[0]->type != REDIS_REPLY_STRING ||
	    m->element[1]->type != REDIS_REPLY_INTEGER)
		return false;
	if (e->element[0]->integer < 0 || e->element[1]->integer >= CLUSTER_SLOTS ||
	    m->element[1]->integer < 1 || m->element[1]->integer > 65535)
		return false;
	out->first = (int)e->element[0]->integer;
	out->last = (int)e->element[1]->integer;
	out->master.port = (int)m->element[1]->integer;
	/* "" (or "?"): the endpoint is the node that answered */
	hl = m->element[0]->len;
	if (hl == 0 || (hl == 1 && m->element[0]->str[0] == '?')) {
		strx_copy(out->master.host, sizeof(out->master.host), from);
		return true;
	}
	if (hl > CLUSTER_HOST_MAX)
		return false;
	memcpy(out->master.host, m->element[0]->str, hl);
	out->master.host[hl] = '\0';
	return true;
}

static void slots_reply(struct rconn *c, int err, redisReply *r, void *arg)
{
	struct cnode *n = arg;
	struct rcluster *cl = n->cl;
	struct cluster_range *rows;
	size_t k = 0;
	int rc;

	GW_UNUSED(c);
	cl->loading = false;
	if (err || cl->freeing)
		return;
	if (r->type != REDIS_REPLY_ARRAY) {
		log_warn("redis cluster: CLUSTER SLOTS on %s:%d failed: %.200s",
			 cl->map.nodes[n->idx].host, cl->map.nodes[n->idx].port,
			 r->type == REDIS_REPLY_ERROR ? r->str : "not an array");
		return;
	}
	if (!(rows = calloc(r->elements ? r->elements : 1, sizeof(*rows))))
		return;
	for (size_t i = 0; i < r->elements; i++)
		if (slots_row(r->element[i], cl->map.nodes[n->idx].host, &rows[k]))
			k++;
	rc = cluster_map_build(&cl->map, rows, k);
	free(rows);
	if (rc) {
		log_warn("redis cluster: unusable CLUSTER SLOTS answer (%d rows)", (int)k);
		return;
	}
	owners_update(cl);
	if (cl->map_changed)
		cl->map_changed(cl->ctx);
}

static void load_map(struct rcluster *cl)
{
	static const char *argv[2] = {"CLUSTER", "SLOTS"};
	static const size_t lens[2] = {7, 5};
	int i;

	if (cl->loading || cl->freeing || (i = node_any(cl)) < 0)
		return;
	cl->want = false;
	cl->loaded_at = uv_now(cl->loop);
	if (rconn_command(cl->nodes[i]->conn, slots_reply, cl->nodes[i], 2, argv,
			  lens) == 0)
		cl->loading = true;
}

void rcluster_refresh(struct rcluster *cl) { cl->want = true; }

bool rcluster_ready(const struct rcluster *cl)
{
	if (!cluster_map_complete(&cl->map))
		return false;
	for (size_t i = 0; i < cl->map.nnodes; i++)
		if (cl->owns[i] && (!cl->nodes[i] || !rconn_is_up(cl->nodes[i]->conn)))
			return false;
	return true;
}

bool rcluster_owns(const struct rcluster *cl, int i)
{
	return i >= 0 && i < CLUSTER_NODES_MAX && cl->owns[i];
}

const struct cluster_map *rcluster_map(const struct rcluster *cl)
{
	return &cl->map;
}

struct rconn *rcluster_conn(const struct rcluster *cl, int i)
{
	return i >= 0 && i < CLUSTER_NODES_MAX && cl->nodes[i] ? cl->nodes[i]->conn
							     : NULL;
}

/* Applies a MOVED; returns the new owner's index or -1. */
static int apply_moved(struct rcluster *cl, const struct cluster_redirect *r,
		       const char *from_host)
{
	int i = cluster_map_move(&cl->map, r->slot, r->host[0] ? r->host : from_host,
				 r->port);

	if (i < 0)
		return -1;
	cl->want = true; /* one slot seldom moves alone */
	owners_update(cl);
	if (cl->map_changed)
		cl->map_changed(cl->ctx);
	return i;
}

void rcluster_moved(struct rcluster *cl, const struct cluster_redirect *r,
		    const char *from_host)
{
	if (r->kind == CLUSTER_MOVED)
		(void)apply_moved(cl, r, from_host);
	else
		cl->want = true;
}

/* ---- commands ---------------------------------------------------------------- */

static void ignore_reply(struct rconn *c, int err, redisReply *r, void *arg)
{
	GW_UNUSED(c);
	GW_UNUSED(err);
	GW_UNUSED(r);
	GW_UNUSED(arg);
}

static void ccmd_reply(struct rconn *c, int err, redisReply *r, void *arg);

static int ccmd_target(struct ccmd *m)
{
	struct rcluster *cl = m->cl;
	int i = m->ask >= 0 ? m->ask : cluster_map_owner(&cl->map, m->slot);

	if (i < 0)
		i = node_any(cl); /* no owner known: it will answer MOVED */
	if (i < 0)
		i = 0;          /* none is up: fails as unavailable */
	return i;
}

/* Sends m to its node; GW_ENOMEM (m not sent) or 0. */
static int ccmd_send(struct ccmd *m)
{
	struct rcluster *cl = m->cl;
	struct cnode *n = node_get(cl, ccmd_target(m));

	if (!n)
		return GW_ENOMEM;
	m->sent = n->idx;
	if (m->ask >= 0) {
		static const char *asking[1] = {"ASKING"};
		static const size_t alen[1] = {6};

		if (rconn_command(n->conn, ignore_reply, NULL, 1, asking, alen))
			return GW_ENOMEM;
		m->ask = -1;
	}
	return rconn_command(n->conn, ccmd_reply, m, m->argc, m->argv, m->lens);
}

static void ccmd_finish(struct ccmd *m, struct rconn *c, int err, redisReply *r)
{
	m->cb(c, err, r, m->arg);
	free(m);
}

static bool err_is(const redisReply *r, const char *word)
{
	size_t n = strlen(word);

	return r->len >= n && memcmp(r->str, word, n) == 0 &&
	       (r->len == n || r->str[n] == ' ');
}

static void ccmd_reply(struct rconn *c, int err, redisReply *r, void *arg)
{
	struct ccmd *m = arg;
	struct rcluster *cl = m->cl;
	struct cluster_redirect rd;

	if (err || cl->freeing || r->type != REDIS_REPLY_ERROR) {
		ccmd_finish(m, c, err, r);
		return;
	}
	if ((err_is(r, "MOVED") || err_is(r, "ASK")) && m->hops < MAX_HOPS &&
	    cluster_parse_redirect(r->str, r->len, &rd) == 0) {
		const char *from = cl->map.nodes[m->sent].host;
		int i;

		m->hops++;
		if (rd.kind == CLUSTER_MOVED) {
			i = apply_moved(cl, &rd, from);
		} else {
			i = cluster_map_node(&cl->map, rd.host[0] ? rd.host : from,
					     rd.port);
			m->ask = i;
		}
		if (i >= 0 && ccmd_send(m) == 0)
			return;
		ccmd_finish(m, c, GW_EUNAVAIL, NULL);
		return;
	}
	if (err_is(r, "TRYAGAIN") && m->tries < TRYAGAIN_MAX) {
		m->tries++;
		m->retry_at = uv_now(cl->loop) + TRYAGAIN_MS;
		m->next = cl->waiting;
		cl->waiting = m;
		return;
	}
	if (err_is(r, "CLUSTERDOWN"))
		cl->want = true;
	ccmd_finish(m, c, 0, r);
}

int rcluster_command(struct rcluster *cl, int slot, rconn_reply_fn cb,
		     void *arg, int argc, const char **argv, const size_t *lens)
{
	struct ccmd *m = calloc(1, sizeof(*m));

	if (!m)
		return GW_ENOMEM;
	m->cl = cl;
	m->slot = slot;
	m->ask = -1;
	m->cb = cb;
	m->arg = arg;
	m->argc = argc;
	m->argv = argv;
	m->lens = lens;
	if (ccmd_send(m)) {
		free(m);
		return GW_ENOMEM;
	}
	return 0;
}

/* ---- the timer ---------------------------------------------------------------- */

static void tick_cb(uv_timer_t *t)
{
	struct rcluster *cl = t->data;
	uint64_t now = uv_now(cl->loop);
	struct ccmd **pp = &cl->waiting, *due = NULL;
	uint64_t every = rcluster_ready(cl) ? REFRESH_MS : REFRESH_BAD_MS;

	/* take the due TRYAGAINs off first: a send may queue more */
	while (*pp) {
		struct ccmd *m = *pp;

		if (m->retry_at <= now) {
			*pp = m->next;
			m->next = due;
			due = m;
		} else {
			pp = &m->next;
		}
	}
	while (due) {
		struct ccmd *m = due;

		due = m->next;
		m->next = NULL;
		if (ccmd_send(m))
			ccmd_finish(m, NULL, GW_EUNAVAIL, NULL);
	}
	if (cl->want || now - cl->loaded_at >= every)
		load_map(cl);
}

/* ---- lifecycle ------------------------------------------------------------------ */

/* Adds the seeds "host:port,host:port" to the map. */
static int add_seeds(struct rcluster *cl, const char *seeds)
{
	const char *p = seeds;

	while (*p) {
		const char *end = strchr(p, ','), *colon;
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char host[CLUSTER_HOST_MAX + 1];
		long port;

		for (colon = p + n; colon > p && colon[-1] != ':'; colon--)
			;
		if (colon == p || (size_t)(colon - 1 - p) > CLUSTER_HOST_MAX)
			return GW_EBADREQ;
		memcpy(host, p, (size_t)(colon - 1 - p));
		host[colon - 1 - p] = '\0';
		port = strtol(colon, NULL, 10);
		if (cluster_map_node(&cl->map, host, (int)port) < 0)
			return GW_EBADREQ;
		p += n;
		if (*p == ',')
			p++;
	}
	return cl->map.nnodes ? 0 : GW_EBADREQ;
}

struct rcluster *rcluster_new(uv_loop_t *loop, const struct rcluster_opts *o)
{
	struct rcluster *cl = calloc(1, sizeof(*cl));

	if (!cl)
		return NULL;
	cl->loop = loop;
	cl->o = o->conn;
	cl->password = o->conn.password && *o->conn.password
			       ? strdup(o->conn.password) : NULL;
	cl->user = o->conn.user && *o->conn.user ? strdup(o->conn.user) : NULL;
	cl->o.password = cl->password;
	cl->o.user = cl->user;
	cl->map_changed = o->map_changed;
	cl->node_new = o->node_new;
	cl->node_up = o->node_up;
	cl->node_down = o->node_down;
	cl->ctx = o->ctx;
	cluster_map_init(&cl->map);
	if ((o->conn.password && *o->conn.password && !cl->password) ||
	    (o->conn.user && *o->conn.user && !cl->user) ||
	    add_seeds(cl, o->seeds)) {
		free(cl->password);
		free(cl->user);
		free(cl);
		return NULL;
	}
	uv_timer_init(loop, &cl->tick);
	cl->tick.data = cl;
	for (size_t i = 0; i < cl->map.nnodes; i++)
		(void)node_get(cl, (int)i);
	cl->want = true;
	uv_timer_start(&cl->tick, tick_cb, TICK_MS, TICK_MS);
	return cl;
}

static void tick_closed(uv_handle_t *h)
{
	struct rcluster *cl = h->data;

	gw_free_secret(cl->password);
	free(cl->user);
	free(cl);
}

void rcluster_free(struct rcluster *cl)
{
	if (!cl)
		return;
	cl->freeing = true;
	for (size_t i = 0; i < CLUSTER_NODES_MAX; i++) {
		if (cl->nodes[i]) {
			rconn_free(cl->nodes[i]->conn); /* fails its commands */
			free(cl->nodes[i]);
			cl->nodes[i] = NULL;
		}
	}
	while (cl->waiting) {
		struct ccmd *m = cl->waiting;

		cl->waiting = m->next;
		ccmd_finish(m, NULL, GW_EUNAVAIL, NULL);
	}
	uv_close((uv_handle_t *)&cl->tick, tick_closed);
}

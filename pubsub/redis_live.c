/*
 * redis_live.c - pub/sub subscriber connection, heartbeat, and the hub
 * backend over the store. Adapter: translates hiredis events into hub
 * calls and nothing more. On a Redis Cluster: one subscriber connection
 * per master, each collection's shard channel SSUBSCRIBEd on the master
 * of its slot and moved when the slot map says it moved.
 */
#include "redis_live.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_slots.h"
#include "common.h"
#include "hex.h"
#include "keys.h"
#include "log.h"
#include "map.h"
#include "metrics.h"
#include "redis_cluster.h"
#include "strx.h"

/* cluster mode: the subscriber connection to one node */
struct lnode {
	struct live *lv;        /* borrowed: the owner */
	int idx;                /* node index in the cluster's map */
	struct rconn *conn;     /* owned */
	bool hb_subscribed;
	uint64_t hb_last, up_since;
};

/* cluster mode: a wanted value is PLACED(node) once SSUBSCRIBE went to
 * node, UNPLACED while the slot has no known owner */
#define UNPLACED ((void *)(intptr_t)1)
#define PLACED(i) ((void *)(intptr_t)((i) + 2))
#define PLACED_ON(v) ((int)((intptr_t)(v) - 2))

struct live {
	uv_loop_t *loop;
	struct rconn *conn;     /* owned; NULL in cluster mode */
	struct store *store;
	struct hub *hub;
	struct map wanted;      /* collection -> (void *)1: channels to hold
				   (cluster mode: UNPLACED or PLACED(node)) */
	struct rcluster *cl;    /* borrowed from store; NULL: one Redis */
	struct rconn_opts co;   /* cluster mode: template of node links */
	char *password, *user;  /* owned: co's */
	struct lnode *nodes[CLUSTER_NODES_MAX]; /* owned */
	char hb_channel[KEYS_MAX + 64];
	bool hb_subscribed;
	uint64_t hb_last;       /* uv_now of the last heartbeat received */
	uint64_t up_since;
	int hb_ms;
	uint64_t hb_count;
	uv_timer_t hb_timer;
};

/* context of one backend call answered through the store */
struct call {
	struct live *lv;
	struct hub_sub *sub;
	char coll[NAMES_COLLECTION_MAX + 1];
};

static struct call *call_new(struct live *lv, const char *coll,
			     struct hub_sub *sub)
{
	struct call *c = calloc(1, sizeof(*c));

	if (c) {
		c->lv = lv;
		c->sub = sub;
		strx_copy(c->coll, sizeof(c->coll), coll);
	}
	return c;
}

/* ---- subscriber connection events ------------------------------------- */

static void sub_channel(struct live *lv, const char *coll, bool on)
{
	char chan[KEYS_MAX];

	keys_format(KEYS_LIVE, coll, chan);
	rconn_subscribe(lv->conn, chan, on);
}

static void on_up(struct rconn *c, void *ctx)
{
	struct live *lv = ctx;
	struct map_entry *e;
	size_t pos;

	GW_UNUSED(c);
	metrics.redis_sub_up = 1;
	lv->up_since = uv_now(lv->loop);
	lv->hb_subscribed = false;
	rconn_subscribe(lv->conn, lv->hb_channel, true);
	for (e = map_first(&lv->wanted, &pos); e; e = map_next(&lv->wanted, e, &pos))
		sub_channel(lv, e->key, true);
}

static void on_down(struct rconn *c, void *ctx)
{
	struct live *lv = ctx;

	GW_UNUSED(c);
	metrics.redis_sub_up = 0;
	lv->hb_subscribed = false;
	if (lv->hub)
		hub_on_sub_lost(lv->hub);
}

static void on_message(struct rconn *c, void *ctx, const char *chan,
		       size_t clen, const char *payload, size_t plen)
{
	struct live *lv = ctx;
	char coll[NAMES_COLLECTION_MAX + 1];

	GW_UNUSED(c);
	if (clen == strlen(lv->hb_channel) && memcmp(chan, lv->hb_channel, clen) == 0) {
		lv->hb_last = uv_now(lv->loop);
		if (!payload)
			lv->hb_subscribed = true;
		return;
	}
	if (keys_channel_collection(chan, clen, coll) || !lv->hub ||
	    !map_get(&lv->wanted, coll))
		return;
	if (payload)
		hub_on_live(lv->hub, coll, payload, plen);
	else
		hub_on_open(lv->hub, coll);
}

/* ---- cluster mode: a link per node, channels placed by slot ------------- */

static void chan_of(const char *coll, char *chan) { keys_format(KEYS_LIVE, coll, chan); }

static void ln_up(struct rconn *c, void *ctx)
{
	struct lnode *ln = ctx;
	struct live *lv = ln->lv;
	struct map_entry *e;
	size_t pos;
	char chan[KEYS_MAX];

	GW_UNUSED(c);
	ln->up_since = uv_now(lv->loop);
	ln->hb_subscribed = false;
	/* the plain subscription first: it puts the link in pub/sub mode */
	rconn_subscribe(ln->conn, lv->hb_channel, true);
	for (e = map_first(&lv->wanted, &pos); e; e = map_next(&lv->wanted, e, &pos)) {
		if (e->val != UNPLACED && PLACED_ON(e->val) == ln->idx) {
			chan_of(e->key, chan);
			rconn_ssubscribe(ln->conn, chan, true);
		}
	}
}

static void ln_down(struct rconn *c, void *ctx)
{
	struct lnode *ln = ctx;

	GW_UNUSED(c);
	/* its collections stay placed: re-subscribed when it is back (each
	 * then repairs from the log), or moved when the map changes */
	ln->hb_subscribed = false;
	rcluster_refresh(ln->lv->cl);
}

static void ln_push(struct rconn *c, void *ctx, const char *kind,
		    const char *chan, size_t clen, const char *payload,
		    size_t plen);

static struct lnode *lnode_get(struct live *lv, int i)
{
	const struct cluster_map *m = rcluster_map(lv->cl);
	struct rconn_opts co = lv->co;
	struct lnode *ln;

	if (i < 0 || (size_t)i >= m->nnodes)
		return NULL;
	if (lv->nodes[i])
		return lv->nodes[i];
	if (!(ln = calloc(1, sizeof(*ln))))
		return NULL;
	ln->lv = lv;
	ln->idx = i;
	co.host = m->nodes[i].host;
	co.port = m->nodes[i].port;
	co.db = 0;
	co.up = ln_up;
	co.down = ln_down;
	co.message = NULL;
	co.push = ln_push;
	co.ctx = ln;
	if (!(ln->conn = rconn_new(lv->loop, &co))) {
		free(ln);
		return NULL;
	}
	lv->nodes[i] = ln;
	return ln;
}

/* Subscribes coll (entry e of wanted) on the owner of its slot, leaving
 * the node it was on. */
static void place(struct live *lv, struct map_entry *e)
{
	int owner = cluster_map_owner(rcluster_map(lv->cl),
				      cluster_key_slot(e->key, strlen(e->key)));
	struct lnode *ln;
	char chan[KEYS_MAX];

	if (e->val != UNPLACED && PLACED_ON(e->val) == owner)
		return;
	chan_of(e->key, chan);
	if (e->val != UNPLACED && (ln = lv->nodes[PLACED_ON(e->val)]))
		rconn_ssubscribe(ln->conn, chan, false);
	e->val = UNPLACED;
	if (owner < 0 || !(ln = lnode_get(lv, owner)))
		return;
	e->val = PLACED(owner);
	rconn_ssubscribe(ln->conn, chan, true); /* no-op while down: ln_up */
}

static void map_changed(void *ctx)
{
	struct live *lv = ctx;
	struct map_entry *e;
	size_t pos;

	for (int i = 0; i < CLUSTER_NODES_MAX; i++)
		if (rcluster_owns(lv->cl, i))
			(void)lnode_get(lv, i);
	for (e = map_first(&lv->wanted, &pos); e; e = map_next(&lv->wanted, e, &pos))
		place(lv, e);
}

static void ln_push(struct rconn *c, void *ctx, const char *kind,
		    const char *chan, size_t clen, const char *payload,
		    size_t plen)
{
	struct lnode *ln = ctx;
	struct live *lv = ln->lv;
	char coll[NAMES_COLLECTION_MAX + 1];
	struct map_entry *e;

	GW_UNUSED(c);
	if (strcmp(kind, "error") == 0) {
		struct cluster_redirect rd;

		/* an SSUBSCRIBE to a node that no longer owns the slot */
		if (cluster_parse_redirect(payload, plen, &rd) == 0)
			rcluster_moved(lv->cl, &rd,
				       rcluster_map(lv->cl)->nodes[ln->idx].host);
		else
			log_warn("redis subscriber: %.*s", (int)(plen > 200 ? 200 : plen),
				 payload);
		return;
	}
	if (clen == strlen(lv->hb_channel) && memcmp(chan, lv->hb_channel, clen) == 0) {
		ln->hb_last = uv_now(lv->loop);
		if (strcmp(kind, "subscribe") == 0)
			ln->hb_subscribed = true;
		return;
	}
	if (keys_channel_collection(chan, clen, coll) || !lv->hub)
		return;
	if (strcmp(kind, "smessage") == 0 && payload) {
		/* from whichever node: a change is published once, on the
		 * node that owned the slot then; the hub drops what it has */
		if (map_get(&lv->wanted, coll))
			hub_on_live(lv->hub, coll, payload, plen);
		return;
	}
	e = map_find(&lv->wanted, coll);
	if (!e || e->val == UNPLACED || PLACED_ON(e->val) != ln->idx)
		return; /* not wanted here (any more) */
	if (strcmp(kind, "ssubscribe") == 0) {
		hub_on_open(lv->hub, coll);
	} else if (strcmp(kind, "sunsubscribe") == 0) {
		/* Redis dropped it: the slot moved. Placed again once the map
		 * says where (an SSUBSCRIBE to the old node answers MOVED). */
		e->val = UNPLACED;
		rcluster_refresh(lv->cl);
		place(lv, e);
	}
}

static bool cluster_live_ready(const struct live *lv)
{
	uint64_t now = uv_now(lv->loop);

	if (!rcluster_ready(lv->cl))
		return false;
	for (int i = 0; i < CLUSTER_NODES_MAX; i++) {
		const struct lnode *ln = lv->nodes[i];

		if (!rcluster_owns(lv->cl, i))
			continue;
		if (!ln || !rconn_is_up(ln->conn) || !ln->hb_subscribed ||
		    now - ln->hb_last > 3 * (uint64_t)lv->hb_ms)
			return false;
	}
	return true;
}

static void cluster_hb(struct live *lv, const char *payload)
{
	uint64_t now = uv_now(lv->loop), grace = 3 * (uint64_t)lv->hb_ms;

	metrics.redis_sub_up = cluster_live_ready(lv);
	if (!store_ready(lv->store))
		return;
	(void)store_publish(lv->store, lv->hb_channel, payload);
	for (int i = 0; i < CLUSTER_NODES_MAX; i++) {
		struct lnode *ln = lv->nodes[i];

		if (ln && rconn_is_up(ln->conn) && now - ln->up_since > grace &&
		    now - ln->hb_last > grace)
			rconn_reset(ln->conn, "no heartbeat on the subscriber link");
	}
}

static void hb_cb(uv_timer_t *t)
{
	struct live *lv = t->data;
	uint64_t now = uv_now(lv->loop), grace = 3 * (uint64_t)lv->hb_ms;
	char payload[24];

	if (lv->cl) {
		snprintf(payload, sizeof(payload), "%llu",
			 (unsigned long long)++lv->hb_count);
		cluster_hb(lv, payload);
		return;
	}
	if (!rconn_is_up(lv->conn) || !store_ready(lv->store))
		return;
	snprintf(payload, sizeof(payload), "%llu", (unsigned long long)++lv->hb_count);
	(void)store_publish(lv->store, lv->hb_channel, payload); /* OOM: a beat missed */
	if (now - lv->up_since > grace && now - lv->hb_last > grace) {
		/* connected, yet nothing arrives: the link is dead or stuck */
		rconn_reset(lv->conn, "no heartbeat on the subscriber link");
	}
}

bool live_ready(const struct live *lv)
{
	uint64_t now = uv_now(lv->loop);

	if (lv->cl)
		return cluster_live_ready(lv);
	return rconn_is_up(lv->conn) && lv->hb_subscribed &&
	       now - lv->hb_last <= 3 * (uint64_t)lv->hb_ms;
}

/* ---- hub backend ------------------------------------------------------- */

static void be_open(void *ctx, const char *coll)
{
	struct live *lv = ctx;
	struct map_entry *e;

	if (lv->cl) {
		if (map_get(&lv->wanted, coll) || map_put(&lv->wanted, coll, UNPLACED))
			return;
		if ((e = map_find(&lv->wanted, coll)))
			place(lv, e);
		return;
	}
	if (map_put(&lv->wanted, coll, (void *)1) == 0)
		sub_channel(lv, coll, true);
}

static void be_close(void *ctx, const char *coll)
{
	struct live *lv = ctx;
	void *v;

	if (lv->cl) {
		char chan[KEYS_MAX];

		v = map_del(&lv->wanted, coll);
		if (v && v != UNPLACED && lv->nodes[PLACED_ON(v)]) {
			chan_of(coll, chan);
			rconn_ssubscribe(lv->nodes[PLACED_ON(v)]->conn, chan, false);
		}
		return;
	}
	if (map_del(&lv->wanted, coll))
		sub_channel(lv, coll, false);
}

static void meta_done(void *arg, int err, const char *epoch, uint64_t seq,
		      uint64_t base)
{
	struct call *c = arg;

	GW_UNUSED(base);
	if (c->lv->hub)
		hub_on_meta(c->lv->hub, c->coll, c->sub, err, epoch, seq);
	free(c);
}

static int be_meta(void *ctx, const char *coll, struct hub_sub *sub)
{
	struct live *lv = ctx;
	struct call *c = call_new(lv, coll, sub);
	int rc;

	if (!c)
		return GW_ENOMEM;
	if ((rc = store_meta(lv->store, coll, meta_done, c)))
		free(c);
	return rc;
}

static void log_done(void *arg, int err, const struct hub_entry *e, size_t n)
{
	struct call *c = arg;

	if (c->lv->hub)
		hub_on_log(c->lv->hub, c->coll, c->sub, err, e, n);
	free(c);
}

static int be_log(void *ctx, const char *coll, uint64_t from, size_t count,
		  struct hub_sub *sub)
{
	struct live *lv = ctx;
	struct call *c = call_new(lv, coll, sub);
	int rc;

	if (!c)
		return GW_ENOMEM;
	if ((rc = store_log(lv->store, coll, from, count, log_done, c)))
		free(c);
	return rc;
}

static int be_rotate(void *ctx, const char *coll, const char *epoch,
		     uint64_t min_seq)
{
	struct live *lv = ctx;
	struct call *c = call_new(lv, coll, NULL);
	int rc;

	if (!c)
		return GW_ENOMEM;
	if ((rc = store_rotate(lv->store, coll, epoch, min_seq, meta_done, c)))
		free(c);
	return rc;
}

struct hub_backend live_backend(struct live *lv)
{
	struct hub_backend b = {
		.ctx = lv,
		.open = be_open,
		.close = be_close,
		.meta = be_meta,
		.log = be_log,
		.rotate = be_rotate,
	};

	return b;
}

void live_set_hub(struct live *lv, struct hub *h) { lv->hub = h; }

struct live *live_new(uv_loop_t *loop, const struct live_opts *opts,
		      struct store *store)
{
	struct live *lv = calloc(1, sizeof(*lv));
	struct rconn_opts co;
	unsigned char rnd[6];
	char tag[13];

	if (!lv)
		return NULL;
	lv->loop = loop;
	lv->store = store;
	lv->hb_ms = opts->heartbeat_ms > 0 ? opts->heartbeat_ms : 1000;
	map_init(&lv->wanted);
	for (size_t i = 0; i < sizeof(rnd); i++)
		rnd[i] = (unsigned char)rand();
	hex_encode(rnd, sizeof(rnd), tag);
	snprintf(lv->hb_channel, sizeof(lv->hb_channel), "%shb:%s:%s",
		 keys_prefix(), opts->node, tag);
	co = opts->conn;
	if ((lv->cl = store_cluster(store))) {
		lv->co = co;
		lv->password = co.password && *co.password ? strdup(co.password) : NULL;
		lv->user = co.user && *co.user ? strdup(co.user) : NULL;
		lv->co.password = lv->password;
		lv->co.user = lv->user;
		lv->co.host = "";
		if ((co.password && *co.password && !lv->password) ||
		    (co.user && *co.user && !lv->user)) {
			free(lv->password);
			free(lv->user);
			map_release(&lv->wanted);
			free(lv);
			return NULL;
		}
		store_set_map_hook(store, map_changed, lv);
	} else {
		co.up = on_up;
		co.down = on_down;
		co.message = on_message;
		co.ctx = lv;
		lv->conn = rconn_new(loop, &co);
		if (!lv->conn) {
			map_release(&lv->wanted);
			free(lv);
			return NULL;
		}
	}
	uv_timer_init(loop, &lv->hb_timer);
	lv->hb_timer.data = lv;
	uv_timer_start(&lv->hb_timer, hb_cb, (uint64_t)lv->hb_ms, (uint64_t)lv->hb_ms);
	return lv;
}

static void hb_closed(uv_handle_t *h)
{
	struct live *lv = h->data;

	map_release(&lv->wanted);
	gw_free_secret(lv->password);
	free(lv->user);
	free(lv);
}

void live_free(struct live *lv)
{
	if (!lv)
		return;
	rconn_free(lv->conn);
	for (int i = 0; i < CLUSTER_NODES_MAX; i++) {
		if (lv->nodes[i]) {
			rconn_free(lv->nodes[i]->conn);
			free(lv->nodes[i]);
			lv->nodes[i] = NULL;
		}
	}
	lv->hub = NULL;
	uv_close((uv_handle_t *)&lv->hb_timer, hb_closed);
}

/*
 * redis_live.c - pub/sub subscriber connection, heartbeat, and the hub
 * backend over the store. Adapter: translates hiredis events into hub
 * calls and nothing more.
 */
#include "redis_live.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "hex.h"
#include "keys.h"
#include "log.h"
#include "map.h"
#include "metrics.h"

struct live {
	uv_loop_t *loop;
	struct rconn *conn;
	struct store *store;
	struct hub *hub;
	struct map wanted;      /* collection -> (void *)1: channels to hold */
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
		snprintf(c->coll, sizeof(c->coll), "%s", coll);
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

static void hb_cb(uv_timer_t *t)
{
	struct live *lv = t->data;
	uint64_t now = uv_now(lv->loop), grace = 3 * (uint64_t)lv->hb_ms;
	char payload[24];

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

	return rconn_is_up(lv->conn) && lv->hb_subscribed &&
	       now - lv->hb_last <= 3 * (uint64_t)lv->hb_ms;
}

/* ---- hub backend ------------------------------------------------------- */

static void be_open(void *ctx, const char *coll)
{
	struct live *lv = ctx;

	if (map_put(&lv->wanted, coll, (void *)1) == 0)
		sub_channel(lv, coll, true);
}

static void be_close(void *ctx, const char *coll)
{
	struct live *lv = ctx;

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
	uv_timer_init(loop, &lv->hb_timer);
	lv->hb_timer.data = lv;
	uv_timer_start(&lv->hb_timer, hb_cb, (uint64_t)lv->hb_ms, (uint64_t)lv->hb_ms);
	return lv;
}

static void hb_closed(uv_handle_t *h)
{
	struct live *lv = h->data;

	map_release(&lv->wanted);
	free(lv);
}

void live_free(struct live *lv)
{
	if (!lv)
		return;
	rconn_free(lv->conn);
	lv->hub = NULL;
	uv_close((uv_handle_t *)&lv->hb_timer, hb_closed);
}

/*
 * redis_live.h - the subscriber side: one pub/sub connection carrying every
 * live collection's channel plus a heartbeat channel, and the hub backend
 * (hub.h) implemented over it and the store. A subscriber link that stops
 * delivering heartbeats is dropped and rebuilt; every drop is reported to
 * the hub, which repairs from the log. Loop thread only.
 */
#ifndef SG_REDIS_LIVE_H
#define SG_REDIS_LIVE_H

#include <stdbool.h>
#include <uv.h>

#include "hub.h"
#include "redis_conn.h"
#include "redis_store.h"

struct live;

struct live_opts {
	struct rconn_opts conn; /* name, host, port, password, db, timeouts */
	int heartbeat_ms;       /* published this often; 3 missed: reconnect */
	const char *node;       /* names the heartbeat channel */
};

/* store is borrowed and must outlive the live object. */
struct live *live_new(uv_loop_t *loop, const struct live_opts *opts,
		      struct store *store);
/* The hub backend bound to lv (copy it into hub_new). */
struct hub_backend live_backend(struct live *lv);
/* The hub to report to (set once, before any subscription). */
void live_set_hub(struct live *lv, struct hub *h);
/* Subscriber link up and heartbeats arriving. */
bool live_ready(const struct live *lv);
/* Closes the link; backend calls in flight are answered (as failures). */
void live_free(struct live *lv);

#endif

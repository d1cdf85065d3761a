/*
 * redis_cluster.h - commands routed over a Redis Cluster: one command
 * connection (redis_conn.h) per node, the slot map (cluster_slots.h) loaded
 * with CLUSTER SLOTS from the seed nodes and refreshed on MOVED, on a lost
 * node and every few seconds; MOVED re-sends the command to the new owner,
 * ASK sends ASKING and the command to the target, TRYAGAIN (a multi-key
 * command during a slot migration) tries again shortly. Loop thread only.
 *
 * Callback contract: as rconn_command's (exactly once, later, from the
 * loop; or GW_ENOMEM returned and no call), except that argv and lens are
 * borrowed until the callback, since a redirect sends them again. The
 * struct rconn given to the callback is the node that answered.
 */
#ifndef SG_REDIS_CLUSTER_H
#define SG_REDIS_CLUSTER_H

#include <stdbool.h>
#include <uv.h>

#include "cluster_slots.h"
#include "redis_conn.h"

struct rcluster;

struct rcluster_opts {
	struct rconn_opts conn; /* credentials, timeouts, name; host, port,
				   db and the callbacks are not used */
	const char *seeds;      /* "host:port[,host:port...]", copied */
	/* a node was added (its connection created, not yet up); its
	 * connection came up, went down; the slot map changed. Any may be
	 * NULL. */
	void (*node_new)(void *ctx, int node, struct rconn *c);
	void (*node_up)(void *ctx, int node);
	void (*node_down)(void *ctx, int node);
	void (*map_changed)(void *ctx);
	void *ctx;
};

/* Connects to the seeds and loads the map. NULL on OOM or a bad seed. */
struct rcluster *rcluster_new(uv_loop_t *loop, const struct rcluster_opts *o);
/* Closes every connection (callbacks in flight get GW_EUNAVAIL from inside
 * this call); frees cl once libuv has closed its handles. NULL: no-op. */
void rcluster_free(struct rcluster *cl);

/* Sends argv to the owner of slot (-1: any node that is up, for commands
 * of no key such as PUBLISH); see the contract above. */
int rcluster_command(struct rcluster *cl, int slot, rconn_reply_fn cb,
		     void *arg, int argc, const char **argv,
		     const size_t *lens);

/* Loads the map again soon (at most a few times a second). */
void rcluster_refresh(struct rcluster *cl);
/* The map (borrowed; valid until the next loop event). */
const struct cluster_map *rcluster_map(const struct rcluster *cl);
/* Node i's command connection, or NULL. */
struct rconn *rcluster_conn(const struct rcluster *cl, int i);
/* Node i owns at least one slot in the map. */
bool rcluster_owns(const struct rcluster *cl, int i);
/* Every slot has an owner and every owner's connection is up. */
bool rcluster_ready(const struct rcluster *cl);
/* Records a MOVED seen elsewhere (a subscriber's SSUBSCRIBE), from the
 * node named host:port (for an empty host in the redirect). */
void rcluster_moved(struct rcluster *cl, const struct cluster_redirect *r,
		    const char *from_host);

#endif

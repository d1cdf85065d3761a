/*
 * redis_conn.h - one hiredis async connection on the libuv loop, with what
 * hiredis 0.14 lacks: a timeout on every command, a connect timeout,
 * AUTH/SELECT on connect, and reconnection with capped, jittered
 * exponential backoff. Loop thread only.
 *
 * Callback contract (libuv's): rconn_command returns 0 and its callback
 * then runs exactly once, later, from the loop: with err 0 and the reply
 * (borrowed for the duration of the call; it may be an error reply), or
 * err GW_ETIMEOUT / GW_EUNAVAIL and reply NULL. It returns GW_ENOMEM (no
 * memory even for the command's record) and then never calls back. A command that times out
 * takes the connection down with it (a hung Redis answers nothing else
 * either); the connection then reconnects.
 */
#ifndef SG_REDIS_CONN_H
#define SG_REDIS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct rconn;
struct redisReply; /* hiredis's; only code that reads replies includes it */

typedef void (*rconn_reply_fn)(struct rconn *c, int err,
			       struct redisReply *reply, void *arg);

struct rconn_opts {
	const char *name;     /* for logs: "command", "subscriber" */
	const char *host;     /* copied */
	int port;
	const char *password; /* copied; NULL for none */
	const char *user;     /* copied; NULL: AUTH password only */
	int db;
	int timeout_ms;       /* per command */
	int connect_timeout_ms;
	int backoff_min_ms;
	int backoff_max_ms;
	size_t max_pending;   /* commands in flight; past it: GW_EUNAVAIL */
	/* connection events; any may be NULL */
	void (*up)(struct rconn *c, void *ctx);
	void (*down)(struct rconn *c, void *ctx);
	/* subscriber connections: a pub/sub message, or a subscribe
	 * confirmation (payload NULL) */
	void (*message)(struct rconn *c, void *ctx, const char *channel,
			size_t clen, const char *payload, size_t plen);
	/* instead of message, when set: every reply on a subscriber
	 * connection, kind "message", "subscribe", "smessage", "ssubscribe",
	 * "sunsubscribe", ... (payload NULL for the confirmations), or kind
	 * "error" with the error text as payload and channel "" */
	void (*push)(struct rconn *c, void *ctx, const char *kind,
		     const char *channel, size_t clen, const char *payload,
		     size_t plen);
	void *ctx;
};

/* Creates the connection and starts connecting. NULL on OOM. */
struct rconn *rconn_new(uv_loop_t *loop, const struct rconn_opts *opts);
/* Closes the connection (pending callbacks get GW_EUNAVAIL, from inside
 * this call), stops reconnecting and frees it once libuv has closed its
 * handles (run the loop). NULL is a no-op. Not from a reply callback. */
void rconn_free(struct rconn *c);

bool rconn_is_up(const struct rconn *c);
/* Drops the connection now and reconnects (used when a check fails, e.g. a
 * dead subscriber link). */
void rconn_reset(struct rconn *c, const char *why);

/* Sends a command from argv (binary-safe); see the contract above. */
int rconn_command(struct rconn *c, rconn_reply_fn cb, void *arg, int argc,
		   const char **argv, const size_t *argvlen);

/* Subscriber connections only: (UN)SUBSCRIBE one channel. Messages and
 * confirmations come to opts->message. No-op while down (the owner
 * re-subscribes from its up callback). */
void rconn_subscribe(struct rconn *c, const char *channel, bool on);

/*
 * Subscriber connections only, after an rconn_subscribe of another channel
 * (the connection must be in subscribed mode): SSUBSCRIBE (or SUNSUBSCRIBE)
 * one shard channel (Redis 7). hiredis 0.14 routes pub/sub replies by
 * channel name and knows no shard channels, so the plain channel of the
 * same name is (un)subscribed with it: its entry is what carries the
 * shard replies to opts->push. Nobody PUBLISHes that plain name in cluster
 * mode. No-op while down.
 */
void rconn_ssubscribe(struct rconn *c, const char *channel, bool on);

#endif

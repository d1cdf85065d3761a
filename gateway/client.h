/*
 * client.h - the client protocol of one WebSocket connection, without the
 * transport: the auth-first rule, `auth` (first token or refresh), `ping`,
 * `subscribe` (permission, per-connection limit) and `unsubscribe`, and the
 * deadline of the connection's one timer (the auth timeout, then the
 * token's expiry). The transport hands it the handshake's token, whole text
 * messages and timer expiries; answers go to the session's queue, and a
 * close comes back as a struct client_close for the transport to perform.
 * Pure; loop thread only.
 */
#ifndef SG_CLIENT_H
#define SG_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "identity.h"
#include "ratelimit.h"
#include "session.h"

struct hub;

/* What every connection of a listener shares (borrowed, read-only). */
struct client_env {
	struct hub *hub;
	const struct identity_cfg *idcfg;
	const char *node;   /* in welcome */
	int json_depth;     /* limits.json_depth */
	int subs_max;       /* limits.subscriptions_per_connection */
	int auth_timeout_s; /* ws.auth_timeout_s: the first auth, at most */
	int leeway_s;       /* auth.leeway_s past a token's exp */
	bool open;          /* auth.mode none: authenticated at once */
	int msgs_per_s;     /* limits.ws_messages_per_s (0: no limit) */
	int msgs_burst;     /* limits.ws_messages_burst */
};

struct client {
	struct session s; /* first: the hub's struct session * is this */
	const struct client_env *env;
	struct identity who;  /* owned once authed */
	bool authed;
	int64_t auth_deadline; /* seconds; while !authed */
	struct rl_bucket rate; /* the messages it sends */
};

/* How the transport must close: a WebSocket close code (from the error
 * table) and a reason of at most 123 bytes. */
struct client_close {
	int code;
	char reason[124];
};

/* Sets up c with an empty session (session_init's ops, id and qlimit). */
void client_init(struct client *c, const struct client_env *env,
		 const struct session_ops *ops, const char *id, size_t qlimit);
/* Leaves the hub and frees what c holds. */
void client_release(struct client *c);

/*
 * The connection is established with token and key, the handshake's
 * X-API-Key (each NULL: none; with neither, an `auth` message must come
 * within auth_timeout_s). A token, a key, or an open listener,
 * authenticates at once (welcome queued). Later `auth` messages carry
 * tokens only. False, with *out set, when the connection must close.
 */
bool client_open(struct client *c, const char *token, const char *key,
		 int64_t now, struct client_close *out);

/* One whole text message. False, with *out set, when the connection must
 * close; errors the client may correct are answered and keep it open. */
bool client_message(struct client *c, const char *buf, size_t len,
		    int64_t now, struct client_close *out);

/* The timer fired (at or after client_deadline). False, with *out set,
 * when the auth deadline or the token's expiry (plus leeway) passed. */
bool client_timer(struct client *c, int64_t now, struct client_close *out);

/* When the timer must fire next, in seconds; 0: no deadline. */
int64_t client_deadline(const struct client *c);

#endif

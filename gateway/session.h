/*
 * session.h - the transport-free half of a WebSocket connection: its
 * bounded outbound queue of shared messages and its subscriptions (the
 * session -> collections side of the hub's two-way index). The transport
 * embeds a struct session and supplies ops to be woken for writing and to
 * be told to close. Pure; loop thread only.
 *
 * Invariants: qbytes is the sum of msg_cost() over queued messages;
 * qbytes <= qlimit unless close_code is set, and once close_code is set
 * nothing more is queued.
 */
#ifndef SG_SESSION_H
#define SG_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "msg.h"

struct session;
struct hub_sub;

struct session_ops {
	/* Ask the transport for a write opportunity (may be called often). */
	void (*wake)(struct session *s);
	/* The session must be closed with code/reason as soon as possible. */
	void (*kill)(struct session *s);
};

struct session {
	const struct session_ops *ops; /* borrowed, static */
	char id[24];
	struct msg **q;       /* owned ring of message refs */
	size_t qhead, qlen, qcap;
	size_t qbytes, qlimit;
	struct hub_sub *subs; /* subscriptions (owned by the hub) */
	size_t nsubs;
	int close_code;       /* 0 while open */
	char close_reason[124]; /* a close frame has room for 123 */
};

/* Sets up an empty session; id is copied (truncated). */
void session_init(struct session *s, const struct session_ops *ops,
		  const char *id, size_t qlimit);
/* Drops every queued reference. Subscriptions must be gone (hub). */
void session_release(struct session *s);

/*
 * Queues a reference to m (the caller keeps its own). Returns 0;
 * GW_ECLOSING when the session is already closing (nothing is queued);
 * GW_ESLOW when m would pass the queue limit, or GW_ENOMEM when the queue
 * cannot grow: then the queue is dropped, the session is closed (the close
 * code of GW_ESLOW, 4008, or of GW_EINTERNAL) and ops->kill called once.
 */
int session_enqueue(struct session *s, struct msg *m);
/* Queues and consumes the caller's reference. m may be NULL (a message
 * that could not be built): GW_ENOMEM, the session stays as it is. */
int session_enqueue_take(struct session *s, struct msg *m);
/* The oldest queued message (borrowed), or NULL. */
struct msg *session_peek(const struct session *s);
/* The i-th queued message from the oldest (borrowed), or NULL past the end. */
struct msg *session_peek_at(const struct session *s, size_t i);
/* Removes the oldest message and drops its reference. */
void session_pop(struct session *s);
/* Marks the session for closing with code (a WebSocket close code, from
 * gw_err_ws_close) and reason, clears its queue, calls ops->kill once. */
void session_close(struct session *s, int code, const char *reason);

#endif

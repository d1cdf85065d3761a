/*
 * client.c - the client protocol of one WebSocket connection (client.h):
 * decisions 16-20 of docs/decisions.md as a state machine over a session
 * and an identity. Talks to the hub for subscriptions and to the session's
 * queue for answers; must not include the WebSocket library.
 */
#include "client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "hub.h"
#include "log.h"
#include "proto.h"
#include "strx.h"

void client_init(struct client *c, const struct client_env *env,
		 const struct session_ops *ops, const char *id, size_t qlimit)
{
	memset(c, 0, sizeof(*c));
	session_init(&c->s, ops, id, qlimit);
	c->env = env;
}

void client_release(struct client *c)
{
	hub_session_gone(c->env->hub, &c->s);
	session_release(&c->s);
	identity_release(&c->who);
}

/* Fills out for err (its close code) with reason, or err's own message. */
static bool close_for(struct client_close *out, int err, const char *reason)
{
	out->code = gw_err_ws_close(err);
	strx_copy(out->reason, sizeof(out->reason),
		 reason ? reason : gw_err_message(err));
	return false;
}

static void send_error(struct client *c, int err, const char *message,
		       const char *ref)
{
	session_enqueue_take(&c->s, proto_error(gw_err_code(err),
						message ? message : gw_err_message(err),
						ref));
}

static void welcome(struct client *c)
{
	session_enqueue_take(&c->s, proto_welcome(c->env->node, c->s.id));
}

bool client_open(struct client *c, const char *token, const char *key,
		 int64_t now, struct client_close *out)
{
	struct gw_error e = {0, ""};

	if (!c->env->open && !token && !key) {
		c->auth_deadline = now + c->env->auth_timeout_s;
		return true;
	}
	if (identity_from_request(c->env->idcfg, token,
				  token ? strlen(token) : 0, key,
				  key ? strlen(key) : 0, now, &c->who, &e))
		return close_for(out, GW_EUNAUTH,
				 key ? "invalid API key" : "invalid token");
	c->authed = true;
	welcome(c);
	log_msg(LOG_DEBUG, "session", c->s.id, "connected as \"%s\"", c->who.sub);
	return true;
}

static bool still_allowed(void *ctx, const char *coll)
{
	struct client *c = ctx;

	return identity_allows(&c->who, ACL_READ, coll);
}

static void now_unsubscribed(void *ctx, const char *coll)
{
	struct client *c = ctx;

	session_enqueue_take(&c->s, proto_unsubscribed(coll, NULL));
}

static bool on_auth(struct client *c, const struct proto_msg *m, int64_t now,
		    struct client_close *out)
{
	struct identity id;
	struct gw_error e = {0, ""};
	int rc;

	rc = identity_from_token(c->env->idcfg, m->token, strlen(m->token), now,
				 &id, &e);
	if (rc) {
		unsigned long dropped;

		if (log_refusal_ok(&dropped))
			log_msg(LOG_INFO, "session", c->s.id,
				"auth refused: %s (%lu refusals not logged before)",
				e.msg, dropped);
		/* 4001 for an expired token, 1008 for any other failure (a
		 * code without a close code of its own, e.g. NOMEM, included) */
		return close_for(out, gw_err_ws_close(rc) ? rc : GW_EUNAUTH, e.msg);
	}
	if (!c->authed) {
		identity_move(&c->who, &id);
		c->authed = true;
		welcome(c);
		return true;
	}
	/* a refresh: same subject, possibly other permissions and expiry */
	if (strcmp(id.sub, c->who.sub) != 0) {
		identity_release(&id);
		return close_for(out, GW_ESUBJECT_CHANGED, NULL);
	}
	identity_move(&c->who, &id);
	hub_session_filter(c->env->hub, &c->s, still_allowed, now_unsubscribed, c);
	welcome(c);
	return true;
}

static void on_subscribe(struct client *c, const struct proto_msg *m)
{
	int rc;

	if (!identity_allows(&c->who, ACL_READ, m->collection)) {
		send_error(c, GW_EFORBIDDEN, "no read permission for this collection",
			   m->ref);
	} else if (c->s.nsubs >= (size_t)c->env->subs_max) {
		char msg[96];

		snprintf(msg, sizeof(msg), "subscription limit (%d) reached",
			 c->env->subs_max);
		send_error(c, GW_EBADREQ, msg, m->ref);
	} else {
		rc = hub_subscribe(c->env->hub, &c->s, m->collection,
				   m->has_since ? &m->since : NULL, m->ref,
				   m->conflicts);
		if (rc == GW_EBADREQ)
			send_error(c, rc, "already subscribed to this collection", m->ref);
		else if (rc)
			send_error(c, rc, NULL, m->ref);
	}
}

bool client_message(struct client *c, const char *buf, size_t len,
		    int64_t now, struct client_close *out)
{
	struct proto_msg m;
	struct gw_error e = {0, ""};
	char *ref = NULL;
	bool open = true;
	int rc;

	/* before anything else: a flood costs a bucket check per message */
	if (!rl_take(&c->rate, c->env->msgs_per_s, c->env->msgs_burst,
		     now * 1000, NULL))
		return close_for(out, GW_ERATE, "too many messages");
	rc = proto_parse(buf, len, c->env->json_depth, &m, &ref, &e);
	if (rc) {
		if (!c->authed)
			open = close_for(out, GW_EAUTH_FIRST, NULL);
		else
			send_error(c, rc, e.msg, ref);
		free(ref);
		return open;
	}
	free(ref);
	if (!c->authed && m.type != PROTO_AUTH) {
		proto_msg_release(&m);
		return close_for(out, GW_EAUTH_FIRST, NULL);
	}
	switch (m.type) {
	case PROTO_AUTH:
		open = on_auth(c, &m, now, out);
		break;
	case PROTO_PING:
		session_enqueue_take(&c->s, proto_pong(m.ref));
		break;
	case PROTO_SUBSCRIBE:
		on_subscribe(c, &m);
		break;
	case PROTO_UNSUBSCRIBE:
		if (hub_unsubscribe(c->env->hub, &c->s, m.collection))
			send_error(c, GW_ENOTFOUND, "not subscribed to this collection", m.ref);
		else
			session_enqueue_take(&c->s, proto_unsubscribed(m.collection, m.ref));
		break;
	}
	proto_msg_release(&m);
	return open;
}

bool client_timer(struct client *c, int64_t now, struct client_close *out)
{
	if (!c->authed) {
		if (now >= c->auth_deadline)
			return close_for(out, GW_EAUTH_TIMEOUT, NULL);
	} else if (c->who.exp && now >= c->who.exp + c->env->leeway_s) {
		log_msg(LOG_INFO, "session", c->s.id, "token expired");
		return close_for(out, GW_EEXPIRED, NULL);
	}
	return true;
}

int64_t client_deadline(const struct client *c)
{
	if (!c->authed)
		return c->auth_deadline;
	return c->who.exp ? c->who.exp + c->env->leeway_s : 0;
}

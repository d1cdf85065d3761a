/*
 * redis_conn.c - hiredis async connection glued to libuv, with command
 * timeouts, connect timeout, AUTH/SELECT and reconnect backoff. This is an
 * adapter: it knows hiredis and libuv, and nothing about documents.
 *
 * Commands in flight form a FIFO (Redis answers in order), so one timer
 * armed for the oldest deadline covers them all.
 */
#include "redis_conn.h"

#include <hiredis/async.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "log.h"
#include "resp.h"

struct rcmd {
	struct rcmd *next, *prev; /* FIFO of commands in flight */
	struct rconn *conn;
	rconn_reply_fn cb;
	void *arg;
	uint64_t deadline;
	bool done;   /* cb already called (timeout or failure) */
	bool queued; /* in the FIFO */
};

/* libuv side of one hiredis context: freed in the poll close callback */
struct rpoll {
	uv_poll_t poll;
	redisAsyncContext *ac; /* NULL once hiredis cleaned up */
	int events;
};

struct rconn {
	uv_loop_t *loop;
	struct rconn_opts o;
	char *host, *password, *user;
	redisAsyncContext *ac; /* NULL while down */
	bool connected;        /* TCP connected and AUTH/SELECT sent */
	bool freeing;
	int attempt;
	uv_timer_t timer;      /* command deadlines and connect timeout */
	uv_timer_t retry;      /* reconnect backoff */
	uv_timer_t defer;      /* failures of commands sent while down */
	struct rcmd *head, *tail;
	size_t pending;
	struct rcmd *deferred; /* singly linked through next */
	struct sbuf out;       /* the command being formatted, reused */
	int handles_open;
};

static void conn_start(struct rconn *c);
static void conn_lost(struct rconn *c, const char *why);

/* ---- libuv adapter for hiredis ------------------------------------------ */

static void poll_cb(uv_poll_t *h, int status, int events)
{
	struct rpoll *p = h->data;

	if (status < 0)
		events = UV_READABLE | UV_WRITABLE; /* let hiredis see the error */
	if (p->ac && (events & UV_READABLE))
		redisAsyncHandleRead(p->ac);
	if (p->ac && (events & UV_WRITABLE))
		redisAsyncHandleWrite(p->ac);
}

static void poll_update(struct rpoll *p, int add, int del)
{
	int events = (p->events | add) & ~del;

	/* hiredis asks for write interest on every command and read interest
	 * on every read: libuv's uv_poll_start takes the fd out of epoll
	 * before it arms it again (two epoll_ctl), so only a change goes on */
	if (events == p->events)
		return;
	p->events = events;
	if (p->events)
		uv_poll_start(&p->poll, p->events, poll_cb);
	else
		uv_poll_stop(&p->poll);
}

static void ev_add_read(void *d) { poll_update(d, UV_READABLE, 0); }
static void ev_del_read(void *d) { poll_update(d, 0, UV_READABLE); }
static void ev_add_write(void *d) { poll_update(d, UV_WRITABLE, 0); }
static void ev_del_write(void *d) { poll_update(d, 0, UV_WRITABLE); }

static void poll_closed(uv_handle_t *h) { free(h->data); }

static void ev_cleanup(void *d)
{
	struct rpoll *p = d;

	p->ac = NULL;
	uv_close((uv_handle_t *)&p->poll, poll_closed);
}

static int attach(redisAsyncContext *ac, uv_loop_t *loop)
{
	struct rpoll *p = calloc(1, sizeof(*p));

	if (!p)
		return -1;
	if (uv_poll_init(loop, &p->poll, ac->c.fd) != 0) {
		free(p);
		return -1;
	}
	p->poll.data = p;
	p->ac = ac;
	ac->ev.data = p;
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	return 0;
}

/* ---- the FIFO and deadlines -------------------------------------------- */

static void fifo_remove(struct rconn *c, struct rcmd *r)
{
	if (!r->queued)
		return;
	if (r->prev)
		r->prev->next = r->next;
	else
		c->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		c->tail = r->prev;
	r->next = r->prev = NULL;
	r->queued = false;
	c->pending--;
}

static void arm_timer(struct rconn *c);

static void timer_cb(uv_timer_t *t)
{
	struct rconn *c = t->data;

	if (c->ac && !c->connected) {
		conn_lost(c, "connect timed out");
		return;
	}
	if (c->head && uv_now(c->loop) >= c->head->deadline) {
		conn_lost(c, "command timed out");
		return;
	}
	arm_timer(c);
}

static void arm_timer(struct rconn *c)
{
	uint64_t now = uv_now(c->loop);

	if (c->head) {
		uint64_t d = c->head->deadline;

		uv_timer_start(&c->timer, timer_cb, d > now ? d - now : 0, 0);
	} else {
		uv_timer_stop(&c->timer);
	}
}

/* Calls every in-flight command's callback with err; hiredis still owns
 * the records and frees them through reply_cb. */
static void fail_pending(struct rconn *c, int err)
{
	while (c->head) {
		struct rcmd *r = c->head;

		fifo_remove(c, r);
		r->done = true;
		r->cb(c, err, NULL, r->arg);
	}
}

static void reply_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct rcmd *r = privdata;
	struct rconn *c = r->conn;

	GW_UNUSED(ac);
	if (!r->done) {
		bool was_head = (c->head == r);

		fifo_remove(c, r);
		r->done = true;
		r->cb(c, reply ? 0 : GW_EUNAVAIL, reply, r->arg);
		if (was_head && !c->freeing)
			arm_timer(c);
	}
	free(r);
}

static void defer_cb(uv_timer_t *t)
{
	struct rconn *c = t->data;

	while (c->deferred) {
		struct rcmd *r = c->deferred;

		c->deferred = r->next;
		r->cb(c, GW_EUNAVAIL, NULL, r->arg);
		free(r);
	}
}

/* The command in RESP, given to hiredis as it is: hiredis's own formatting
 * (sds, several allocations per command) was 4 % of a REST write's CPU.
 * REDIS_OK or REDIS_ERR, as redisAsyncCommandArgv. */
static int send_formatted(struct rconn *c, struct rcmd *r, int argc,
			  const char **argv, const size_t *argvlen)
{
	int rc;

	sbuf_truncate(&c->out, 0);
	resp_command(&c->out, argc, argv, argvlen);
	if (sbuf_failed(&c->out)) {
		sbuf_release(&c->out);
		return REDIS_ERR;
	}
	rc = redisAsyncFormattedCommand(c->ac, reply_cb, r, c->out.buf, c->out.len);
	if (c->out.cap > 64 * 1024) /* a large write's buffer is not kept */
		sbuf_release(&c->out);
	return rc;
}

int rconn_command(struct rconn *c, rconn_reply_fn cb, void *arg, int argc,
		  const char **argv, const size_t *argvlen)
{
	struct rcmd *r = calloc(1, sizeof(*r));

	if (!r)
		return GW_ENOMEM;
	r->conn = c;
	r->cb = cb;
	r->arg = arg;
	if (!c->connected || c->freeing || c->pending >= c->o.max_pending ||
	    send_formatted(c, r, argc, argv, argvlen) != REDIS_OK) {
		r->next = c->deferred;
		c->deferred = r;
		uv_timer_start(&c->defer, defer_cb, 0, 0);
		return 0;
	}
	r->deadline = uv_now(c->loop) + (uint64_t)c->o.timeout_ms;
	r->queued = true;
	r->prev = c->tail;
	if (c->tail)
		c->tail->next = r;
	else
		c->head = r;
	c->tail = r;
	c->pending++;
	if (c->head == r)
		arm_timer(c);
	return 0;
}

/* ---- subscriptions -------------------------------------------------------- */

static void sub_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct rconn *c = privdata;
	redisReply *r = reply, **e;

	GW_UNUSED(ac);
	if (r && r->type == REDIS_REPLY_ERROR && c->o.push) {
		c->o.push(c, c->o.ctx, "error", "", 0, r->str, r->len);
		return;
	}
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
	    (!c->o.message && !c->o.push))
		return;
	e = r->element;
	if (e[0]->type != REDIS_REPLY_STRING || e[1]->type != REDIS_REPLY_STRING)
		return;
	if (c->o.push) {
		bool msg = e[2]->type == REDIS_REPLY_STRING;

		c->o.push(c, c->o.ctx, e[0]->str, e[1]->str, e[1]->len,
			  msg ? e[2]->str : NULL, msg ? e[2]->len : 0);
		return;
	}
	if (strcmp(e[0]->str, "message") == 0 && e[2]->type == REDIS_REPLY_STRING)
		c->o.message(c, c->o.ctx, e[1]->str, e[1]->len, e[2]->str,
			     e[2]->len);
	else if (strcmp(e[0]->str, "subscribe") == 0)
		c->o.message(c, c->o.ctx, e[1]->str, e[1]->len, NULL, 0);
}

static void sub_send(struct rconn *c, const char *cmd, const char *channel)
{
	const char *argv[2] = {cmd, channel};
	size_t lens[2] = {strlen(cmd), strlen(channel)};

	redisAsyncCommandArgv(c->ac, sub_cb, c, 2, argv, lens);
}

void rconn_subscribe(struct rconn *c, const char *channel, bool on)
{
	if (c->connected && !c->freeing)
		sub_send(c, on ? "SUBSCRIBE" : "UNSUBSCRIBE", channel);
}

void rconn_ssubscribe(struct rconn *c, const char *channel, bool on)
{
	if (!c->connected || c->freeing)
		return;
	if (on) {
		sub_send(c, "SUBSCRIBE", channel);
		sub_send(c, "SSUBSCRIBE", channel);
	} else {
		sub_send(c, "SUNSUBSCRIBE", channel);
		sub_send(c, "UNSUBSCRIBE", channel);
	}
}

/* ---- connection lifecycle ------------------------------------------------- */

static void retry_cb(uv_timer_t *t) { conn_start(t->data); }

static void schedule_retry(struct rconn *c)
{
	uint64_t ms = (uint64_t)c->o.backoff_min_ms << (c->attempt < 16 ? c->attempt : 16);
	uint64_t jitter;

	if (uv_is_active((uv_handle_t *)&c->retry))
		return;
	if (ms > (uint64_t)c->o.backoff_max_ms)
		ms = (uint64_t)c->o.backoff_max_ms;
	/* +-25% so that gateways restarted together do not retry together */
	jitter = ms / 2 ? (uint64_t)rand() % (ms / 2) : 0;
	ms = ms - ms / 4 + jitter;
	c->attempt++;
	uv_timer_start(&c->retry, retry_cb, ms, 0);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct rconn *c = ac->data;
	bool was_up = c->connected;

	GW_UNUSED(status);
	c->ac = NULL;
	c->connected = false;
	uv_timer_stop(&c->timer);
	fail_pending(c, GW_EUNAVAIL);
	if (c->freeing)
		return;
	if (was_up) {
		log_warn("redis %s connection lost", c->o.name);
		if (c->o.down)
			c->o.down(c, c->o.ctx);
	}
	schedule_retry(c);
}

static void auth_cb(struct rconn *c, int err, redisReply *r, void *arg)
{
	GW_UNUSED(arg);
	if (!err && r && r->type == REDIS_REPLY_ERROR) {
		log_error("redis %s: %s refused: %.200s", c->o.name,
			  (const char *)arg, r->str);
		rconn_reset(c, "authentication failed");
	}
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct rconn *c = ac->data;

	if (status != REDIS_OK) {
		/* hiredis frees the context after this callback */
		log_warn("redis %s: cannot connect to %s:%d: %s", c->o.name,
			 c->host, c->o.port, ac->errstr);
		c->ac = NULL;
		uv_timer_stop(&c->timer);
		if (!c->freeing)
			schedule_retry(c);
		return;
	}
	c->connected = true;
	c->attempt = 0;
	uv_timer_stop(&c->timer);
	redisEnableKeepAlive((redisContext *)(uintptr_t)&ac->c);
	if (c->password && c->user) {
		const char *argv[3] = {"AUTH", c->user, c->password};
		size_t lens[3] = {4, strlen(c->user), strlen(c->password)};

		rconn_command(c, auth_cb, (void *)(uintptr_t)"AUTH", 3, argv, lens);
	} else if (c->password) {
		const char *argv[2] = {"AUTH", c->password};
		size_t lens[2] = {4, strlen(c->password)};

		rconn_command(c, auth_cb, (void *)(uintptr_t)"AUTH", 2, argv, lens);
	}
	if (c->o.db) {
		char db[16];
		const char *argv[2] = {"SELECT", db};
		size_t lens[2];

		snprintf(db, sizeof(db), "%d", c->o.db);
		lens[0] = 6;
		lens[1] = strlen(db);
		rconn_command(c, auth_cb, (void *)(uintptr_t)"SELECT", 2, argv, lens);
	}
	log_info("redis %s connection up (%s:%d)", c->o.name, c->host, c->o.port);
	if (c->o.up)
		c->o.up(c, c->o.ctx);
}

static void conn_start(struct rconn *c)
{
	redisAsyncContext *ac;

	if (c->freeing || c->ac)
		return;
	ac = redisAsyncConnect(c->host, c->o.port);
	if (!ac || ac->err) {
		log_warn("redis %s: cannot connect to %s:%d: %s", c->o.name,
			 c->host, c->o.port, ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		schedule_retry(c);
		return;
	}
	if (attach(ac, c->loop)) {
		redisAsyncFree(ac);
		schedule_retry(c);
		return;
	}
	ac->data = c;
	c->ac = ac;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	uv_timer_start(&c->timer, timer_cb, (uint64_t)c->o.connect_timeout_ms, 0);
}

/* Tears the current connection down; on_disconnect (or the code below
 * when hiredis will not call it) schedules the reconnect. */
static void conn_lost(struct rconn *c, const char *why)
{
	redisAsyncContext *ac = c->ac;

	if (!ac)
		return;
	log_warn("redis %s: %s; reconnecting", c->o.name, why);
	fail_pending(c, GW_ETIMEOUT);
	if (!c->connected) {
		/* no disconnect callback for a connection that never came up */
		c->ac = NULL;
		ac->onConnect = NULL;
		ac->onDisconnect = NULL;
		redisAsyncFree(ac);
		uv_timer_stop(&c->timer);
		if (!c->freeing)
			schedule_retry(c);
		return;
	}
	redisAsyncFree(ac); /* calls on_disconnect */
}

void rconn_reset(struct rconn *c, const char *why)
{
	conn_lost(c, why);
}

struct rconn *rconn_new(uv_loop_t *loop, const struct rconn_opts *opts)
{
	struct rconn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->loop = loop;
	c->o = *opts;
	c->host = strdup(opts->host);
	c->password = opts->password && *opts->password ? strdup(opts->password) : NULL;
	c->user = opts->user && *opts->user ? strdup(opts->user) : NULL;
	if (!c->host || (opts->password && *opts->password && !c->password) ||
	    (opts->user && *opts->user && !c->user)) {
		free(c->host);
		free(c->password);
		free(c->user);
		free(c);
		return NULL;
	}
	c->o.host = c->host;
	c->o.password = c->password;
	c->o.user = c->user;
	uv_timer_init(loop, &c->timer);
	uv_timer_init(loop, &c->retry);
	uv_timer_init(loop, &c->defer);
	c->timer.data = c->retry.data = c->defer.data = c;
	c->handles_open = 3;
	conn_start(c);
	return c;
}

bool rconn_is_up(const struct rconn *c) { return c && c->connected; }

static void handle_closed(uv_handle_t *h)
{
	struct rconn *c = h->data;

	if (--c->handles_open == 0) {
		gw_free_secret(c->password);
		sbuf_release(&c->out);
		free(c->user);
		free(c->host);
		free(c);
	}
}

void rconn_free(struct rconn *c)
{
	if (!c)
		return;
	c->freeing = true;
	if (c->ac) {
		redisAsyncContext *ac = c->ac;

		fail_pending(c, GW_EUNAVAIL);
		if (!c->connected) {
			ac->onConnect = NULL;
			ac->onDisconnect = NULL;
		}
		c->ac = NULL;
		redisAsyncFree(ac);
	}
	c->connected = false;
	defer_cb(&c->defer);
	uv_close((uv_handle_t *)&c->timer, handle_closed);
	uv_close((uv_handle_t *)&c->retry, handle_closed);
	uv_close((uv_handle_t *)&c->defer, handle_closed);
}

/*
 * redis_health.c - the readiness checks of the command connection: INFO
 * parsed as bytes (health_check_info, pure), and the state they drive
 * (status text, run_id, the recheck timer). Reaches Redis only through
 * redis_conn.h and redis_scripts.h; knows nothing of documents.
 */
#include "redis_health.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "redis_conn.h"
#include "redis_scripts.h"
#include "strx.h"

#define RECHECK_MS 10000

struct health {
	struct rconn *conn;         /* borrowed */
	const struct scripts *sc;   /* borrowed */
	health_passed_fn passed;
	void *ctx;                  /* borrowed, for passed */
	bool checked;               /* INFO checks passed on this connection */
	char status[160];
	char run_id[48];
	bool marked;                /* this process set the instance marker */
	uv_timer_t recheck;
	void (*done)(void *arg);    /* health_free's */
	void *done_arg;             /* borrowed */
};

/* ---- the INFO decision --------------------------------------------------- */

/* Finds "key:value" at the start of a line of info[0..len); copies value
 * (up to cap - 1 bytes) into out. */
static bool info_field(const char *info, size_t len, const char *key,
		       char *out, size_t cap)
{
	const char *end = info + len;
	size_t klen = strlen(key);

	for (const char *p = info; (p = memmem(p, (size_t)(end - p), key, klen));
	     p += klen) {
		if ((p == info || p[-1] == '\n') && (size_t)(end - p) > klen &&
		    p[klen] == ':') {
			const char *v = p + klen + 1;
			size_t n = 0;

			while (v + n < end && v[n] != '\r' && v[n] != '\n')
				n++;
			if (n >= cap)
				n = cap - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return true;
		}
	}
	return false;
}

enum health_verdict health_check_info(const char *info, size_t len,
				      struct health_info *out)
{
	memset(out, 0, sizeof(*out));
	info_field(info, len, "maxmemory_policy", out->policy, sizeof(out->policy));
	info_field(info, len, "run_id", out->run_id, sizeof(out->run_id));
	info_field(info, len, "redis_version", out->version, sizeof(out->version));
	if (strcmp(out->policy, "noeviction") != 0) {
		snprintf(out->why, sizeof(out->why),
			 "redis maxmemory-policy is %s, not noeviction", out->policy);
		return HEALTH_EVICTS;
	}
	if (atoi(out->version) < 7) {
		snprintf(out->why, sizeof(out->why),
			 "redis %s is too old (7.0 or later needed)", out->version);
		return HEALTH_TOO_OLD;
	}
	return HEALTH_OK;
}

/* ---- the state machine --------------------------------------------------- */

static void mark_instance(struct health *h);

static void info_reply(struct rconn *c, int err, redisReply *r, void *arg)
{
	struct health *h = arg;
	struct health_info in;

	GW_UNUSED(c);
	if (err || !r || r->type != REDIS_REPLY_STRING) {
		snprintf(h->status, sizeof(h->status), "redis INFO failed");
		return;
	}
	switch (health_check_info(r->str, r->len, &in)) {
	case HEALTH_EVICTS:
		if (!h->checked || h->status[0] == '\0')
			log_error("redis maxmemory-policy is \"%s\": it would evict "
				  "documents and change logs silently; set it to "
				  "noeviction. Not ready until then.", in.policy);
		strx_copy(h->status, sizeof(h->status), in.why);
		h->checked = false;
		return;
	case HEALTH_TOO_OLD:
		strx_copy(h->status, sizeof(h->status), in.why);
		log_error("%s", h->status);
		return;
	case HEALTH_OK:
		break;
	}
	/* another process behind the same connection (a proxy that switched,
	 * a failover without a disconnect): every live collection is checked
	 * at once, as after a reconnect; the scripts see the new run_id too */
	bool other = h->checked && h->run_id[0] && strcmp(h->run_id, in.run_id) != 0;

	if (other)
		log_warn("redis is another process (run_id %s, was %s): checking "
			 "every live collection", in.run_id, h->run_id);
	strx_copy(h->run_id, sizeof(h->run_id), in.run_id);
	h->status[0] = '\0';
	if (!h->checked || other) {
		h->checked = true;
		if (h->passed)
			h->passed(h->ctx);
	}
	mark_instance(h);
}

/* The instance marker's old value: gone after this process set it means
 * a flush (FLUSHALL keeps the connection and the run_id); another run_id
 * means the data was replaced. Either way the live collections are checked
 * now rather than at their next touch. */
static void marker_reply(struct rconn *c, int err, redisReply *r, void *arg)
{
	struct health *h = arg;
	bool gone, other;

	GW_UNUSED(c);
	if (err || !r || (r->type != REDIS_REPLY_NIL && r->type != REDIS_REPLY_STRING))
		return;
	gone = r->type == REDIS_REPLY_NIL && h->marked;
	other = r->type == REDIS_REPLY_STRING &&
		(r->len != strlen(h->run_id) || memcmp(r->str, h->run_id, r->len) != 0);
	h->marked = true;
	if (!gone && !other)
		return;
	log_warn("redis data was %s (instance marker %s): checking every live "
		 "collection", gone ? "flushed" : "replaced", gone ? "gone" : "changed");
	if (h->passed)
		h->passed(h->ctx);
}

static void mark_instance(struct health *h)
{
	char key[KEYS_MAX];
	size_t klen = keys_format_instance(key);
	const char *argv[4] = {"SET", key, h->run_id, "GET"};
	size_t lens[4] = {3, klen, strlen(h->run_id), 3};

	rconn_command(h->conn, marker_reply, h, 4, argv, lens);
}

void health_recheck(struct health *h)
{
	const char *argv[1] = {"INFO"};
	size_t lens[1] = {4};

	if (!rconn_is_up(h->conn))
		return;
	/* the scripts first: when INFO answers, they are loaded */
	if (scripts_load(h->sc, h->conn))
		return; /* out of memory: the recheck timer tries again */
	if (rconn_command(h->conn, info_reply, h, 1, argv, lens))
		snprintf(h->status, sizeof(h->status), "out of memory");
}

void health_conn_up(struct health *h)
{
	metrics.redis_cmd_up = 1;
	metrics.redis_reconnects++;
	h->checked = false;
	snprintf(h->status, sizeof(h->status), "checking redis");
	health_recheck(h);
}

void health_conn_down(struct health *h)
{
	metrics.redis_cmd_up = 0;
	h->checked = false;
	snprintf(h->status, sizeof(h->status), "redis unreachable");
}

/* catches a CONFIG SET maxmemory-policy made while running */
static void recheck_cb(uv_timer_t *t) { health_recheck(t->data); }

struct health *health_new(uv_loop_t *loop, struct rconn *conn,
			  const struct scripts *sc, health_passed_fn passed,
			  void *ctx)
{
	struct health *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->conn = conn;
	h->sc = sc;
	h->passed = passed;
	h->ctx = ctx;
	snprintf(h->status, sizeof(h->status), "connecting to redis");
	uv_timer_init(loop, &h->recheck);
	h->recheck.data = h;
	uv_timer_start(&h->recheck, recheck_cb, RECHECK_MS, RECHECK_MS);
	return h;
}

static void recheck_closed(uv_handle_t *t)
{
	struct health *h = t->data;
	void (*done)(void *arg) = h->done;
	void *arg = h->done_arg;

	free(h);
	if (done)
		done(arg);
}

void health_free(struct health *h, void (*done)(void *arg), void *arg)
{
	if (!h)
		return;
	h->done = done;
	h->done_arg = arg;
	uv_close((uv_handle_t *)&h->recheck, recheck_closed);
}

bool health_ready(const struct health *h)
{
	return rconn_is_up(h->conn) && h->checked && h->status[0] == '\0';
}

const char *health_status(const struct health *h) { return h->status; }

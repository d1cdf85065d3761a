/*
 * redis_health.h - may the command connection's Redis serve? Reachable,
 * maxmemory-policy noeviction (any other policy evicts documents and logs
 * silently), Redis 7 or later, and the scripts loaded. Checked on every
 * connect and again every 10 s (a CONFIG SET made while running), with the
 * run_id watched for restarts. Loop thread only, except health_check_info.
 */
#ifndef SG_REDIS_HEALTH_H
#define SG_REDIS_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct health;
struct rconn;
struct scripts;

/* ---- the INFO decision (pure) -------------------------------------------- */

enum health_verdict {
	HEALTH_OK,      /* noeviction and Redis 7 or later */
	HEALTH_EVICTS,  /* maxmemory_policy is not noeviction (or absent) */
	HEALTH_TOO_OLD  /* noeviction, but redis_version below 7 (or absent) */
};

struct health_info {
	char policy[32];  /* maxmemory_policy; "" when absent */
	char version[24]; /* redis_version; "" when absent */
	char run_id[48];  /* run_id; "" when absent */
	char why[160];    /* why not: the status text; "" for HEALTH_OK */
};

/*
 * Decides on the text of an INFO reply, info[0..len) (no NUL needed):
 * "key:value" lines ending in "\r\n" or "\n". A key counts only at the start
 * of a line and followed by ':' (so "redis_version" is not
 * "redis_version_x"); the first such line wins; values longer than their
 * field are cut. The policy is judged before the version. Fills *out on
 * every path. Any thread.
 */
enum health_verdict health_check_info(const char *info, size_t len,
				      struct health_info *out);

/* ---- the readiness state machine ----------------------------------------- */

typedef void (*health_passed_fn)(void *ctx);

/*
 * Watches conn (borrowed; its up/down events must be forwarded to
 * health_conn_up/health_conn_down) and loads sc (borrowed) with each check.
 * passed(ctx), which may be NULL, runs each time the checks pass anew: after
 * a connect, or once the policy is noeviction again. Starts the 10 s recheck
 * timer. NULL on OOM.
 */
struct health *health_new(uv_loop_t *loop, struct rconn *conn,
			  const struct scripts *sc, health_passed_fn passed,
			  void *ctx);
/*
 * Stops checking. h is freed once libuv has closed its timer (run the
 * loop), and then done(arg) runs if done is not NULL: the owner may free
 * there what h borrowed. Call it after rconn_free(conn), whose failed
 * answers still reach h. NULL h is a no-op (done does not run).
 */
void health_free(struct health *h, void (*done)(void *arg), void *arg);

/* The connection came up: status "checking redis", then SCRIPT LOAD and
 * INFO are sent. */
void health_conn_up(struct health *h);
/* The connection went down: status "redis unreachable". */
void health_conn_down(struct health *h);
/* Runs the checks now (the timer does every 10 s); no-op while down. */
void health_recheck(struct health *h);

/* Connected and the last check passed. */
bool health_ready(const struct health *h);
/* Why not ready ("" when ready); valid until the next event. */
const char *health_status(const struct health *h);

#endif

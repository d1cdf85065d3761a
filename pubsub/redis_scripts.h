/*
 * redis_scripts.h - the embedded Lua scripts (pubsub/lua/, compiled in by
 * embed.sh) as the store runs them: EVALSHA with each script's SHA1, SCRIPT
 * LOAD of all of them whenever the connection is checked, and the source
 * again with EVAL when Redis answers NOSCRIPT (flushed or restarted since
 * the last load). scripts_load is for the loop thread; the rest is pure.
 */
#ifndef SG_REDIS_SCRIPTS_H
#define SG_REDIS_SCRIPTS_H

#include <stdbool.h>
#include <stddef.h>

struct rconn;
struct redisReply;

enum script_id {
	SCRIPT_WRITE, SCRIPT_META, SCRIPT_ROTATE, SCRIPT_LIST, SCRIPT_READ,
	SCRIPT_RECORD, SCRIPT_LOG, SCRIPT_COUNT
};

struct scripts {
	struct script {
		const char *src; /* borrowed: the embedded source (static) */
		size_t len;
		char sha[41];    /* hex SHA1 of src, as Redis names it */
	} s[SCRIPT_COUNT];
};

/* Fills the table: every script's source and SHA1. */
void scripts_init(struct scripts *sc);

/* Sets argv[0..1] (and their lengths) to EVALSHA <sha of id>; the caller
 * fills numkeys, keys and arguments from argv[2] on. */
void scripts_evalsha(const struct scripts *sc, enum script_id id,
		     const char **argv, size_t *lens);

/*
 * The resend decision for err, an error reply to argv (a call of script id
 * made with scripts_evalsha): NOSCRIPT means nothing ran, so unless argv is
 * already an EVAL, rewrites argv[0..1] to EVAL <source> and returns true
 * (send argv again, its other arguments unchanged). Any other error, or a
 * NOSCRIPT to an EVAL: false, argv untouched.
 */
bool scripts_resend(const struct scripts *sc, enum script_id id,
		    const struct redisReply *err, const char **argv,
		    size_t *lens);

/* Sends SCRIPT LOAD for every script on conn, in table order. Returns 0,
 * or GW_ENOMEM when a command could not even be queued (the scripts after
 * it are not sent). Answers are only logged: a script that failed to load
 * shows up later as NOSCRIPT, which scripts_resend covers. */
int scripts_load(const struct scripts *sc, struct rconn *conn);

#endif

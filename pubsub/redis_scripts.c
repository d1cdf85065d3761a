/*
 * redis_scripts.c - the script registry: SHA1 of each embedded Lua script
 * (libcrypto), SCRIPT LOAD over the command connection, and the
 * NOSCRIPT -> EVAL decision. Knows the scripts' names, not their arguments
 * or replies (redis_store.c and redis_reply.c do).
 */
#include "redis_scripts.h"

#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <string.h>

#include "common.h"
#include "log.h"
#include "hex.h"
#include "lua_scripts.h"
#include "redis_conn.h"
#include "redis_reply.h"

static void sha1_hex(const char *src, size_t len, char out[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(src, len, md, &n, EVP_sha1(), NULL);
	hex_encode(md, 20, out);
}

void scripts_init(struct scripts *sc)
{
	static const struct {
		const char *src;
		const size_t *len;
	} src[SCRIPT_COUNT] = {
		[SCRIPT_WRITE] = {lua_write, &lua_write_len},
		[SCRIPT_META] = {lua_meta, &lua_meta_len},
		[SCRIPT_ROTATE] = {lua_rotate, &lua_rotate_len},
		[SCRIPT_LIST] = {lua_list, &lua_list_len},
		[SCRIPT_READ] = {lua_read, &lua_read_len},
		[SCRIPT_RECORD] = {lua_record, &lua_record_len},
		[SCRIPT_LOG] = {lua_log, &lua_log_len},
	};

	for (int i = 0; i < SCRIPT_COUNT; i++) {
		sc->s[i].src = src[i].src;
		sc->s[i].len = *src[i].len;
		sha1_hex(src[i].src, *src[i].len, sc->s[i].sha);
	}
}

void scripts_evalsha(const struct scripts *sc, enum script_id id,
		     const char **argv, size_t *lens)
{
	argv[0] = "EVALSHA";
	lens[0] = 7;
	argv[1] = sc->s[id].sha;
	lens[1] = 40;
}

bool scripts_resend(const struct scripts *sc, enum script_id id,
		    const struct redisReply *err, const char **argv,
		    size_t *lens)
{
	if (!reply_is_noscript(err) || strcmp(argv[0], "EVAL") == 0)
		return false;
	argv[0] = "EVAL";
	lens[0] = 4;
	argv[1] = sc->s[id].src;
	lens[1] = sc->s[id].len;
	return true;
}

static void load_reply(struct rconn *c, int err, redisReply *r, void *arg)
{
	GW_UNUSED(c);
	GW_UNUSED(arg);
	if (!err && r && r->type == REDIS_REPLY_ERROR)
		log_error("redis SCRIPT LOAD failed: %.200s", r->str);
}

int scripts_load(const struct scripts *sc, struct rconn *conn)
{
	const char *argv[3] = {"SCRIPT", "LOAD", NULL};
	size_t lens[3] = {6, 4, 0};
	int rc;

	for (int i = 0; i < SCRIPT_COUNT; i++) {
		argv[2] = sc->s[i].src;
		lens[2] = sc->s[i].len;
		if ((rc = rconn_command(conn, load_reply, NULL, 3, argv, lens)))
			return rc;
	}
	return 0;
}

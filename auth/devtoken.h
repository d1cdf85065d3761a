/*
 * devtoken.h - the all-permissions HS256 tokens of dev tooling: the one
 * `syncgate --make-token` prints and the one POST /v1/dev/token (dev mode
 * only) answers, with the request body of the latter. Pure: jansson and
 * libcrypto through jwt.c; time is passed in.
 */
#ifndef SG_DEVTOKEN_H
#define SG_DEVTOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "jwt.h"

#define DEVTOKEN_SUB_DEFAULT "dev"
#define DEVTOKEN_TTL_DEFAULT 3600   /* seconds, POST /v1/dev/token */
#define DEVTOKEN_TTL_MAX 86400      /* seconds; also --make-token's */

/* What a POST /v1/dev/token asks for. */
struct devtoken_req {
	char sub[JWT_SUB_MAX + 1];
	int64_t ttl_s;
};

/*
 * Parses the body buf[0..len) of POST /v1/dev/token: empty, or a JSON
 * object with at most "sub" (a string passing acl_subject_valid) and
 * "ttl_s" (an integer in 1..DEVTOKEN_TTL_MAX); what is absent takes
 * DEVTOKEN_SUB_DEFAULT and DEVTOKEN_TTL_DEFAULT. Returns 0 with *out set,
 * or GW_EBADREQ with err saying why (not JSON, nested past max_depth, not
 * an object, an unknown member, a bad sub or ttl_s); *out is then left
 * with the defaults.
 */
int devtoken_parse(const char *buf, size_t len, int max_depth,
		   struct devtoken_req *out, struct gw_error *err);

/*
 * Signs an HS256 token for sub with secret[0..len): claims sub, iat =
 * now_s, exp = now_s + ttl_s and "sync":{"read":["*"],"write":["*"]}.
 * Returns a new malloc'd NUL-terminated token, or NULL when the secret is
 * shorter than JWT_HS256_MIN_SECRET, sub is not a valid subject, ttl_s is
 * not in 1..DEVTOKEN_TTL_MAX, or memory runs out. Never logs.
 */
char *devtoken_mint(const char *secret, size_t len, const char *sub,
		    int64_t now_s, int64_t ttl_s);

#endif

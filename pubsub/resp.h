/*
 * resp.h - a Redis command in RESP, the bytes hiredis's
 * redisFormatCommandArgv makes, appended to a buffer the caller reuses
 * (hiredis builds them with sds, a few allocations and a printf-like pass
 * per command). Pure.
 */
#ifndef SG_RESP_H
#define SG_RESP_H

#include <stddef.h>

#include "sbuf.h"

/* Appends *argc, then $len and the bytes of each argument. */
void resp_command(struct sbuf *sb, int argc, const char **argv,
		  const size_t *lens);

#endif

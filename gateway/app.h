/*
 * app.h - the process's parts, created by main in order and handed to the
 * adapters (rest.c, ws.c, sync_write.c, sync_read.c). Loop thread only. No
 * functions: this is wiring, not a module.
 */
#ifndef SG_APP_H
#define SG_APP_H

#include <stdbool.h>
#include <uv.h>

#include "config.h"
#include "hub.h"
#include "identity.h"
#include "jwt.h"

struct store;
struct live;
struct resolver;
struct sync;
struct jwks_fetch;

struct app {
	uv_loop_t *loop;
	struct config *cfg;           /* borrowed, read-only */
	struct store *store;          /* owned by main */
	struct live *live;            /* owned by main */
	struct hub *hub;              /* owned by main */
	struct seen *seen;            /* owned by main; outlives hub */
	struct resolver *resolver;    /* owned by main */
	struct sync *sync;            /* owned by main */
	struct jwt_verifier jwt;      /* owned by main */
	struct jwks_fetch *jwks;      /* owned by main; NULL: no auth.jwks_url */
	struct identity_cfg idcfg;    /* points into cfg and jwt */
	const char *node;             /* borrowed from cfg */
	bool draining;                /* SIGTERM: not ready, closing */
	bool dev_open;                /* auth.mode none */
};

#endif

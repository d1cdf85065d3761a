/*
 * ws.h - the WebSocket listener (DESIGN.md section 7) on libwebsockets,
 * running on the process's libuv loop (foreign loop). Loop thread only.
 */
#ifndef SG_WS_H
#define SG_WS_H

#include "app.h"

struct ws;

/* Creates the lws context and listens on cfg bind:ws_port. NULL on failure. */
struct ws *ws_start(struct app *app);
/* Closes every socket with 1001 "gateway shutting down". */
void ws_close_all(struct ws *w);
/* Open WebSocket sessions. */
unsigned ws_sessions(const struct ws *w);
/* Destroys the context; run the loop afterwards so that lws's handles
 * close, then ws_free. */
void ws_stop(struct ws *w);
void ws_free(struct ws *w);

#endif

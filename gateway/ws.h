/*
 * ws.h - the WebSocket listener (DESIGN.md section 7) on libwebsockets,
 * running on the process's libuv loop (foreign loop). Loop thread only.
 */
#ifndef SG_WS_H
#define SG_WS_H

#include <stdbool.h>

#include "app.h"

struct ws;

/* Creates the lws context and listens on cfg bind:ws_port. NULL when lws
 * cannot start; otherwise check ws_listening (a port in use) and stop and
 * free the object either way. */
struct ws *ws_start(struct app *app);
bool ws_listening(const struct ws *w);
/* Closes every socket with 1001 "gateway shutting down". */
void ws_close_all(struct ws *w);
/* Open WebSocket sessions. */
unsigned ws_sessions(const struct ws *w);
/* Destroys the context; run the loop afterwards so that lws's handles
 * close, then ws_free. */
void ws_stop(struct ws *w);
void ws_free(struct ws *w);

#endif

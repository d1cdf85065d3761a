/*
 * rest.h - the REST listener (DESIGN.md section 6): routes, handlers and
 * answers (rest.c) over libmicrohttpd run from the libuv loop
 * (rest_mhd.h). Loop thread only.
 */
#ifndef SG_REST_H
#define SG_REST_H

#include <stdbool.h>

#include "app.h"

struct rest;

/* Starts listening on cfg bind:http_port. NULL on failure (logged). */
struct rest *rest_start(struct app *app);
/* Stops accepting new connections (SIGTERM). */
void rest_quiesce(struct rest *r);
/* Requests still waiting for Redis. */
unsigned rest_inflight(const struct rest *r);
/* Stops the daemon and frees r; in-flight requests must be done. */
void rest_stop(struct rest *r);

#endif

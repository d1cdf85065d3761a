/* http.h - the keep-alive HTTP/1.1 client of loadgen: the fan-out
 * publishers' and the rest clients' connections and their PUTs (http.c). */
#ifndef LG_HTTP_H
#define LG_HTTP_H

#include "loadgen.h"
#include "stats.h"

extern struct sockaddr_in http_addr;
extern struct buf auth_hdr;	/* "Authorization: Bearer T\r\n" with --token */
extern struct conn *https;
extern int nhttps;
extern struct hist put_h;	/* PUT answer times */

void http_put(struct conn *c, int coll, const char *id, const char *body, size_t bl);
/* The request in flight on c got no answer (error, timeout, close). */
void http_lost(struct conn *c, const char *why, bool reconnect);
void http_input(struct conn *c, int64_t now);
void http_timeouts(int64_t now);
/* Opens n keep-alive HTTP connections; false if not all came up in time. */
bool https_open(int n);

#endif

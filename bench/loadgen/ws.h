/* ws.h - the WebSocket side of loadgen: the subscribers (one RFC 6455
 * client connection each), opened, subscribed and counted (ws.c). */
#ifndef LG_WS_H
#define LG_WS_H

#include "loadgen.h"

extern struct sockaddr_in ws_addr;
extern struct conn *subs;
extern int *ready_in_coll;	/* subscribers ready, per collection */

/* The seq of an offset "<epoch>:<seq>" (-1 if none). */
int64_t offset_seq(const char *s, size_t n);
void sub_send_handshake(struct conn *c);
void sub_lost(struct conn *c, const char *why);
void sub_input(struct conn *c, int64_t now);
/* Opens subscribers [0, count): `conc` connects at a time. */
double subs_open(int count);
void alloc_subs(int count);

#endif

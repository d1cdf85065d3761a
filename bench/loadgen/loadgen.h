/* loadgen.h - what loadgen's files share: the basics (die, the clock,
 * random numbers, growable buffers; util.c), the options (main.c), one
 * connection and the counters of the run, the epoll loop (loop.c), and the
 * rest mode's hooks that the HTTP client calls (main.c). */
#ifndef LG_LOADGEN_H
#define LG_LOADGEN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_PIDS     8
#define MAX_SOCKETS  19000
#define NS           1000000000LL
#define MS           1000000LL

/* ---------------------------------------------------------------- basics */

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
int64_t now_ns(void);

extern uint64_t rng_state;
uint64_t rnd(void);

struct buf {
	char *p;
	size_t off, len, cap;
};

void buf_reserve(struct buf *b, size_t n);
void buf_add(struct buf *b, const void *d, size_t n);
void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline size_t buf_avail(const struct buf *b)
{
	return b->len - b->off;
}

static inline char *buf_data(const struct buf *b)
{
	return b->p + b->off;
}

static inline void buf_take(struct buf *b, size_t n)
{
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

static inline void buf_clear(struct buf *b)
{
	b->off = b->len = 0;
}

/* Case-insensitive: does s[0..n) contain the word w? */
bool ci_contains(const char *s, size_t n, const char *w);

/* --------------------------------------------------------------- options */

struct options {
	const char *mode, *host, *token, *prefix, *label;
	int ws_port, http_port;
	int subs, colls, pub_conns, size, clients, conc, max_steps, bisect;
	double rate, rate_max, duration, ramp, drain, settle, hold, p99_max;
	double max_time, connect_timeout, req_timeout;
	int pids[MAX_PIDS], npids;
};

extern struct options O;

/* ------------------------------------------------------------ connections */

enum kind { K_SUB, K_HTTP };
enum state {
	C_NONE,		/* no socket */
	C_CONNECTING,	/* connect() in progress */
	C_HANDSHAKE,	/* WebSocket: upgrade sent, waiting for 101 */
	C_SUBSCRIBING,	/* WebSocket: subscribe sent */
	C_READY,	/* WebSocket: subscribed */
	C_OPEN,		/* HTTP: connected, no request in flight */
	C_BUSY,		/* HTTP: a request in flight */
};

struct conn {
	int fd;
	uint8_t kind, state, msg_op;
	bool out_armed, in_msg;
	int tries;
	uint32_t idx;		/* subscriber index (K_SUB) */
	int coll;
	struct buf rb, wb, msg;
	char accept[32];	/* the Sec-WebSocket-Accept expected */
	int64_t last_seq;	/* seq of the last change received, -1 none */
	int64_t t0;		/* connect started / request sent */
	uint64_t req;		/* HTTP: index of the message in flight */
	int64_t sched;		/* HTTP: its scheduled time */
};

extern int ep, tfd;
extern int64_t deadline;	/* --max-time */
extern char runid[17];
extern char timer_tag;

/* counters over the whole run */
struct counters {
	uint64_t sub_ready, sub_failed, sub_inflight, disconnects, server_closes;
	uint64_t order_errors, late, foreign, http_reconnects, http_errors;
	uint64_t handshake_errors, subscribe_errors;
	int last_close_code;
	int64_t last_change;	/* when the last change frame came in */
};

extern struct counters G;

void ep_set(struct conn *c, bool add);
void conn_close(struct conn *c);
int conn_connect(struct conn *c, const struct sockaddr_in *a);
/* Sends what is queued; 0, or -1 when the socket failed. */
int conn_flush(struct conn *c);

/* ------------------------------------------------------------------- loop */

void timer_arm(int64_t at);
/* One epoll round, waiting at most until `until`. */
void loop_once(int64_t until);
void loop_for(double seconds);
bool out_of_time(void);

/* ------------------------------------------------- the rest mode (main.c) */

extern bool rest_mode, rest_sending;
extern uint64_t rest_status[600];
void rest_send(struct conn *c, int64_t now);

#endif

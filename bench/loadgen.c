/* loadgen.c - syncgate's own load generator (bench/README.md).
 *
 *   loadgen fanout  S WebSocket subscribers over K collections, publishers
 *                   PUT at a fixed rate R for D seconds (--ramp F: steps of
 *                   R, R*F, R*F^2... until one fails)
 *   loadgen idle    C subscribed WebSockets; the server's RSS per connection
 *   loadgen rest    N keep-alive clients PUT new documents, closed loop
 *   loadgen ready   waits until GET /v1/ready answers 200
 *   loadgen port    prints a TCP port free on 127.0.0.1 right now
 *
 * One thread, one epoll loop, non-blocking sockets. A minimal RFC 6455
 * client (masked frames, 7/16/64-bit lengths, continuation frames, ping,
 * close, Sec-WebSocket-Accept checked) and a keep-alive HTTP/1.1 client
 * (Content-Length and chunked answers, reconnect on close).
 *
 * Fan-out latency is taken from each message's SCHEDULED send time (message
 * i of a step is due at t0 + i/R), which the payload carries with its
 * sequence number: a server that slows the publishers down is charged for
 * it. Deliveries are counted per (message, subscriber): lost, duplicated,
 * misrouted; each subscriber also checks that the offsets of its changes
 * follow each other (seq + 1, no gap, no reordering).
 *
 * One JSON line on stdout per run, a short summary on stderr. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#define MAX_PIDS     8
#define MAX_SOCKETS  19000
#define MAX_FRAME    (16u << 20)
#define WS_GUID      "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define MARK         "SGLG"
#define NS           1000000000LL
#define MS           1000000LL

/* ---------------------------------------------------------------- basics */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: masks and keys only need to differ, not to be secret */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

struct buf {
	char *p;
	size_t off, len, cap;
};

static void buf_reserve(struct buf *b, size_t n)
{
	size_t cap;

	if (b->off && b->off == b->len)
		b->off = b->len = 0;
	if (b->cap - b->len >= n)
		return;
	if (b->off) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->cap - b->len >= n)
			return;
	}
	cap = b->cap ? b->cap : 1024;
	while (cap - b->len < n)
		cap *= 2;
	b->p = realloc(b->p, cap);
	if (!b->p)
		die("out of memory");
	b->cap = cap;
}

static void buf_add(struct buf *b, const void *d, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static size_t buf_avail(const struct buf *b)
{
	return b->len - b->off;
}

static char *buf_data(const struct buf *b)
{
	return b->p + b->off;
}

static void buf_take(struct buf *b, size_t n)
{
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

static void buf_clear(struct buf *b)
{
	b->off = b->len = 0;
}

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		die("vsnprintf failed");
	buf_reserve(b, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Case-insensitive: does s[0..n) contain the word w? */
static bool ci_contains(const char *s, size_t n, const char *w)
{
	size_t k = strlen(w);

	for (size_t i = 0; i + k <= n; i++)
		if (strncasecmp(s + i, w, k) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------- histogram */

/* Log-linear: exact below 256, then 128 buckets per power of two (< 0.8 %
 * relative error). Values are nanoseconds. */
#define H_SUB 128
#define H_N   (58 * H_SUB)

struct hist {
	uint64_t n, max;
	uint64_t c[H_N];
};

static unsigned h_idx(uint64_t v)
{
	unsigned msb;

	if (v < 256)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	return (msb - 7) * H_SUB + (unsigned)(v >> (msb - 7));
}

static uint64_t h_mid(unsigned idx)
{
	unsigned k;

	if (idx < 256)
		return idx;
	k = idx / H_SUB - 1;
	return ((uint64_t)(idx - k * H_SUB) << k) + ((1ULL << k) >> 1);
}

static void h_add(struct hist *h, int64_t v)
{
	uint64_t u = v < 0 ? 0 : (uint64_t)v;

	h->c[h_idx(u)]++;
	h->n++;
	if (u > h->max)
		h->max = u;
}

/* The p-th percentile in ms (0 when empty). */
static double h_pct(const struct hist *h, double p)
{
	uint64_t want, seen = 0;

	if (!h->n)
		return 0;
	want = (uint64_t)ceil(p / 100.0 * (double)h->n);
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < H_N; i++) {
		seen += h->c[i];
		if (seen >= want) {
			uint64_t v = h_mid(i);

			return (double)(v > h->max ? h->max : v) / 1e6;
		}
	}
	return (double)h->max / 1e6;
}

static double h_max(const struct hist *h)
{
	return (double)h->max / 1e6;
}

/* --------------------------------------------------------------- options */

static struct {
	const char *mode, *host, *token, *prefix, *label;
	int ws_port, http_port;
	int subs, colls, pub_conns, size, clients, conc, max_steps, bisect;
	double rate, rate_max, duration, ramp, drain, settle, hold, p99_max;
	double max_time, connect_timeout, req_timeout;
	int pids[MAX_PIDS], npids;
} O = {
	.host = "127.0.0.1", .prefix = "lg", .ws_port = 8081, .http_port = 8080,
	.subs = 1000, .colls = 1, .pub_conns = 16, .size = -1, .clients = 64,
	.conc = 256, .max_steps = 40, .rate = 100, .rate_max = 1e7,
	.duration = 5, .drain = 2, .settle = 2, .p99_max = 50, .max_time = 120,
	.connect_timeout = 60, .req_timeout = 10,
};

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
	fputs("usage: loadgen fanout|idle|rest|ready|port [options]\n"
	      "  --host H (127.0.0.1)  --ws-port P (8081)  --http-port P (8080)  --token T\n"
	      "  --subs S (1000)  --collections K (1)  --prefix NAME (lg: collections lg0..)\n"
	      "  --rate R msg/s (100)  --duration D s (5)  --ramp F (off)  --rate-max R\n"
	      "  --max-steps N (40)  --bisect N (0: steps between the best pass and the\n"
	      "  lowest fail)  --p99-max MS (50)  --drain S (2)  --pub-conns P (16)\n"
	      "  --size BYTES of the payload string (fanout 64, rest 1000)\n"
	      "  --clients N (rest: 64)  --settle S (idle: 2)  --hold S (idle: 0)\n"
	      "  --conc N parallel connects (256)  --connect-timeout S (60)\n"
	      "  --req-timeout S (10)  --max-time S (120)  --server-pid PID (repeatable)\n"
	      "  --label NAME (the \"bench\" field; default the mode)\n", stderr);
	exit(2);
}

static double num(const char *s, const char *what)
{
	char *e;
	double v = strtod(s, &e);

	if (e == s || *e || !(v >= 0) || isinf(v))
		die("bad %s: %s", what, s);
	return v;
}

static void parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{"host", 1, 0, 'H'}, {"ws-port", 1, 0, 'w'}, {"http-port", 1, 0, 'h'},
		{"token", 1, 0, 't'}, {"subs", 1, 0, 's'}, {"collections", 1, 0, 'k'},
		{"prefix", 1, 0, 'x'}, {"rate", 1, 0, 'r'}, {"duration", 1, 0, 'd'},
		{"ramp", 1, 0, 'R'}, {"rate-max", 1, 0, 'M'}, {"max-steps", 1, 0, 'N'},
		{"p99-max", 1, 0, 'p'}, {"drain", 1, 0, 'D'}, {"pub-conns", 1, 0, 'P'},
		{"size", 1, 0, 'z'}, {"clients", 1, 0, 'c'}, {"settle", 1, 0, 'S'},
		{"hold", 1, 0, 'o'}, {"conc", 1, 0, 'C'}, {"connect-timeout", 1, 0, 'T'},
		{"req-timeout", 1, 0, 'q'}, {"max-time", 1, 0, 'm'},
		{"server-pid", 1, 0, 'i'}, {"label", 1, 0, 'l'}, {"bisect", 1, 0, 'B'}, {"help", 0, 0, '?'},
		{0, 0, 0, 0},
	};
	int ch;

	if (argc < 2 || argv[1][0] == '-')
		usage();
	O.mode = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'H': O.host = optarg; break;
		case 'w': O.ws_port = (int)num(optarg, "port"); break;
		case 'h': O.http_port = (int)num(optarg, "port"); break;
		case 't': O.token = optarg; break;
		case 's': O.subs = (int)num(optarg, "--subs"); break;
		case 'k': O.colls = (int)num(optarg, "--collections"); break;
		case 'x': O.prefix = optarg; break;
		case 'r': O.rate = num(optarg, "--rate"); break;
		case 'd': O.duration = num(optarg, "--duration"); break;
		case 'R': O.ramp = num(optarg, "--ramp"); break;
		case 'M': O.rate_max = num(optarg, "--rate-max"); break;
		case 'N': O.max_steps = (int)num(optarg, "--max-steps"); break;
		case 'p': O.p99_max = num(optarg, "--p99-max"); break;
		case 'D': O.drain = num(optarg, "--drain"); break;
		case 'P': O.pub_conns = (int)num(optarg, "--pub-conns"); break;
		case 'z': O.size = (int)num(optarg, "--size"); break;
		case 'c': O.clients = (int)num(optarg, "--clients"); break;
		case 'S': O.settle = num(optarg, "--settle"); break;
		case 'o': O.hold = num(optarg, "--hold"); break;
		case 'C': O.conc = (int)num(optarg, "--conc"); break;
		case 'T': O.connect_timeout = num(optarg, "--connect-timeout"); break;
		case 'q': O.req_timeout = num(optarg, "--req-timeout"); break;
		case 'm': O.max_time = num(optarg, "--max-time"); break;
		case 'i':
			if (O.npids == MAX_PIDS)
				die("at most %d --server-pid", MAX_PIDS);
			O.pids[O.npids++] = (int)num(optarg, "--server-pid");
			break;
		case 'l': O.label = optarg; break;
		case 'B': O.bisect = (int)num(optarg, "--bisect"); break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (O.size < 0)
		O.size = strcmp(O.mode, "rest") == 0 ? 1000 : 64;
	if (O.colls < 1 || O.subs < 0 || O.pub_conns < 1 || O.clients < 1 ||
	    O.conc < 1 || O.rate <= 0 || O.duration <= 0 || O.max_time <= 0)
		die("bad option values");
	if (O.ramp != 0 && O.ramp <= 1)
		die("--ramp must be above 1");
	if (!O.label)
		O.label = O.mode;
}

/* ------------------------------------------------------- server counters */

static long clk_tck;

/* utime + stime of a process, in clock ticks (-1: gone). */
static long long proc_cpu(int pid)
{
	char path[64], s[1024];
	FILE *f;
	size_t n;
	const char *p;
	unsigned long long ut, st;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(s, 1, sizeof(s) - 1, f);
	fclose(f);
	s[n] = 0;
	p = strrchr(s, ')');
	if (!p)
		return -1;
	/* after ") ": state(3) ... utime is field 14, stime 15 */
	if (sscanf(p + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu",
		   &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

static long proc_rss_kb(int pid)
{
	char path[64], line[256];
	FILE *f;
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

struct cpu_snap {
	long long pid[MAX_PIDS];
	double self_s;
	int64_t t;
};

static double self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void cpu_take(struct cpu_snap *s)
{
	for (int i = 0; i < O.npids; i++)
		s->pid[i] = proc_cpu(O.pids[i]);
	s->self_s = self_cpu_s();
	s->t = now_ns();
}

/* Server CPU seconds between two snapshots, summed over --server-pid. */
static double cpu_server_s(const struct cpu_snap *a, const struct cpu_snap *b)
{
	double s = 0;

	for (int i = 0; i < O.npids; i++)
		if (a->pid[i] >= 0 && b->pid[i] >= 0)
			s += (double)(b->pid[i] - a->pid[i]) / (double)clk_tck;
	return s;
}

static void json_cpu(struct buf *j, const struct cpu_snap *a, const struct cpu_snap *b,
		     uint64_t ops, const char *per)
{
	double wall = (double)(b->t - a->t) / 1e9, srv = cpu_server_s(a, b);

	bprintf(j, "\"server_cpu_s\":%.2f,\"server_cpu_s_by_pid\":[", srv);
	for (int i = 0; i < O.npids; i++)
		bprintf(j, "%s%.2f", i ? "," : "",
			(double)(b->pid[i] - a->pid[i]) / (double)clk_tck);
	bprintf(j, "],\"server_cpu_util\":%.2f,\"server_cpu_us_per_%s\":",
		wall > 0 ? srv / wall : 0, per);
	if (ops && O.npids)
		bprintf(j, "%.2f", srv * 1e6 / (double)ops);
	else
		bprintf(j, "null");
	bprintf(j, ",\"loadgen_cpu_util\":%.2f",
		wall > 0 ? (b->self_s - a->self_s) / wall : 0);
}

static long server_rss_kb(void)
{
	long s = 0;

	for (int i = 0; i < O.npids; i++) {
		long kb = proc_rss_kb(O.pids[i]);

		if (kb > 0)
			s += kb;
	}
	return s;
}

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

static int ep, tfd;
static int64_t deadline;	/* --max-time */
static struct sockaddr_in ws_addr, http_addr;
static char runid[17];
static char timer_tag;
static struct buf auth_hdr;

/* counters over the whole run */
static struct {
	uint64_t sub_ready, sub_failed, sub_inflight, disconnects, server_closes;
	uint64_t order_errors, late, foreign, http_reconnects, http_errors;
	uint64_t handshake_errors, subscribe_errors;
	int last_close_code;
	int64_t last_change;	/* when the last change frame came in */
} G;

static struct conn *subs;
static struct conn *https;
static int nhttps;
static int *ready_in_coll;

static void ep_set(struct conn *c, bool add)
{
	struct epoll_event ev = {.events = EPOLLIN | (c->out_armed ? EPOLLOUT : 0u),
				 .data.ptr = c};

	if (epoll_ctl(ep, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = C_NONE;
	c->out_armed = false;
	c->in_msg = false;
	buf_clear(&c->rb);
	buf_clear(&c->wb);
	buf_clear(&c->msg);
}

static int conn_connect(struct conn *c, const struct sockaddr_in *a)
{
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)a, sizeof(*a)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	c->fd = fd;
	c->state = C_CONNECTING;
	c->t0 = now_ns();
	c->out_armed = true;
	ep_set(c, true);
	return 0;
}

/* Sends what is queued; 0, or -1 when the socket failed. */
static int conn_flush(struct conn *c)
{
	while (buf_avail(&c->wb)) {
		ssize_t n = send(c->fd, buf_data(&c->wb), buf_avail(&c->wb), MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -1;
			if (!c->out_armed) {
				c->out_armed = true;
				ep_set(c, false);
			}
			return 0;
		}
		buf_take(&c->wb, (size_t)n);
	}
	if (c->out_armed && c->state != C_CONNECTING) {
		c->out_armed = false;
		ep_set(c, false);
	}
	return 0;
}

/* -------------------------------------------------------------- WebSocket */

static void b64(const unsigned char *in, int n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, n);
}

static void ws_send(struct conn *c, int op, const void *payload, size_t n)
{
	unsigned char h[14];
	size_t hl = 2;
	uint32_t m = (uint32_t)rnd();
	unsigned char mask[4] = {(unsigned char)m, (unsigned char)(m >> 8),
				 (unsigned char)(m >> 16), (unsigned char)(m >> 24)};
	const unsigned char *src = payload;
	unsigned char *dst;

	h[0] = (unsigned char)(0x80 | op);
	if (n < 126) {
		h[1] = (unsigned char)(0x80 | n);
	} else if (n < 65536) {
		h[1] = 0x80 | 126;
		h[2] = (unsigned char)(n >> 8);
		h[3] = (unsigned char)n;
		hl = 4;
	} else {
		h[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
		hl = 10;
	}
	memcpy(h + hl, mask, 4);
	hl += 4;
	buf_add(&c->wb, h, hl);
	buf_reserve(&c->wb, n);
	dst = (unsigned char *)c->wb.p + c->wb.len;
	for (size_t i = 0; i < n; i++)
		dst[i] = src[i] ^ mask[i & 3];
	c->wb.len += n;
}

/* The string value of "key" (first occurrence) in a JSON text. */
static const char *json_str(const char *s, size_t n, const char *key, size_t *len)
{
	char pat[32];
	int kl = snprintf(pat, sizeof(pat), "\"%s\"", key);
	const char *p = memmem(s, n, pat, (size_t)kl), *e = s + n, *v;

	if (!p)
		return NULL;
	p += kl;
	while (p < e && isspace((unsigned char)*p))
		p++;
	if (p >= e || *p++ != ':')
		return NULL;
	while (p < e && isspace((unsigned char)*p))
		p++;
	if (p >= e || *p++ != '"')
		return NULL;
	for (v = p; p < e && *p != '"'; p++)
		if (*p == '\\')
			p++;
	if (p >= e)
		return NULL;
	*len = (size_t)(p - v);
	return v;
}

/* The seq of an offset "<epoch>:<seq>" (-1 if none). */
static int64_t offset_seq(const char *s, size_t n)
{
	size_t len;
	const char *v = json_str(s, n, "offset", &len), *c;
	int64_t seq = 0;

	if (!v || !(c = memrchr(v, ':', len)))
		return -1;
	for (c++; c < v + len && isdigit((unsigned char)*c); c++)
		seq = seq * 10 + (*c - '0');
	return seq;
}

static void sub_lost(struct conn *c, const char *why);
static void on_change(struct conn *c, const char *m, size_t n, int64_t now);

static void sub_ready(struct conn *c)
{
	c->state = C_READY;
	ready_in_coll[c->coll]++;
	G.sub_ready++;
	G.sub_inflight--;
}

static void ws_message(struct conn *c, int op, const char *m, size_t n, int64_t now)
{
	size_t tl;
	const char *t;

	if (op != 1)
		return;
	t = json_str(m, n, "type", &tl);
	if (!t)
		return;
	if (tl == 6 && memcmp(t, "change", 6) == 0) {
		if (c->state == C_READY)
			on_change(c, m, n, now);
	} else if (tl == 10 && memcmp(t, "subscribed", 10) == 0) {
		if (c->state == C_SUBSCRIBING) {
			c->last_seq = offset_seq(m, n);
			sub_ready(c);
		}
	} else if (tl == 5 && memcmp(t, "error", 5) == 0) {
		if (c->state == C_SUBSCRIBING) {
			G.subscribe_errors++;
			fprintf(stderr, "loadgen: subscribe refused: %.*s\n", (int)(n > 300 ? 300 : n), m);
			sub_lost(c, "subscribe refused");
		}
	}
}

/* Parses the frames in c->rb; false when the connection was closed. */
static bool ws_frames(struct conn *c, int64_t now)
{
	for (;;) {
		unsigned char *p = (unsigned char *)buf_data(&c->rb);
		size_t avail = buf_avail(&c->rb), hl = 2;
		uint64_t len;
		bool fin, masked;
		int op;
		unsigned char *pl;

		if (avail < 2)
			return true;
		fin = p[0] & 0x80;
		op = p[0] & 0x0f;
		masked = p[1] & 0x80;
		len = p[1] & 0x7f;
		if (p[0] & 0x70) {
			sub_lost(c, "frame with RSV bits");
			return false;
		}
		if (len == 126) {
			if (avail < 4)
				return true;
			len = (uint64_t)p[2] << 8 | p[3];
			hl = 4;
		} else if (len == 127) {
			if (avail < 10)
				return true;
			len = 0;
			for (int i = 0; i < 8; i++)
				len = len << 8 | p[2 + i];
			hl = 10;
		}
		if (len > MAX_FRAME) {
			sub_lost(c, "frame too large");
			return false;
		}
		if (masked)
			hl += 4;
		if (avail < hl + len) {
			buf_reserve(&c->rb, hl + len - avail);
			return true;
		}
		pl = p + hl;
		if (masked)
			for (uint64_t i = 0; i < len; i++)
				pl[i] ^= p[hl - 4 + (i & 3)];
		if (op >= 8) {
			if (!fin || len > 125) {
				sub_lost(c, "bad control frame");
				return false;
			}
			if (op == 9) {			/* ping: pong, same payload */
				ws_send(c, 10, pl, len);
				if (conn_flush(c) < 0) {
					sub_lost(c, "send failed");
					return false;
				}
			} else if (op == 8) {		/* close: echo the code, then go */
				G.server_closes++;
				G.last_close_code = len >= 2 ? pl[0] << 8 | pl[1] : 1005;
				ws_send(c, 8, pl, len >= 2 ? 2 : 0);
				conn_flush(c);
				sub_lost(c, "closed by the server");
				return false;
			} else if (op != 10) {
				sub_lost(c, "unknown control opcode");
				return false;
			}
		} else if (op == 0) {
			if (!c->in_msg) {
				sub_lost(c, "continuation without a message");
				return false;
			}
			buf_add(&c->msg, pl, len);
			if (fin) {
				c->in_msg = false;
				ws_message(c, c->msg_op, buf_data(&c->msg), buf_avail(&c->msg), now);
				buf_clear(&c->msg);
				if (c->fd < 0)
					return false;
			}
		} else if (op == 1 || op == 2) {
			if (c->in_msg) {
				sub_lost(c, "new message inside a fragmented one");
				return false;
			}
			if (fin) {
				ws_message(c, op, (const char *)pl, len, now);
				if (c->fd < 0)
					return false;
			} else {
				c->in_msg = true;
				c->msg_op = (uint8_t)op;
				buf_clear(&c->msg);
				buf_add(&c->msg, pl, len);
			}
		} else {
			sub_lost(c, "unknown opcode");
			return false;
		}
		buf_take(&c->rb, hl + len);
	}
}

static void sub_send_handshake(struct conn *c)
{
	unsigned char key[16], sha[SHA_DIGEST_LENGTH];
	char k64[32], cat[96];
	uint64_t a = rnd(), b = rnd();

	memcpy(key, &a, 8);
	memcpy(key + 8, &b, 8);
	b64(key, 16, k64);
	snprintf(cat, sizeof(cat), "%s%s", k64, WS_GUID);
	SHA1((const unsigned char *)cat, strlen(cat), sha);
	b64(sha, SHA_DIGEST_LENGTH, c->accept);
	bprintf(&c->wb,
		"GET /v1/ws%s%s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		O.token ? "?token=" : "", O.token ? O.token : "", O.host, O.ws_port, k64);
	c->state = C_HANDSHAKE;
}

/* The 101 answer; 1 done, 0 incomplete, -1 refused. */
static int sub_handshake(struct conn *c)
{
	const char *d = buf_data(&c->rb), *e, *l;
	size_t n = buf_avail(&c->rb);
	bool ok = false;

	e = memmem(d, n, "\r\n\r\n", 4);
	if (!e)
		return n > 16384 ? -1 : 0;
	if (n < 12 || memcmp(d, "HTTP/1.1 101", 12) != 0) {
		fprintf(stderr, "loadgen: WebSocket upgrade refused: %.*s\n",
			(int)(memchr(d, '\r', n) ? (const char *)memchr(d, '\r', n) - d : 0), d);
		return -1;
	}
	for (l = memchr(d, '\n', (size_t)(e - d)); l && l < e; l = memchr(l, '\n', (size_t)(e + 2 - l))) {
		l++;
		if (strncasecmp(l, "sec-websocket-accept:", 21) == 0) {
			const char *v = l + 21, *ve = memchr(v, '\r', (size_t)(e + 2 - v));

			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			ok = (size_t)(ve - v) == strlen(c->accept) &&
			     memcmp(v, c->accept, (size_t)(ve - v)) == 0;
		}
	}
	if (!ok) {
		fprintf(stderr, "loadgen: bad or missing Sec-WebSocket-Accept\n");
		return -1;
	}
	buf_take(&c->rb, (size_t)(e + 4 - d));
	return 1;
}

static void sub_subscribe(struct conn *c)
{
	char m[256];
	int n = snprintf(m, sizeof(m), "{\"type\":\"subscribe\",\"collection\":\"%s%d\"}",
			 O.prefix, c->coll);

	ws_send(c, 1, m, (size_t)n);
	c->state = C_SUBSCRIBING;
}

static bool connect_phase;	/* failures before READY are retried */

static void sub_start(struct conn *c)
{
	c->last_seq = -1;
	G.sub_inflight++;
	if (conn_connect(c, &ws_addr) < 0) {
		fprintf(stderr, "loadgen: socket/connect: %s\n", strerror(errno));
		G.sub_inflight--;
		G.sub_failed++;
	}
}

static void sub_lost(struct conn *c, const char *why)
{
	bool was_ready = c->state == C_READY;

	if (c->fd < 0)
		return;
	conn_close(c);
	if (was_ready) {
		ready_in_coll[c->coll]--;
		G.sub_ready--;
		G.disconnects++;
		if (G.disconnects <= 5)
			fprintf(stderr, "loadgen: subscriber %u lost: %s\n", c->idx, why);
		return;
	}
	G.sub_inflight--;
	if (connect_phase && ++c->tries < 3) {
		sub_start(c);
		return;
	}
	G.sub_failed++;
	if (G.sub_failed <= 5)
		fprintf(stderr, "loadgen: subscriber %u failed: %s\n", c->idx, why);
}

static void sub_input(struct conn *c, int64_t now)
{
	if (c->state == C_HANDSHAKE) {
		int r = sub_handshake(c);

		if (r == 0)
			return;
		if (r < 0) {
			G.handshake_errors++;
			sub_lost(c, "handshake");
			return;
		}
		sub_subscribe(c);
		if (conn_flush(c) < 0) {
			sub_lost(c, "send failed");
			return;
		}
	}
	ws_frames(c, now);
}

/* ------------------------------------------------------------------- HTTP */

/* One answer in c->rb; 1 (status, close set), 0 incomplete, -1 bad. */
static int http_parse(struct conn *c, int *status, bool *close_conn)
{
	const char *d = buf_data(&c->rb), *he, *l;
	size_t n = buf_avail(&c->rb), body, total, clen = 0;
	bool chunked = false, has_len = false, cl;

	he = memmem(d, n, "\r\n\r\n", 4);
	if (!he)
		return n > 65536 ? -1 : 0;
	if (n < 12 || memcmp(d, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)d[9]))
		return -1;
	*status = (d[9] - '0') * 100 + (d[10] - '0') * 10 + (d[11] - '0');
	cl = d[7] == '0';
	for (l = memchr(d, '\n', (size_t)(he - d)); l && l < he; l = memchr(l, '\n', (size_t)(he + 2 - l))) {
		const char *le;

		l++;
		le = memchr(l, '\r', (size_t)(he + 2 - l));
		if (!le)
			break;
		if (strncasecmp(l, "content-length:", 15) == 0) {
			has_len = true;
			clen = strtoul(l + 15, NULL, 10);
		} else if (strncasecmp(l, "transfer-encoding:", 18) == 0) {
			chunked = ci_contains(l + 18, (size_t)(le - l - 18), "chunked");
		} else if (strncasecmp(l, "connection:", 11) == 0) {
			if (ci_contains(l + 11, (size_t)(le - l - 11), "close"))
				cl = true;
			else if (ci_contains(l + 11, (size_t)(le - l - 11), "keep-alive"))
				cl = false;
		}
	}
	body = (size_t)(he + 4 - d);
	if (chunked) {
		size_t pos = body;

		for (;;) {
			const char *le = memmem(d + pos, n - pos, "\r\n", 2);
			unsigned long sz;

			if (!le)
				return 0;
			sz = strtoul(d + pos, NULL, 16);
			pos = (size_t)(le + 2 - d);
			if (sz == 0) {		/* trailers, then an empty line */
				for (;;) {
					le = memmem(d + pos, n - pos, "\r\n", 2);
					if (!le)
						return 0;
					if (le == d + pos) {
						pos += 2;
						break;
					}
					pos = (size_t)(le + 2 - d);
				}
				break;
			}
			if (n < pos + sz + 2)
				return 0;
			pos += sz + 2;
		}
		total = pos;
	} else if (has_len) {
		if (n < body + clen)
			return 0;
		total = body + clen;
	} else if (*status == 204 || *status == 304 || *status / 100 == 1) {
		total = body;
	} else {
		return -1;	/* a body up to the close: not spoken here */
	}
	buf_take(&c->rb, total);
	*close_conn = cl;
	return 1;
}

static void http_put(struct conn *c, int coll, const char *id, const char *body, size_t bl)
{
	bprintf(&c->wb,
		"PUT /v1/collections/%s%d/docs/%s HTTP/1.1\r\nHost: %s:%d\r\n"
		"Content-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
		O.prefix, coll, id, O.host, O.http_port, bl,
		auth_hdr.len ? buf_data(&auth_hdr) : "");
	buf_add(&c->wb, body, bl);
}

/* ---------------------------------------------------------------- fan-out */

static struct hist lat_h, put_h;

static struct {
	bool active;
	double rate;
	uint64_t j0, n, next, answered, ok, put_errors, delivered, dups, misrouted;
	uint64_t exp_ok;
	int64_t t0, last_send, last_delivery, lag_max;
	uint8_t *ms;		/* per message: 0 not sent, 1 sent, 2 stored, 3 failed */
	uint32_t *expect, *dcount;
	uint64_t *bits;		/* per subscriber: one bit per message of its collection */
	size_t wps;
	uint64_t status[6];	/* answers by class: [0] errors, [2] 2xx ... */
} ST;

static void on_change(struct conn *c, const char *m, size_t n, int64_t now)
{
	const char *mk = memmem(m, n, MARK, 4), *e = m + n, *p;
	int64_t sched = 0, seq = offset_seq(m, n);
	uint64_t j = 0, i, bit;
	uint64_t *w;

	G.last_change = now;
	if (seq >= 0) {
		if (c->last_seq >= 0 && seq != c->last_seq + 1)
			G.order_errors++;
		c->last_seq = seq;
	}
	if (!mk) {
		G.foreign++;
		return;
	}
	for (p = mk + 4; p < e && isdigit((unsigned char)*p); p++)
		sched = sched * 10 + (*p - '0');
	if (p < e && *p == '.')
		for (p++; p < e && isdigit((unsigned char)*p); p++)
			j = j * 10 + (uint64_t)(*p - '0');
	if (!ST.n || j < ST.j0 || j >= ST.j0 + ST.n) {
		G.late++;
		return;
	}
	i = j - ST.j0;
	if ((int)(j % (uint64_t)O.colls) != c->coll) {
		ST.misrouted++;
		return;
	}
	bit = i / (uint64_t)O.colls;
	w = &ST.bits[(size_t)c->idx * ST.wps + bit / 64];
	if (*w & (1ULL << (bit % 64))) {
		ST.dups++;
		return;
	}
	*w |= 1ULL << (bit % 64);
	ST.dcount[i]++;
	ST.delivered++;
	ST.last_delivery = now;
	h_add(&lat_h, now - sched);
}

static void http_start(struct conn *c)
{
	if (conn_connect(c, &http_addr) < 0)
		die("connect to the HTTP port: %s", strerror(errno));
}

/* The request in flight on c got no answer (error, timeout, close). */
static void http_lost(struct conn *c, const char *why, bool reconnect);

static bool rest_mode, rest_sending;
static uint64_t rest_next;
static uint64_t rest_status[600];
static char *rest_body;
static size_t rest_body_len;

static void rest_send(struct conn *c, int64_t now)
{
	char id[64];

	snprintf(id, sizeof(id), "%s-r%" PRIu64, runid, rest_next);
	http_put(c, (int)(rest_next % (uint64_t)O.colls), id, rest_body, rest_body_len);
	rest_next++;
	c->t0 = now;
	c->state = C_BUSY;
	if (conn_flush(c) < 0)
		http_lost(c, "send failed", true);
}

static void pub_send(struct conn *c, uint64_t i, int64_t sched, int64_t now)
{
	char id[64], body[64 + 1024];
	static struct buf big;
	uint64_t j = ST.j0 + i;
	int coll = (int)(j % (uint64_t)O.colls);
	int n;

	snprintf(id, sizeof(id), "%s-%" PRIu64, runid, j);
	n = snprintf(body, sizeof(body), "{\"data\":{\"m\":\"" MARK "%" PRId64 ".%" PRIu64 ".",
		     sched, j);
	buf_clear(&big);
	buf_add(&big, body, (size_t)n);
	/* pad the string to --size bytes (it starts after {"data":{"m":") */
	for (int k = n - 14; k < O.size; k++)
		buf_add(&big, "x", 1);
	buf_add(&big, "\"}}", 3);
	ST.expect[i] = (uint32_t)ready_in_coll[coll];
	ST.ms[i] = 1;
	http_put(c, coll, id, buf_data(&big), buf_avail(&big));
	c->req = i;
	c->sched = sched;
	c->t0 = now;
	c->state = C_BUSY;
	ST.last_send = now;
	if (now - sched > ST.lag_max)
		ST.lag_max = now - sched;
	if (conn_flush(c) < 0)
		http_lost(c, "send failed", true);
}

static void timer_arm(int64_t at)
{
	struct itimerspec it = {.it_value = {.tv_sec = at / NS, .tv_nsec = at % NS}};

	timerfd_settime(tfd, TFD_TIMER_ABSTIME, &it, NULL);
}

static int pub_rr;

/* Sends every message that is due, while a publisher is free. */
static void pub_pump(void)
{
	int64_t now;

	if (!ST.active)
		return;
	now = now_ns();
	while (ST.next < ST.n) {
		int64_t sched = ST.t0 + (int64_t)((double)ST.next * 1e9 / ST.rate);
		struct conn *c = NULL;

		if (sched > now) {
			timer_arm(sched);
			return;
		}
		for (int k = 0; k < nhttps; k++) {
			struct conn *x = &https[(pub_rr + k) % nhttps];

			if (x->state == C_OPEN) {
				c = x;
				pub_rr = (pub_rr + k + 1) % nhttps;
				break;
			}
		}
		if (!c)
			return;		/* an answer frees one and pumps again */
		pub_send(c, ST.next++, sched, now);
	}
}

static void status_count(int st)
{
	if (rest_mode)
		rest_status[st >= 100 && st < 600 ? st : 0]++;
	else
		ST.status[st >= 100 && st < 600 ? st / 100 : 0]++;
}

static void http_answer(struct conn *c, int status, int64_t now)
{
	h_add(&put_h, now - c->t0);
	status_count(status);
	c->state = C_OPEN;
	if (rest_mode) {
		return;
	}
	if (ST.active || ST.n) {
		uint64_t i = c->req;

		ST.answered++;
		if (status / 100 == 2) {
			ST.ms[i] = 2;
			ST.ok++;
			ST.exp_ok += ST.expect[i];
		} else {
			ST.ms[i] = 3;
			ST.put_errors++;
			if (ST.put_errors <= 3)
				fprintf(stderr, "loadgen: PUT answered %d\n", status);
		}
	}
}

static void http_lost(struct conn *c, const char *why, bool reconnect)
{
	bool busy = c->state == C_BUSY;

	conn_close(c);
	if (busy) {
		G.http_errors++;
		status_count(0);
		if (G.http_errors <= 5)
			fprintf(stderr, "loadgen: HTTP request lost: %s\n", why);
		if (!rest_mode && ST.n) {
			ST.ms[c->req] = 3;
			ST.answered++;
			ST.put_errors++;
		}
	}
	if (reconnect) {
		if (++G.http_reconnects > 10000)
			die("too many HTTP reconnects");
		http_start(c);
	}
}

static void http_input(struct conn *c, int64_t now)
{
	for (;;) {
		int status;
		bool cl;
		int r = http_parse(c, &status, &cl);

		if (r == 0)
			return;
		if (r < 0 || c->state != C_BUSY) {
			http_lost(c, r < 0 ? "bad answer" : "answer without a request", true);
			return;
		}
		http_answer(c, status, now);
		if (cl) {
			http_lost(c, "closed", true);
			return;
		}
		if (rest_mode && rest_sending)
			rest_send(c, now);
		if (c->state != C_BUSY)
			return;
	}
}

/* ------------------------------------------------------------------- loop */

static void on_connected(struct conn *c)
{
	int err = 0;
	socklen_t el = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
		if (c->kind == K_SUB)
			sub_lost(c, err ? strerror(err) : "connect failed");
		else
			die("connect to the HTTP port: %s", strerror(err));
		return;
	}
	if (c->kind == K_SUB) {
		sub_send_handshake(c);
	} else {
		c->state = C_OPEN;
		if (rest_mode && rest_sending) {
			rest_send(c, now_ns());
			return;
		}
	}
	if (conn_flush(c) < 0) {
		if (c->kind == K_SUB)
			sub_lost(c, "send failed");
		else
			http_lost(c, "send failed", true);
	}
}

static void on_readable(struct conn *c)
{
	ssize_t n;
	int64_t now;

	buf_reserve(&c->rb, 16384);
	n = recv(c->fd, c->rb.p + c->rb.len, c->rb.cap - c->rb.len, 0);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (c->kind == K_SUB)
			sub_lost(c, n ? strerror(errno) : "EOF");
		else
			http_lost(c, n ? strerror(errno) : "closed", true);
		return;
	}
	c->rb.len += (size_t)n;
	now = now_ns();
	if (c->kind == K_SUB)
		sub_input(c, now);
	else
		http_input(c, now);
}

static int64_t last_timeout_scan;

static void http_timeouts(int64_t now)
{
	if (now - last_timeout_scan < 100 * MS)
		return;
	last_timeout_scan = now;
	for (int k = 0; k < nhttps; k++) {
		struct conn *c = &https[k];

		if ((c->state == C_BUSY || c->state == C_CONNECTING) &&
		    now - c->t0 > (int64_t)(O.req_timeout * 1e9))
			http_lost(c, "timeout", true);
	}
}

/* One epoll round, waiting at most until `until`. */
static void loop_once(int64_t until)
{
	static struct epoll_event evs[1024];
	int64_t left = until - now_ns();
	int timeout = left <= 0 ? 0 : (int)((left + MS - 1) / MS);
	int n;

	if (timeout > 100)
		timeout = 100;
	n = epoll_wait(ep, evs, 1024, timeout);
	if (n < 0 && errno != EINTR)
		die("epoll_wait: %s", strerror(errno));
	for (int i = 0; i < n; i++) {
		struct conn *c = evs[i].data.ptr;
		uint32_t e = evs[i].events;

		if (evs[i].data.ptr == &timer_tag) {
			uint64_t x;

			if (read(tfd, &x, sizeof(x)) < 0 && errno != EAGAIN)
				die("timerfd: %s", strerror(errno));
			continue;
		}
		if (c->fd < 0)
			continue;
		if (c->state == C_CONNECTING) {
			if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))
				on_connected(c);
			continue;
		}
		if ((e & EPOLLOUT) && conn_flush(c) < 0) {
			if (c->kind == K_SUB)
				sub_lost(c, "send failed");
			else
				http_lost(c, "send failed", true);
			continue;
		}
		if (e & (EPOLLIN | EPOLLERR | EPOLLHUP))
			on_readable(c);
	}
	if (nhttps)
		http_timeouts(now_ns());
	pub_pump();
}

static void loop_for(double seconds)
{
	int64_t until = now_ns() + (int64_t)(seconds * 1e9);

	if (until > deadline)
		until = deadline;
	while (now_ns() < until)
		loop_once(until);
}

static bool out_of_time(void)
{
	return now_ns() >= deadline;
}

/* Opens subscribers [0, count): `conc` connects at a time. */
static double subs_open(int count)
{
	int64_t t0 = now_ns(), stop = t0 + (int64_t)(O.connect_timeout * 1e9);
	int next = 0;

	if (stop > deadline)
		stop = deadline;
	connect_phase = true;
	while (G.sub_ready + G.sub_failed < (uint64_t)count && now_ns() < stop) {
		while (next < count && G.sub_inflight < (uint64_t)O.conc)
			sub_start(&subs[next++]);
		loop_once(stop);
	}
	connect_phase = false;
	for (int i = 0; i < count; i++)		/* still not subscribed: given up */
		if (subs[i].fd >= 0 && subs[i].state != C_READY) {
			conn_close(&subs[i]);
			G.sub_inflight--;
			G.sub_failed++;
		}
	G.sub_failed += (uint64_t)(count - next);
	return (double)(now_ns() - t0) / 1e9;
}

static void alloc_subs(int count)
{
	subs = calloc((size_t)count + 1, sizeof(*subs));
	ready_in_coll = calloc((size_t)O.colls, sizeof(*ready_in_coll));
	if (!subs || !ready_in_coll)
		die("out of memory");
	for (int i = 0; i < count; i++) {
		subs[i].fd = -1;
		subs[i].kind = K_SUB;
		subs[i].idx = (uint32_t)i;
		subs[i].coll = i % O.colls;
	}
}

/* Opens n keep-alive HTTP connections; false if not all came up in time. */
static bool https_open(int n)
{
	int64_t stop = now_ns() + (int64_t)(O.connect_timeout * 1e9);
	int up;

	https = calloc((size_t)n, sizeof(*https));
	if (!https)
		die("out of memory");
	nhttps = n;
	for (int i = 0; i < n; i++) {
		https[i].fd = -1;
		https[i].kind = K_HTTP;
		http_start(&https[i]);
	}
	do {
		up = 0;
		for (int i = 0; i < n; i++)
			up += https[i].state == C_OPEN;
		if (up == n)
			return true;
		loop_once(stop);
	} while (now_ns() < stop && !out_of_time());
	return false;
}

/* ----------------------------------------------------------------- fanout */

struct step_res {
	int step;		/* index in "steps" */
	double rate;
	bool pass;
	double deliveries_per_s, p99;
	double cpu_us;		/* server CPU µs per delivery, -1 unknown */
	char fail[256];
};

static void json_head(struct buf *j)
{
	bprintf(j, "{\"bench\":\"%s\",\"mode\":\"%s\"", O.label, O.mode);
}

/* One step at `rate` for O.duration; appends its JSON object to j. */
static void run_step(double rate, const char *phase, struct buf *j, struct step_res *res)
{
	uint64_t n = (uint64_t)llround(rate * O.duration), per_coll, lost = 0, unacked = 0;
	uint64_t late0 = G.late, order0 = G.order_errors, disc0 = G.disconnects;
	uint64_t order, disc, late;
	int64_t sched_end, drain_end = 0, complete = 0, now;
	struct cpu_snap c0, c1;
	double wall, dps, p99;
	bool timed_out = false;
	struct buf why = {0};

	if (n < 1)
		n = 1;
	per_coll = (n + (uint64_t)O.colls - 1) / (uint64_t)O.colls;
	ST.j0 += ST.n;
	ST.n = n;
	ST.rate = rate;
	ST.next = ST.answered = ST.ok = ST.put_errors = ST.delivered = 0;
	ST.dups = ST.misrouted = ST.exp_ok = 0;
	ST.lag_max = 0;
	memset(ST.status, 0, sizeof(ST.status));
	free(ST.ms);
	free(ST.expect);
	free(ST.dcount);
	free(ST.bits);
	ST.wps = (per_coll + 63) / 64;
	ST.ms = calloc(n, 1);
	ST.expect = calloc(n, sizeof(*ST.expect));
	ST.dcount = calloc(n, sizeof(*ST.dcount));
	ST.bits = calloc((size_t)O.subs * ST.wps + 1, sizeof(*ST.bits));
	if (!ST.ms || !ST.expect || !ST.dcount || !ST.bits)
		die("out of memory");
	memset(&lat_h, 0, sizeof(lat_h));
	memset(&put_h, 0, sizeof(put_h));
	cpu_take(&c0);
	ST.t0 = now_ns() + 5 * MS;
	ST.last_send = ST.last_delivery = ST.t0;
	sched_end = ST.t0 + (int64_t)(O.duration * 1e9);
	ST.active = true;
	pub_pump();
	for (;;) {
		now = now_ns();
		if (now >= deadline) {
			timed_out = true;
			break;
		}
		if (ST.next == ST.n && !drain_end)
			drain_end = (sched_end > ST.last_send ? sched_end : ST.last_send) +
				    (int64_t)(O.drain * 1e9);
		if (drain_end && now >= drain_end)
			break;
		/* everything stored and delivered: a short grace for strays, then done */
		if (!complete && ST.answered == ST.n && !ST.put_errors && ST.delivered >= ST.exp_ok)
			complete = now;
		if (complete && now >= complete + 100 * MS)
			break;
		loop_once(complete ? complete + 100 * MS : drain_end ? drain_end : now + 100 * MS);
	}
	ST.active = false;
	cpu_take(&c1);
	/* requests still in flight: counted as errors, their connections renewed */
	for (int k = 0; k < nhttps; k++)
		if (https[k].state == C_BUSY)
			http_lost(&https[k], "no answer by the end of the step", true);
	for (uint64_t i = 0; i < n; i++) {
		if (ST.ms[i] == 2)
			lost += ST.expect[i] > ST.dcount[i] ? ST.expect[i] - ST.dcount[i] : 0;
		else
			unacked += ST.dcount[i];
	}
	order = G.order_errors - order0;
	disc = G.disconnects - disc0;
	late = G.late - late0;
	wall = (double)((ST.last_delivery > sched_end ? ST.last_delivery : sched_end) - ST.t0) / 1e9;
	dps = wall > 0 ? (double)ST.delivered / wall : 0;
	p99 = h_pct(&lat_h, 99);
	if (ST.next < ST.n)
		bprintf(&why, "%snot all sent", why.len ? ", " : "");
	if (p99 > O.p99_max)
		bprintf(&why, "%sp99 %.1f ms > %.0f ms", why.len ? ", " : "", p99, O.p99_max);
	if (lost)
		bprintf(&why, "%s%" PRIu64 " lost", why.len ? ", " : "", lost);
	if (ST.put_errors)
		bprintf(&why, "%s%" PRIu64 " PUT errors", why.len ? ", " : "", ST.put_errors);
	if (ST.dups)
		bprintf(&why, "%s%" PRIu64 " duplicates", why.len ? ", " : "", ST.dups);
	if (ST.misrouted)
		bprintf(&why, "%s%" PRIu64 " misrouted", why.len ? ", " : "", ST.misrouted);
	if (order)
		bprintf(&why, "%s%" PRIu64 " out of order", why.len ? ", " : "", order);
	if (disc)
		bprintf(&why, "%s%" PRIu64 " disconnects", why.len ? ", " : "", disc);
	if (timed_out)
		bprintf(&why, "%s--max-time reached", why.len ? ", " : "");
	res->rate = rate;
	res->pass = why.len == 0;
	snprintf(res->fail, sizeof(res->fail), "%.*s", (int)why.len, why.p ? why.p : "");
	res->deliveries_per_s = dps;
	res->p99 = p99;
	res->cpu_us = ST.delivered && O.npids ? cpu_server_s(&c0, &c1) * 1e6 / (double)ST.delivered : -1;
	bprintf(j, "{\"phase\":\"%s\",\"rate\":%.2f,\"duration_s\":%.2f,\"published\":%" PRIu64
		",\"put_ok\":%" PRIu64 ",\"put_errors\":%" PRIu64
		",\"put_status\":{\"2xx\":%" PRIu64 ",\"4xx\":%" PRIu64 ",\"5xx\":%" PRIu64
		",\"other\":%" PRIu64 "},\"expected\":%" PRIu64 ",\"delivered\":%" PRIu64
		",\"lost\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"misrouted\":%" PRIu64
		",\"delivered_unacked\":%" PRIu64 ",\"late_from_earlier_steps\":%" PRIu64
		",\"out_of_order\":%" PRIu64 ",\"disconnects\":%" PRIu64
		",\"deliveries_per_s\":%.0f,\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,"
		"\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f},\"put_ms\":{\"p50\":%.3f,\"p99\":%.3f,"
		"\"max\":%.3f},\"publish_lag_max_ms\":%.3f,",
		phase, rate, O.duration, ST.next, ST.ok, ST.put_errors, ST.status[2], ST.status[4],
		ST.status[5], ST.status[0] + ST.status[1] + ST.status[3], ST.exp_ok,
		ST.delivered, lost, ST.dups, ST.misrouted, unacked, late, order, disc, dps,
		h_pct(&lat_h, 50), h_pct(&lat_h, 90), p99, h_pct(&lat_h, 99.9), h_max(&lat_h),
		h_pct(&put_h, 50), h_pct(&put_h, 99), h_max(&put_h), (double)ST.lag_max / 1e6);
	json_cpu(j, &c0, &c1, ST.delivered, "delivery");
	bprintf(j, ",\"pass\":%s,\"fail\":", res->pass ? "true" : "false");
	if (why.len)
		bprintf(j, "\"%.*s\"}", (int)why.len, why.p);
	else
		bprintf(j, "null}");
	fprintf(stderr, "%s: %8.1f msg/s  %9.0f deliveries/s  p50 %7.2f  p99 %7.2f  max %7.2f ms"
		"  put p99 %6.2f ms  lost %" PRIu64 "  srv %5.2f us/deliv  loadgen cpu %3.0f%%  %s%.*s\n",
		O.label, rate, dps, h_pct(&lat_h, 50), p99, h_max(&lat_h), h_pct(&put_h, 99),
		lost, res->cpu_us, (c1.self_s - c0.self_s) * 1e9 / (double)(c1.t - c0.t) * 100,
		res->pass ? "pass" : "FAIL: ", (int)why.len, why.p ? why.p : "");
	free(why.p);
}

/* The best pass (most deliveries/s) and the lowest failing rate so far. */
static void keep(const struct step_res *r, struct step_res *best, bool *have_best,
		 struct step_res *fail, bool *have_fail)
{
	if (r->pass && (!*have_best || r->deliveries_per_s > best->deliveries_per_s)) {
		*best = *r;
		*have_best = true;
	}
	if (!r->pass && (!*have_fail || r->rate < fail->rate)) {
		*fail = *r;
		*have_fail = true;
	}
}

/* After a failed step: until no change has come in for 500 ms (at most 5 s),
 * so that the next step does not start behind the last one's backlog. */
static void quiet(void)
{
	int64_t stop = now_ns() + 5 * NS;

	while (now_ns() < stop && now_ns() - G.last_change < 500 * MS && !out_of_time())
		loop_once(now_ns() + 100 * MS);
}

static int mode_fanout(struct buf *j)
{
	double connect_s, rate = O.rate;
	struct step_res best = {0}, fail = {0}, r = {0};
	bool have_best = false, have_fail = false;
	int steps = 0;

	alloc_subs(O.subs);
	connect_s = subs_open(O.subs);
	fprintf(stderr, "%s: %" PRIu64 " of %d subscribers ready in %.1f s\n", O.label,
		G.sub_ready, O.subs, connect_s);
	json_head(j);
	bprintf(j, ",\"subs\":%d,\"collections\":%d,\"payload_bytes\":%d,\"pub_conns\":%d"
		",\"subs_ready\":%" PRIu64 ",\"subs_failed\":%" PRIu64 ",\"connect_s\":%.2f"
		",\"ramp_factor\":%.2f,\"bisect\":%d,\"p99_max_ms\":%.1f,\"drain_s\":%.1f",
		O.subs, O.colls, O.size, O.pub_conns, G.sub_ready, G.sub_failed, connect_s,
		O.ramp, O.bisect, O.p99_max, O.drain);
	if (G.sub_ready == 0 || !https_open(O.pub_conns)) {
		bprintf(j, ",\"error\":\"%s\"}", G.sub_ready ? "publishers did not connect"
							      : "no subscriber ready");
		return 2;
	}
	bprintf(j, ",\"steps\":[");
	for (;;) {
		if (steps)
			bprintf(j, ",");
		run_step(rate, "ramp", j, &r);
		r.step = steps++;
		keep(&r, &best, &have_best, &fail, &have_fail);
		if (!O.ramp || !r.pass || steps >= O.max_steps || rate * O.ramp > O.rate_max)
			break;
		if ((double)(deadline - now_ns()) / 1e9 < O.duration + O.drain + 1)
			break;
		rate *= O.ramp;
	}
	/* between the best pass and the lowest fail, halving the interval */
	for (int b = 0; b < O.bisect && have_best && have_fail && steps < O.max_steps; b++) {
		quiet();
		if ((double)(deadline - now_ns()) / 1e9 < O.duration + O.drain + 1)
			break;
		bprintf(j, ",");
		run_step((best.rate + fail.rate) / 2, "bisect", j, &r);
		r.step = steps++;
		keep(&r, &best, &have_best, &fail, &have_fail);
	}
	bprintf(j, "],\"disconnects\":%" PRIu64 ",\"server_closes\":%" PRIu64
		",\"last_close_code\":%d,\"foreign_changes\":%" PRIu64 ",\"best\":",
		G.disconnects, G.server_closes, G.last_close_code, G.foreign);
	if (have_best) {
		bprintf(j, "{\"step\":%d,\"rate\":%.2f,\"deliveries_per_s\":%.0f,\"p99_ms\":%.3f,"
			"\"server_cpu_us_per_delivery\":", best.step, best.rate,
			best.deliveries_per_s, best.p99);
		if (best.cpu_us >= 0)
			bprintf(j, "%.2f}", best.cpu_us);
		else
			bprintf(j, "null}");
	} else {
		bprintf(j, "null");
	}
	bprintf(j, ",\"lowest_fail\":");
	if (have_fail)
		bprintf(j, "{\"step\":%d,\"rate\":%.2f,\"deliveries_per_s\":%.0f,\"p99_ms\":%.3f,"
			"\"fail\":\"%s\"}", fail.step, fail.rate, fail.deliveries_per_s, fail.p99,
			fail.fail);
	else
		bprintf(j, "null");
	bprintf(j, "}");
	if (have_best)
		fprintf(stderr, "%s: best passing step %.0f deliveries/s (%.1f msg/s, p99 %.2f ms)\n",
			O.label, best.deliveries_per_s, best.rate, best.p99);
	else
		fprintf(stderr, "%s: no step passed\n", O.label);
	return 0;
}

/* ------------------------------------------------------------------- idle */

static int mode_idle(struct buf *j)
{
	long rss0, rss1, rss_max;
	double connect_s, kb;
	int64_t hold_end;

	alloc_subs(O.subs);
	rss0 = server_rss_kb();
	connect_s = subs_open(O.subs);
	fprintf(stderr, "%s: %" PRIu64 " of %d connections subscribed in %.1f s\n", O.label,
		G.sub_ready, O.subs, connect_s);
	loop_for(O.settle);
	rss1 = rss_max = server_rss_kb();
	hold_end = now_ns() + (int64_t)(O.hold * 1e9);
	while (now_ns() < hold_end && !out_of_time()) {
		long r;

		loop_for(0.5);
		r = server_rss_kb();
		if (r > rss_max)
			rss_max = r;
	}
	kb = G.sub_ready ? (double)(rss1 - rss0) / (double)G.sub_ready : 0;
	json_head(j);
	bprintf(j, ",\"connections\":%d,\"collections\":%d,\"ready\":%" PRIu64
		",\"failed\":%" PRIu64 ",\"connect_s\":%.2f,\"connects_per_s\":%.0f"
		",\"settle_s\":%.1f,\"hold_s\":%.1f,\"rss_before_kb\":%ld,\"rss_after_kb\":%ld"
		",\"rss_max_kb\":%ld,\"kb_per_connection\":%.2f,\"disconnects\":%" PRIu64 "}",
		O.subs, O.colls, G.sub_ready, G.sub_failed, connect_s,
		connect_s > 0 ? (double)G.sub_ready / connect_s : 0, O.settle, O.hold, rss0,
		rss1, rss_max, kb, G.disconnects);
	fprintf(stderr, "%s: RSS %ld -> %ld KB: %.2f KB per connection\n", O.label, rss0, rss1, kb);
	return G.sub_ready ? 0 : 2;
}

/* ------------------------------------------------------------------- rest */

static int mode_rest(struct buf *j)
{
	struct cpu_snap c0, c1;
	int64_t t0, stop, last = 0;
	uint64_t ok, other = 0;
	double secs;
	struct buf b = {0};

	rest_mode = true;
	bprintf(&b, "{\"data\":{\"m\":\"");
	for (int k = 0; k < O.size; k++)
		buf_add(&b, "x", 1);
	bprintf(&b, "\"}}");
	rest_body = b.p;
	rest_body_len = b.len;
	json_head(j);
	bprintf(j, ",\"clients\":%d,\"collections\":%d,\"body_bytes\":%zu,\"duration_s\":%.1f",
		O.clients, O.colls, rest_body_len, O.duration);
	if (!https_open(O.clients)) {
		bprintf(j, ",\"error\":\"clients did not connect\"}");
		return 2;
	}
	cpu_take(&c0);
	t0 = now_ns();
	stop = t0 + (int64_t)(O.duration * 1e9);
	rest_sending = true;
	for (int k = 0; k < nhttps; k++)
		if (https[k].state == C_OPEN)
			rest_send(&https[k], t0);
	while (now_ns() < stop && !out_of_time())
		loop_once(stop);
	rest_sending = false;
	/* the answers still due */
	for (;;) {
		int busy = 0;

		for (int k = 0; k < nhttps; k++)
			busy += https[k].state == C_BUSY;
		if (!busy || out_of_time())
			break;
		loop_once(now_ns() + 100 * MS);
	}
	cpu_take(&c1);
	last = c1.t;
	secs = (double)(last - t0) / 1e9;
	ok = rest_status[201];
	bprintf(j, ",\"requests\":%" PRIu64 ",\"created\":%" PRIu64 ",\"writes_per_s\":%.0f"
		",\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f}"
		",\"statuses\":{", put_h.n + G.http_errors, ok, secs > 0 ? (double)ok / secs : 0,
		h_pct(&put_h, 50), h_pct(&put_h, 90), h_pct(&put_h, 99), h_max(&put_h));
	for (int s = 100, first = 1; s < 600; s++)
		if (rest_status[s]) {
			bprintf(j, "%s\"%d\":%" PRIu64, first ? "" : ",", s, rest_status[s]);
			first = 0;
			if (s != 201)
				other += rest_status[s];
		}
	bprintf(j, "},\"not_201\":%" PRIu64 ",\"errors\":%" PRIu64 ",", other, G.http_errors);
	json_cpu(j, &c0, &c1, ok, "write");
	bprintf(j, "}");
	fprintf(stderr, "%s: %.0f writes/s  p50 %.2f ms  p99 %.2f ms  %" PRIu64 " not 201, %"
		PRIu64 " errors\n", O.label, secs > 0 ? (double)ok / secs : 0, h_pct(&put_h, 50),
		h_pct(&put_h, 99), other, G.http_errors);
	free(b.p);
	return 0;
}

/* ------------------------------------------------------------------ ready */

/* GET /v1/ready until 200 (blocking, one connection per try). */
static int mode_ready(void)
{
	char req[256], ans[64];
	int n = snprintf(req, sizeof(req), "GET /v1/ready HTTP/1.1\r\nHost: %s:%d\r\n"
			 "Connection: close\r\n\r\n", O.host, O.http_port);

	while (!out_of_time()) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct timeval tv = {1, 0};
		ssize_t got = 0;

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, (const struct sockaddr *)&http_addr, sizeof(http_addr)) == 0 &&
		    send(fd, req, (size_t)n, MSG_NOSIGNAL) == n)
			got = recv(fd, ans, sizeof(ans) - 1, MSG_WAITALL);
		close(fd);
		if (got >= 12 && memcmp(ans, "HTTP/1.1 200", 12) == 0)
			return 0;
		usleep(100000);
	}
	fprintf(stderr, "loadgen: %s:%d/v1/ready did not answer 200\n", O.host, O.http_port);
	return 1;
}

static void set_addr(struct sockaddr_in *a, int port)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, O.host, &a->sin_addr) != 1)
		die("--host must be an IPv4 address: %s", O.host);
}

/* A port the kernel hands out for 127.0.0.1 (for the run script). */
static int mode_port(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	set_addr(&a, 0);
	if (fd < 0 || bind(fd, (const struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0)
		die("no free port: %s", strerror(errno));
	printf("%d\n", ntohs(a.sin_port));
	close(fd);
	return 0;
}

/* ------------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	struct rlimit rl;
	struct buf j = {0};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = (void *)&timer_tag};
	int rc, need;
	unsigned char rb[8];

	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	clk_tck = sysconf(_SC_CLK_TCK);
	if (getrandom(&rng_state, sizeof(rng_state), 0) != (ssize_t)sizeof(rng_state) || !rng_state)
		rng_state = (uint64_t)now_ns() | 1;
	for (int i = 0; i < 8; i++)
		rb[i] = (unsigned char)rnd();
	for (int i = 0; i < 8; i++)
		snprintf(runid + 2 * i, 3, "%02x", rb[i]);
	deadline = now_ns() + (int64_t)(O.max_time * 1e9);
	set_addr(&ws_addr, O.ws_port);
	set_addr(&http_addr, O.http_port);
	if (O.token)
		bprintf(&auth_hdr, "Authorization: Bearer %s\r\n", O.token);

	if (strcmp(O.mode, "ready") == 0)
		return mode_ready();
	if (strcmp(O.mode, "port") == 0)
		return mode_port();

	/* every socket needs a descriptor: up to the hard limit, at most MAX_SOCKETS */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	need = (strcmp(O.mode, "rest") == 0 ? O.clients : O.subs + O.pub_conns) + 16;
	if ((rlim_t)need > rl.rlim_cur || need > MAX_SOCKETS + 16)
		die("%d sockets wanted; the limit is %d (and RLIMIT_NOFILE %llu)", need - 16,
		    MAX_SOCKETS, (unsigned long long)rl.rlim_cur);

	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ep < 0 || tfd < 0)
		die("epoll/timerfd: %s", strerror(errno));
	if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));

	if (strcmp(O.mode, "fanout") == 0)
		rc = mode_fanout(&j);
	else if (strcmp(O.mode, "idle") == 0)
		rc = mode_idle(&j);
	else if (strcmp(O.mode, "rest") == 0)
		rc = mode_rest(&j);
	else
		usage();
	if (out_of_time())
		fprintf(stderr, "loadgen: --max-time %.0f s reached\n", O.max_time);
	printf("%.*s\n", (int)j.len, j.p);
	fflush(stdout);
	return rc;
}

/* main.c - loadgen, syncgate's own load generator (bench/README.md): the
 * options, main, and every mode but fanout (fanout.c). One thread, one
 * epoll loop (loop.c), non-blocking sockets; one JSON line on stdout per
 * run, a short summary on stderr. */

/*   loadgen fanout  S WebSocket subscribers over K collections, publishers
 *                   PUT at a fixed rate R for D seconds (--ramp F: steps of
 *                   R, R*F, R*F^2... until one fails)
 *   loadgen idle    C subscribed WebSockets; the server's RSS per connection
 *   loadgen rest    N keep-alive clients PUT new documents, closed loop
 *   loadgen ready   waits until GET /v1/ready answers 200
 *   loadgen port    prints a TCP port free on 127.0.0.1 right now */

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "fanout.h"
#include "http.h"
#include "stats.h"
#include "ws.h"

/* --------------------------------------------------------------- options */

struct options O = {
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

/* ------------------------------------------------------------------- rest */

bool rest_mode, rest_sending;
static uint64_t rest_next;
uint64_t rest_status[600];
static char *rest_body;
static size_t rest_body_len;

void rest_send(struct conn *c, int64_t now)
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

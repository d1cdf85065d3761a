/*
 * rest_mhd.c - runs libmicrohttpd on the libuv loop and guards the REST
 * listener below routing: header deadline, fd budget, %00-safe decoding,
 * MHD's log. Must not know routes, documents, authentication or Redis:
 * requests go to the routes given to rest_mhd_start.
 */
#include "rest_mhd.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "httpcheck.h"
#include "log.h"
#include "map.h"
#include "netaddr.h"

/* MHD's pool per connection, MHD's own default. MHD zeroes it between
 * requests, and the unused part of its read buffer when the answer starts:
 * at 64 KiB that was 96 KiB of memset per kept-alive request, 10 % of a
 * REST write's CPU. A request head that does not fit gets MHD's own HTML
 * 431 instead of ours in JSON: 32 KiB holds one field of 30 KB, or the
 * 100 fields httpcheck allows at 200 bytes each (decision 80). */
#define CONN_MEMORY (32 * 1024)
#define SWEEP_MS 1000              /* how often header deadlines are checked */

/* One TCP connection, for the header deadline (slowloris): MHD's own
 * timeout is an idle timeout that every trickled byte resets. */
struct tconn {
	struct tconn *prev, *next;
	struct MHD_Connection *conn; /* borrowed from MHD */
	uint64_t deadline;  /* uv_now by which the next request's headers
			       must be complete; 0 while a request runs */
	char ip[NETADDR_STR_MAX + 1]; /* counted in per_ip, or "" */
};

struct rest_mhd {
	uv_loop_t *loop;                /* borrowed */
	const struct config *cfg;       /* borrowed, read-only */
	struct rest_mhd_routes routes;  /* arg borrowed */
	struct MHD_Daemon *d;           /* owned; NULL once stopped */
	uv_poll_t poll;                 /* the daemon's epoll fd */
	uv_timer_t timer;               /* MHD_get_timeout, or 0 ms to re-run */
	uv_timer_t sweep;               /* header deadlines, every SWEEP_MS */
	struct tconn *conns;            /* owned list, one per open connection */
	struct map per_ip;              /* client address -> open connections
					   (uintptr_t), trusted proxies left
					   out */
	bool kick;                      /* a connection was resumed: run again */
	int handles_open;               /* of poll, timer, sweep; m freed at 0 */
};

/* ---- driving MHD from libuv ---------------------------------------------- */

static void timer_cb(uv_timer_t *t);

static void run_mhd(struct rest_mhd *m)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (!m->d)
		return;
	m->kick = false;
	MHD_run(m->d);
	if (m->kick)
		uv_timer_start(&m->timer, timer_cb, 0, 0);
	else if (MHD_get_timeout(m->d, &ms) == MHD_YES)
		uv_timer_start(&m->timer, timer_cb, ms, 0);
	else
		uv_timer_stop(&m->timer);
}

static void timer_cb(uv_timer_t *t) { run_mhd(t->data); }

static void poll_cb(uv_poll_t *p, int status, int events)
{
	GW_UNUSED(status);
	GW_UNUSED(events);
	run_mhd(p->data);
}

void rest_mhd_resume(struct rest_mhd *m, struct MHD_Connection *conn)
{
	MHD_resume_connection(conn);
	/* MHD picks resumed connections up in its next run, and in epoll mode
	 * nothing wakes it for that: run it from the loop at once. Use cases
	 * answer later from the loop, never inside MHD_run (sync.h), so this
	 * is never a run inside a run. */
	m->kick = true;
	uv_timer_start(&m->timer, timer_cb, 0, 0);
}

/* ---- connections per client address --------------------------------------- */

/* A load balancer in trusted_proxies carries everyone: it is not capped
 * (it caps its own clients); any other address is, to
 * limits.http_connections_per_ip. */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr,
				     socklen_t len)
{
	struct rest_mhd *m = cls;
	char ip[NETADDR_STR_MAX + 1];

	GW_UNUSED(len);
	if (!m->cfg->http_conn_per_ip || !netaddr_text(addr, ip) ||
	    netaddr_in(&m->cfg->trusted, ip))
		return MHD_YES;
	return (uintptr_t)map_get(&m->per_ip, ip) <
			       (uintptr_t)m->cfg->http_conn_per_ip
		       ? MHD_YES
		       : MHD_NO;
}

static void count_ip(struct rest_mhd *m, struct tconn *t,
		     struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	uintptr_t n;

	if (!ci || !netaddr_text(ci->client_addr, t->ip) ||
	    netaddr_in(&m->cfg->trusted, t->ip)) {
		t->ip[0] = '\0';
		return;
	}
	n = (uintptr_t)map_get(&m->per_ip, t->ip);
	if (map_put(&m->per_ip, t->ip, (void *)(n + 1)))
		t->ip[0] = '\0'; /* not counted: nothing to take back */
}

static void uncount_ip(struct rest_mhd *m, const struct tconn *t)
{
	uintptr_t n;

	if (!t->ip[0])
		return;
	n = (uintptr_t)map_get(&m->per_ip, t->ip);
	if (n <= 1)
		map_del(&m->per_ip, t->ip);
	else
		map_put(&m->per_ip, t->ip, (void *)(n - 1));
}

/* ---- header deadline (slowloris) ----------------------------------------- */

static void notify_conn(void *cls, struct MHD_Connection *conn, void **sock_ctx,
			enum MHD_ConnectionNotificationCode toe)
{
	struct rest_mhd *m = cls;
	struct tconn *t = *sock_ctx;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return; /* no deadline for this one: MHD's idle timeout only */
		t->conn = conn;
		count_ip(m, t, conn);
		t->deadline = uv_now(m->loop) +
			      (uint64_t)m->cfg->http_header_timeout_s * 1000;
		t->next = m->conns;
		if (m->conns)
			m->conns->prev = t;
		m->conns = t;
		*sock_ctx = t;
	} else if (t) {
		if (t->prev)
			t->prev->next = t->next;
		else
			m->conns = t->next;
		if (t->next)
			t->next->prev = t->prev;
		uncount_ip(m, t);
		free(t);
		*sock_ctx = NULL;
	}
}

/* The request's headers are in (body false: its body is too, or it has
 * none): what is left of it must come within the body time, or nothing
 * more is waited for. */
static void request_progress(struct rest_mhd *m, struct MHD_Connection *conn,
			     bool body)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct tconn *t = ci ? ci->socket_context : NULL;

	if (t)
		t->deadline = body ? uv_now(m->loop) +
				     (uint64_t)m->cfg->http_body_timeout_s * 1000
				   : 0;
}

/* A request ended: the connection's next request must have its headers
 * complete within the idle time MHD allows before it plus the header
 * time (a kept-alive connection trickling its second request is no
 * different from a new one trickling its first). */
static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **req_cls, enum MHD_RequestTerminationCode toe)
{
	struct rest_mhd *m = cls;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct tconn *t = ci ? ci->socket_context : NULL;

	if (t)
		t->deadline = uv_now(m->loop) +
			      ((uint64_t)m->cfg->http_timeout_s +
			       (uint64_t)m->cfg->http_header_timeout_s) * 1000;
	m->routes.completed(m->routes.arg, conn, req_cls, toe);
}

/* Connections still sending a request's headers or body past the
 * deadline are shut down; MHD then notices and closes them. */
static void sweep_cb(uv_timer_t *tm)
{
	struct rest_mhd *m = tm->data;
	uint64_t now = uv_now(m->loop);

	for (struct tconn *t = m->conns; t; t = t->next) {
		const union MHD_ConnectionInfo *ci;

		if (!t->deadline || now < t->deadline)
			continue;
		t->deadline = 0;
		ci = MHD_get_connection_info(t->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci)
			shutdown(ci->connect_fd, SHUT_RDWR);
	}
	run_mhd(m);
}

/* ---- MHD callbacks ------------------------------------------------------- */

/* MHD calls this first with *req_cls NULL once the headers are in. */
static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn,
				 const char *url, const char *method,
				 const char *version, const char *upload,
				 size_t *upload_size, void **req_cls)
{
	struct rest_mhd *m = cls;

	/* the first call has the headers and no body yet; a later one
	 * without data means the body is complete (or the request waits for
	 * its answer) */
	if (!*req_cls)
		request_progress(m, conn, true);
	else if (!*upload_size)
		request_progress(m, conn, false);
	return m->routes.request(m->routes.arg, conn, url, method, version,
				 upload, upload_size, req_cls);
}

/* MHD's unescaper, replaced: see httpcheck_unescape (%00 stays). */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	GW_UNUSED(cls);
	GW_UNUSED(conn);
	return httpcheck_unescape(s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	GW_UNUSED(cls);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_msg(LOG_DEBUG, NULL, NULL, "http: %s", buf);
}

/* ---- start and stop ------------------------------------------------------ */

/* Connections MHD may hold: the configured limit, but at most half the
 * process's fds (WebSockets and Redis need the rest; see ws.c). */
static unsigned http_conn_budget(const struct config *cfg)
{
	struct rlimit rl;
	unsigned want = (unsigned)cfg->http_conn_max;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    want > rl.rlim_cur / 2)
		want = (unsigned)(rl.rlim_cur / 2);
	return want ? want : 1;
}

struct rest_mhd *rest_mhd_start(uv_loop_t *loop, const struct config *cfg,
				const struct rest_mhd_routes *routes)
{
	struct rest_mhd *m = calloc(1, sizeof(*m));
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	if (!m)
		return NULL;
	m->loop = loop;
	m->cfg = cfg;
	m->routes = *routes;
	map_init(&m->per_ip);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)cfg->http_port);
	if (inet_pton(AF_INET, cfg->bind, &sa.sin_addr) != 1) {
		log_error("bind address \"%s\" is not an IPv4 address", cfg->bind);
		free(m);
		return NULL;
	}
	m->d = MHD_start_daemon(
		MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
		(uint16_t)cfg->http_port, accept_policy, m, on_access, m,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, m,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->http_timeout_s,
		MHD_OPTION_CONNECTION_LIMIT, http_conn_budget(cfg),
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, m,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape, m,
		MHD_OPTION_NOTIFY_CONNECTION, notify_conn, m,
		MHD_OPTION_END);
	if (!m->d) {
		log_error("cannot listen on %s:%d for HTTP", cfg->bind, cfg->http_port);
		free(m);
		return NULL;
	}
	info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD);
	uv_poll_init(loop, &m->poll, info->epoll_fd);
	uv_timer_init(loop, &m->timer);
	uv_timer_init(loop, &m->sweep);
	m->poll.data = m->timer.data = m->sweep.data = m;
	m->handles_open = 3;
	uv_timer_start(&m->sweep, sweep_cb, SWEEP_MS, SWEEP_MS);
	uv_poll_start(&m->poll, UV_READABLE, poll_cb);
	/* the first run from the loop: routes must not be called before the
	 * caller has what this returns */
	uv_timer_start(&m->timer, timer_cb, 0, 0);
	log_info("http listening on %s:%d", cfg->bind, cfg->http_port);
	return m;
}

void rest_mhd_quiesce(struct rest_mhd *m)
{
	MHD_socket s = MHD_quiesce_daemon(m->d);

	if (s != MHD_INVALID_SOCKET)
		close(s);
}

/* libuv runs close callbacks in reverse uv_close order, and a handle's
 * memory must stay valid until its own callback: free m after the last. */
static void handle_closed(uv_handle_t *h)
{
	struct rest_mhd *m = h->data;

	if (--m->handles_open == 0) {
		map_release(&m->per_ip);
		free(m);
	}
}

void rest_mhd_stop(struct rest_mhd *m)
{
	if (!m)
		return;
	uv_poll_stop(&m->poll);
	/* answers resumed in this loop turn (a shutdown fails the Redis
	 * commands in flight, and their requests answer 503) would wait for
	 * the 0 ms timer, which never runs once the daemon is gone: send them
	 * now. MHD writes a small answer in one run; a second catches one
	 * that was only queued in the first. */
	if (m->d && m->kick) {
		m->kick = false;
		MHD_run(m->d);
		MHD_run(m->d);
	}
	MHD_stop_daemon(m->d);
	m->d = NULL;
	uv_close((uv_handle_t *)&m->poll, handle_closed);
	uv_close((uv_handle_t *)&m->sweep, handle_closed);
	uv_close((uv_handle_t *)&m->timer, handle_closed);
}

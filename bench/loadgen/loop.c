/* loop.c - loadgen's one thread: non-blocking TCP connections (connect,
 * queued sends) and the epoll loop that hands their events to the
 * WebSocket client (ws.c) or the HTTP client (http.c), with a timerfd that
 * wakes the fan-out publishers when a message is due. */
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "fanout.h"
#include "http.h"
#include "ws.h"

/* ------------------------------------------------------------ connections */

int ep, tfd;
int64_t deadline;	/* --max-time */
char runid[17];
char timer_tag;

/* counters over the whole run */
struct counters G;

void ep_set(struct conn *c, bool add)
{
	struct epoll_event ev = {.events = EPOLLIN | (c->out_armed ? EPOLLOUT : 0u),
				 .data.ptr = c};

	if (epoll_ctl(ep, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
}

void conn_close(struct conn *c)
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

int conn_connect(struct conn *c, const struct sockaddr_in *a)
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
int conn_flush(struct conn *c)
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

/* ------------------------------------------------------------------- loop */

void timer_arm(int64_t at)
{
	struct itimerspec it = {.it_value = {.tv_sec = at / NS, .tv_nsec = at % NS}};

	timerfd_settime(tfd, TFD_TIMER_ABSTIME, &it, NULL);
}

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

/* One epoll round, waiting at most until `until`. */
void loop_once(int64_t until)
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

void loop_for(double seconds)
{
	int64_t until = now_ns() + (int64_t)(seconds * 1e9);

	if (until > deadline)
		until = deadline;
	while (now_ns() < until)
		loop_once(until);
}

bool out_of_time(void)
{
	return now_ns() >= deadline;
}

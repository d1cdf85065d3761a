/* http.c - the keep-alive HTTP/1.1 client of loadgen (Content-Length and
 * chunked answers, reconnect on close, request timeouts): PUT requests, and
 * what each answer or lost request counts for the fan-out step or the rest
 * run (http.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fanout.h"
#include "http.h"

struct sockaddr_in http_addr;
struct buf auth_hdr;
struct conn *https;
int nhttps;
struct hist put_h;

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

void http_put(struct conn *c, int coll, const char *id, const char *body, size_t bl)
{
	bprintf(&c->wb,
		"PUT /v1/collections/%s%d/docs/%s HTTP/1.1\r\nHost: %s:%d\r\n"
		"Content-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
		O.prefix, coll, id, O.host, O.http_port, bl,
		auth_hdr.len ? buf_data(&auth_hdr) : "");
	buf_add(&c->wb, body, bl);
}

static void http_start(struct conn *c)
{
	if (conn_connect(c, &http_addr) < 0)
		die("connect to the HTTP port: %s", strerror(errno));
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

void http_lost(struct conn *c, const char *why, bool reconnect)
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

void http_input(struct conn *c, int64_t now)
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

static int64_t last_timeout_scan;

void http_timeouts(int64_t now)
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

/* Opens n keep-alive HTTP connections; false if not all came up in time. */
bool https_open(int n)
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

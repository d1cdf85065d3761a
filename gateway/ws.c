/*
 * ws.c - libwebsockets adapter: handshake checks (path, Origin, token),
 * message reassembly with a size cap, writes (at once when the socket takes
 * them, else driven by WRITEABLE), the connection's timer and the close
 * dance (close codes come from the error table in common.h). The client
 * protocol is client.c's, delivery hub.c's; this file only moves bytes.
 */
#include "ws.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "client.h"
#include "hub.h"
#include "identity.h"
#include "log.h"
#include "map.h"
#include "netaddr.h"
#include "metrics.h"
#include "proto.h"
#include "ratelimit.h"
#include "sbuf.h"
#include "session.h"
#include "strx.h"

_Static_assert(MSG_PRE >= LWS_PRE, "msg headroom must cover LWS_PRE");

#define WRITES_PER_CALLBACK 64

struct ws {
	struct app *app;
	struct client_env env;  /* what every connection's protocol shares */
	struct lws_context *ctx;
	struct ws_sess *all;    /* every established session */
	unsigned count;
	uint64_t next_id;
	lws_retry_bo_t retry;
	bool listening;
	int fd_ceiling;         /* accepted fds at or above: refused (0: none) */
	int64_t refused_at;     /* last "fd ceiling" log line, seconds */
	unsigned refused;       /* refused since that line */
	struct map per_ip;      /* client address -> sessions (uintptr_t) */
	struct rl_table *auth_fails; /* failed handshakes per client address */
};

struct ws_sess {
	struct client c;        /* protocol, queue, subscriptions; first */
	struct ws *w;
	struct lws *wsi;
	struct ws_sess *prev, *next;
	bool live;              /* initialized in ESTABLISHED */
	int64_t timer_at;       /* the deadline the timer is armed for */
	struct sbuf rx;
	bool rx_binary;
	bool peer_closing;      /* a close frame came: write no more data */
	bool broken;            /* a write failed: close at the next callback */
	bool closing;           /* we asked lws for the close handshake */
	char ip[NETADDR_STR_MAX + 1]; /* counted in per_ip, or "" */
};

static int64_t now_s(void) { return (int64_t)time(NULL); }

/* ---- session glue ------------------------------------------------------- */

/* Writes the oldest queued message. False when the write failed (the
 * session is then closed from lws's next callback for it, never from here:
 * the caller may be the hub, iterating this session's subscriptions). */
static bool write_one(struct ws_sess *ws)
{
	struct msg *m = session_peek(&ws->c.s);

	if (lws_write(ws->wsi, msg_payload(m), m->len, LWS_WRITE_TEXT) < (int)m->len) {
		ws->broken = true;
		lws_set_timer_usecs(ws->wsi, 1);
		return false;
	}
	session_pop(&ws->c.s);
	return true;
}

/* Frames for a connection that is behind, written with one send() (see
 * write_batch). What the kernel does not take of it lws holds, outside the
 * session's queue limit, so it is kept small: 16 KiB (a few hundred change
 * frames). Loop thread only, like everything here. */
#define BATCH_MAX (16 * 1024)
static unsigned char batch[LWS_PRE + BATCH_MAX];

/* Appends the frame header of an unmasked text frame of len bytes (RFC
 * 6455 5.2) at p; returns the bytes written (2, 4 or 10). */
static size_t frame_header(unsigned char *p, size_t len)
{
	p[0] = 0x81; /* FIN, text */
	if (len < 126) {
		p[1] = (unsigned char)len;
		return 2;
	}
	if (len <= 0xffff) {
		p[1] = 126;
		p[2] = (unsigned char)(len >> 8);
		p[3] = (unsigned char)len;
		return 4;
	}
	p[1] = 127;
	for (int i = 0; i < 8; i++)
		p[2 + i] = (unsigned char)((uint64_t)len >> (8 * (7 - i)));
	return 10;
}

/* Writes as many of the oldest queued messages as fit in the batch
 * buffer, each framed, with one lws_write of the raw bytes: a connection
 * that fell behind (a slow reader, a replay) catches up with one send()
 * per batch instead of one per frame. What the kernel does not take, lws
 * keeps in order, as for any write. Returns the messages written (0: the
 * oldest alone does not fit; write_one it), or -1 when the write failed. */
static int write_batch(struct ws_sess *ws)
{
	struct session *s = &ws->c.s;
	unsigned char *start = batch + LWS_PRE, *p = start;
	size_t k = 0, len;
	struct msg *m;

	while ((m = session_peek_at(s, k)) != NULL &&
	       (size_t)(p - start) + m->len + 10 <= BATCH_MAX) {
		p += frame_header(p, m->len);
		memcpy(p, msg_payload(m), m->len);
		p += m->len;
		k++;
	}
	if (k < 2)
		return 0;
	len = (size_t)(p - start);
	if (lws_write(ws->wsi, start, len, LWS_WRITE_RAW) < (int)len) {
		ws->broken = true;
		return -1;
	}
	for (size_t i = 0; i < k; i++)
		session_pop(s);
	return (int)k;
}

/* A message was queued on an empty queue. If lws holds nothing of an
 * earlier write, it goes to the socket now: one send(), where waiting for
 * WRITEABLE costs an epoll_ctl to arm POLLOUT, a wakeup, a poll() and an
 * epoll_ctl to disarm it, per delivery. What the kernel does not take, lws
 * keeps and flushes first; then WRITEABLE drains the queue. */
static void sess_wake(struct session *s)
{
	struct ws_sess *ws = (struct ws_sess *)(void *)s;

	/* (the queue was empty, so nothing waits for it to drain) */
	if (ws->live && !ws->peer_closing && !ws->broken && !s->close_code &&
	    !lws_partial_buffered(ws->wsi) && write_one(ws))
		return;
	if (!ws->broken)
		lws_callback_on_writable(ws->wsi);
}

static void sess_kill(struct session *s)
{
	struct ws_sess *ws = (struct ws_sess *)(void *)s;

	/* The close frame goes out once the socket can take it: WRITEABLE then
	 * arms the timer, whose callback closes (lws 4.1 sends the close frame
	 * when a timer or receive callback returns -1, but drops the socket
	 * without one when WRITEABLE does). A peer that never reads again is
	 * dropped by the timeout without a close frame. */
	lws_callback_on_writable(ws->wsi);
	lws_set_timeout(ws->wsi, PENDING_TIMEOUT_USER_OK, 10);
}

static const struct session_ops sess_ops = {sess_wake, sess_kill};

/* Closes from inside this session's own callback with a close code that
 * came from the error table (e.g. one stored by session_close). */
static int close_with(struct ws_sess *ws, int code, const char *reason)
{
	size_t len = strlen(reason);

	if (len > 123) /* a close frame carries 2 code bytes + 123 */
		len = 123;
	lws_close_reason(ws->wsi, (enum lws_close_status)code,
			 (unsigned char *)(uintptr_t)reason, len);
	ws->closing = true;
	return -1;
}

/* Arms the one timer of a session for the protocol's deadline (the auth
 * timeout, else the token's expiry), when that changed. */
#define TIMER_MAX_S 86400

static void arm_timer(struct ws_sess *ws)
{
	int64_t when = client_deadline(&ws->c), now = now_s(), delay;

	/* no cancel: lws 4.1 treats LWS_SET_TIMER_USEC_CANCEL as "now" and
	 * would spin; a timer without a deadline just finds nothing to do */
	if (!when || when == ws->timer_at)
		return;
	ws->timer_at = when;
	/* at most a day ahead: a token may carry any exp up to 2^53 - 1 s,
	 * whose microseconds do not fit; a timer that fires early finds
	 * nothing due and is armed again */
	delay = when > now ? when - now : 0;
	if (delay > TIMER_MAX_S)
		delay = TIMER_MAX_S;
	lws_set_timer_usecs(ws->wsi, (lws_usec_t)(delay * 1000000 + 1000));
}

/* Carries out a protocol verdict: 0 to stay open, -1 after close_with. */
static int verdict(struct ws_sess *ws, bool open, const struct client_close *cc)
{
	if (!open)
		return close_with(ws, cc->code, cc->reason);
	arm_timer(ws);
	return 0;
}

/* ---- handshake ---------------------------------------------------------- */

static bool origin_allowed(struct app *app, const char *origin)
{
	if (!app->cfg->norigins)
		return true;
	for (size_t i = 0; i < app->cfg->norigins; i++)
		if (strcmp(app->cfg->allowed_origins[i], origin) == 0)
			return true;
	return false;
}

/* The token of the handshake (Authorization header or ?token=), copied
 * into buf; NULL when there is none; "" (buf[0] == 0 but non-NULL) when
 * the header is malformed. */
static const char *handshake_token(struct lws *wsi, char *buf, int len)
{
	int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);

	if (n > 0) {
		const char *tok;
		size_t tlen;

		if (n >= len || lws_hdr_copy(wsi, buf, len, WSI_TOKEN_HTTP_AUTHORIZATION) < 0 ||
		    identity_bearer(buf, &tok, &tlen)) {
			buf[0] = '\0';
			return buf;
		}
		memmove(buf, tok, tlen);
		buf[tlen] = '\0';
		return buf;
	}
	return lws_get_urlarg_by_name(wsi, "token=", buf, len);
}

/* The X-API-Key header of the handshake (lws keeps headers it does not
 * know as custom ones), copied into buf; NULL when there is none; "" when
 * it does not fit (no key is that long: it fails as an empty one). */
static const char *handshake_key(struct lws *wsi, char *buf, int len)
{
	static const char name[] = "x-api-key:";
	int n = lws_hdr_custom_length(wsi, name, (int)sizeof(name) - 1);

	if (n < 0)
		return NULL;
	if (n >= len ||
	    lws_hdr_custom_copy(wsi, buf, len, name, (int)sizeof(name) - 1) < 0)
		buf[0] = '\0';
	return buf;
}

/* Where the handshake comes from: the peer, or behind a trusted proxy
 * the address X-Forwarded-For names (netaddr_client). */
static void client_addr(struct ws *w, struct lws *wsi, char *out)
{
	const struct netaddr_set *trusted = &w->app->cfg->trusted;
	char peer[NETADDR_STR_MAX + 1], *xff = NULL;
	int n;

	lws_get_peer_simple(wsi, peer, sizeof(peer));
	/* every line, joined with "," by lws; as long as the headers may be
	 * (a cut one would leave the proxy's address, which is exempt) */
	n = netaddr_in(trusted, peer)
		    ? lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR) : 0;
	if (n > 0 && (xff = malloc((size_t)n + 1)) &&
	    lws_hdr_copy(wsi, xff, n + 1, WSI_TOKEN_X_FORWARDED_FOR) < 0) {
		free(xff);
		xff = NULL;
	}
	netaddr_client(trusted, peer, xff, out);
	free(xff);
}

static uintptr_t sessions_of(struct ws *w, const char *ip)
{
	return (uintptr_t)map_get(&w->per_ip, ip);
}

/* Counts ws's session under its client address (limits.ws_connections
 * _per_ip); closed() takes it back. */
static void count_ip(struct ws *w, struct ws_sess *ws)
{
	if (!w->app->cfg->ws_conn_per_ip)
		return;
	client_addr(w, ws->wsi, ws->ip);
	if (map_put(&w->per_ip, ws->ip, (void *)(sessions_of(w, ws->ip) + 1)))
		ws->ip[0] = '\0';
}

static void uncount_ip(struct ws *w, struct ws_sess *ws)
{
	uintptr_t n;

	if (!ws->ip[0])
		return;
	n = sessions_of(w, ws->ip);
	if (n <= 1)
		map_del(&w->per_ip, ws->ip);
	else
		map_put(&w->per_ip, ws->ip, (void *)(n - 1));
}

/* 426 with the version we speak (RFC 6455 4.4). Returns 1 (answered) or
 * -1 (just hang up) as LWS_CALLBACK_HTTP_CONFIRM_UPGRADE expects. */
static int refuse_version(struct lws *wsi)
{
	unsigned char buf[LWS_PRE + 256], *start = buf + LWS_PRE, *p = start;
	unsigned char *end = buf + sizeof(buf);

	if (lws_add_http_header_status(wsi, 426, &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"sec-websocket-version:",
					(const unsigned char *)"13", 2, &p, end) ||
	    lws_add_http_header_content_length(wsi, 0, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	return 1;
}

/* Returns 0 to go on, 1 after answering with an HTTP error. */
static int confirm_upgrade(struct ws *w, struct lws *wsi)
{
	struct app *app = w->app;
	char buf[JWT_DEFAULT_MAX_LEN + 64], kbuf[APIKEY_LEN_MAX + 1];
	const char *tok, *key;
	struct identity id;
	struct gw_error e = {0, ""};
	unsigned long dropped;
	char ip[NETADDR_STR_MAX + 1];
	int n;

	n = lws_hdr_copy(wsi, buf, 256, WSI_TOKEN_GET_URI);
	if (n < 0 || strcmp(buf, "/v1/ws") != 0) {
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
		return 1;
	}
	/* lws 4.1 checks neither: a key is base64 of 16 bytes, and 13 is the
	 * only version there is */
	if (lws_hdr_total_length(wsi, WSI_TOKEN_KEY) != 24) {
		lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST, NULL);
		return 1;
	}
	if (lws_hdr_copy(wsi, buf, 16, WSI_TOKEN_VERSION) < 0 || strcmp(buf, "13") != 0)
		return refuse_version(wsi);
	client_addr(w, wsi, ip);
	if (!rl_table_has(w->auth_fails, ip, app->cfg->auth_failures_per_s,
			  app->cfg->auth_failures_burst, now_s() * 1000, NULL)) {
		/* an address that keeps failing: nothing of it is checked */
		lws_return_http_status(wsi, 429, NULL);
		return 1;
	}
	if (app->cfg->ws_conn_per_ip) {
		if (sessions_of(w, ip) >= (uintptr_t)app->cfg->ws_conn_per_ip) {
			if (log_refusal_ok(&dropped))
				log_msg(LOG_INFO, NULL, NULL, "ws handshake refused: "
					"%s holds %d WebSockets (%lu refusals not "
					"logged before)", ip, app->cfg->ws_conn_per_ip,
					dropped);
			lws_return_http_status(wsi, 429, NULL);
			return 1;
		}
	}
	if (app->draining || w->count >= (unsigned)app->cfg->ws_conn_max) {
		lws_return_http_status(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, NULL);
		return 1;
	}
	n = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
	if (n > 0) {
		if (n >= 512 || lws_hdr_copy(wsi, buf, 512, WSI_TOKEN_ORIGIN) < 0 ||
		    !origin_allowed(app, buf)) {
			if (log_refusal_ok(&dropped))
				log_msg(LOG_INFO, NULL, NULL, "ws handshake refused: "
					"origin not allowed (%lu refusals not "
					"logged before)", dropped);
			lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL);
			return 1;
		}
	}
	tok = handshake_token(wsi, buf, sizeof(buf));
	key = handshake_key(wsi, kbuf, sizeof(kbuf));
	if ((tok || key) && !app->dev_open) {
		bool malformed = tok && !tok[0];

		if (malformed ||
		    identity_from_request(&app->idcfg, tok,
					  tok ? strlen(tok) : 0, key,
					  key ? strlen(key) : 0, now_s(), &id,
					  &e)) {
			if (log_refusal_ok(&dropped))
				log_msg(LOG_INFO, NULL, NULL, "ws handshake refused: "
					"%s (%lu refusals not logged before)",
					malformed ? "malformed Authorization header"
						  : e.msg, dropped);
			rl_table_take(w->auth_fails, ip,
				      app->cfg->auth_failures_per_s,
				      app->cfg->auth_failures_burst,
				      now_s() * 1000, NULL);
			lws_return_http_status(wsi, HTTP_STATUS_UNAUTHORIZED, NULL);
			return 1;
		}
		identity_release(&id);
	}
	return 0;
}

static int established(struct ws *w, struct ws_sess *ws, struct lws *wsi)
{
	struct app *app = w->app;
	char buf[JWT_DEFAULT_MAX_LEN + 64], kbuf[APIKEY_LEN_MAX + 1], id[24];
	struct client_close cc;

	memset(ws, 0, sizeof(*ws));
	snprintf(id, sizeof(id), "s%llu", (unsigned long long)++w->next_id);
	client_init(&ws->c, &w->env, &sess_ops, id, (size_t)app->cfg->queue_max);
	ws->w = w;
	ws->wsi = wsi;
	ws->live = true;
	ws->next = w->all;
	if (w->all)
		w->all->prev = ws;
	w->all = ws;
	w->count++;
	metrics.ws_connections++;
	count_ip(w, ws);
	return verdict(ws, client_open(&ws->c, handshake_token(wsi, buf, sizeof(buf)),
				       handshake_key(wsi, kbuf, sizeof(kbuf)),
				       now_s(), &cc), &cc);
}

static void closed(struct ws_sess *ws)
{
	struct ws *w = ws->w;

	if (!ws->live)
		return;
	ws->live = false;
	client_release(&ws->c);
	sbuf_release(&ws->rx);
	if (ws->prev)
		ws->prev->next = ws->next;
	else
		w->all = ws->next;
	if (ws->next)
		ws->next->prev = ws->prev;
	w->count--;
	metrics.ws_connections--;
	uncount_ip(w, ws);
}

/* ---- messages ------------------------------------------------------------- */

/* A close decided while reading. Returning -1 from RECEIVE would make lws
 * 4.1 drop the rest of what it read, so its frame parser loses step, fails
 * on the next read and drops the socket; closing it with unread input
 * sends a TCP reset that can reach the peer before our close frame (the
 * peer sees 1006). So the close goes the way of session_close: WRITEABLE,
 * then the timer, whose -1 lets lws send the close frame and wait for the
 * peer's while the parser keeps step. */
static int close_after_read(struct ws_sess *ws, int err, const char *reason)
{
	session_close(&ws->c.s, gw_err_ws_close(err),
		      reason ? reason : gw_err_message(err));
	return 0;
}

static int on_receive(struct ws_sess *ws, const void *in, size_t len)
{
	struct lws *wsi = ws->wsi;
	size_t max = (size_t)ws->w->app->cfg->ws_msg_max;
	struct client_close cc;
	bool open;

	/* closing: lws still reads while our close frame waits to go out and
	 * while it waits for the peer's; what comes now is dropped */
	if (ws->closing || ws->c.s.close_code)
		return 0;
	if (lws_is_first_fragment(wsi)) {
		sbuf_truncate(&ws->rx, 0);
		ws->rx_binary = lws_frame_is_binary(wsi);
	}
	if (ws->rx_binary)
		return close_after_read(ws, GW_EBINARY, NULL);
	/* the frame header already tells how much is coming: refuse by that
	 * instead of buffering up to the limit */
	if (ws->rx.len + len + lws_remaining_packet_payload(wsi) > max)
		return close_after_read(ws, GW_ETOOBIG, "message too big");
	sbuf_add(&ws->rx, in, len);
	if (sbuf_failed(&ws->rx))
		return close_after_read(ws, GW_EINTERNAL, "out of memory");
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return 0;
	open = client_message(&ws->c, ws->rx.buf ? ws->rx.buf : "", ws->rx.len,
			      now_s(), &cc);
	if (ws->rx.cap > 4096)
		sbuf_release(&ws->rx); /* do not keep a big buffer per idle socket */
	else
		sbuf_truncate(&ws->rx, 0);
	if (!open) {
		session_close(&ws->c.s, cc.code, cc.reason);
		return 0;
	}
	arm_timer(ws);
	return 0;
}

static int on_writeable(struct ws_sess *ws)
{
	struct lws *wsi = ws->wsi;
	struct session *s = &ws->c.s;
	int n = 0;

	if (ws->broken)
		return -1;
	if (s->close_code) {
		lws_set_timer_usecs(wsi, 1); /* on_timer closes (see sess_kill) */
		return 0;
	}
	/* lws_partial_buffered, not lws_send_pipe_choked (a poll() each) */
	while (n < WRITES_PER_CALLBACK && s->qlen && !lws_partial_buffered(wsi)) {
		int k = s->qlen > 1 ? write_batch(ws) : 0;

		if (k < 0)
			return -1;
		if (k == 0 && !write_one(ws))
			return -1;
		n += k ? k : 1;
	}
	if (s->qlen)
		lws_callback_on_writable(wsi);
	if (s->qbytes < s->qlimit / 2)
		hub_session_drained(ws->w->app->hub, s);
	return 0;
}

static int on_timer(struct ws_sess *ws)
{
	struct client_close cc;
	bool open;

	if (ws->broken)
		return -1;
	if (ws->closing)
		return 0;
	if (ws->c.s.close_code)
		return close_with(ws, ws->c.s.close_code, ws->c.s.close_reason);
	open = client_timer(&ws->c, now_s(), &cc);
	ws->timer_at = 0; /* it fired: arm again for the deadline */
	return verdict(ws, open, &cc);
}

static bool close_code_valid(const void *in, size_t len)
{
	const unsigned char *b = in;
	unsigned code;

	if (len == 0)
		return true;
	if (len == 1)
		return false;
	code = (unsigned)b[0] << 8 | b[1];
	if (code >= 3000 && code <= 4999)
		return true;
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

/* The lowest fd number a WebSocket may not have: the process limit less
 * what REST may hold and a reserve for Redis, files and the loop. fds are
 * numbered from the lowest free one, so an accepted fd at or above it means
 * the process is close to running out: refusing it then keeps accept()
 * from ever failing with EMFILE (which lws would retry in a loop). 0 when
 * there is no limit. */
static int ws_fd_ceiling(const struct app *app)
{
	struct rlimit rl;
	rlim_t total, http;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	total = rl.rlim_cur;
	http = (rlim_t)app->cfg->http_conn_max;
	if (http > total / 2)
		http = total / 2;
	if (total < http + 96)
		return 32;
	return (int)(total - http - 64);
}

/* A connection accepted on fd: refused (true) at the fd ceiling. */
static bool fd_refused(struct ws *w, int fd)
{
	int64_t now;

	if (!w->fd_ceiling || fd < w->fd_ceiling)
		return false;
	w->refused++;
	now = now_s();
	if (now - w->refused_at >= 10) {
		log_warn("websocket connections refused: %u at the fd limit (fd %d "
			 "of a ceiling of %d; raise the open-files limit)", w->refused,
			 fd, w->fd_ceiling);
		w->refused_at = now;
		w->refused = 0;
	}
	return true;
}

/* The struct ws of wsi's context (ws_start sets it as the context's user). */
static struct ws *ws_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len)
{
	struct ws_sess *ws = user;

	switch (reason) {
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		/* user is lws's accept record here, in the accepted fd */
		return fd_refused(ws_of(wsi), (int)(intptr_t)in);
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return confirm_upgrade(ws_of(wsi), wsi);
	case LWS_CALLBACK_HTTP:
		/* plain HTTP on the WebSocket port */
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
		return -1;
	case LWS_CALLBACK_ESTABLISHED:
		return established(ws_of(wsi), ws, wsi);
	case LWS_CALLBACK_RECEIVE:
		return ws && ws->live ? on_receive(ws, in, len) : -1;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return ws && ws->live ? on_writeable(ws) : -1;
	case LWS_CALLBACK_TIMER:
		return ws && ws->live ? on_timer(ws) : 0;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (ws)
			ws->peer_closing = true;
		/* lws echoes whatever code came; RFC 6455 7.4 says fail the
		 * connection on a 1-byte body or a code no one may send */
		return close_code_valid(in, len) ? 0 : -1;
	case LWS_CALLBACK_CLOSED:
		if (ws)
			closed(ws);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

/* rx_buffer_size: lws allocates it per connection at the upgrade. Client
 * messages are small (subscribe, ping, auth with a token of a few hundred
 * bytes); a larger one arrives in pieces, which on_receive assembles up to
 * limits.ws_message_bytes. 1 KiB instead of 4 saves 3 KiB per socket. */
#define RX_BUFFER 1024

static const struct lws_protocols protocols[] = {
	{"syncgate", callback, sizeof(struct ws_sess), RX_BUFFER, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

static void lws_log(int level, const char *line)
{
	static time_t window;
	static unsigned lines, dropped;
	time_t now = time(NULL);
	char buf[256];
	size_t n;

	/* lws can repeat an error in a tight loop (e.g. accept failing with
	 * EMFILE): at most 20 lines a second reach the log */
	if (now != window) {
		if (dropped)
			log_msg(LOG_WARN, NULL, NULL,
				"lws: %u more messages suppressed", dropped);
		window = now;
		lines = dropped = 0;
	}
	if (++lines > 20) {
		dropped++;
		return;
	}

	strx_copy(buf, sizeof(buf), line);
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	log_msg(level & LLL_ERR ? LOG_WARN : LOG_DEBUG, NULL, NULL, "lws: %s", buf);
}

struct ws *ws_start(struct app *app)
{
	struct lws_context_creation_info info;
	struct ws *w = calloc(1, sizeof(*w));
	void *loops[1];

	if (!w)
		return NULL;
	w->app = app;
	map_init(&w->per_ip);
	w->auth_fails = rl_table_new(100000);
	if (!w->auth_fails) {
		free(w);
		return NULL;
	}
	w->env.hub = app->hub;
	w->env.idcfg = &app->idcfg;
	w->env.node = app->node;
	w->env.json_depth = app->cfg->json_depth;
	w->env.subs_max = app->cfg->subs_max;
	w->env.msgs_per_s = app->cfg->ws_messages_per_s;
	w->env.msgs_burst = app->cfg->ws_messages_burst;
	w->env.auth_timeout_s = app->cfg->ws_auth_timeout_s;
	w->env.leeway_s = app->cfg->leeway_s;
	w->env.open = app->dev_open;
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
	memset(&info, 0, sizeof(info));
	loops[0] = app->loop;
	info.foreign_loops = loops;
	info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8 |
		       LWS_SERVER_OPTION_DISABLE_IPV6 |
		       LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.port = app->cfg->ws_port;
	info.iface = app->cfg->bind;
	info.protocols = protocols;
	info.timeout_secs = 10;
	info.max_http_header_data = 16384;
	/* no info.fd_limit_per_thread: with it, lws 4.1 finds the connection
	 * of each event by a linear scan over every fd (a quarter of the
	 * CPU at 10,000 sockets); fd_refused keeps the fd budget instead */
	w->fd_ceiling = ws_fd_ceiling(app);
	/* header tables are held from the first byte of a handshake to its
	 * end: a pool of 64 is taken by 64 stalled handshakes, so more of
	 * them (16 KiB each at most), held no longer than 5 s idle */
	info.max_http_header_pool = 256;
	info.timeout_secs_ah_idle = 5;
	w->retry.secs_since_valid_ping = 30;
	w->retry.secs_since_valid_hangup = 70;
	info.retry_and_idle_policy = &w->retry;
	info.user = w;
	info.pcontext = &w->ctx; /* lws clears it once fully destroyed */
	w->ctx = lws_create_context(&info);
	if (!w->ctx) {
		log_error("cannot start libwebsockets");
		map_release(&w->per_ip);
		rl_table_free(w->auth_fails);
		free(w);
		return NULL;
	}
	/* an explicit vhost, so that a port in use fails the start instead
	 * of leaving a context that listens nowhere */
	if (!lws_create_vhost(w->ctx, &info)) {
		log_error("cannot listen on %s:%d for WebSockets", app->cfg->bind,
			  app->cfg->ws_port);
		return w; /* not listening: ws_listening() is false */
	}
	w->listening = true;
	log_info("websocket listening on %s:%d (path /v1/ws)", app->cfg->bind,
		 app->cfg->ws_port);
	return w;
}

void ws_close_all(struct ws *w)
{
	for (struct ws_sess *ws = w->all; ws; ws = ws->next)
		session_close(&ws->c.s, gw_err_ws_close(GW_ESHUTDOWN),
			      gw_err_message(GW_ESHUTDOWN));
}

unsigned ws_sessions(const struct ws *w) { return w->count; }

bool ws_listening(const struct ws *w) { return w && w->listening; }

void ws_stop(struct ws *w)
{
	if (w && w->ctx)
		lws_context_destroy(w->ctx);
}

void ws_free(struct ws *w)
{
	if (!w)
		return;
	ws_stop(w);
	map_release(&w->per_ip);
	rl_table_free(w->auth_fails);
	free(w);
}

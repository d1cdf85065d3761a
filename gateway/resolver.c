/*
 * resolver.c - POSTs to the applications' conflict resolvers with libcurl's
 * multi-socket API on the libuv loop: one CURLM (its connection cache gives
 * keep-alive), one uv_timer_t for curl's timeout, one uv_poll_t per socket
 * curl asks us to watch. An adapter: it knows libcurl and libuv, nothing
 * about documents or conflicts.
 */
#include "resolver.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "log.h"

/*
 * Why the callback never runs inside resolver_call: resolver_call only adds
 * the easy handle; curl then asks (timer callback) for a 0 ms timeout, and
 * every transfer - even one curl rejects at once, like a malformed URL - does
 * its work and finishes inside curl_multi_socket_action, which we call only
 * from our uv timer and uv poll callbacks. Completions are harvested there
 * (harvest()), and also from the reap timer (socket we could not watch), so
 * a user callback always runs from the loop.
 *
 * Never return -1 from the socket or timer callback: libcurl 7.88 then marks
 * the whole multi handle dead and fails every transfer, present and future.
 */

struct rcall {
	struct rcall *next, *prev;  /* calls in flight */
	struct resolver *r;         /* borrowed: the owner */
	CURL *easy;                 /* owned */
	struct curl_slist *headers; /* owned */
	char *body;                 /* owned: the request body; curl borrows it */
	char *buf;                  /* owned: the answer so far, NUL-terminated; NULL when none */
	size_t len, cap;
	bool too_big;               /* the answer passed body_max */
	bool oom;                   /* the answer buffer could not grow */
	bool failed;                /* a socket could not be watched: reap it */
	resolver_done_fn cb;
	void *arg;                  /* borrowed: the caller's */
	uint64_t start;             /* uv_hrtime() at resolver_call */
	char err[CURL_ERROR_SIZE];  /* curl's message (CURLOPT_ERRORBUFFER) */
};

/* One socket curl asked us to watch; freed in its close callback. */
struct rsock {
	struct rsock *next, *prev; /* watched sockets (not yet closing) */
	uv_poll_t poll;
	struct resolver *r;        /* borrowed: the owner */
	curl_socket_t fd;
	int events;                /* UV_READABLE | UV_WRITABLE curl asked for */
};

struct resolver {
	uv_loop_t *loop;     /* borrowed */
	CURLM *multi;        /* owned; NULL once resolver_free cleaned it up */
	uv_timer_t timer;    /* curl's one timeout */
	uv_timer_t reap;     /* ends calls flagged failed, outside curl */
	char *user_agent;    /* owned; NULL: none */
	size_t max_inflight;
	size_t body_max;
	struct rcall *calls; /* owned: the calls in flight */
	size_t inflight;
	struct rsock *socks; /* owned: sockets watched; each freed in its close callback */
	int handles_open;    /* uv handles not yet closed (timers, polls) */
	bool freeing;
};

/* ---- the result ----------------------------------------------------------- */

/*
 * curl code -> status. Timeouts (connect included: curl reports a connect
 * timeout as CURLE_OPERATION_TIMEDOUT too) are TIMEOUT. "Nobody is there"
 * is UNREACHABLE: refused / no route (COULDNT_CONNECT), no such host
 * (COULDNT_RESOLVE_HOST), the server closed without a byte of answer
 * (GOT_NOTHING), and a send or receive that failed with a reset
 * (ECONNRESET, EPIPE, ECONNABORTED from CURLINFO_OS_ERRNO). Everything else
 * (TLS, malformed answer, partial body, ...) is ERROR.
 */
static enum resolver_status map_code(CURLcode code, long os_errno)
{
	switch (code) {
	case CURLE_OK:
		return RESOLVER_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return RESOLVER_TIMEOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_GOT_NOTHING:
		return RESOLVER_UNREACHABLE;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		if (os_errno == ECONNRESET || os_errno == EPIPE ||
		    os_errno == ECONNABORTED)
			return RESOLVER_UNREACHABLE;
		return RESOLVER_ERROR;
	default:
		return RESOLVER_ERROR;
	}
}

static void call_free(struct rcall *c)
{
	if (c->easy)
		curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->headers);
	free(c->body);
	free(c->buf);
	free(c);
}

static void call_unlink(struct rcall *c)
{
	struct resolver *r = c->r;

	if (c->prev)
		c->prev->next = c->next;
	else
		r->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	r->inflight--;
}

/* Removes c from the multi handle (its connection goes back to the cache
 * when reusable, so a call started from the callback can reuse it), runs the
 * callback once and frees c. Never from inside a curl callback. */
static void call_end(struct rcall *c, enum resolver_status st,
		     const char *detail)
{
	struct resolver *r = c->r;
	struct resolver_result res;
	long http = 0;

	if (r->multi)
		curl_multi_remove_handle(r->multi, c->easy);
	call_unlink(c);
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &http);
	res.status = st;
	res.http_status = http;
	res.body = c->buf ? c->buf : "";
	res.len = c->len;
	res.detail = detail;
	res.seconds = (double)(uv_hrtime() - c->start) / 1e9;
	c->cb(c->arg, &res);
	call_free(c);
}

static void call_done(struct rcall *c, CURLcode code)
{
	long os_errno = 0;
	char detail[64];

	if (c->too_big) {
		snprintf(detail, sizeof(detail), "answer body over %zu bytes",
			 c->r->body_max);
		call_end(c, RESOLVER_TOO_BIG, detail);
		return;
	}
	if (c->oom) {
		call_end(c, RESOLVER_ERROR, "out of memory reading the answer");
		return;
	}
	if (code == CURLE_OK) {
		call_end(c, RESOLVER_OK, "ok");
		return;
	}
	curl_easy_getinfo(c->easy, CURLINFO_OS_ERRNO, &os_errno);
	call_end(c, map_code(code, os_errno),
		 c->err[0] ? c->err : curl_easy_strerror(code));
}

/* Ends every transfer curl reports finished. */
static void harvest(struct resolver *r)
{
	CURLMsg *m;
	int left;

	while (r->multi && (m = curl_multi_info_read(r->multi, &left))) {
		char *priv = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		/* m is invalid once the handle is removed: read it first */
		call_done((struct rcall *)(void *)priv, m->data.result);
	}
}

/* ---- libuv side of libcurl ------------------------------------------------ */

/* The last close callback frees r: the timers are closed last, so that is
 * only ever after resolver_free. */
static void handle_release(struct resolver *r)
{
	if (--r->handles_open == 0) {
		free(r->user_agent);
		free(r);
	}
}

static void handle_closed(uv_handle_t *h) { handle_release(h->data); }

static void sock_closed(uv_handle_t *h)
{
	struct rsock *s = h->data;
	struct resolver *r = s->r;

	free(s);
	handle_release(r);
}

static void sock_close(struct rsock *s)
{
	struct resolver *r = s->r;

	if (s->prev)
		s->prev->next = s->next;
	else
		r->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	/* uv_close stops the poll now (the fd leaves epoll before curl closes
	 * it, so a new socket with the same number gets a fresh rsock); the
	 * memory goes in sock_closed */
	uv_close((uv_handle_t *)&s->poll, sock_closed);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct rsock *s = h->data;
	struct resolver *r = s->r;
	int flags = 0, running;

	/* On POLLERR (a reset, say) libuv reports UV_EBADF and stops the
	 * handle. CURL_CSELECT_ERR alone would make curl fail with "select/poll
	 * returned error" without reading the socket; IN|OUT lets it read the
	 * real error (ECONNRESET) itself. */
	if (status < 0)
		flags = CURL_CSELECT_IN | CURL_CSELECT_OUT;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(r->multi, s->fd, flags, &running);
	/* s is still allocated (freed only in its close callback) but may be
	 * closing now (CURL_POLL_REMOVE); if curl kept it, re-arm what libuv
	 * stopped, as curl will not ask again for the same events */
	if (status < 0 && !uv_is_closing((uv_handle_t *)&s->poll) && s->events)
		uv_poll_start(&s->poll, s->events, on_poll);
	harvest(r);
}

static struct rsock *sock_open(struct resolver *r, curl_socket_t fd)
{
	struct rsock *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return NULL;
	err = uv_poll_init_socket(r->loop, &s->poll, fd);
	if (err) {
		log_error("resolver: cannot watch socket %d: %s", (int)fd,
			  uv_strerror(err));
		free(s);
		return NULL;
	}
	s->poll.data = s;
	s->r = r;
	s->fd = fd;
	s->next = r->socks;
	if (r->socks)
		r->socks->prev = s;
	r->socks = s;
	r->handles_open++;
	return s;
}

static void reap_cb(uv_timer_t *t)
{
	struct resolver *r = t->data;
	struct rcall *c = r->calls, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->failed)
			call_end(c, RESOLVER_ERROR, "cannot watch the socket");
	}
	/* removing handles can finish other transfers */
	harvest(r);
}

/* A socket of easy's transfer cannot be watched: it would hang until its
 * timeout, so end it from the loop now (not here, inside curl). */
static void watch_failed(struct resolver *r, CURL *easy)
{
	char *priv = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
	if (priv) {
		((struct rcall *)(void *)priv)->failed = true;
		uv_timer_start(&r->reap, reap_cb, 0, 0);
	}
}

/* CURLMOPT_SOCKETFUNCTION. Called from inside libcurl: no curl calls here
 * but curl_multi_assign, and never -1 (see the top of this file). */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
		     void *socketp)
{
	struct resolver *r = userp;
	struct rsock *s = socketp;
	int events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (s)
			sock_close(s);
		return 0;
	}
	if (!s) {
		s = sock_open(r, fd);
		if (!s) {
			watch_failed(r, easy);
			return 0;
		}
		if (curl_multi_assign(r->multi, fd, s) != CURLM_OK) {
			/* not expected for a socket curl just reported */
			log_error("resolver: curl_multi_assign(%d) failed", (int)fd);
			sock_close(s);
			watch_failed(r, easy);
			return 0;
		}
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	s->events = events;
	if (events)
		uv_poll_start(&s->poll, events, on_poll);
	else
		uv_poll_stop(&s->poll);
	return 0;
}

static void timer_cb(uv_timer_t *t)
{
	struct resolver *r = t->data;
	int running;

	curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	harvest(r);
}

/* CURLMOPT_TIMERFUNCTION: one non-repeating timer, -1 deletes it. Called
 * from inside libcurl (also from curl_multi_add_handle): only arm here. */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct resolver *r = userp;

	GW_UNUSED(multi);
	if (r->freeing)
		return 0;
	if (timeout_ms < 0)
		uv_timer_stop(&r->timer);
	else
		uv_timer_start(&r->timer, timer_cb, (uint64_t)timeout_ms, 0);
	return 0;
}

/* CURLOPT_WRITEFUNCTION: keeps at most body_max bytes; past that (or on
 * OOM) returns 0, which makes curl abort the transfer (CURLE_WRITE_ERROR). */
static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	struct rcall *c = ud;
	size_t want = size * n, take = want, need;

	if (want > c->r->body_max - c->len) {
		take = c->r->body_max - c->len;
		c->too_big = true;
	}
	need = c->len + take + 1;
	if (take && need > c->cap) {
		size_t cap = c->cap ? c->cap : 1024;
		char *nb;

		while (cap < need)
			cap *= 2;
		if (cap > c->r->body_max + 1)
			cap = c->r->body_max + 1;
		nb = realloc(c->buf, cap);
		if (!nb) {
			c->oom = true;
			return 0;
		}
		c->buf = nb;
		c->cap = cap;
	}
	if (take) {
		memcpy(c->buf + c->len, p, take);
		c->len += take;
		c->buf[c->len] = '\0';
	}
	return c->too_big ? 0 : want;
}

/* ---- calls ---------------------------------------------------------------- */

static bool url_ok(const char *url)
{
	return url && (strncasecmp(url, "http://", 7) == 0 ||
		       strncasecmp(url, "https://", 8) == 0);
}

/* Sets every option of one call; a CURLcode, CURLE_OK when all took. */
static CURLcode call_setup(struct rcall *c, const struct resolver_req *req)
{
	struct resolver *r = c->r;
	CURL *e = c->easy;
	CURLcode rc = CURLE_OK;

#define SET(opt, val)                                                         \
	do {                                                                  \
		if (rc == CURLE_OK)                                           \
			rc = curl_easy_setopt(e, opt, val);                   \
	} while (0)
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	/* a resolver URL from the config is called directly, whatever the
	 * environment's http_proxy says */
	SET(CURLOPT_PROXY, "");
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)req->timeout_ms);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	if (req->get) {
		SET(CURLOPT_HTTPGET, 1L);
	} else {
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
		SET(CURLOPT_POSTFIELDS, c->body);
	}
	SET(CURLOPT_HTTPHEADER, c->headers);
	SET(CURLOPT_WRITEFUNCTION, on_data);
	SET(CURLOPT_WRITEDATA, c);
	SET(CURLOPT_ERRORBUFFER, c->err);
	SET(CURLOPT_PRIVATE, c);
	if (r->user_agent)
		SET(CURLOPT_USERAGENT, r->user_agent);
	/* Debian builds curl with both a CA bundle and a CA path; with a path
	 * set, curl 7.88 does not cache the parsed CA store, and every new TLS
	 * connection re-reads the whole bundle on the loop (~25 ms). The bundle
	 * alone holds the same CAs (update-ca-certificates writes both) and is
	 * parsed once per multi handle (CURLOPT_CA_CACHE_TIMEOUT, 24 h). */
	SET(CURLOPT_CAPATH, (char *)NULL);
#undef SET
	/* Without it, a call that times out while the threaded resolver is
	 * still in getaddrinfo() joins that thread, blocking the loop until
	 * the lookup ends; with it curl detaches the thread instead. */
	curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
	return rc;
}

int resolver_call(struct resolver *r, const struct resolver_req *req,
		  resolver_done_fn cb, void *arg)
{
	struct rcall *c;
	CURLcode rc;
	int err = GW_ENOMEM;

	/* a call from a callback that resolver_free runs is refused too */
	if (r->freeing || r->inflight >= r->max_inflight)
		return GW_EBUSY;
	/* timeout_ms < 1 would mean "no timeout" to curl: refused */
	if (!url_ok(req->url) || req->timeout_ms < 1 || (req->len && !req->body))
		return GW_EBADREQ;
	c = calloc(1, sizeof(*c));
	if (!c)
		return GW_ENOMEM;
	c->r = r;
	c->cb = cb;
	c->arg = arg;
	/* curl needs a non-NULL POSTFIELDS even for an empty body */
	c->body = malloc(req->len + 1);
	c->easy = curl_easy_init();
	if (!c->body || !c->easy)
		goto fail;
	if (req->len)
		memcpy(c->body, req->body, req->len);
	c->body[req->len] = '\0';
	for (const char *const *h = req->headers; h && *h; h++) {
		struct curl_slist *l = curl_slist_append(c->headers, *h);

		if (!l)
			goto fail;
		c->headers = l;
	}
	{
		/* no "Expect: 100-continue" round trip before the body */
		struct curl_slist *l = curl_slist_append(c->headers, "Expect:");

		if (!l)
			goto fail;
		c->headers = l;
	}
	rc = call_setup(c, req);
	if (rc != CURLE_OK) {
		/* strings over curl's 8 MB limit come back as bad arguments */
		err = rc == CURLE_OUT_OF_MEMORY ? GW_ENOMEM : GW_EBADREQ;
		goto fail;
	}
	c->start = uv_hrtime();
	if (curl_multi_add_handle(r->multi, c->easy) != CURLM_OK)
		goto fail;
	c->next = r->calls;
	if (r->calls)
		r->calls->prev = c;
	r->calls = c;
	r->inflight++;
	return 0;
fail:
	call_free(c);
	return err;
}

size_t resolver_inflight(const struct resolver *r) { return r->inflight; }

/* ---- lifecycle ------------------------------------------------------------ */

struct resolver *resolver_new(uv_loop_t *loop, const struct resolver_opts *o)
{
	struct resolver *r;
	long maxconn;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		goto fail_global;
	r->loop = loop;
	r->max_inflight = o->max_inflight;
	r->body_max = o->body_max;
	if (o->user_agent && !(r->user_agent = strdup(o->user_agent)))
		goto fail_r;
	r->multi = curl_multi_init();
	if (!r->multi)
		goto fail_ua;
	/* keep as many idle connections as there can be calls at once */
	maxconn = o->max_inflight < 1 ? 1 :
		  o->max_inflight > 10000 ? 10000 : (long)o->max_inflight;
	if (curl_multi_setopt(r->multi, CURLMOPT_SOCKETFUNCTION, on_socket) ||
	    curl_multi_setopt(r->multi, CURLMOPT_SOCKETDATA, r) ||
	    curl_multi_setopt(r->multi, CURLMOPT_TIMERFUNCTION, on_timer) ||
	    curl_multi_setopt(r->multi, CURLMOPT_TIMERDATA, r) ||
	    curl_multi_setopt(r->multi, CURLMOPT_MAXCONNECTS, maxconn))
		goto fail_multi;
	uv_timer_init(loop, &r->timer);
	uv_timer_init(loop, &r->reap);
	r->timer.data = r->reap.data = r;
	r->handles_open = 2;
	return r;
fail_multi:
	curl_multi_cleanup(r->multi);
fail_ua:
	free(r->user_agent);
fail_r:
	free(r);
fail_global:
	curl_global_cleanup();
	return NULL;
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	r->freeing = true;
	while (r->calls)
		call_end(r->calls, RESOLVER_ERROR, "resolver closed");
	/* closes the cached connections; their sockets were already handed
	 * back (CURL_POLL_REMOVE) when their transfers ended */
	curl_multi_cleanup(r->multi);
	r->multi = NULL;
	curl_global_cleanup();
	while (r->socks)
		sock_close(r->socks);
	uv_close((uv_handle_t *)&r->timer, handle_closed);
	uv_close((uv_handle_t *)&r->reap, handle_closed);
}

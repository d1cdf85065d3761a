/* ws.c - the WebSocket side of loadgen: a minimal RFC 6455 client (masked
 * frames, 7/16/64-bit lengths, continuation frames, ping, close,
 * Sec-WebSocket-Accept checked) and the subscribers that use it: connect,
 * upgrade, subscribe, retries while connecting, loss (ws.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "fanout.h"
#include "ws.h"

#define MAX_FRAME    (16u << 20)
#define WS_GUID      "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct sockaddr_in ws_addr;
struct conn *subs;
int *ready_in_coll;
static bool connect_phase;	/* failures before READY are retried */

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
int64_t offset_seq(const char *s, size_t n)
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

void sub_send_handshake(struct conn *c)
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

void sub_lost(struct conn *c, const char *why)
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

void sub_input(struct conn *c, int64_t now)
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

/* ------------------------------------------------------------ subscribers */

/* Opens subscribers [0, count): `conc` connects at a time. */
double subs_open(int count)
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

void alloc_subs(int count)
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

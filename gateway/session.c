/*
 * session.c - per-connection outbound queue (a growable ring of message
 * references bounded in bytes, like Redis's client output-buffer limits)
 * and close state. Must not depend on the WebSocket library.
 */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "metrics.h"
#include "strx.h"

void session_init(struct session *s, const struct session_ops *ops,
		  const char *id, size_t qlimit)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	strx_copy(s->id, sizeof(s->id), id);
	s->qlimit = qlimit;
}

static void clear_queue(struct session *s)
{
	while (s->qlen)
		session_pop(s);
}

void session_release(struct session *s)
{
	clear_queue(s);
	free(s->q);
	s->q = NULL;
	s->qcap = 0;
}

void session_close(struct session *s, int code, const char *reason)
{
	if (s->close_code)
		return;
	s->close_code = code;
	strx_copy(s->close_reason, sizeof(s->close_reason), reason);
	clear_queue(s);
	if (s->ops && s->ops->kill)
		s->ops->kill(s);
}

static int grow(struct session *s)
{
	size_t ncap = s->qcap ? s->qcap * 2 : 16;
	struct msg **nq = malloc(ncap * sizeof(*nq));

	if (!nq)
		return GW_ENOMEM;
	for (size_t i = 0; i < s->qlen; i++)
		nq[i] = s->q[(s->qhead + i) % s->qcap];
	free(s->q);
	s->q = nq;
	s->qcap = ncap;
	s->qhead = 0;
	return 0;
}

int session_enqueue(struct session *s, struct msg *m)
{
	if (s->close_code)
		return GW_ECLOSING;
	if (s->qbytes + msg_cost(m) > s->qlimit) {
		metrics.slow_consumer_closes++;
		session_close(s, gw_err_ws_close(GW_ESLOW), gw_err_message(GW_ESLOW));
		return GW_ESLOW;
	}
	if (s->qlen == s->qcap && grow(s)) {
		session_close(s, gw_err_ws_close(GW_EINTERNAL), "out of memory");
		return GW_ENOMEM;
	}
	s->q[(s->qhead + s->qlen) % s->qcap] = msg_ref(m);
	s->qlen++;
	s->qbytes += msg_cost(m);
	if (s->qlen == 1 && s->ops && s->ops->wake)
		s->ops->wake(s);
	return 0;
}

int session_enqueue_take(struct session *s, struct msg *m)
{
	int rc;

	if (!m)
		return GW_ENOMEM;
	rc = session_enqueue(s, m);
	msg_unref(m);
	return rc;
}

struct msg *session_peek(const struct session *s)
{
	return s->qlen ? s->q[s->qhead] : NULL;
}

struct msg *session_peek_at(const struct session *s, size_t i)
{
	return i < s->qlen ? s->q[(s->qhead + i) % s->qcap] : NULL;
}

void session_pop(struct session *s)
{
	struct msg *m;

	if (!s->qlen)
		return;
	m = s->q[s->qhead];
	s->qhead = (s->qhead + 1) % s->qcap;
	s->qlen--;
	s->qbytes -= msg_cost(m);
	msg_unref(m);
}

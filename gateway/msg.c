/*
 * msg.c - refcounted outbound message bytes with frame-header headroom.
 * Depends on libc only.
 */
#include "msg.h"

#include <stdlib.h>
#include <string.h>

struct msg *msg_new2(const void *a, size_t alen, const void *b, size_t blen)
{
	struct msg *m = malloc(sizeof(*m) + MSG_PRE + alen + blen + 1);

	if (!m)
		return NULL;
	m->refs = 1;
	m->len = alen + blen;
	if (alen)
		memcpy(m->buf + MSG_PRE, a, alen);
	if (blen)
		memcpy(m->buf + MSG_PRE + alen, b, blen);
	m->buf[MSG_PRE + m->len] = '\0';
	return m;
}

void msg_unref(struct msg *m)
{
	if (m && --m->refs == 0)
		free(m);
}

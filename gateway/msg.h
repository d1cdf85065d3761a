/*
 * msg.h - an immutable, reference-counted outbound WebSocket message. A
 * change is serialized once into one msg and every subscriber's queue holds
 * a reference to the same bytes. The payload sits after MSG_PRE bytes of
 * headroom, which the WebSocket layer uses for the frame header (ws.c
 * checks MSG_PRE >= LWS_PRE at compile time). Pure; loop thread only.
 */
#ifndef SG_MSG_H
#define SG_MSG_H

#include <stddef.h>

#define MSG_PRE 32

struct msg {
	unsigned refs;
	size_t len;          /* payload bytes */
	unsigned char buf[]; /* MSG_PRE headroom, payload, NUL */
};

/* A new message (refs 1) holding a[0..alen) followed by b[0..blen). */
struct msg *msg_new2(const void *a, size_t alen, const void *b, size_t blen);
static inline struct msg *msg_new(const void *p, size_t len)
{
	return msg_new2(p, len, NULL, 0);
}
static inline unsigned char *msg_payload(struct msg *m)
{
	return m->buf + MSG_PRE;
}
static inline struct msg *msg_ref(struct msg *m)
{
	m->refs++;
	return m;
}
/* Drops a reference; frees at zero; NULL is a no-op. */
void msg_unref(struct msg *m);

/* Bytes a queued message costs against a session's queue limit. */
static inline size_t msg_cost(const struct msg *m) { return m->len + 64; }

#endif

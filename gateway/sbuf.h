/*
 * sbuf.h - a growable byte buffer (after git's strbuf).
 *
 * Invariants: when buf is non-NULL it is NUL-terminated at len; len < cap.
 * Allocation failure does not return an error from each call: it sets oom,
 * later appends do nothing, and the owner checks sbuf_failed() once at the
 * end. A zeroed struct (SBUF_INIT) is an empty buffer. Pure; not shared
 * between threads.
 */
#ifndef SG_SBUF_H
#define SG_SBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sbuf {
	char *buf;  /* owned */
	size_t len;
	size_t cap;
	bool oom;
};

#define SBUF_INIT {NULL, 0, 0, false}

/* Makes sure extra more bytes fit; false (and oom set) if not. */
bool sbuf_reserve(struct sbuf *sb, size_t extra);
void sbuf_add(struct sbuf *sb, const void *p, size_t n);
void sbuf_adds(struct sbuf *sb, const char *s);
void sbuf_addc(struct sbuf *sb, char c);
void sbuf_addf(struct sbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends v in decimal. */
void sbuf_add_i64(struct sbuf *sb, int64_t v);
/* Appends s[0..n) as a quoted, escaped JSON string. */
void sbuf_add_json_str(struct sbuf *sb, const char *s, size_t n);
/* Shortens the contents to their first newlen bytes; newlen >= len
 * changes nothing. */
void sbuf_truncate(struct sbuf *sb, size_t newlen);
static inline bool sbuf_failed(const struct sbuf *sb) { return sb->oom; }
/* Returns the malloc'd bytes (caller owns; "" when empty) and resets sb. */
char *sbuf_detach(struct sbuf *sb, size_t *len);
/* Frees the bytes; sb is left empty and usable. */
void sbuf_release(struct sbuf *sb);

#endif

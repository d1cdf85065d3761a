/*
 * strx.h - bounded string copies and decimal numbers without printf.
 *
 * A write formats about thirty small strings (key names, offsets, copies
 * of names into fixed fields); through snprintf each cost a trip through
 * stdio's machinery. These do the same with a loop. Pure, libc only.
 */
#ifndef SG_STRX_H
#define SG_STRX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Bytes a decimal uint64_t or int64_t needs, with its NUL. */
#define STRX_INT_MAX 21

/* Copies src into dst[size] (size >= 1), cut to size - 1 bytes and
 * NUL-terminated, as snprintf(dst, size, "%s", src) does. Returns the
 * bytes copied. */
static inline size_t strx_copy(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
	return n;
}

/* Writes v in decimal and a NUL into buf[STRX_INT_MAX]; returns its
 * length. */
static inline size_t strx_u64(char *buf, uint64_t v)
{
	char tmp[STRX_INT_MAX];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return n;
}

static inline size_t strx_i64(char *buf, int64_t v)
{
	if (v >= 0)
		return strx_u64(buf, (uint64_t)v);
	buf[0] = '-';
	/* -(v + 1) + 1 keeps INT64_MIN in range */
	return 1 + strx_u64(buf + 1, (uint64_t)(-(v + 1)) + 1);
}

/* Appends src at dst + *at within dst[size], cut so that a NUL still fits;
 * *at moves past what was copied. For building names piece by piece. */
static inline void strx_cat(char *dst, size_t size, size_t *at, const char *src,
			    size_t n)
{
	if (*at >= size)
		return;
	if (n > size - 1 - *at)
		n = size - 1 - *at;
	memcpy(dst + *at, src, n);
	*at += n;
	dst[*at] = '\0';
}

#endif

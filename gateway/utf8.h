/*
 * utf8.h - well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates,
 * nothing past U+10FFFF. Pure.
 */
#ifndef SG_UTF8_H
#define SG_UTF8_H

#include <stddef.h>

/* Length of the well-formed sequence at p (p[0] >= 0x80, avail bytes
 * there), or 0 when it is not one. */
size_t utf8_seq_len(const unsigned char *p, size_t avail);

#endif

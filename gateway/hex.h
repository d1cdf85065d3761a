/*
 * hex.h - lower-case hex of bytes (digests, MACs, random ids). Pure.
 */
#ifndef SG_HEX_H
#define SG_HEX_H

#include <stddef.h>

/* Writes 2 * n hex characters of p[0..n) and a NUL into out
 * (2 * n + 1 bytes). */
void hex_encode(const void *p, size_t n, char *out);

/* The value of one hex digit (either case), or -1. */
int hex_digit(char c);

#endif

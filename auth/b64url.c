/*
 * b64url.c - strict base64url (RFC 4648 section 5, unpadded) for JWS
 * segments: one accepted encoding per byte string, so a token cannot be
 * re-spelled around its signature. Pure; depends on libc and common.h only.
 */
#include "b64url.h"

#include "common.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t b64url_encode(const unsigned char *in, size_t len, char *out)
{
	size_t o = 0;
	size_t i = 0;

	for (; i + 3 <= len; i += 3) {
		unsigned long v = ((unsigned long)in[i] << 16) |
				  ((unsigned long)in[i + 1] << 8) | in[i + 2];

		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (len - i == 1) {
		unsigned long v = (unsigned long)in[i] << 16;

		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
	} else if (len - i == 2) {
		unsigned long v = ((unsigned long)in[i] << 16) |
				  ((unsigned long)in[i + 1] << 8);

		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

/* The 6-bit value of c, or -1 when c is outside the url-safe alphabet. */
static int sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int b64url_decode(const char *in, size_t len, unsigned char *out,
		  size_t *outlen)
{
	size_t o = 0;
	size_t i = 0;
	size_t rest = len % 4;
	unsigned long v;
	int s[4];

	if (rest == 1 || (len > 0 && !in))
		return GW_EBADREQ;
	for (; i + 4 <= len; i += 4) {
		for (int k = 0; k < 4; k++) {
			s[k] = sextet(in[i + k]);
			if (s[k] < 0)
				return GW_EBADREQ;
		}
		v = ((unsigned long)s[0] << 18) | ((unsigned long)s[1] << 12) |
		    ((unsigned long)s[2] << 6) | (unsigned long)s[3];
		out[o++] = (unsigned char)(v >> 16);
		out[o++] = (unsigned char)(v >> 8);
		out[o++] = (unsigned char)v;
	}
	if (rest) {
		v = 0;
		for (size_t k = 0; k < rest; k++) {
			s[k] = sextet(in[i + k]);
			if (s[k] < 0)
				return GW_EBADREQ;
			v |= (unsigned long)s[k] << (18 - 6 * k);
		}
		/* Bits past the last whole byte must be zero (canonical). */
		if (rest == 2 && (v & 0xFFFFUL))
			return GW_EBADREQ;
		if (rest == 3 && (v & 0xFFUL))
			return GW_EBADREQ;
		out[o++] = (unsigned char)(v >> 16);
		if (rest == 3)
			out[o++] = (unsigned char)(v >> 8);
	}
	*outlen = o;
	return 0;
}

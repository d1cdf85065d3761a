/*
 * b64url.h - strict base64url (RFC 4648 section 5, no padding) as JWS uses it.
 * Pure; thread-safe.
 */
#ifndef SG_B64URL_H
#define SG_B64URL_H

#include <stddef.h>

/* Bytes b64url_encode writes for n input bytes (without a NUL). */
#define B64URL_ENCODED_LEN(n) (((n) * 4 + 2) / 3)
/* Upper bound of the bytes b64url_decode writes for n input characters. */
#define B64URL_DECODED_MAX(n) (((n) * 3) / 4)

/*
 * Encodes in[0..len) into out, which must hold B64URL_ENCODED_LEN(len) + 1
 * bytes; NUL-terminates. Returns the encoded length.
 */
size_t b64url_encode(const unsigned char *in, size_t len, char *out);

/*
 * Decodes in[0..len) into out (room for B64URL_DECODED_MAX(len) bytes).
 * Strict: only A-Z a-z 0-9 - _, no '=' padding, no whitespace, length mod 4
 * never 1, and the unused low bits of the last character must be zero (so
 * every byte string has exactly one accepted encoding).
 * Returns 0 and sets *outlen, or GW_EBADREQ.
 */
int b64url_decode(const char *in, size_t len, unsigned char *out,
		  size_t *outlen);

#endif

/*
 * test_b64url.c - strict base64url: RFC 4648 vectors, the url-safe
 * alphabet, and the rejections that make each byte string's encoding unique.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "b64url.h"
#include "common.h"

struct vector {
	const char *plain;
	size_t len;
	const char *encoded;
};

static const struct vector vectors[] = {
	{"", 0, ""},
	{"f", 1, "Zg"},
	{"fo", 2, "Zm8"},
	{"foo", 3, "Zm9v"},
	{"foob", 4, "Zm9vYg"},
	{"fooba", 5, "Zm9vYmE"},
	{"foobar", 6, "Zm9vYmFy"},
	{"\xfb\xef\xbe", 3, "----"},
	{"\xff\xff\xff", 3, "____"},
	{"\xfb\xff", 2, "-_8"},
	{"\x00", 1, "AA"},
	{"\x00\x00\x00\x00", 4, "AAAAAA"},
};

static void test_encode_vectors(void **state)
{
	char out[64];

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(vectors); i++) {
		const struct vector *v = &vectors[i];
		size_t n = b64url_encode((const unsigned char *)v->plain,
					 v->len, out);

		assert_int_equal(n, strlen(v->encoded));
		assert_int_equal(n, B64URL_ENCODED_LEN(v->len));
		assert_string_equal(out, v->encoded);
	}
}

static void test_decode_vectors(void **state)
{
	unsigned char out[64];
	size_t n;

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(vectors); i++) {
		const struct vector *v = &vectors[i];
		size_t elen = strlen(v->encoded);

		n = 999;
		assert_int_equal(b64url_decode(v->encoded, elen, out, &n), 0);
		assert_int_equal(n, v->len);
		assert_true(n <= B64URL_DECODED_MAX(elen));
		assert_memory_equal(out, v->plain, v->len);
	}
}

struct bad {
	const char *in;
	size_t len; /* 0: strlen(in) */
};

static const struct bad bad_inputs[] = {
	{"Zg==", 0},      /* padding */
	{"Zm8=", 0},      /* padding */
	{"Zm9v=", 0},     /* padding, length 5 */
	{"Zm9vYg=", 0},   /* padding */
	{"Zm+v", 0},      /* standard alphabet */
	{"Zm/v", 0},      /* standard alphabet */
	{"Zm9 v", 0},     /* space */
	{" Zm9v", 0},     /* leading space */
	{"Zm9v ", 0},     /* trailing space */
	{"Zm9v\n", 0},    /* newline */
	{"Zm9\tv", 0},    /* tab */
	{"Z", 0},         /* length mod 4 == 1 */
	{"Zm9vY", 0},     /* length mod 4 == 1 */
	{"Zh", 0},        /* non-zero trailing bits (one byte) */
	{"Zm9", 0},       /* non-zero trailing bits (two bytes) */
	{"-_9", 0},       /* non-zero trailing bits, url-safe chars */
	{"Zm\0v", 4},     /* embedded NUL */
	{"Zm9v.", 0},     /* dot */
	{"Zm9\xc3\xa9", 0}, /* non-ASCII */
	{"Zm9v*A", 0},    /* pattern character */
};

static void test_decode_rejects(void **state)
{
	unsigned char out[64];
	size_t n;

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(bad_inputs); i++) {
		const struct bad *b = &bad_inputs[i];
		size_t len = b->len ? b->len : strlen(b->in);

		n = 12345;
		assert_int_equal(b64url_decode(b->in, len, out, &n),
				 GW_EBADREQ);
		assert_int_equal(n, 12345); /* untouched on failure */
	}
}

static void test_roundtrip_all_lengths(void **state)
{
	unsigned char in[100];
	unsigned char back[100];
	char enc[B64URL_ENCODED_LEN(sizeof(in)) + 1];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37u + 11u);
	for (size_t len = 0; len <= sizeof(in); len++) {
		size_t elen = b64url_encode(in, len, enc);

		assert_int_equal(strlen(enc), elen);
		assert_int_not_equal(elen % 4, 1);
		assert_null(strpbrk(enc, "+/="));
		assert_int_equal(b64url_decode(enc, elen, back, &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(back, in, len);
	}
}

static void test_every_single_byte(void **state)
{
	char enc[4];
	unsigned char back[2];
	size_t n;

	(void)state;
	for (unsigned v = 0; v < 256; v++) {
		unsigned char b = (unsigned char)v;

		assert_int_equal(b64url_encode(&b, 1, enc), 2);
		assert_int_equal(b64url_decode(enc, 2, back, &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal(back[0], b);
	}
}

/* Every accepted 2- and 3-character string is the encoding of its bytes. */
static void test_unique_encoding(void **state)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	char s[4] = {0};
	char re[8];
	unsigned char out[4];
	size_t n;
	size_t accepted2 = 0;
	size_t accepted3 = 0;

	(void)state;
	for (int a = 0; a < 64; a++) {
		for (int b = 0; b < 64; b++) {
			s[0] = alpha[a];
			s[1] = alpha[b];
			if (b64url_decode(s, 2, out, &n) == 0) {
				accepted2++;
				b64url_encode(out, n, re);
				assert_memory_equal(re, s, 2);
			}
			for (int c = 0; c < 64; c++) {
				s[2] = alpha[c];
				if (b64url_decode(s, 3, out, &n) != 0)
					continue;
				accepted3++;
				b64url_encode(out, n, re);
				assert_memory_equal(re, s, 3);
			}
		}
	}
	/* Exactly one spelling per byte string: 2^8 and 2^16 of them. */
	assert_int_equal(accepted2, 256);
	assert_int_equal(accepted3, 65536);
}

static void test_empty(void **state)
{
	unsigned char out[1];
	char enc[1];
	size_t n = 7;

	(void)state;
	assert_int_equal(b64url_decode("", 0, out, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(b64url_encode(out, 0, enc), 0);
	assert_int_equal(enc[0], '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_vectors),
		cmocka_unit_test(test_decode_vectors),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_roundtrip_all_lengths),
		cmocka_unit_test(test_every_single_byte),
		cmocka_unit_test(test_unique_encoding),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

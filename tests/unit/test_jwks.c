/*
 * test_jwks.c - RS256 and ES256: the ES256 R||S to DER conversion and its
 * edge cases, public keys from PEM (tests/data/jwt) and from JWK Sets,
 * algorithm confusion, kid selection, the unknown-kid hook and swapping
 * the fetched keys. Tokens are signed here with OpenSSL and the committed
 * test keys (or keys generated at test time); the clock is fixed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"
#include "jwks.h"
#include "jwt.h"
#include "jwt_sig.h"

#define NOW 1700000000LL
#define CLAIMS "{\"sub\":\"alice\",\"exp\":1700000100}"
#define DATA "tests/data/jwt/"

static const unsigned char secret[32] = "hs-secret-0123456789abcdefghijkl";

static const unsigned char order[32] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
	0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

static char *slurp(const char *path, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;

	assert_int_equal(jwks_read_file(path, 1 << 20, &buf, &n, NULL), 0);
	if (len)
		*len = n;
	return buf;
}

static EVP_PKEY *private_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *pk;

	assert_non_null(f);
	pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(pk);
	return pk;
}

static struct evp_pkey_st *public_key(const char *path, enum jwt_alg *alg)
{
	size_t len;
	char *pem = slurp(path, &len);
	struct gw_error e = {0, ""};
	struct evp_pkey_st *pk = jwt_pkey_from_pem(pem, len, alg, &e);

	free(pem);
	return pk;
}

static char *b64(const unsigned char *p, size_t n)
{
	char *out = malloc(B64URL_ENCODED_LEN(n) + 1);

	assert_non_null(out);
	b64url_encode(p, n, out);
	return out;
}

static char *b64s(const char *s)
{
	return b64((const unsigned char *)s, strlen(s));
}

/* DER ECDSA-Sig-Value to R || S. */
static void der_to_raw(const unsigned char *der, size_t n,
		       unsigned char raw[64])
{
	const unsigned char *p = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)n);

	assert_non_null(s);
	assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(s), raw, 32), 32);
	assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(s), raw + 32, 32), 32);
	ECDSA_SIG_free(s);
}

enum sigform { RAW, DER };

/* A token of hdr and payload signed with pk (SHA-256; ES256 as R||S, or
 * DER when form says so). */
static char *sign_with(EVP_PKEY *pk, const char *hdr, const char *payload,
		       enum sigform form)
{
	char *h = b64s(hdr), *p = b64s(payload), *s, *tok;
	unsigned char sig[1024], raw[64];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t n;

	n = strlen(h) + strlen(p) + 1;
	tok = malloc(n + 1 + B64URL_ENCODED_LEN(sizeof(sig)) + 1);
	assert_non_null(tok);
	snprintf(tok, n + 1, "%s.%s", h, p);
	assert_int_equal(EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL,
					       pk, NULL), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen,
					(const unsigned char *)tok, n), 1);
	EVP_MD_CTX_free(ctx);
	if (EVP_PKEY_is_a(pk, "EC") && form == RAW) {
		der_to_raw(sig, siglen, raw);
		s = b64(raw, 64);
	} else {
		s = b64(sig, siglen);
	}
	tok[n] = '.';
	strcpy(tok + n + 1, s);
	free(h);
	free(p);
	free(s);
	return tok;
}

static char *hs256_with(const unsigned char *k, size_t klen, const char *hdr,
			const char *payload)
{
	char *h = b64s(hdr), *p = b64s(payload), *s, *tok;
	unsigned char mac[32];
	size_t n = strlen(h) + strlen(p) + 1;

	tok = malloc(n + 1 + B64URL_ENCODED_LEN(32) + 1);
	assert_non_null(tok);
	snprintf(tok, n + 1, "%s.%s", h, p);
	assert_int_equal(jwt_sig_hs256(k, klen, (const unsigned char *)tok, n,
				       mac), 0);
	s = b64(mac, 32);
	tok[n] = '.';
	strcpy(tok + n + 1, s);
	free(h);
	free(p);
	free(s);
	return tok;
}

static int verify(const struct jwt_verifier *v, const char *tok,
		  struct gw_error *e)
{
	struct jwt_claims c;
	int rc;

	memset(e, 0, sizeof(*e));
	rc = jwt_verify(v, tok, strlen(tok), NOW, &c, e);
	if (rc == 0)
		assert_string_equal(c.sub, "alice");
	jwt_claims_release(&c);
	return rc;
}

/* Asserts tok (freed) verifies, or fails with msg. */
static void expect(const struct jwt_verifier *v, char *tok, const char *msg)
{
	struct gw_error e;
	int rc = verify(v, tok, &e);

	if (!msg) {
		if (rc != 0)
			fail_msg("refused: %s", e.msg);
	} else {
		assert_int_equal(rc, GW_EUNAUTH);
		if (!strstr(e.msg, msg))
			fail_msg("wanted \"%s\", got \"%s\"", msg, e.msg);
	}
	free(tok);
}

/* ---- ES256 R || S to DER ----------------------------------------------- */

static void test_es256_der(void **state)
{
	unsigned char raw[64], der[JWT_ES256_DER_MAX];
	size_t n = 0;
	const unsigned char *p;
	ECDSA_SIG *s;
	BIGNUM *want;

	(void)state;
	/* small values: minimal encoding, no leading zeros */
	memset(raw, 0, 64);
	raw[31] = 1;
	raw[63] = 0x7f;
	assert_int_equal(jwt_es256_raw_to_der(raw, 64, der, &n), 0);
	assert_int_equal(n, 8);
	assert_memory_equal(der, "\x30\x06\x02\x01\x01\x02\x01\x7f", 8);
	/* a high bit gets a 0x00 so the INTEGER stays positive */
	memcpy(raw, order, 32);
	raw[31] -= 1; /* n - 1: the largest valid scalar */
	memcpy(raw + 32, raw, 32);
	assert_int_equal(jwt_es256_raw_to_der(raw, 64, der, &n), 0);
	assert_int_equal(n, 72);
	assert_int_equal(der[1], 70);
	assert_int_equal(der[3], 33);
	assert_int_equal(der[4], 0);
	p = der;
	s = d2i_ECDSA_SIG(NULL, &p, (long)n);
	assert_non_null(s);
	want = BN_bin2bn(raw, 32, NULL);
	assert_int_equal(BN_cmp(ECDSA_SIG_get0_r(s), want), 0);
	assert_int_equal(BN_cmp(ECDSA_SIG_get0_s(s), want), 0);
	BN_free(want);
	ECDSA_SIG_free(s);
	/* r or s zero */
	memset(raw, 0, 32);
	assert_int_equal(jwt_es256_raw_to_der(raw, 64, der, &n), GW_EUNAUTH);
	memcpy(raw, order, 32);
	raw[31] -= 1;
	memset(raw + 32, 0, 32);
	assert_int_equal(jwt_es256_raw_to_der(raw, 64, der, &n), GW_EUNAUTH);
	/* r or s equal to n, or above */
	memcpy(raw, order, 32);
	memset(raw + 32, 1, 32);
	assert_int_equal(jwt_es256_raw_to_der(raw, 64, der, &n), GW_EUNAUTH);
	memset(raw, 1, 32);
	memcpy(raw + 32, order, 32);
	assert_int_equal(jwt_es256_raw_to_der(raw, 64, der, &n), GW_EUNAUTH);
	memset(raw, 0xff, 64);
	assert_int_equal(jwt_es256_raw_to_der(raw, 64, der, &n), GW_EUNAUTH);
	memcpy(raw + 32, order, 32);
	raw[63] += 1;
	memset(raw, 1, 32);
	assert_int_equal(jwt_es256_raw_to_der(raw, 64, der, &n), GW_EUNAUTH);
	/* wrong lengths, DER given as is */
	memset(raw, 1, 64);
	assert_int_equal(jwt_es256_raw_to_der(raw, 63, der, &n), GW_EUNAUTH);
	assert_int_equal(jwt_es256_raw_to_der(raw, 65, der, &n), GW_EUNAUTH);
	assert_int_equal(jwt_es256_raw_to_der(raw, 0, der, &n), GW_EUNAUTH);
	assert_int_equal(jwt_es256_raw_to_der(NULL, 64, der, &n), GW_EUNAUTH);
	assert_int_equal(jwt_es256_raw_to_der(raw, 64, der, &n), 0);
	assert_int_equal(jwt_es256_raw_to_der(der, n, der, &n), GW_EUNAUTH);
}

/* ---- PEM --------------------------------------------------------------- */

static void test_pem(void **state)
{
	enum jwt_alg alg = 0;
	struct gw_error e = {0, ""};
	struct evp_pkey_st *pk;
	const char *two = "-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC "
			  "KEY-----\n-----BEGIN PUBLIC KEY-----\nAA==\n"
			  "-----END PUBLIC KEY-----\n";
	size_t len;
	char *pem;

	(void)state;
	const char *rsa[] = {DATA "rsa2048.pub", DATA "rsa2048.pkcs1.pub",
			     DATA "rsa2048.crt"};
	for (size_t i = 0; i < 3; i++) {
		pk = public_key(rsa[i], &alg);
		assert_non_null(pk);
		assert_int_equal(alg, JWT_ALG_RS256);
		EVP_PKEY_free(pk);
	}
	pk = public_key(DATA "p256.pub", &alg);
	assert_non_null(pk);
	assert_int_equal(alg, JWT_ALG_ES256);
	EVP_PKEY_free(pk);
	/* refused at load */
	pem = slurp(DATA "rsa1024.pub", &len);
	assert_null(jwt_pkey_from_pem(pem, len, &alg, &e));
	assert_non_null(strstr(e.msg, "1024 bits (at least 2048)"));
	free(pem);
	pem = slurp(DATA "p384.pub", &len);
	assert_null(jwt_pkey_from_pem(pem, len, &alg, &e));
	assert_non_null(strstr(e.msg, "P-256"));
	free(pem);
	pem = slurp(DATA "p256.key", &len);
	assert_null(jwt_pkey_from_pem(pem, len, &alg, &e));
	assert_non_null(strstr(e.msg, "private key"));
	free(pem);
	assert_null(jwt_pkey_from_pem(two, strlen(two), &alg, &e));
	assert_non_null(strstr(e.msg, "one PEM block"));
	assert_null(jwt_pkey_from_pem("hello", 5, &alg, &e));
	assert_null(jwt_pkey_from_pem("", 0, &alg, &e));
	assert_null(jwt_pkey_from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n"
				      "-----END PUBLIC KEY-----\n", 54, &alg,
				      &e));
	assert_string_equal(e.msg, "no public key in the PEM");
}

/* ---- verification ------------------------------------------------------ */

static EVP_PKEY *rsa_priv, *ec_priv, *rsa2_priv;

static int group_setup(void **state)
{
	(void)state;
	rsa_priv = private_key(DATA "rsa2048.key");
	ec_priv = private_key(DATA "p256.key");
	rsa2_priv = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	return rsa2_priv ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa_priv);
	EVP_PKEY_free(ec_priv);
	EVP_PKEY_free(rsa2_priv);
	return 0;
}

/* A verifier with rsa2048.pub (kid r1), p256.pub (kid e1) and the HS256
 * secret. */
static void three_keys(struct jwt_verifier *v)
{
	enum jwt_alg alg;

	jwt_verifier_init(v);
	v->leeway_s = 30;
	assert_int_equal(jwt_verifier_add_pkey(v, public_key(DATA "rsa2048.pub",
							     &alg),
					       "r1", JWT_ALG_RS256, NULL), 0);
	assert_int_equal(jwt_verifier_add_pkey(v, public_key(DATA "p256.pub",
							     &alg),
					       "e1", 0, NULL), 0);
	assert_int_equal(jwt_verifier_add_hs256(v, secret, sizeof(secret),
						NULL), 0);
}

#define RS(kid) "{\"alg\":\"RS256\",\"kid\":\"" kid "\"}"
#define ES(kid) "{\"alg\":\"ES256\",\"kid\":\"" kid "\"}"

static void test_verify(void **state)
{
	struct jwt_verifier v;
	char *tok;
	size_t n;

	(void)state;
	three_keys(&v);
	expect(&v, sign_with(rsa_priv, RS("r1"), CLAIMS, RAW), NULL);
	expect(&v, sign_with(rsa_priv, "{\"alg\":\"RS256\"}", CLAIMS, RAW),
	       NULL);
	expect(&v, sign_with(ec_priv, ES("e1"), CLAIMS, RAW), NULL);
	expect(&v, sign_with(ec_priv, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}",
			     CLAIMS, RAW), NULL);
	expect(&v, hs256_with(secret, sizeof(secret), "{\"alg\":\"HS256\"}",
			      CLAIMS), NULL);
	/* DER-encoded ES256 signatures are refused */
	expect(&v, sign_with(ec_priv, ES("e1"), CLAIMS, DER), "bad signature");
	/* wrong key */
	expect(&v, sign_with(rsa2_priv, RS("r1"), CLAIMS, RAW),
	       "bad signature");
	/* claims verified only after the signature: expired still says so */
	tok = sign_with(rsa_priv, RS("r1"), "{\"sub\":\"alice\",\"exp\":1}",
			RAW);
	{
		struct gw_error e;

		assert_int_equal(verify(&v, tok, &e), GW_EEXPIRED);
	}
	free(tok);
	/* a flipped payload byte */
	tok = sign_with(rsa_priv, RS("r1"), CLAIMS, RAW);
	tok[strchr(tok, '.') - tok + 3] ^= 1;
	expect(&v, tok, "");
	/* a truncated RSA signature */
	tok = sign_with(rsa_priv, RS("r1"), CLAIMS, RAW);
	n = strlen(tok);
	tok[n - 4] = '\0';
	expect(&v, tok, "bad signature");
	/* an ES256 signature with r zeroed */
	tok = sign_with(ec_priv, ES("e1"), CLAIMS, RAW);
	{
		char *s = strrchr(tok, '.') + 1;

		memset(s, 'A', 42); /* 42 * 6 bits cover r's 32 bytes */
		s[42] = 'A';
	}
	expect(&v, tok, "bad signature");
	/* crit, kid shapes */
	expect(&v, sign_with(rsa_priv, "{\"alg\":\"RS256\",\"crit\":[\"b64\"]}",
			     CLAIMS, RAW), "crit");
	expect(&v, sign_with(rsa_priv, "{\"alg\":\"RS256\",\"kid\":7}", CLAIMS,
			     RAW), "malformed header");
	expect(&v, sign_with(rsa_priv, "{\"alg\":\"RS256\",\"kid\":\"\"}",
			     CLAIMS, RAW), "malformed header");
	expect(&v, sign_with(rsa_priv,
			     "{\"alg\":\"RS256\",\"kid\":\"a\\u0000\"}",
			     CLAIMS, RAW), "malformed header");
	/* key-fetching headers are ignored: the configured key decides */
	expect(&v, sign_with(rsa2_priv, "{\"alg\":\"RS256\",\"jku\":\"http://"
			     "127.0.0.1:9/\",\"x5u\":\"http://127.0.0.1:9/\"}",
			     CLAIMS, RAW), "bad signature");
	jwt_verifier_release(&v);
}

static void test_alg_confusion(void **state)
{
	struct jwt_verifier v;
	struct jwt_verifier only_rsa;
	enum jwt_alg alg;
	size_t len;
	char *pem = slurp(DATA "rsa2048.pub", &len);
	char *tok, *mac;

	(void)state;
	three_keys(&v);
	/* HS256 MACed with the RSA public key's PEM bytes as the secret */
	expect(&v, hs256_with((const unsigned char *)pem, len,
			      "{\"alg\":\"HS256\",\"kid\":\"r1\"}", CLAIMS),
	       "bad signature");
	expect(&v, hs256_with((const unsigned char *)pem, len,
			      "{\"alg\":\"HS256\"}", CLAIMS), "bad signature");
	jwt_verifier_init(&only_rsa);
	assert_int_equal(jwt_verifier_add_pkey(&only_rsa,
					       public_key(DATA "rsa2048.pub",
							  &alg),
					       NULL, 0, NULL), 0);
	expect(&only_rsa, hs256_with((const unsigned char *)pem, len,
				     "{\"alg\":\"HS256\"}", CLAIMS),
	       "algorithm not allowed");
	expect(&only_rsa, sign_with(ec_priv, "{\"alg\":\"ES256\"}", CLAIMS,
				    RAW), "algorithm not allowed");
	/* the HS256 secret's MAC under an RS256 or ES256 header */
	mac = hs256_with(secret, sizeof(secret), RS("r1"), CLAIMS);
	expect(&v, mac, "bad signature");
	mac = hs256_with(secret, sizeof(secret), ES("e1"), CLAIMS);
	expect(&v, mac, "bad signature");
	/* an RSA signature under an ES256 header and the other way round */
	tok = sign_with(rsa_priv, "{\"alg\":\"ES256\"}", CLAIMS, RAW);
	expect(&v, tok, "bad signature");
	tok = sign_with(ec_priv, "{\"alg\":\"RS256\"}", CLAIMS, RAW);
	expect(&v, tok, "bad signature");
	/* none, in every spelling; other algorithms */
	const char *nones[] = {"none", "None", "NONE", "nOnE", "rs256",
			       "RS384", "PS256", "ES512", "EdDSA"};
	for (size_t i = 0; i < 9; i++) {
		char hdr[64];
		char *h, *p;

		snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}", nones[i]);
		h = b64s(hdr);
		p = b64s(CLAIMS);
		tok = malloc(strlen(h) + strlen(p) + 3);
		sprintf(tok, "%s.%s.", h, p);
		expect(&v, tok, "algorithm not allowed");
		free(h);
		free(p);
	}
	/* a key bound to one algorithm is refused for another */
	assert_int_equal(jwt_verifier_add_pkey(&v, public_key(DATA "p256.pub",
							      &alg),
					       NULL, JWT_ALG_RS256, NULL),
			 GW_EBADREQ);
	jwt_verifier_release(&only_rsa);
	jwt_verifier_release(&v);
	free(pem);
}

struct heard {
	int calls;
	char kid[64];
};

static void on_unknown(void *ctx, const char *kid)
{
	struct heard *h = ctx;

	h->calls++;
	snprintf(h->kid, sizeof(h->kid), "%s", kid);
}

static void test_kid_selection(void **state)
{
	struct jwt_verifier v;
	struct heard h = {0, ""};
	struct evp_pkey_st *pub2;
	unsigned char *der = NULL;
	const unsigned char *p;
	int n;
	enum jwt_alg alg;

	(void)state;
	three_keys(&v);
	v.unknown_kid = on_unknown;
	v.unknown_kid_ctx = &h;
	/* a second RSA key under kid r2 */
	n = i2d_PUBKEY(rsa2_priv, &der);
	assert_true(n > 0);
	p = der;
	pub2 = d2i_PUBKEY(NULL, &p, n);
	OPENSSL_free(der);
	assert_int_equal(jwt_verifier_add_pkey(&v, pub2, "r2", 0, NULL), 0);
	expect(&v, sign_with(rsa2_priv, RS("r2"), CLAIMS, RAW), NULL);
	/* the kid names the key: r1's key does not take r2's token */
	expect(&v, sign_with(rsa2_priv, RS("r1"), CLAIMS, RAW),
	       "bad signature");
	/* no kid: every key of the algorithm is tried */
	expect(&v, sign_with(rsa2_priv, "{\"alg\":\"RS256\"}", CLAIMS, RAW),
	       NULL);
	assert_int_equal(h.calls, 0);
	/* a kid no key has: 401 and the hook hears it */
	expect(&v, sign_with(rsa2_priv, RS("r3"), CLAIMS, RAW), "unknown kid");
	assert_int_equal(h.calls, 1);
	assert_string_equal(h.kid, "r3");
	/* a kid of a key for another algorithm */
	expect(&v, sign_with(rsa_priv, RS("e1"), CLAIMS, RAW), "unknown kid");
	assert_int_equal(h.calls, 1);
	/* HS256 secrets have no kid and serve any (as before); no hook */
	expect(&v, hs256_with(secret, sizeof(secret),
			      "{\"alg\":\"HS256\",\"kid\":\"zz\"}", CLAIMS),
	       NULL);
	assert_int_equal(h.calls, 1);
	/* a public key without a kid serves every kid of its algorithm */
	assert_int_equal(jwt_verifier_add_pkey(&v, public_key(DATA "p256.pub",
							      &alg),
					       NULL, 0, NULL), 0);
	expect(&v, sign_with(ec_priv, ES("any"), CLAIMS, RAW), NULL);
	assert_int_equal(h.calls, 2);
	jwt_verifier_release(&v);
}

/* ---- JWK Sets ---------------------------------------------------------- */

static char *bn_b64(const EVP_PKEY *pk, const char *param, int pad)
{
	BIGNUM *bn = NULL;
	unsigned char buf[600];
	int n;
	char *out;

	assert_int_equal(EVP_PKEY_get_bn_param(pk, param, &bn), 1);
	n = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
	assert_true(n > 0);
	BN_free(bn);
	out = b64(buf, (size_t)n);
	return out;
}

/* The JWK members of a private key's public half: "n":..,"e":.. or
 * "crv":..,"x":..,"y":.. */
static char *jwk_members(const EVP_PKEY *pk)
{
	char *out = NULL, *a, *b;

	if (EVP_PKEY_is_a(pk, "RSA")) {
		a = bn_b64(pk, OSSL_PKEY_PARAM_RSA_N, 0);
		b = bn_b64(pk, OSSL_PKEY_PARAM_RSA_E, 0);
		assert_true(asprintf(&out, "\"kty\":\"RSA\",\"n\":\"%s\","
				     "\"e\":\"%s\"", a, b) > 0);
	} else {
		a = bn_b64(pk, OSSL_PKEY_PARAM_EC_PUB_X, 32);
		b = bn_b64(pk, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
		assert_true(asprintf(&out, "\"kty\":\"EC\",\"crv\":\"P-256\","
				     "\"x\":\"%s\",\"y\":\"%s\"", a, b) > 0);
	}
	free(a);
	free(b);
	return out;
}

static void test_jwks_parse(void **state)
{
	char *rsa = jwk_members(rsa_priv);
	char *ec = jwk_members(ec_priv);
	char *rsa2 = jwk_members(rsa2_priv);
	char *offcurve = strdup(ec);
	char *doc = NULL;
	struct jwt_key *keys = NULL;
	size_t n = 0;
	struct jwks_report rep;
	struct gw_error e = {0, ""};
	struct jwt_verifier v;
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	char *smallj = jwk_members(small);
	char *p384 = NULL;

	(void)state;
	/* flip a bit of y: the point leaves the curve */
	{
		char *y = strstr(offcurve, "\"y\":\"") + 5;

		y[5] = y[5] == 'A' ? 'B' : 'A';
	}
	assert_true(asprintf(&p384, "\"kty\":\"EC\",\"crv\":\"P-384\","
			     "\"x\":\"AA\",\"y\":\"AA\"") > 0);
	assert_true(asprintf(&doc,
		"{\"keys\":["
		"{%s,\"kid\":\"r1\",\"alg\":\"RS256\",\"use\":\"sig\","
		"\"x5c\":[\"MIIB\"],\"x5t\":\"abc\"},"
		"{%s,\"kid\":\"e1\"},"
		"{%s,\"kid\":\"enc\",\"use\":\"enc\"},"
		"{%s,\"kid\":\"r384\",\"alg\":\"RS384\"},"
		"{%s,\"kid\":\"confused\",\"alg\":\"ES256\"},"
		"{\"kty\":\"oct\",\"k\":\"c2VjcmV0\",\"alg\":\"HS256\"},"
		"{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AA\"},"
		"{%s,\"kid\":\"small\"},"
		"{%s,\"kid\":\"off\"},"
		"{%s,\"kid\":\"p384\"},"
		"{%s,\"kid\":\"priv\",\"d\":\"AA\"},"
		"{%s,\"kid\":5},"
		"{\"kty\":\"RSA\",\"n\":\"AB=\",\"e\":\"AQAB\"},"
		"{\"kty\":\"RSA\",\"n\":\"AQAB\"},"
		"[],\"x\",null"
		"]}",
		rsa, ec, rsa2, rsa2, rsa2, smallj, offcurve, p384, rsa2,
		rsa2) > 0);
	assert_int_equal(jwks_parse(doc, strlen(doc), &keys, &n, &rep, &e), 0);
	assert_int_equal(rep.used, 2);
	assert_int_equal(n, 2);
	assert_int_equal(rep.ignored, 15);
	assert_non_null(strstr(rep.why, "key 2: use is not sig"));
	assert_string_equal(keys[0].kid, "r1");
	assert_int_equal(keys[0].alg, JWT_ALG_RS256);
	assert_string_equal(keys[1].kid, "e1");
	assert_int_equal(keys[1].alg, JWT_ALG_ES256);

	/* fetched keys verify, and a new set replaces them */
	jwt_verifier_init(&v);
	jwt_verifier_set_remote(&v, keys, n);
	expect(&v, sign_with(rsa_priv, RS("r1"), CLAIMS, RAW), NULL);
	expect(&v, sign_with(ec_priv, ES("e1"), CLAIMS, RAW), NULL);
	expect(&v, sign_with(rsa2_priv, RS("r2"), CLAIMS, RAW), "unknown kid");
	free(doc);
	doc = NULL;
	assert_true(asprintf(&doc, "{\"keys\":[{%s,\"kid\":\"r2\"}]}",
			     rsa2) > 0);
	keys = NULL;
	n = 0;
	assert_int_equal(jwks_parse(doc, strlen(doc), &keys, &n, &rep, &e), 0);
	assert_int_equal(rep.ignored, 0);
	assert_string_equal(rep.why, "");
	jwt_verifier_set_remote(&v, keys, n);
	expect(&v, sign_with(rsa2_priv, RS("r2"), CLAIMS, RAW), NULL);
	expect(&v, sign_with(rsa_priv, RS("r1"), CLAIMS, RAW), "unknown kid");
	expect(&v, sign_with(ec_priv, ES("e1"), CLAIMS, RAW),
	       "algorithm not allowed");
	jwt_verifier_release(&v);

	/* documents that are no key set */
	const char *bad[] = {"", "[]", "{}", "{\"keys\":{}}", "{\"keys\":1}",
			     "{\"keys\":[]} x", "{\"keys\":[],\"keys\":[]}",
			     "nul"};
	for (size_t i = 0; i < GW_ARRAY_LEN(bad); i++) {
		keys = NULL;
		n = 0;
		assert_int_equal(jwks_parse(bad[i], strlen(bad[i]), &keys, &n,
					    &rep, &e), GW_EBADREQ);
		assert_int_equal(n, 0);
		free(keys);
	}
	/* an empty set parses, with nothing used */
	assert_int_equal(jwks_parse("{\"keys\":[]}", 11, &keys, &n, &rep, &e),
			 0);
	assert_int_equal(rep.used, 0);
	EVP_PKEY_free(small);
	free(smallj);
	free(p384);
	free(offcurve);
	free(doc);
	free(rsa);
	free(rsa2);
	free(ec);
}

static void test_keys_cap(void **state)
{
	struct jwt_key *keys = NULL;
	size_t n = 0;
	struct gw_error e = {0, ""};
	struct jwks_report rep;
	char *ec = jwk_members(ec_priv);
	char *doc = malloc(80 * (strlen(ec) + 4) + 32);
	size_t o;

	(void)state;
	o = (size_t)sprintf(doc, "{\"keys\":[");
	for (int i = 0; i < 80; i++)
		o += (size_t)sprintf(doc + o, "%s{%s}", i ? "," : "", ec);
	sprintf(doc + o, "]}");
	assert_int_equal(jwks_parse(doc, strlen(doc), &keys, &n, &rep, &e),
			 GW_EBADREQ);
	assert_int_equal(n, JWT_KEYS_MAX);
	assert_non_null(strstr(e.msg, "too many keys"));
	jwt_keys_free(keys, n);
	free(doc);
	free(ec);
}

static void test_url_check(void **state)
{
	const char *ok[] = {"https://idp.example/.well-known/jwks.json",
			    "HTTPS://x", "http://127.0.0.1:8080/jwks",
			    "http://127.9.9.9/", "http://localhost/k",
			    "http://[::1]:99/k", "http://LOCALHOST"};
	const char *bad[] = {"http://idp.example/jwks", "http://10.0.0.1/",
			     "http://127.0.0.1.evil.example/",
			     "http://localhost.evil.example/",
			     "http://[::2]/", "http://127.0.0.1@evil/",
			     "ftp://127.0.0.1/", "file:///etc/passwd",
			     "https://", "http://", "", "jwks.json"};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(ok); i++)
		assert_int_equal(jwks_url_check(ok[i], NULL), 0);
	for (size_t i = 0; i < GW_ARRAY_LEN(bad); i++)
		if (jwks_url_check(bad[i], NULL) != GW_EBADREQ)
			fail_msg("accepted %s", bad[i]);
	assert_int_equal(jwks_url_check(NULL, NULL), GW_EBADREQ);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_es256_der),
		cmocka_unit_test(test_pem),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_alg_confusion),
		cmocka_unit_test(test_kid_selection),
		cmocka_unit_test(test_jwks_parse),
		cmocka_unit_test(test_keys_cap),
		cmocka_unit_test(test_url_check),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * jwt_sig.c - signatures and public keys for jwt.c over OpenSSL 3 EVP.
 * Pure: libcrypto only, no I/O. Every OpenSSL failure is answered by our
 * own code and message (the OpenSSL error queue is cleared, so nothing of
 * a token or key lingers there).
 */
#include "jwt_sig.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

/* The order n of P-256 (SEC 2, secp256r1): r and s must be in 1..n-1. */
static const unsigned char p256_order[32] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
	0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

int jwt_sig_hs256(const unsigned char *key, size_t keylen,
		  const unsigned char *data, size_t n,
		  unsigned char mac[JWT_HS256_MAC_LEN])
{
	size_t outlen = 0;

	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, data,
		       n, mac, JWT_HS256_MAC_LEN, &outlen) ||
	    outlen != JWT_HS256_MAC_LEN) {
		ERR_clear_error();
		return GW_EINTERNAL;
	}
	return 0;
}

/* ---- ES256: R || S to DER --------------------------------------------- */

/* Whether a 32-byte big-endian integer is in 1..n-1. */
static bool scalar_ok(const unsigned char *x)
{
	unsigned char any = 0;

	for (int i = 0; i < 32; i++)
		any |= x[i];
	return any && memcmp(x, p256_order, 32) < 0;
}

/* DER INTEGER of a positive 32-byte big-endian value; bytes written. */
static size_t der_int(const unsigned char *x, unsigned char *out)
{
	size_t i = 0;
	size_t n;
	size_t o = 0;

	while (i < 31 && x[i] == 0) /* minimal: no leading zero bytes */
		i++;
	n = 32 - i;
	out[o++] = 0x02;
	out[o++] = (unsigned char)(n + (x[i] & 0x80 ? 1 : 0));
	if (x[i] & 0x80) /* stays positive */
		out[o++] = 0x00;
	memcpy(out + o, x + i, n);
	return o + n;
}

int jwt_es256_raw_to_der(const unsigned char *raw, size_t rawlen,
			 unsigned char *der, size_t *derlen)
{
	size_t o = 2;

	if (!raw || rawlen != JWT_ES256_SIG_LEN)
		return GW_EUNAUTH;
	if (!scalar_ok(raw) || !scalar_ok(raw + 32))
		return GW_EUNAUTH;
	o += der_int(raw, der + o);
	o += der_int(raw + 32, der + o);
	der[0] = 0x30; /* SEQUENCE, at most 70 bytes: short length form */
	der[1] = (unsigned char)(o - 2);
	*derlen = o;
	return 0;
}

/* ---- keys -------------------------------------------------------------- */

int jwt_pkey_alg(const struct evp_pkey_st *pk, enum jwt_alg *alg,
		 struct gw_error *err)
{
	if (!pk)
		return gw_fail(err, GW_EBADREQ, "no key");
	if (EVP_PKEY_is_a(pk, "RSA")) {
		int bits = EVP_PKEY_get_bits(pk);

		if (bits < JWT_RSA_MIN_BITS)
			return gw_fail(err, GW_EBADREQ,
				       "RSA key of %d bits (at least %d)",
				       bits, JWT_RSA_MIN_BITS);
		if (bits > JWT_RSA_MAX_BITS)
			return gw_fail(err, GW_EBADREQ,
				       "RSA key of %d bits (at most %d)",
				       bits, JWT_RSA_MAX_BITS);
		*alg = JWT_ALG_RS256;
		return 0;
	}
	if (EVP_PKEY_is_a(pk, "EC")) {
		char group[64];
		size_t glen = 0;

		if (!EVP_PKEY_get_utf8_string_param(pk,
						    OSSL_PKEY_PARAM_GROUP_NAME,
						    group, sizeof(group),
						    &glen) ||
		    strcmp(group, "prime256v1") != 0) {
			ERR_clear_error();
			return gw_fail(err, GW_EBADREQ,
				       "EC key not on P-256 (ES256 only)");
		}
		*alg = JWT_ALG_ES256;
		return 0;
	}
	return gw_fail(err, GW_EBADREQ,
		       "unsupported key type (RSA or EC P-256 only)");
}

/* Counts "-----BEGIN " lines: one PEM block per key file. */
static size_t pem_blocks(const char *pem, size_t len)
{
	static const char tag[] = "-----BEGIN ";
	const char *p = pem;
	const char *end = pem + len;
	size_t n = 0;

	while (p < end) {
		const char *hit = memmem(p, (size_t)(end - p), tag,
					 sizeof(tag) - 1);

		if (!hit)
			break;
		n++;
		p = hit + sizeof(tag) - 1;
	}
	return n;
}

struct evp_pkey_st *jwt_pkey_from_pem(const char *pem, size_t len,
				      enum jwt_alg *alg, struct gw_error *err)
{
	EVP_PKEY *pk = NULL;
	BIO *bio;

	if (!pem || len == 0 || len > JWT_PEM_MAX) {
		gw_fail(err, GW_EBADREQ, "empty or oversized PEM");
		return NULL;
	}
	if (memmem(pem, len, "PRIVATE KEY", 11)) {
		gw_fail(err, GW_EBADREQ,
			"a private key: give the public key (openssl pkey "
			"-pubout)");
		return NULL;
	}
	if (pem_blocks(pem, len) != 1) {
		gw_fail(err, GW_EBADREQ, "not exactly one PEM block");
		return NULL;
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio) {
		gw_fail(err, GW_ENOMEM, "out of memory");
		return NULL;
	}
	if (memmem(pem, len, "-----BEGIN CERTIFICATE-----", 27)) {
		X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

		pk = x ? X509_get_pubkey(x) : NULL;
		X509_free(x);
	} else {
		OSSL_DECODER_CTX *d;

		d = OSSL_DECODER_CTX_new_for_pkey(&pk, "PEM", NULL, NULL,
						  EVP_PKEY_PUBLIC_KEY, NULL,
						  NULL);
		if (d && !OSSL_DECODER_from_bio(d, bio)) {
			EVP_PKEY_free(pk);
			pk = NULL;
		}
		OSSL_DECODER_CTX_free(d);
	}
	BIO_free(bio);
	ERR_clear_error();
	if (!pk) {
		gw_fail(err, GW_EBADREQ, "no public key in the PEM");
		return NULL;
	}
	if (jwt_pkey_alg(pk, alg, err)) {
		EVP_PKEY_free(pk);
		return NULL;
	}
	return pk;
}

/* A public key of type name from params, checked (EVP_PKEY_public_check:
 * an EC point on the curve, an RSA modulus and exponent that make sense). */
static EVP_PKEY *from_params(const char *name, OSSL_PARAM_BLD *b,
			     struct gw_error *err)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL);
	EVP_PKEY_CTX *check = NULL;
	EVP_PKEY *pk = NULL;
	enum jwt_alg alg;

	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		gw_fail(err, GW_EBADREQ, "invalid %s key", name);
		goto out;
	}
	check = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (!check || EVP_PKEY_public_check(check) != 1) {
		gw_fail(err, GW_EBADREQ, "invalid %s public key", name);
		EVP_PKEY_free(pk);
		pk = NULL;
		goto out;
	}
	if (jwt_pkey_alg(pk, &alg, err)) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
out:
	ERR_clear_error();
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pk;
}

struct evp_pkey_st *jwt_pkey_from_rsa(const unsigned char *n, size_t nlen,
				      const unsigned char *e, size_t elen,
				      struct gw_error *err)
{
	OSSL_PARAM_BLD *b = NULL;
	BIGNUM *bn = NULL;
	BIGNUM *be = NULL;
	EVP_PKEY *pk = NULL;

	/* e above 64 bits is no RSA key anybody signs with */
	if (!n || !e || nlen == 0 || nlen > JWT_RSA_MAX_BITS / 8 + 1 ||
	    elen == 0 || elen > 8) {
		gw_fail(err, GW_EBADREQ, "invalid RSA key size");
		return NULL;
	}
	b = OSSL_PARAM_BLD_new();
	bn = BN_bin2bn(n, (int)nlen, NULL);
	be = BN_bin2bn(e, (int)elen, NULL);
	if (!b || !bn || !be ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be))
		gw_fail(err, GW_ENOMEM, "out of memory");
	else
		pk = from_params("RSA", b, err);
	ERR_clear_error();
	BN_free(bn);
	BN_free(be);
	OSSL_PARAM_BLD_free(b);
	return pk;
}

struct evp_pkey_st *jwt_pkey_from_p256(const unsigned char x[32],
				       const unsigned char y[32],
				       struct gw_error *err)
{
	unsigned char pub[65];
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	EVP_PKEY *pk = NULL;

	pub[0] = 0x04; /* uncompressed point */
	memcpy(pub + 1, x, 32);
	memcpy(pub + 33, y, 32);
	if (!b ||
	    !OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME,
					     "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY,
					      pub, sizeof(pub)))
		gw_fail(err, GW_ENOMEM, "out of memory");
	else
		pk = from_params("EC", b, err);
	ERR_clear_error();
	OSSL_PARAM_BLD_free(b);
	return pk;
}

/* ---- verification ------------------------------------------------------ */

static bool digest_verify(EVP_PKEY *pk, const unsigned char *data, size_t n,
			  const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok;

	/* RSA keys default to PKCS#1 v1.5 padding: RS256, never PSS */
	ok = ctx &&
	     EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, pk,
				     NULL) == 1 &&
	     EVP_DigestVerify(ctx, sig, siglen, data, n) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

bool jwt_sig_verify(const struct jwt_key *k, const unsigned char *data,
		    size_t n, const unsigned char *sig, size_t siglen)
{
	unsigned char der[JWT_ES256_DER_MAX];
	size_t derlen = 0;

	if (!k || !k->pkey)
		return false;
	switch (k->alg) {
	case JWT_ALG_RS256:
		if (EVP_PKEY_get_size(k->pkey) <= 0 ||
		    siglen != (size_t)EVP_PKEY_get_size(k->pkey))
			return false;
		return digest_verify(k->pkey, data, n, sig, siglen);
	case JWT_ALG_ES256:
		if (jwt_es256_raw_to_der(sig, siglen, der, &derlen) != 0)
			return false;
		return digest_verify(k->pkey, data, n, der, derlen);
	default:
		return false; /* an HS256 key has no public half */
	}
}

/*
 * jwt_sig.h - the signature side of JWT verification: HMAC-SHA256, RSA
 * PKCS#1 v1.5 with SHA-256 and ECDSA P-256 with SHA-256 (RFC 7518 3.2-3.4)
 * over OpenSSL 3 EVP, public keys from PEM or JWK members, and the key
 * rules (RSA at least 2048 bits, EC on P-256 only). Pure: no I/O.
 */
#ifndef SG_JWT_SIG_H
#define SG_JWT_SIG_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"
#include "jwt.h"

#define JWT_HS256_MAC_LEN 32
#define JWT_ES256_SIG_LEN 64      /* R || S, 32 bytes each (RFC 7518 3.4) */
#define JWT_ES256_DER_MAX 72      /* SEQUENCE of two INTEGERs of <= 33 */
#define JWT_RSA_MIN_BITS 2048     /* RFC 7518 3.3 */
#define JWT_RSA_MAX_BITS 16384    /* bounds the cost of one verification */
#define JWT_PEM_MAX (64 * 1024)

/* HMAC-SHA256 of data into mac; 0 or GW_EINTERNAL. */
int jwt_sig_hs256(const unsigned char *key, size_t keylen,
		  const unsigned char *data, size_t n,
		  unsigned char mac[JWT_HS256_MAC_LEN]);

/*
 * The JWS ES256 signature raw[0..rawlen) (R || S) as the DER ECDSA-Sig-Value
 * OpenSSL verifies. Refuses (GW_EUNAUTH) a length other than 64 (a DER
 * signature among them), and r or s zero or not below the P-256 order n.
 * der must hold JWT_ES256_DER_MAX bytes. 0 and *derlen on success.
 */
int jwt_es256_raw_to_der(const unsigned char *raw, size_t rawlen,
			 unsigned char *der, size_t *derlen);

/*
 * Checks a public key and says its one algorithm: RSA of 2048..16384 bits
 * is RS256, EC on P-256 is ES256; anything else is GW_EBADREQ with err
 * saying why. 0 and *alg on success.
 */
int jwt_pkey_alg(const struct evp_pkey_st *pk, enum jwt_alg *alg,
		 struct gw_error *err);

/*
 * One public key from PEM text (SubjectPublicKeyInfo "PUBLIC KEY", PKCS#1
 * "RSA PUBLIC KEY", or a "CERTIFICATE", whose key is taken as is: the
 * certificate itself is not checked). Exactly one PEM block; private keys
 * are refused. Returns the key (checked by jwt_pkey_alg, *alg set) or NULL
 * with err (GW_EBADREQ or GW_ENOMEM).
 */
struct evp_pkey_st *jwt_pkey_from_pem(const char *pem, size_t len,
				      enum jwt_alg *alg, struct gw_error *err);

/* An RSA public key from big-endian n and e (JWK "n", "e"), checked. */
struct evp_pkey_st *jwt_pkey_from_rsa(const unsigned char *n, size_t nlen,
				      const unsigned char *e, size_t elen,
				      struct gw_error *err);

/* A P-256 public key from its 32-byte affine coordinates (JWK "x", "y"),
 * refused unless the point is on the curve. */
struct evp_pkey_st *jwt_pkey_from_p256(const unsigned char x[32],
				       const unsigned char y[32],
				       struct gw_error *err);

/*
 * Whether sig[0..siglen) is k's signature (RS256 or ES256 key) over
 * data[0..n). An RS256 signature must be exactly the modulus size; an ES256
 * one the 64 raw bytes of jwt_es256_raw_to_der.
 */
bool jwt_sig_verify(const struct jwt_key *k, const unsigned char *data,
		    size_t n, const unsigned char *sig, size_t siglen);

#endif

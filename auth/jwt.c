/*
 * jwt.c - JWS compact verification (HS256 today) under RFC 8725: the
 * algorithm comes from our keys, never from the token; the claims are read
 * only after the MAC matched. Pure: no sockets, no clock, no logging; uses
 * jansson, libcrypto, b64url and acl (for the subject rule) only.
 */
#include "jwt.h"

#include "acl.h"
#include "b64url.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define HS256_MAC_LEN 32
/* Secrets come from config; anything this long is a mistake, not a key. */
#define HS256_SECRET_MAX 65536
/* Key rotation needs two or three; more is a configuration error. */
#define KEYS_MAX 64

static const char hs256_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

struct segment {
	const char *p; /* borrowed, into the token */
	size_t n;
};

void jwt_verifier_init(struct jwt_verifier *v)
{
	memset(v, 0, sizeof(*v));
}

int jwt_verifier_add_hs256(struct jwt_verifier *v, const unsigned char *secret,
			   size_t len, struct gw_error *err)
{
	unsigned char *copy = NULL;
	struct jwt_key *keys;

	if (!v || !secret)
		return gw_fail(err, GW_EBADREQ, "missing hs256 secret");
	if (len < JWT_HS256_MIN_SECRET)
		return gw_fail(err, GW_EBADREQ,
			       "hs256 secret shorter than %d bytes",
			       JWT_HS256_MIN_SECRET);
	if (len > HS256_SECRET_MAX)
		return gw_fail(err, GW_EBADREQ,
			       "hs256 secret longer than %d bytes",
			       HS256_SECRET_MAX);
	if (v->nkeys >= KEYS_MAX)
		return gw_fail(err, GW_EBADREQ, "too many keys");
	copy = malloc(len);
	if (!copy)
		return gw_fail(err, GW_ENOMEM, "out of memory");
	memcpy(copy, secret, len);
	keys = realloc(v->keys, (v->nkeys + 1) * sizeof(*keys));
	if (!keys) {
		OPENSSL_cleanse(copy, len);
		free(copy);
		return gw_fail(err, GW_ENOMEM, "out of memory");
	}
	v->keys = keys;
	v->keys[v->nkeys].alg = JWT_ALG_HS256;
	v->keys[v->nkeys].secret = copy;
	v->keys[v->nkeys].secret_len = len;
	v->nkeys++;
	return 0;
}

void jwt_verifier_release(struct jwt_verifier *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->nkeys; i++) {
		if (v->keys[i].secret) {
			OPENSSL_cleanse(v->keys[i].secret,
					v->keys[i].secret_len);
			free(v->keys[i].secret);
		}
	}
	free(v->keys);
	free(v->issuer);
	free(v->audience);
	memset(v, 0, sizeof(*v));
}

void jwt_claims_release(struct jwt_claims *c)
{
	if (!c)
		return;
	json_decref(c->sync);
	memset(c, 0, sizeof(*c));
}

/* HMAC-SHA256 of data into mac; 0 or GW_EINTERNAL. */
static int hs256(const unsigned char *key, size_t keylen,
		 const unsigned char *data, size_t n,
		 unsigned char mac[HS256_MAC_LEN])
{
	size_t outlen = 0;

	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, data,
		       n, mac, HS256_MAC_LEN, &outlen) ||
	    outlen != HS256_MAC_LEN)
		return GW_EINTERNAL;
	return 0;
}

/* Splits into exactly three dot-separated segments; false otherwise. */
static bool split3(const char *tok, size_t len, struct segment seg[3])
{
	const char *end = tok + len;
	const char *p = tok;

	for (int i = 0; i < 3; i++) {
		const char *dot = memchr(p, '.', (size_t)(end - p));

		if (i < 2 && !dot)
			return false;
		if (i == 2 && dot)
			return false;
		seg[i].p = p;
		seg[i].n = (size_t)((dot ? dot : end) - p);
		p = dot ? dot + 1 : end;
	}
	return true;
}

/* Decodes a segment into buf and parses it as one JSON object, or NULL. */
static json_t *segment_object(const struct segment *s, unsigned char *buf)
{
	json_error_t jerr;
	size_t n = 0;
	json_t *j;

	if (s->n == 0 || b64url_decode(s->p, s->n, buf, &n) != 0)
		return NULL;
	/* No JSON_DISABLE_EOF_CHECK: trailing bytes after the object fail. */
	j = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &jerr);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* A NumericDate we accept: a JSON integer in 0..2^53-1. */
static bool numeric_date(const json_t *j, int64_t *out)
{
	json_int_t v;

	if (!json_is_integer(j))
		return false;
	v = json_integer_value(j);
	if (v < 0 || v > GW_MAX_SAFE_INT)
		return false;
	*out = (int64_t)v;
	return true;
}

static int64_t add_sat(int64_t a, int64_t b) /* b >= 0 */
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static bool audience_ok(const json_t *aud, const char *want)
{
	size_t i;
	const json_t *e;
	bool found = false;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	if (!json_is_array(aud))
		return false;
	json_array_foreach(aud, i, e) {
		if (!json_is_string(e))
			return false;
		if (strcmp(json_string_value(e), want) == 0)
			found = true;
	}
	return found;
}

/* Checks the claims of a token whose MAC matched; fills out on success. */
static int check_claims(const struct jwt_verifier *v, const json_t *c,
			int64_t now_s, struct jwt_claims *out,
			struct gw_error *err)
{
	const json_t *sub = json_object_get(c, "sub");
	const json_t *exp = json_object_get(c, "exp");
	const json_t *nbf = json_object_get(c, "nbf");
	json_t *sync = json_object_get(c, "sync");
	int64_t leeway = v->leeway_s;
	int64_t exp_s = 0;
	int64_t nbf_s = 0;
	size_t sublen;

	if (leeway < 0)
		leeway = 0;
	if (leeway > GW_MAX_SAFE_INT)
		leeway = GW_MAX_SAFE_INT;
	if (!sub)
		return gw_fail(err, GW_EUNAUTH, "missing sub claim");
	if (!json_is_string(sub))
		return gw_fail(err, GW_EUNAUTH, "sub claim not a string");
	sublen = json_string_length(sub);
	if (!acl_token_subject_valid(json_string_value(sub), sublen))
		return gw_fail(err, GW_EUNAUTH, "invalid sub claim");
	if (!exp)
		return gw_fail(err, GW_EUNAUTH, "missing exp claim");
	if (!numeric_date(exp, &exp_s))
		return gw_fail(err, GW_EUNAUTH, "invalid exp claim");
	if (nbf && !numeric_date(nbf, &nbf_s))
		return gw_fail(err, GW_EUNAUTH, "invalid nbf claim");
	if (v->issuer) {
		const json_t *iss = json_object_get(c, "iss");

		if (!json_is_string(iss) ||
		    strcmp(json_string_value(iss), v->issuer) != 0)
			return gw_fail(err, GW_EUNAUTH, "issuer mismatch");
	}
	if (v->audience &&
	    !audience_ok(json_object_get(c, "aud"), v->audience))
		return gw_fail(err, GW_EUNAUTH, "audience mismatch");
	if (sync && !json_is_object(sync))
		return gw_fail(err, GW_EUNAUTH, "sync claim not an object");
	if (nbf && add_sat(now_s, leeway) < nbf_s)
		return gw_fail(err, GW_EUNAUTH, "token not yet valid");
	/* Last, so GW_EEXPIRED means "valid in every other respect". */
	if (now_s >= exp_s + leeway)
		return gw_fail(err, GW_EEXPIRED, "token expired");

	memcpy(out->sub, json_string_value(sub), sublen);
	out->sub[sublen] = '\0';
	out->exp = exp_s;
	out->has_nbf = nbf != NULL;
	out->nbf = nbf_s;
	out->sync = sync ? json_incref(sync) : NULL;
	return 0;
}

int jwt_verify(const struct jwt_verifier *v, const char *token, size_t len,
	       int64_t now_s, struct jwt_claims *out, struct gw_error *err)
{
	struct segment seg[3];
	unsigned char sig[HS256_MAC_LEN + 1];
	unsigned char mac[HS256_MAC_LEN];
	unsigned char *buf = NULL;
	json_t *hdr = NULL;
	json_t *claims = NULL;
	const json_t *alg;
	size_t maxlen;
	size_t n = 0;
	size_t nhs = 0;
	int match = 0;
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!v || !out || !token)
		return gw_fail(err, GW_EUNAUTH, "missing token");
	maxlen = v->max_token_len ? v->max_token_len : JWT_DEFAULT_MAX_LEN;
	if (len > maxlen || len > SIZE_MAX / 4)
		return gw_fail(err, GW_EUNAUTH, "token too long");
	if (!split3(token, len, seg))
		return gw_fail(err, GW_EUNAUTH,
			       "token must have three segments");

	/* One buffer fits either decoded segment: both are shorter than len. */
	buf = malloc(B64URL_DECODED_MAX(len) + 1);
	if (!buf)
		return gw_fail(err, GW_ENOMEM, "out of memory");

	hdr = segment_object(&seg[0], buf);
	if (!hdr) {
		rc = gw_fail(err, GW_EUNAUTH, "malformed header");
		goto cleanup;
	}
	if (json_object_get(hdr, "crit")) {
		rc = gw_fail(err, GW_EUNAUTH, "unsupported crit header");
		goto cleanup;
	}
	for (size_t i = 0; i < v->nkeys; i++)
		nhs += v->keys[i].alg == JWT_ALG_HS256;
	alg = json_object_get(hdr, "alg");
	if (nhs == 0 || !json_is_string(alg) ||
	    strcmp(json_string_value(alg), "HS256") != 0) {
		rc = gw_fail(err, GW_EUNAUTH, "algorithm not allowed");
		goto cleanup;
	}

	/* The payload must be canonical base64url too; parse it only later. */
	if (b64url_decode(seg[1].p, seg[1].n, buf, &n) != 0) {
		rc = gw_fail(err, GW_EUNAUTH, "malformed payload");
		goto cleanup;
	}
	if (seg[2].n != B64URL_ENCODED_LEN(HS256_MAC_LEN) ||
	    b64url_decode(seg[2].p, seg[2].n, sig, &n) != 0 ||
	    n != HS256_MAC_LEN) {
		rc = gw_fail(err, GW_EUNAUTH, "bad signature");
		goto cleanup;
	}
	/* Every HS256 key is tried, with no early exit. */
	for (size_t i = 0; i < v->nkeys; i++) {
		if (v->keys[i].alg != JWT_ALG_HS256)
			continue;
		rc = hs256(v->keys[i].secret, v->keys[i].secret_len,
			   (const unsigned char *)token,
			   seg[0].n + 1 + seg[1].n, mac);
		if (rc) {
			rc = gw_fail(err, rc, "mac computation failed");
			goto cleanup;
		}
		match |= CRYPTO_memcmp(mac, sig, HS256_MAC_LEN) == 0;
	}
	if (!match) {
		rc = gw_fail(err, GW_EUNAUTH, "bad signature");
		goto cleanup;
	}

	claims = segment_object(&seg[1], buf);
	if (!claims) {
		rc = gw_fail(err, GW_EUNAUTH, "malformed payload");
		goto cleanup;
	}
	rc = check_claims(v, claims, now_s, out, err);

cleanup:
	OPENSSL_cleanse(mac, sizeof(mac));
	json_decref(claims);
	json_decref(hdr);
	free(buf);
	return rc;
}

char *jwt_sign_hs256(const unsigned char *secret, size_t len,
		     const json_t *claims)
{
	unsigned char mac[HS256_MAC_LEN];
	char *payload = NULL;
	char *tok = NULL;
	size_t plen;
	size_t total;
	size_t o;

	if (!secret || len < JWT_HS256_MIN_SECRET || len > HS256_SECRET_MAX ||
	    !json_is_object(claims))
		return NULL;
	payload = json_dumps(claims, JSON_COMPACT);
	if (!payload)
		return NULL;
	plen = strlen(payload);
	if (plen > SIZE_MAX / 4 - 256)
		goto cleanup;
	total = B64URL_ENCODED_LEN(sizeof(hs256_header) - 1) + 1 +
		B64URL_ENCODED_LEN(plen) + 1 +
		B64URL_ENCODED_LEN(HS256_MAC_LEN) + 1;
	tok = malloc(total);
	if (!tok)
		goto cleanup;
	o = b64url_encode((const unsigned char *)hs256_header,
			  sizeof(hs256_header) - 1, tok);
	tok[o++] = '.';
	o += b64url_encode((const unsigned char *)payload, plen, tok + o);
	if (hs256(secret, len, (const unsigned char *)tok, o, mac) != 0) {
		free(tok);
		tok = NULL;
		goto cleanup;
	}
	tok[o++] = '.';
	b64url_encode(mac, HS256_MAC_LEN, tok + o);

cleanup:
	OPENSSL_cleanse(mac, sizeof(mac));
	free(payload);
	return tok;
}

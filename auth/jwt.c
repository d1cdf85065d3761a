/*
 * jwt.c - JWS compact verification (HS256, RS256, ES256) under RFC 8725:
 * the algorithm comes from our keys, never from the token; the claims are
 * read only after the signature matched. Pure: no sockets, no clock, no
 * logging; uses jansson, libcrypto (through jwt_sig), b64url and acl (for
 * the subject rule) only.
 */
#include "jwt.h"

#include "acl.h"
#include "b64url.h"
#include "jwt_sig.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define HS256_MAC_LEN JWT_HS256_MAC_LEN
/* Secrets come from config; anything this long is a mistake, not a key. */
#define HS256_SECRET_MAX 65536
/* Key rotation needs two or three; more is a configuration error. */
#define KEYS_MAX JWT_KEYS_MAX
/* The longest signature segment: an RSA signature of JWT_RSA_MAX_BITS. */
#define SIG_MAX (JWT_RSA_MAX_BITS / 8)

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
	struct jwt_key k;

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
	memset(&k, 0, sizeof(k));
	k.alg = JWT_ALG_HS256;
	k.secret = malloc(len);
	if (!k.secret)
		return gw_fail(err, GW_ENOMEM, "out of memory");
	memcpy(k.secret, secret, len);
	k.secret_len = len;
	return jwt_keys_push(&v->keys, &v->nkeys, &k, err);
}

int jwt_verifier_add_pkey(struct jwt_verifier *v, struct evp_pkey_st *pk,
			  const char *kid, enum jwt_alg want,
			  struct gw_error *err)
{
	struct jwt_key k;
	int rc;

	memset(&k, 0, sizeof(k));
	k.pkey = pk;
	if (!v || !pk) {
		EVP_PKEY_free(pk);
		return gw_fail(err, GW_EBADREQ, "missing key");
	}
	if ((rc = jwt_pkey_alg(pk, &k.alg, err))) {
		EVP_PKEY_free(pk);
		return rc;
	}
	if (want && want != k.alg) {
		EVP_PKEY_free(pk);
		return gw_fail(err, GW_EBADREQ, "key is for %s, not %s",
			       jwt_alg_name(k.alg), jwt_alg_name(want));
	}
	if (kid && (!*kid || strlen(kid) > JWT_KID_MAX)) {
		EVP_PKEY_free(pk);
		return gw_fail(err, GW_EBADREQ, "kid empty or over %d bytes",
			       JWT_KID_MAX);
	}
	if (kid && !(k.kid = strdup(kid))) {
		EVP_PKEY_free(pk);
		return gw_fail(err, GW_ENOMEM, "out of memory");
	}
	return jwt_keys_push(&v->keys, &v->nkeys, &k, err);
}

static void key_release(struct jwt_key *k)
{
	if (k->secret) {
		OPENSSL_cleanse(k->secret, k->secret_len);
		free(k->secret);
	}
	EVP_PKEY_free(k->pkey);
	free(k->kid);
	memset(k, 0, sizeof(*k));
}

int jwt_keys_push(struct jwt_key **keys, size_t *n, struct jwt_key *k,
		  struct gw_error *err)
{
	struct jwt_key *nk;

	if (*n >= KEYS_MAX) {
		key_release(k);
		return gw_fail(err, GW_EBADREQ, "too many keys (at most %d)",
			       KEYS_MAX);
	}
	nk = realloc(*keys, (*n + 1) * sizeof(*nk));
	if (!nk) {
		key_release(k);
		return gw_fail(err, GW_ENOMEM, "out of memory");
	}
	*keys = nk;
	nk[(*n)++] = *k;
	memset(k, 0, sizeof(*k));
	return 0;
}

void jwt_keys_free(struct jwt_key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		key_release(&keys[i]);
	free(keys);
}

void jwt_verifier_set_remote(struct jwt_verifier *v, struct jwt_key *keys,
			     size_t n)
{
	jwt_keys_free(v->remote, v->nremote);
	v->remote = keys;
	v->nremote = n;
}

enum jwt_alg jwt_alg_parse(const char *s)
{
	/* exact spellings only: "hs256", "none", "None" are no algorithm */
	if (!s)
		return 0;
	if (strcmp(s, "HS256") == 0)
		return JWT_ALG_HS256;
	if (strcmp(s, "RS256") == 0)
		return JWT_ALG_RS256;
	if (strcmp(s, "ES256") == 0)
		return JWT_ALG_ES256;
	return 0;
}

const char *jwt_alg_name(enum jwt_alg alg)
{
	switch (alg) {
	case JWT_ALG_HS256:
		return "HS256";
	case JWT_ALG_RS256:
		return "RS256";
	case JWT_ALG_ES256:
		return "ES256";
	}
	return "?";
}

void jwt_verifier_release(struct jwt_verifier *v)
{
	if (!v)
		return;
	jwt_keys_free(v->keys, v->nkeys);
	jwt_keys_free(v->remote, v->nremote);
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

static int hs256(const unsigned char *key, size_t keylen,
		 const unsigned char *data, size_t n,
		 unsigned char mac[HS256_MAC_LEN])
{
	return jwt_sig_hs256(key, keylen, data, n, mac);
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
	char subj[JWT_SUB_MAX + 1];
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
	if (sublen > JWT_SUB_MAX)
		return gw_fail(err, GW_EUNAUTH, "invalid sub claim");
	/* Auth0 and its kin write "<connection>|<id>": '|' is outside the
	 * actor alphabet, so the subject the gateway uses has '.' there
	 * ("auth0|64f0" is "auth0.64f0", a name per-user collections can
	 * hold). Any other character outside it refuses the token. */
	memcpy(subj, json_string_value(sub), sublen);
	subj[sublen] = '\0';
	for (size_t i = 0; i < sublen; i++)
		if (subj[i] == '|')
			subj[i] = '.';
	if (!acl_token_subject_valid(subj, sublen))
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

	memcpy(out->sub, subj, sublen + 1);
	out->exp = exp_s;
	out->has_nbf = nbf != NULL;
	out->nbf = nbf_s;
	out->sync = sync ? json_incref(sync) : NULL;
	return 0;
}

/* Key i of v: the configured keys, then the fetched ones. */
static const struct jwt_key *key_at(const struct jwt_verifier *v, size_t i)
{
	return i < v->nkeys ? &v->keys[i] : &v->remote[i - v->nkeys];
}

/* Whether k may check a token of alg with kid (NULL: none). A key bound to
 * a kid serves that kid (and tokens without one); a key without a kid
 * serves every token of its algorithm. */
static bool key_fits(const struct jwt_key *k, enum jwt_alg alg,
		     const char *kid)
{
	return k->alg == alg && (!kid || !k->kid || strcmp(k->kid, kid) == 0);
}

static bool kid_known(const struct jwt_verifier *v, const char *kid)
{
	for (size_t i = 0; i < v->nkeys + v->nremote; i++) {
		const struct jwt_key *k = key_at(v, i);

		if (k->kid && strcmp(k->kid, kid) == 0)
			return true;
	}
	return false;
}

/*
 * The header's alg and kid. alg is 0 unless it is exactly one we know; a
 * kid must be a string of 1..JWT_KID_MAX bytes without NUL (it is compared
 * as a C string). false: a malformed header.
 */
static bool header_fields(const json_t *hdr, enum jwt_alg *alg,
			  const char **kid)
{
	const json_t *a = json_object_get(hdr, "alg");
	const json_t *k = json_object_get(hdr, "kid");

	*alg = json_is_string(a) ? jwt_alg_parse(json_string_value(a)) : 0;
	*kid = NULL;
	if (!k)
		return true;
	if (!json_is_string(k) || json_string_length(k) == 0 ||
	    json_string_length(k) > JWT_KID_MAX ||
	    strlen(json_string_value(k)) != json_string_length(k))
		return false;
	*kid = json_string_value(k);
	return true;
}

/* Every HS256 candidate is tried, with no early exit; true on a match. */
static int check_mac(const struct jwt_verifier *v, const char *kid,
		     const char *token, size_t signed_len,
		     const unsigned char *sig, size_t siglen, bool *match)
{
	unsigned char mac[HS256_MAC_LEN];
	int rc = 0;

	*match = false;
	if (siglen != HS256_MAC_LEN)
		return 0;
	for (size_t i = 0; i < v->nkeys + v->nremote; i++) {
		const struct jwt_key *k = key_at(v, i);

		if (!key_fits(k, JWT_ALG_HS256, kid) || !k->secret)
			continue;
		rc = hs256(k->secret, k->secret_len,
			   (const unsigned char *)token, signed_len, mac);
		if (rc)
			break;
		*match |= CRYPTO_memcmp(mac, sig, HS256_MAC_LEN) == 0;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

int jwt_verify(const struct jwt_verifier *v, const char *token, size_t len,
	       int64_t now_s, struct jwt_claims *out, struct gw_error *err)
{
	struct segment seg[3];
	unsigned char sig[SIG_MAX + 1];
	unsigned char *buf = NULL;
	json_t *hdr = NULL;
	json_t *claims = NULL;
	enum jwt_alg alg;
	const char *kid;
	size_t signed_len;
	size_t maxlen;
	size_t n = 0;
	size_t nalg = 0;
	size_t nfit = 0;
	bool match = false;
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
	signed_len = seg[0].n + 1 + seg[1].n;

	/* One buffer fits either decoded segment: both are shorter than len. */
	buf = malloc(B64URL_DECODED_MAX(len) + 1);
	if (!buf)
		return gw_fail(err, GW_ENOMEM, "out of memory");

	hdr = segment_object(&seg[0], buf);
	if (!hdr || !header_fields(hdr, &alg, &kid)) {
		rc = gw_fail(err, GW_EUNAUTH, "malformed header");
		goto cleanup;
	}
	if (json_object_get(hdr, "crit")) {
		rc = gw_fail(err, GW_EUNAUTH, "unsupported crit header");
		goto cleanup;
	}
	/* A kid nobody has may be a key the issuer rotated in: whoever
	 * fetches keys hears of it (and rate-limits it: the header is not
	 * authenticated yet). HS256 secrets are never fetched. */
	if (kid && (alg == JWT_ALG_RS256 || alg == JWT_ALG_ES256) &&
	    v->unknown_kid && !kid_known(v, kid))
		v->unknown_kid(v->unknown_kid_ctx, kid);
	for (size_t i = 0; i < v->nkeys + v->nremote; i++) {
		nalg += key_at(v, i)->alg == alg;
		nfit += alg && key_fits(key_at(v, i), alg, kid);
	}
	if (!alg || nalg == 0) {
		rc = gw_fail(err, GW_EUNAUTH, "algorithm not allowed");
		goto cleanup;
	}
	if (nfit == 0) {
		rc = gw_fail(err, GW_EUNAUTH, "unknown kid");
		goto cleanup;
	}

	/* The payload must be canonical base64url too; parse it only later. */
	if (b64url_decode(seg[1].p, seg[1].n, buf, &n) != 0) {
		rc = gw_fail(err, GW_EUNAUTH, "malformed payload");
		goto cleanup;
	}
	if (seg[2].n == 0 || seg[2].n > B64URL_ENCODED_LEN(SIG_MAX) ||
	    b64url_decode(seg[2].p, seg[2].n, sig, &n) != 0) {
		rc = gw_fail(err, GW_EUNAUTH, "bad signature");
		goto cleanup;
	}
	if (alg == JWT_ALG_HS256) {
		rc = check_mac(v, kid, token, signed_len, sig, n, &match);
		if (rc) {
			rc = gw_fail(err, rc, "mac computation failed");
			goto cleanup;
		}
	} else {
		/* public keys: nothing secret to time, so the first match
		 * ends the search */
		for (size_t i = 0; i < v->nkeys + v->nremote && !match; i++) {
			const struct jwt_key *k = key_at(v, i);

			match = key_fits(k, alg, kid) &&
				jwt_sig_verify(k, (const unsigned char *)token,
					       signed_len, sig, n);
		}
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

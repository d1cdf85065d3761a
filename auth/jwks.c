/*
 * jwks.c - JWK Sets to verifier keys. Pure (jansson, libcrypto through
 * jwt_sig, libc file reading for jwks_read_file).
 */
#include "jwks.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64url.h"
#include "jwt_sig.h"

/* The decoded size of a JWK member we accept: an RSA modulus of
 * JWT_RSA_MAX_BITS with one leading zero byte. */
#define MEMBER_MAX (JWT_RSA_MAX_BITS / 8 + 1)

/* Decodes the base64url string member name of j into out (room for
 * MEMBER_MAX bytes). false when absent, not a string, not canonical
 * base64url, empty or longer than MEMBER_MAX. */
static bool member_bytes(const json_t *j, const char *name,
			 unsigned char *out, size_t *n)
{
	const json_t *m = json_object_get(j, name);
	size_t len;

	if (!json_is_string(m))
		return false;
	len = json_string_length(m);
	if (len == 0 || len > B64URL_ENCODED_LEN(MEMBER_MAX))
		return false;
	return b64url_decode(json_string_value(m), len, out, n) == 0 &&
	       *n > 0 && *n <= MEMBER_MAX;
}

/* An optional string member: true when absent (*s NULL) or a string
 * without NUL; false for any other type. */
static bool opt_string(const json_t *j, const char *name, const char **s)
{
	const json_t *m = json_object_get(j, name);

	*s = NULL;
	if (!m)
		return true;
	if (!json_is_string(m) ||
	    strlen(json_string_value(m)) != json_string_length(m))
		return false;
	*s = json_string_value(m);
	return true;
}

/* One entry of "keys" to *out; 0, or GW_EBADREQ with why (skip it). */
static int jwk_key(const json_t *j, struct jwt_key *out,
		   struct gw_error *why)
{
	unsigned char a[MEMBER_MAX], b[MEMBER_MAX];
	size_t na = 0, nb = 0;
	const char *kty, *use, *alg, *kid, *crv;
	enum jwt_alg want = 0;
	struct gw_error e = {0, ""};
	EVP_PKEY *pk;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(j))
		return gw_fail(why, GW_EBADREQ, "entry not an object");
	if (!opt_string(j, "kty", &kty) || !kty)
		return gw_fail(why, GW_EBADREQ, "no kty");
	if (!opt_string(j, "use", &use) || (use && strcmp(use, "sig") != 0))
		return gw_fail(why, GW_EBADREQ, "use is not sig");
	if (!opt_string(j, "alg", &alg))
		return gw_fail(why, GW_EBADREQ, "alg not a string");
	if (alg && !(want = jwt_alg_parse(alg)))
		return gw_fail(why, GW_EBADREQ, "alg %.32s not supported", alg);
	if (!opt_string(j, "kid", &kid) ||
	    (kid && (!*kid || strlen(kid) > JWT_KID_MAX)))
		return gw_fail(why, GW_EBADREQ, "kid not a string of 1..%d",
			       JWT_KID_MAX);
	/* a private key published by mistake: touch none of it */
	if (json_object_get(j, "d"))
		return gw_fail(why, GW_EBADREQ, "private key (member d)");
	if (strcmp(kty, "RSA") == 0) {
		if (want && want != JWT_ALG_RS256)
			return gw_fail(why, GW_EBADREQ, "RSA key with alg %s",
				       jwt_alg_name(want));
		if (!member_bytes(j, "n", a, &na) ||
		    !member_bytes(j, "e", b, &nb))
			return gw_fail(why, GW_EBADREQ, "RSA key: bad n or e");
		pk = jwt_pkey_from_rsa(a, na, b, nb, &e);
	} else if (strcmp(kty, "EC") == 0) {
		if (want && want != JWT_ALG_ES256)
			return gw_fail(why, GW_EBADREQ, "EC key with alg %s",
				       jwt_alg_name(want));
		if (!opt_string(j, "crv", &crv) || !crv ||
		    strcmp(crv, "P-256") != 0)
			return gw_fail(why, GW_EBADREQ,
				       "EC key not on P-256");
		if (!member_bytes(j, "x", a, &na) || na != 32 ||
		    !member_bytes(j, "y", b, &nb) || nb != 32)
			return gw_fail(why, GW_EBADREQ, "EC key: bad x or y");
		pk = jwt_pkey_from_p256(a, b, &e);
	} else {
		return gw_fail(why, GW_EBADREQ, "kty %.16s not supported", kty);
	}
	if (!pk)
		return gw_fail(why, e.code ? e.code : GW_EBADREQ, "%s", e.msg);
	if (jwt_pkey_alg(pk, &out->alg, why)) {
		EVP_PKEY_free(pk);
		return GW_EBADREQ;
	}
	out->pkey = pk;
	if (kid && !(out->kid = strdup(kid))) {
		EVP_PKEY_free(pk);
		out->pkey = NULL;
		return gw_fail(why, GW_ENOMEM, "out of memory");
	}
	return 0;
}

int jwks_parse(const char *json, size_t len, struct jwt_key **keys,
	       size_t *n, struct jwks_report *rep, struct gw_error *err)
{
	json_error_t jerr;
	json_t *root, *arr, *e;
	size_t i;
	int rc = 0;

	memset(rep, 0, sizeof(*rep));
	if (!json || len > JWKS_MAX_BYTES)
		return gw_fail(err, GW_EBADREQ, "key set over %d bytes",
			       JWKS_MAX_BYTES);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return gw_fail(err, GW_EBADREQ, "key set not JSON: %s",
			       jerr.text);
	arr = json_object_get(root, "keys");
	if (!json_is_object(root) || !json_is_array(arr)) {
		json_decref(root);
		return gw_fail(err, GW_EBADREQ,
			       "not a JWK Set (no \"keys\" array)");
	}
	json_array_foreach(arr, i, e) {
		struct gw_error why = {0, ""};
		struct jwt_key k;
		int krc = jwk_key(e, &k, &why);

		if (krc == GW_ENOMEM) {
			rc = gw_fail(err, GW_ENOMEM, "out of memory");
			break;
		}
		if (krc) {
			if (!rep->ignored++)
				snprintf(rep->why, sizeof(rep->why),
					 "key %zu: %s", i, why.msg);
			continue;
		}
		if ((rc = jwt_keys_push(keys, n, &k, err)))
			break;
		rep->used++;
	}
	json_decref(root);
	return rc;
}

int jwks_read_file(const char *path, size_t max, char **out, size_t *len,
		   struct gw_error *err)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t got;

	*out = NULL;
	*len = 0;
	if (!f)
		return gw_fail(err, GW_EBADREQ, "cannot open %s: %s", path,
			       strerror(errno));
	buf = malloc(max + 2);
	if (!buf) {
		fclose(f);
		return gw_fail(err, GW_ENOMEM, "out of memory");
	}
	/* one byte more than allowed tells an oversized file apart */
	got = fread(buf, 1, max + 1, f);
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return gw_fail(err, GW_EBADREQ, "cannot read %s", path);
	}
	fclose(f);
	if (got > max) {
		free(buf);
		return gw_fail(err, GW_EBADREQ, "%s is over %zu bytes", path,
			       max);
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

int jwks_url_check(const char *url, struct gw_error *err)
{
	char host[64];
	const char *h, *end;
	unsigned char addr[16];
	size_t n;

	if (!url || strlen(url) > 2048)
		return gw_fail(err, GW_EBADREQ, "JWKS URL missing or too long");
	if (strncasecmp(url, "https://", 8) == 0)
		return url[8] ? 0
			      : gw_fail(err, GW_EBADREQ, "JWKS URL: no host");
	if (strncasecmp(url, "http://", 7) != 0)
		return gw_fail(err, GW_EBADREQ,
			       "JWKS URL must start with https://");
	h = url + 7;
	if (*h == '[') { /* [v6]:port */
		end = strchr(h, ']');
		if (!end)
			return gw_fail(err, GW_EBADREQ, "JWKS URL: bad host");
		h++;
	} else {
		end = h + strcspn(h, ":/?#@");
		if (*end == '@')
			return gw_fail(err, GW_EBADREQ,
				       "JWKS URL: no user info");
	}
	n = (size_t)(end - h);
	if (n == 0 || n >= sizeof(host))
		return gw_fail(err, GW_EBADREQ, "JWKS URL: bad host");
	memcpy(host, h, n);
	host[n] = '\0';
	if (strcasecmp(host, "localhost") == 0 ||
	    (inet_pton(AF_INET, host, addr) == 1 && addr[0] == 127) ||
	    (inet_pton(AF_INET6, host, addr) == 1 &&
	     memcmp(addr, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0))
		return 0;
	return gw_fail(err, GW_EBADREQ,
		       "JWKS URL must be https:// (http:// only to loopback)");
}

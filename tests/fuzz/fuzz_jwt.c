/*
 * fuzz_jwt.c - libFuzzer target for jwt_verify with a fixed key and clock.
 * Raw mode: the input is the token. Signed mode (input starts with '!'):
 * the rest is "header-json\npayload-json", encoded and MACed here, so the
 * fuzzer reaches the header and claim rules behind the signature.
 */
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "b64url.h"
#include "jwt.h"

#define NOW 1700000000LL
#define LEEWAY 30
#define SIGNED_MAX 6000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char key[32] = "fuzz-key-0123456789abcdefghijklm";

static void check(int cond)
{
	if (!cond)
		abort();
}

static void hs256(const char *tok, size_t n, unsigned char mac[32])
{
	size_t outlen = 0;

	check(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, sizeof(key),
			(const unsigned char *)tok, n, mac, 32,
			&outlen) != NULL);
	check(outlen == 32);
}

/* Strictness oracle: each segment re-encodes to exactly itself. */
static void check_canonical(const char *tok, size_t len)
{
	const char *p = tok;
	const char *end = tok + len;
	unsigned char *buf = malloc(len + 1);
	char *re = malloc(len * 2 + 4);
	int segs = 0;

	check(buf && re);
	while (p <= end) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t n = (size_t)((dot ? dot : end) - p);
		size_t out = 0;

		check(b64url_decode(p, n, buf, &out) == 0);
		check(b64url_encode(buf, out, re) == n);
		check(memcmp(re, p, n) == 0);
		segs++;
		if (!dot)
			break;
		p = dot + 1;
	}
	check(segs == 3);
	free(re);
	free(buf);
}

/* Whatever verifies carries a MAC made with our key. */
static void check_mac(const char *tok, size_t len)
{
	const char *dot2 = NULL;
	unsigned char mac[32];
	unsigned char sig[64];
	size_t n = 0;

	for (size_t i = len; i-- > 0;)
		if (tok[i] == '.') {
			dot2 = tok + i;
			break;
		}
	check(dot2 != NULL);
	check(b64url_decode(dot2 + 1, (size_t)(tok + len - dot2 - 1), sig,
			    &n) == 0 && n == 32);
	hs256(tok, (size_t)(dot2 - tok), mac);
	check(CRYPTO_memcmp(mac, sig, 32) == 0);
}

static void run(const struct jwt_verifier *v, const char *tok, size_t len,
		const char *payload, size_t plen)
{
	struct jwt_claims c;
	struct gw_error e;
	int rc;

	memset(&e, 0, sizeof(e));
	rc = jwt_verify(v, tok, len, NOW, &c, &e);
	if (rc == 0) {
		check(c.sub[0] != '\0');
		check(acl_subject_valid(c.sub, strlen(c.sub)));
		check(c.exp >= 0 && c.exp <= GW_MAX_SAFE_INT);
		check(NOW < c.exp + LEEWAY);
		check(!c.has_nbf || NOW + LEEWAY >= c.nbf);
		check(c.sync == NULL || json_is_object(c.sync));
		check_canonical(tok, len);
		check_mac(tok, len);
	} else {
		check(rc == GW_EUNAUTH || rc == GW_EEXPIRED);
		check(e.code == rc && e.msg[0] != '\0');
		check(c.sub[0] == '\0' && c.sync == NULL);
		if (rc == GW_EEXPIRED) /* only past the signature */
			check_mac(tok, len);
	}
	if (rc == 0 && payload) {
		/* The claims are exactly what the payload says. */
		json_t *j = json_loadb(payload, plen, JSON_REJECT_DUPLICATES,
				       NULL);
		json_t *sub = json_object_get(j, "sub");

		check(j != NULL && json_is_string(sub));
		check(strcmp(json_string_value(sub), c.sub) == 0);
		check(json_integer_value(json_object_get(j, "exp")) == c.exp);
		check(c.sync == json_object_get(j, "sync") ||
		      json_equal(c.sync, json_object_get(j, "sync")));
		json_decref(j);
	}
	jwt_claims_release(&c);
}

/* Signed mode: "header\npayload" (raw JSON bytes) becomes a MACed token. */
static void sign_and_run(const struct jwt_verifier *v, const char *in,
			 size_t size)
{
	const char *nl = memchr(in, '\n', size);
	size_t hl = nl ? (size_t)(nl - in) : size;
	const char *pay = nl ? nl + 1 : in + size;
	size_t pl = (size_t)(in + size - pay);
	char *tok = malloc(2 * size + 64);
	unsigned char mac[32];
	size_t o;

	check(tok != NULL);
	o = b64url_encode((const unsigned char *)in, hl, tok);
	tok[o++] = '.';
	o += b64url_encode((const unsigned char *)pay, pl, tok + o);
	hs256(tok, o, mac);
	tok[o++] = '.';
	o += b64url_encode(mac, 32, tok + o);
	run(v, tok, o, pay, pl);
	free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jwt_verifier v;
	static int ready;
	const char *in = (const char *)data;

	if (!ready) {
		jwt_verifier_init(&v);
		v.leeway_s = LEEWAY;
		check(jwt_verifier_add_hs256(&v, key, sizeof(key), NULL) == 0);
		ready = 1;
	}
	if (size > 0 && in[0] == '!' && size <= SIGNED_MAX)
		sign_and_run(&v, in + 1, size - 1);
	else
		run(&v, in, size, NULL, 0);
	return 0;
}

/*
 * fuzz_jwt.c - libFuzzer target for jwt_verify with fixed keys (an HS256
 * secret, the RS256 and ES256 test keys of tests/data/jwt) and clock.
 * Raw mode: the input is the token. Signed mode (input starts with '!'):
 * the rest is "header-json\npayload-json", encoded and MACed here, so the
 * fuzzer reaches the header and claim rules behind the signature; '#' does
 * the same with an ES256 signature (R||S, the fixed P-256 key). '$' and 64
 * more bytes: jwt_es256_raw_to_der against OpenSSL's own encoder. Whatever
 * verifies must carry a signature that OpenSSL, called here directly,
 * accepts under the key of the header's algorithm.
 */
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "b64url.h"
#include "jwt.h"
#include "jwt_sig.h"

#define NOW 1700000000LL
#define LEEWAY 30
#define SIGNED_MAX 6000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char key[32] = "fuzz-key-0123456789abcdefghijklm";

/* tests/data/jwt: p256.key (its public half p256.pub), rsa2048.pub */
static const char ec_priv_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgQMV2lPggXPj0PFax\n"
	"nOo9rbSF/WKyLkmce9OTnftvLFOhRANCAASiaafjNomIE+mCSQP4V7NdxKBWJurd\n"
	"bWOxseY57KJ58M9HY87Qn1b+OBRiRQ4rLh11eymsl3olYAIQ/qqjqJ+q\n"
	"-----END PRIVATE KEY-----\n";
static const char ec_pub_pem[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEommn4zaJiBPpgkkD+FezXcSgVibq\n"
	"3W1jsbHmOeyiefDPR2PO0J9W/jgUYkUOKy4ddXsprJd6JWACEP6qo6ifqg==\n"
	"-----END PUBLIC KEY-----\n";
static const char rsa_pub_pem[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAngG+3hIbEuhS0bhW30k1\n"
	"11Jf8Yuvb7kFqx6uhdb7DSou3o/PCnQnRS9UnvRRSU/sJQerb0HM0MfX1aNFR1lT\n"
	"FerGT02DuTl3x9/m1JQT4dUlqTXXeBKzfa16ji6O8phHCdc49FBR+u/+D7TFDngg\n"
	"EmJwh5VrJ74wHvPZFxrCJnpfQUKVvCE8TtAdlO8Or/xXfevGyOqL07lOhxuXAufj\n"
	"rUOzzH2XgWmDqBwciYzlKzItA4HnQmmS6JssuOk++EXo4p4hl68mRnklMIYh8/aq\n"
	"IkH/E1E2NjfVgNbjLH7ic/Yl+tuRQGC+hTNK1GSEoKrLlad5z1o4GqJz9UjG+jOg\n"
	"vwIDAQAB\n"
	"-----END PUBLIC KEY-----\n";

static EVP_PKEY *ec_priv, *ec_pub, *rsa_pub;

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

/* OpenSSL's own verdict on sig over data under pk (DER for ES256 made
 * with ECDSA_SIG, not with jwt_es256_raw_to_der). */
static bool openssl_verifies(EVP_PKEY *pk, bool ec, const char *data,
			     size_t n, const unsigned char *sig, size_t siglen)
{
	unsigned char *der = NULL;
	const unsigned char *s = sig;
	size_t slen = siglen;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok;

	check(ctx != NULL);
	if (ec) {
		ECDSA_SIG *es = ECDSA_SIG_new();
		int dl;

		check(es != NULL && siglen == 64);
		check(ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL),
				     BN_bin2bn(sig + 32, 32, NULL)) == 1);
		dl = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
		check(dl > 0);
		s = der;
		slen = (size_t)dl;
	}
	ok = EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, pk,
				     NULL) == 1 &&
	     EVP_DigestVerify(ctx, s, slen, (const unsigned char *)data,
			      n) == 1;
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return ok;
}

/* Whatever verifies carries a signature made with our key for the
 * header's algorithm (and never another algorithm's key). */
static void check_sig(const char *tok, size_t len)
{
	const char *dot1 = memchr(tok, '.', len);
	const char *dot2 = NULL;
	unsigned char mac[32];
	unsigned char *sig = malloc(len + 1);
	unsigned char *hb = malloc(len + 1);
	size_t n = 0, hn = 0;
	json_t *hdr;
	const char *alg;

	check(sig && hb && dot1);
	for (size_t i = len; i-- > 0;)
		if (tok[i] == '.') {
			dot2 = tok + i;
			break;
		}
	check(dot2 != NULL);
	check(b64url_decode(dot2 + 1, (size_t)(tok + len - dot2 - 1), sig,
			    &n) == 0);
	check(b64url_decode(tok, (size_t)(dot1 - tok), hb, &hn) == 0);
	hdr = json_loadb((const char *)hb, hn, JSON_REJECT_DUPLICATES, NULL);
	alg = json_string_value(json_object_get(hdr, "alg"));
	check(alg != NULL);
	if (strcmp(alg, "HS256") == 0) {
		check(n == 32);
		hs256(tok, (size_t)(dot2 - tok), mac);
		check(CRYPTO_memcmp(mac, sig, 32) == 0);
	} else if (strcmp(alg, "ES256") == 0) {
		check(n == 64);
		check(openssl_verifies(ec_pub, true, tok,
				       (size_t)(dot2 - tok), sig, n));
	} else {
		check(strcmp(alg, "RS256") == 0 && n == 256);
		check(openssl_verifies(rsa_pub, false, tok,
				       (size_t)(dot2 - tok), sig, n));
	}
	json_decref(hdr);
	free(hb);
	free(sig);
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
		check_sig(tok, len);
	} else {
		check(rc == GW_EUNAUTH || rc == GW_EEXPIRED);
		check(e.code == rc && e.msg[0] != '\0');
		check(c.sub[0] == '\0' && c.sync == NULL);
		if (rc == GW_EEXPIRED) /* only past the signature */
			check_sig(tok, len);
	}
	if (rc == 0 && payload) {
		/* The claims are exactly what the payload says. */
		json_t *j = json_loadb(payload, plen, JSON_REJECT_DUPLICATES,
				       NULL);
		json_t *sub = json_object_get(j, "sub");
		char want[JWT_SUB_MAX + 1];

		check(j != NULL && json_is_string(sub));
		check(json_string_length(sub) <= JWT_SUB_MAX);
		/* as the token says it, with '|' read as '.' (Auth0) */
		memcpy(want, json_string_value(sub), json_string_length(sub) + 1);
		for (char *p = want; *p; p++)
			if (*p == '|')
				*p = '.';
		check(strcmp(want, c.sub) == 0);
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

/* '#' mode: like sign_and_run, signed ES256 (R||S) with the fixed key. */
static void es_sign_and_run(const struct jwt_verifier *v, const char *in,
			    size_t size)
{
	const char *nl = memchr(in, '\n', size);
	size_t hl = nl ? (size_t)(nl - in) : size;
	const char *pay = nl ? nl + 1 : in + size;
	size_t pl = (size_t)(in + size - pay);
	char *tok = malloc(2 * size + 160);
	unsigned char der[80], raw[64];
	const unsigned char *p = der;
	size_t dl = sizeof(der);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	ECDSA_SIG *es;
	size_t o;

	check(tok != NULL && ctx != NULL);
	o = b64url_encode((const unsigned char *)in, hl, tok);
	tok[o++] = '.';
	o += b64url_encode((const unsigned char *)pay, pl, tok + o);
	check(EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, ec_priv,
				    NULL) == 1);
	check(EVP_DigestSign(ctx, der, &dl, (const unsigned char *)tok, o) ==
	      1);
	EVP_MD_CTX_free(ctx);
	es = d2i_ECDSA_SIG(NULL, &p, (long)dl);
	check(es != NULL);
	check(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32) == 32);
	check(BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32) == 32);
	ECDSA_SIG_free(es);
	tok[o++] = '.';
	o += b64url_encode(raw, 64, tok + o);
	run(v, tok, o, pay, pl);
	free(tok);
}

/* '$' mode: our R||S to DER against i2d_ECDSA_SIG, byte for byte. */
static void der_oracle(const unsigned char raw[64])
{
	static const unsigned char order[32] = {
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
		0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
	};
	unsigned char der[JWT_ES256_DER_MAX];
	unsigned char *ref = NULL;
	size_t n = 0;
	BIGNUM *r = BN_bin2bn(raw, 32, NULL);
	BIGNUM *s = BN_bin2bn(raw + 32, 32, NULL);
	BIGNUM *ord = BN_bin2bn(order, 32, NULL);
	bool valid = !BN_is_zero(r) && !BN_is_zero(s) && BN_cmp(r, ord) < 0 &&
		     BN_cmp(s, ord) < 0;
	int rc = jwt_es256_raw_to_der(raw, 64, der, &n);
	ECDSA_SIG *es = ECDSA_SIG_new();
	int rl;

	check(valid == (rc == 0));
	check(es && ECDSA_SIG_set0(es, r, s) == 1);
	rl = i2d_ECDSA_SIG(es, &ref);
	if (rc == 0)
		check(rl > 0 && (size_t)rl == n && memcmp(ref, der, n) == 0);
	OPENSSL_free(ref);
	ECDSA_SIG_free(es);
	BN_free(ord);
}

static EVP_PKEY *pem_key(const char *pem, bool priv)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pk;

	check(b != NULL);
	pk = priv ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)
		  : PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	BIO_free(b);
	check(pk != NULL);
	return pk;
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
		ec_priv = pem_key(ec_priv_pem, true);
		ec_pub = pem_key(ec_pub_pem, false);
		rsa_pub = pem_key(rsa_pub_pem, false);
		check(EVP_PKEY_up_ref(ec_pub) == 1 &&
		      EVP_PKEY_up_ref(rsa_pub) == 1);
		check(jwt_verifier_add_pkey(&v, ec_pub, "e", 0, NULL) == 0);
		check(jwt_verifier_add_pkey(&v, rsa_pub, NULL, 0, NULL) == 0);
		ready = 1;
	}
	if (size > 0 && in[0] == '!' && size <= SIGNED_MAX)
		sign_and_run(&v, in + 1, size - 1);
	else if (size > 0 && in[0] == '#' && size <= SIGNED_MAX)
		es_sign_and_run(&v, in + 1, size - 1);
	else if (size == 65 && in[0] == '$')
		der_oracle(data + 1);
	else
		run(&v, in, size, NULL, 0);
	return 0;
}

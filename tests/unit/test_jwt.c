/*
 * test_jwt.c - jwt_verify accept/reject table (RFC 8725 cases of
 * RELIABILITY.md A01-A07), encoding strictness, verifier keys and signing.
 * Tokens are forged here with b64url and HMAC; the clock is fixed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"
#include "jwt.h"

#define NOW 1700000000LL
#define HDR "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define OKCLAIMS "{\"sub\":\"alice\",\"exp\":1700000100}"

static const unsigned char key[32] = "key-one-0123456789abcdefghijklmn";
static const unsigned char key2[40] = {'s', 'e', 'c', 'o', 'n', 'd', 7, 9};

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static struct jwt_verifier ver;

static int setup(void **state)
{
	(void)state;
	jwt_verifier_init(&ver);
	ver.leeway_s = 30;
	return jwt_verifier_add_hs256(&ver, key, sizeof(key), NULL);
}

static int teardown(void **state)
{
	(void)state;
	jwt_verifier_release(&ver);
	return 0;
}

static char *enc(const char *s, size_t n)
{
	char *out = malloc(B64URL_ENCODED_LEN(n) + 1);

	assert_non_null(out);
	b64url_encode((const unsigned char *)s, n, out);
	return out;
}

/* "h64.p64" plus "." and the HS256 MAC under k (or "" when k is NULL). */
static char *assemble(const char *h64, const char *p64, const unsigned char *k,
		      size_t klen)
{
	size_t n = strlen(h64) + strlen(p64) + 2;
	char *tok = malloc(n + B64URL_ENCODED_LEN(32) + 1);
	unsigned char mac[32];
	size_t maclen = 0;

	assert_non_null(tok);
	snprintf(tok, n + 1, "%s.%s.", h64, p64);
	if (k) {
		assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k,
					  klen, (const unsigned char *)tok,
					  n - 1, mac, sizeof(mac), &maclen));
		assert_int_equal(maclen, 32);
		b64url_encode(mac, 32, tok + n);
	}
	return tok;
}

/* A token with these exact header and payload bytes, MACed with key. */
static char *forge(const char *hdr, const char *payload)
{
	char *h = enc(hdr, strlen(hdr));
	char *p = enc(payload, strlen(payload));
	char *tok = assemble(h, p, key, sizeof(key));

	free(h);
	free(p);
	return tok;
}

static int verify_with(const struct jwt_verifier *v, const char *tok,
		       struct jwt_claims *c, struct gw_error *e)
{
	memset(e, 0, sizeof(*e));
	return jwt_verify(v, tok, strlen(tok), NOW, c, e);
}

static int verify(const char *tok, struct gw_error *e)
{
	struct jwt_claims c;
	int rc = verify_with(&ver, tok, &c, e);

	if (rc != 0) {
		/* Failure leaves out zeroed. */
		assert_null(c.sync);
		assert_int_equal(c.sub[0], '\0');
	}
	jwt_claims_release(&c);
	return rc;
}

/* jwt_verify at now; claims released, err (may be NULL) filled. */
static int verify_at(const struct jwt_verifier *v, const char *tok,
		     int64_t now, struct gw_error *e)
{
	struct jwt_claims c;
	int rc = jwt_verify(v, tok, strlen(tok), now, &c, e);

	jwt_claims_release(&c);
	return rc;
}

/* Asserts that tok (freed here) is refused with GW_EUNAUTH. */
static void refused(char *tok)
{
	struct gw_error e;

	assert_int_equal(verify(tok, &e), GW_EUNAUTH);
	free(tok);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *out = NULL;
	int n;

	va_start(ap, f);
	n = vasprintf(&out, f, ap);
	va_end(ap);
	assert_true(n >= 0);
	return out;
}

struct vcase {
	const char *hdr;
	const char *payload;
	int want;
	const char *msg; /* substring of err->msg, or NULL */
};

/* Payload shorthands: extra claims, a sub, an exp. */
#define PX(extra) "{\"sub\":\"alice\",\"exp\":1700000100" extra "}"
#define PSUB(s) "{\"sub\":\"" s "\",\"exp\":1700000100}"
#define PEXP(x) "{\"sub\":\"alice\",\"exp\":" x "}"
#define A16 "aaaaaaaaaaaaaaaa"
#define A128 A16 A16 A16 A16 A16 A16 A16 A16
#define ALG(a) "{\"alg\":" a "}"
#define NOTALG "algorithm not allowed"
#define BADSUB "invalid sub claim"
#define BADEXP "invalid exp claim"
#define NOTOBJ "sync claim not an object"

static const struct vcase cases[] = {
	/* accepted shapes; kid and key-fetching headers are ignored */
	{HDR, OKCLAIMS, 0, NULL},
	{ALG("\"HS256\""), OKCLAIMS, 0, NULL},
	{ALG("\"HS256\",\"kid\":\"../../../../dev/null\""), OKCLAIMS, 0, NULL},
	{ALG("\"HS256\",\"kid\":\"' OR 1=1--\""), OKCLAIMS, 0, NULL},
	{ALG("\"HS256\",\"jku\":\"http://127.0.0.1:9/k\",\"x5u\":\"http://"
	     "127.0.0.1:9/c\",\"jwk\":{\"kty\":\"oct\",\"k\":\"AA\"},"
	     "\"x5c\":[\"AA\"]"), OKCLAIMS, 0, NULL},
	{" { \"alg\" : \"HS256\" } ", OKCLAIMS, 0, NULL},
	{HDR, PSUB("alice.phone@x.y-z_1"), 0, NULL},
	{HDR, PSUB("alice:phone"), GW_EUNAUTH, BADSUB}, /* the device separator */
	{HDR, PSUB(A128), 0, NULL},
	{HDR, PSUB(A128 "a"), GW_EUNAUTH, BADSUB},
	{HDR, PEXP("9007199254740991"), 0, NULL},
	{HDR, PX(",\"iss\":5,\"aud\":[1]"), 0, NULL}, /* not configured */
	{HDR, PX(",\"sync\":{}"), 0, NULL},
	/* algorithms */
	{ALG("\"none\""), OKCLAIMS, GW_EUNAUTH, NOTALG},
	{ALG("\"None\""), OKCLAIMS, GW_EUNAUTH, NOTALG},
	{ALG("\"NONE\""), OKCLAIMS, GW_EUNAUTH, NOTALG},
	{ALG("\"nOnE\""), OKCLAIMS, GW_EUNAUTH, NOTALG},
	{ALG("\"HS384\""), OKCLAIMS, GW_EUNAUTH, NOTALG},
	{ALG("\"RS256\""), OKCLAIMS, GW_EUNAUTH, NOTALG},
	{ALG("\"ES256\""), OKCLAIMS, GW_EUNAUTH, NOTALG},
	{ALG("\"hs256\""), OKCLAIMS, GW_EUNAUTH, NOTALG},
	{ALG("\"HS256 \""), OKCLAIMS, GW_EUNAUTH, NOTALG},
	{ALG("[\"HS256\"]"), OKCLAIMS, GW_EUNAUTH, NOTALG},
	{ALG("null"), OKCLAIMS, GW_EUNAUTH, NOTALG},
	{"{\"typ\":\"JWT\"}", OKCLAIMS, GW_EUNAUTH, NOTALG},
	/* header shape */
	{ALG("\"HS256\",\"alg\":\"HS256\""), OKCLAIMS, GW_EUNAUTH, "header"},
	{ALG("\"none\",\"alg\":\"HS256\""), OKCLAIMS, GW_EUNAUTH, "header"},
	{ALG("\"HS256\",\"crit\":[\"exp\"],\"exp\":1"), OKCLAIMS, GW_EUNAUTH,
	 "crit"},
	{ALG("\"HS256\",\"crit\":[]"), OKCLAIMS, GW_EUNAUTH, "crit"},
	{ALG("\"HS256\"") "x", OKCLAIMS, GW_EUNAUTH, "malformed header"},
	{ALG("\"HS256\"") "{}", OKCLAIMS, GW_EUNAUTH, "malformed header"},
	{"[\"HS256\"]", OKCLAIMS, GW_EUNAUTH, "malformed header"},
	{"\"HS256\"", OKCLAIMS, GW_EUNAUTH, "malformed header"},
	{"{\"alg\":\"HS256\"", OKCLAIMS, GW_EUNAUTH, "malformed header"},
	/* payload shape */
	{HDR, "{\"sub\":\"alice\",\"sub\":\"bob\",\"exp\":1700000100}",
	 GW_EUNAUTH, "malformed payload"},
	{HDR, PX(",\"exp\":1800000000"), GW_EUNAUTH, "malformed payload"},
	{HDR, OKCLAIMS " x", GW_EUNAUTH, "malformed payload"},
	{HDR, "[" OKCLAIMS "]", GW_EUNAUTH, "malformed payload"},
	{HDR, "", GW_EUNAUTH, "malformed payload"},
	/* sub */
	{HDR, "{\"exp\":1700000100}", GW_EUNAUTH, "missing sub claim"},
	{HDR, "{\"sub\":7,\"exp\":1700000100}", GW_EUNAUTH, "sub"},
	{HDR, "{\"sub\":null,\"exp\":1700000100}", GW_EUNAUTH, "sub"},
	{HDR, PSUB(""), GW_EUNAUTH, BADSUB},
	{HDR, PSUB("a*"), GW_EUNAUTH, BADSUB},
	{HDR, PSUB("*"), GW_EUNAUTH, BADSUB},
	{HDR, PSUB("a$b"), GW_EUNAUTH, BADSUB},
	{HDR, PSUB("${sub}"), GW_EUNAUTH, BADSUB},
	{HDR, PSUB("a{"), GW_EUNAUTH, BADSUB},
	{HDR, PSUB("a}"), GW_EUNAUTH, BADSUB},
	{HDR, PSUB("a b"), GW_EUNAUTH, BADSUB},
	{HDR, PSUB("a/b"), GW_EUNAUTH, BADSUB},
	{HDR, PSUB("caf\\u00e9"), GW_EUNAUTH, BADSUB},
	{HDR, PSUB("a\\u0000b"), GW_EUNAUTH, "malformed payload"},
	/* exp */
	{HDR, "{\"sub\":\"alice\"}", GW_EUNAUTH, "missing exp claim"},
	{HDR, PEXP("\"1700000100\""), GW_EUNAUTH, BADEXP},
	{HDR, PEXP("1700000100.5"), GW_EUNAUTH, BADEXP},
	{HDR, PEXP("1700000100.0"), GW_EUNAUTH, BADEXP},
	{HDR, PEXP("1.8e9"), GW_EUNAUTH, BADEXP},
	{HDR, PEXP("1e400"), GW_EUNAUTH, NULL},
	{HDR, PEXP("-1"), GW_EUNAUTH, BADEXP},
	{HDR, PEXP("9007199254740992"), GW_EUNAUTH, BADEXP},
	{HDR, PEXP("9223372036854775807"), GW_EUNAUTH, BADEXP},
	{HDR, PEXP("99999999999999999999"), GW_EUNAUTH, NULL},
	{HDR, PEXP("true"), GW_EUNAUTH, BADEXP},
	{HDR, PEXP("null"), GW_EUNAUTH, BADEXP},
	/* time, leeway 30 s, now = 1700000000 */
	{HDR, PEXP("1699999969"), GW_EEXPIRED, "token expired"},
	{HDR, PEXP("1699999970"), GW_EEXPIRED, "token expired"},
	{HDR, PEXP("1699999971"), 0, NULL},
	{HDR, PEXP("0"), GW_EEXPIRED, "token expired"},
	{HDR, PX(",\"nbf\":1700000031"), GW_EUNAUTH, "token not yet valid"},
	{HDR, PX(",\"nbf\":1700000030"), 0, NULL},
	{HDR, PX(",\"nbf\":1700000029"), 0, NULL},
	{HDR, PX(",\"nbf\":\"1\""), GW_EUNAUTH, "invalid nbf claim"},
	{HDR, PX(",\"nbf\":1.5"), GW_EUNAUTH, "invalid nbf claim"},
	{HDR, PX(",\"nbf\":-5"), GW_EUNAUTH, "invalid nbf claim"},
	/* expired only when everything else holds */
	{HDR, "{\"sub\":\"a*\",\"exp\":1}", GW_EUNAUTH, BADSUB},
	{HDR, PEXP("1,\"sync\":[]"), GW_EUNAUTH, NOTOBJ},
	{HDR, PEXP("1,\"nbf\":1800000000"), GW_EUNAUTH, "token not yet valid"},
	{ALG("\"none\""), PEXP("1"), GW_EUNAUTH, NOTALG},
	/* sync */
	{HDR, PX(",\"sync\":[\"todos\"]"), GW_EUNAUTH, NOTOBJ},
	{HDR, PX(",\"sync\":\"*\""), GW_EUNAUTH, NOTOBJ},
	{HDR, PX(",\"sync\":null"), GW_EUNAUTH, NOTOBJ},
	{HDR, PX(",\"sync\":1"), GW_EUNAUTH, NOTOBJ},
};

static void test_table(void **state)
{
	struct gw_error e;

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(cases); i++) {
		const struct vcase *c = &cases[i];
		char *tok = forge(c->hdr, c->payload);
		int rc = verify(tok, &e);

		if (rc != c->want || (c->msg && !strstr(e.msg, c->msg)))
			fail_msg("case %zu (%s / %s): rc %d msg \"%s\"", i,
				 c->hdr, c->payload, rc, e.msg);
		if (rc != 0) {
			char *dot = strchr(tok, '.');

			assert_int_equal(e.code, rc);
			assert_true(strlen(e.msg) > 0);
			/* Messages never echo token bytes. */
			*dot = '\0';
			assert_null(strstr(e.msg, tok));
			assert_null(strstr(e.msg, strrchr(dot + 1, '.') + 1));
		}
		free(tok);
	}
}

static void test_valid_claims_out(void **state)
{
	const char *p = PX(",\"nbf\":1600000000,"
			   "\"sync\":{\"read\":[\"todos\"]}");
	char *tok = forge(HDR, p);
	struct jwt_claims c;
	struct gw_error e;

	(void)state;
	assert_int_equal(verify_with(&ver, tok, &c, &e), 0);
	assert_string_equal(c.sub, "alice");
	assert_int_equal(c.exp, 1700000100);
	assert_true(c.has_nbf);
	assert_int_equal(c.nbf, 1600000000);
	assert_true(json_is_object(c.sync));
	assert_true(json_is_array(json_object_get(c.sync, "read")));
	jwt_claims_release(&c);
	assert_null(c.sync);
	jwt_claims_release(&c); /* zeroed: safe again */
	free(tok);
	/* Auth0-style subjects: "|" becomes "." */
	tok = forge(HDR, PSUB("google-oauth2|1034"));
	assert_int_equal(verify_with(&ver, tok, &c, &e), 0);
	assert_string_equal(c.sub, "google-oauth2.1034");
	jwt_claims_release(&c);
	free(tok);
	tok = forge(HDR, PSUB("a|b:c"));
	assert_int_equal(verify_with(&ver, tok, &c, &e), GW_EUNAUTH);
	free(tok);
}

static void test_alg_none_empty_signature(void **state)
{
	static const char *const algs[] = {"none", "None", "NONE", "nOnE"};
	char *p = enc(OKCLAIMS, strlen(OKCLAIMS));

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(algs); i++) {
		char *hdr = fmt("{\"alg\":\"%s\"}", algs[i]);
		char *h = enc(hdr, strlen(hdr));

		refused(fmt("%s.%s.", h, p));
		refused(fmt("%s.%s", h, p));
		free(h);
		free(hdr);
	}
	free(p);
}

/* Every single-bit change of a valid token's text is refused. */
static void test_bit_flips_text(void **state)
{
	char *tok = forge(HDR, OKCLAIMS);
	size_t len = strlen(tok);
	struct gw_error e;

	(void)state;
	assert_int_equal(verify(tok, &e), 0);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			tok[i] ^= (char)(1 << bit);
			if (verify(tok, &e) != GW_EUNAUTH)
				fail_msg("flip at %zu bit %d accepted", i, bit);
			tok[i] ^= (char)(1 << bit);
		}
	}
	assert_int_equal(verify(tok, &e), 0);
	free(tok);
}

/* Bit flips in the decoded header and payload, re-encoded, old MAC kept. */
static void test_bit_flips_decoded(void **state)
{
	char *good = forge(HDR, OKCLAIMS);
	const char *sig = strrchr(good, '.') + 1;
	char buf[128];
	struct gw_error e;

	(void)state;
	for (int part = 0; part < 2; part++) {
		const char *src = part ? OKCLAIMS : HDR;
		size_t n = strlen(src);

		for (size_t i = 0; i < n * 8; i++) {
			char *h, *p, tok[512];

			memcpy(buf, src, n);
			buf[i / 8] ^= (char)(1 << (i % 8));
			h = part ? enc(HDR, strlen(HDR)) : enc(buf, n);
			p = part ? enc(buf, n)
				 : enc(OKCLAIMS, strlen(OKCLAIMS));
			snprintf(tok, sizeof(tok), "%s.%s.%s", h, p, sig);
			assert_int_equal(verify(tok, &e), GW_EUNAUTH);
			free(h);
			free(p);
		}
	}
	free(good);
}

/* Non-canonical spellings MACed correctly: only the encoding is wrong. */
static void test_encoding_strictness(void **state)
{
	const char *hdr = "{\"alg\":\"HS256\",\"x\":\"~~~?\"}";
	char *h = enc(hdr, strlen(hdr));
	char *p = enc(OKCLAIMS, strlen(OKCLAIMS));
	char *tok = assemble(h, p, key, sizeof(key));
	size_t hl = strlen(h);
	int last = (int)(strchr(alphabet, h[hl - 1]) - alphabet);
	char alt[128];
	struct gw_error e;

	(void)state;
	assert_int_equal(verify(tok, &e), 0);
	free(tok);
	assert_int_equal(hl % 4, 3); /* two spare bits at the end */
	assert_int_equal(last & 3, 0);
	assert_non_null(strchr(h, '-'));
	assert_non_null(strchr(h, '_'));

	snprintf(alt, sizeof(alt), "%s=", h); /* '=' padding */
	refused(assemble(alt, p, key, sizeof(key)));
	for (int k = 0; k < 2; k++) { /* standard-alphabet '+' and '/' */
		snprintf(alt, sizeof(alt), "%s", h);
		*strchr(alt, k ? '_' : '-') = k ? '/' : '+';
		refused(assemble(alt, p, key, sizeof(key)));
	}
	snprintf(alt, sizeof(alt), "%s", h); /* non-zero spare bits */
	alt[hl - 1] = alphabet[last | 1];
	refused(assemble(alt, p, key, sizeof(key)));
	free(h);
	free(p);
}

/* Same signature bytes, non-canonical last character: refused. */
static void test_signature_trailing_bits(void **state)
{
	char *tok = forge(HDR, OKCLAIMS);
	size_t len = strlen(tok);
	char *last = tok + len - 1;
	int v = (int)(strchr(alphabet, *last) - alphabet);
	struct gw_error e;

	(void)state;
	assert_int_equal(v & 3, 0); /* 43 chars for 32 bytes: 2 spare bits */
	for (int spare = 1; spare < 4; spare++) {
		*last = alphabet[v | spare];
		assert_int_equal(verify(tok, &e), GW_EUNAUTH);
		assert_non_null(strstr(e.msg, "bad signature"));
	}
	*last = alphabet[v];
	assert_int_equal(verify(tok, &e), 0);
	free(tok);
}

static void test_segments_and_spaces(void **state)
{
	char *good = forge(HDR, OKCLAIMS);
	char *d1 = strchr(good, '.');
	char *d2 = strrchr(good, '.');
	int hl = (int)(d1 - good);
	int hpl = (int)(d2 - good);
	struct gw_error e;

	(void)state;
	assert_int_equal(verify(good, &e), 0);
	refused(fmt("%.*s", hpl, good));          /* two segments */
	refused(fmt("%s%s", good, d2));           /* four */
	refused(fmt("%s.AAAA.AAAA", good));       /* five */
	refused(fmt("%s.", good));                /* trailing dot */
	refused(fmt("%s", d1));                   /* empty header */
	refused(fmt("%.*s.%s", hl, good, d2));    /* empty payload */
	refused(fmt("%.*s..%s", hl, good, d2));   /* empty middle segment */
	refused(fmt(" %s", good));
	refused(fmt("%s ", good));
	refused(fmt("%s\n", good));
	refused(fmt("%.*s. %s", hl, good, d1 + 1));
	refused(fmt("%.*s .%s", hpl, good, d2 + 1));
	refused(fmt("%s", ""));
	refused(fmt("%s", ".."));
	free(good);
}

/* The exact len is honoured: no NUL needed, nothing read past it. */
static void test_length_bounds(void **state)
{
	char *good = forge(HDR, OKCLAIMS);
	size_t len = strlen(good);
	char *copy = malloc(len);
	struct jwt_claims c;
	struct gw_error e;
	struct jwt_verifier small = ver;
	char *big = malloc(65537);
	char *pad = fmt(PX(",\"pad\":\"%0*d\""), JWT_DEFAULT_MAX_LEN, 0);
	char *tok = forge(HDR, pad);

	(void)state;
	/* No NUL needed, nothing read past len (ASan watches). */
	memcpy(copy, good, len);
	assert_int_equal(jwt_verify(&ver, copy, len, NOW, &c, &e), 0);
	jwt_claims_release(&c);
	assert_int_equal(jwt_verify(&ver, copy, len - 1, NOW, &c, &e),
			 GW_EUNAUTH);
	small.max_token_len = len;
	assert_int_equal(verify_at(&small, good, NOW, &e), 0);
	small.max_token_len = len - 1;
	assert_int_equal(verify_at(&small, good, NOW, &e), GW_EUNAUTH);
	assert_string_equal(e.msg, "token too long");
	/* Default limit: a valid but long token, and 64 KiB of dots. */
	assert_true(strlen(tok) > JWT_DEFAULT_MAX_LEN);
	assert_int_equal(verify_at(&ver, tok, NOW, &e), GW_EUNAUTH);
	assert_string_equal(e.msg, "token too long");
	memset(big, '.', 65536);
	big[65536] = '\0';
	assert_int_equal(verify_at(&ver, big, NOW, &e), GW_EUNAUTH);
	assert_string_equal(e.msg, "token too long");
	free(tok);
	free(pad);
	free(big);
	free(copy);
	free(good);
}

static void test_iss_aud(void **state)
{
#define ISS "\"iss\":\"https://id.example\""
	static const struct {
		const char *extra;
		int want;
	} rows[] = {
		{ISS ",\"aud\":\"syncgate\"", 0},
		{ISS ",\"aud\":[\"x\",\"syncgate\"]", 0},
		{ISS ",\"aud\":[\"x\"]", GW_EUNAUTH},
		{ISS ",\"aud\":[]", GW_EUNAUTH},
		{ISS ",\"aud\":[5,\"syncgate\"]", GW_EUNAUTH},
		{ISS ",\"aud\":\"syncgate2\"", GW_EUNAUTH},
		{ISS ",\"aud\":\"Syncgate\"", GW_EUNAUTH},
		{ISS ",\"aud\":{}", GW_EUNAUTH},
		{ISS, GW_EUNAUTH},
		{"\"iss\":\"https://evil.example\",\"aud\":\"syncgate\"",
		 GW_EUNAUTH},
		{"\"iss\":[\"https://id.example\"],\"aud\":\"syncgate\"",
		 GW_EUNAUTH},
		{"\"aud\":\"syncgate\"", GW_EUNAUTH},
	};
#undef ISS
	struct jwt_verifier v = ver;
	struct gw_error e;

	(void)state;
	v.issuer = strdup("https://id.example");
	v.audience = strdup("syncgate");
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		char *p = fmt(PX(",%s"), rows[i].extra);
		char *tok = forge(HDR, p);

		if (verify_at(&v, tok, NOW, &e) != rows[i].want)
			fail_msg("iss/aud row %zu: %s", i, e.msg);
		free(tok);
		free(p);
	}
	free(v.issuer);
	free(v.audience);
}

static void test_keys(void **state)
{
	unsigned char short_key[31] = {1};
	struct jwt_verifier v;
	struct gw_error e;
	json_t *claims = json_pack("{s:s, s:I}", "sub", "bob",
				   "exp", (json_int_t)1700000100);
	char *by_key = jwt_sign_hs256(key, sizeof(key), claims);
	char *by_key2 = jwt_sign_hs256(key2, sizeof(key2), claims);

	(void)state;
	assert_non_null(by_key);
	assert_non_null(by_key2);
	jwt_verifier_init(&v);
	/* no keys: nothing is allowed */
	assert_int_equal(verify_at(&v, by_key, NOW, &e), GW_EUNAUTH);
	assert_string_equal(e.msg, "algorithm not allowed");
	assert_int_equal(jwt_verifier_add_hs256(&v, short_key,
						sizeof(short_key), &e),
			 GW_EBADREQ);
	assert_int_equal(e.code, GW_EBADREQ);
	assert_int_equal(jwt_verifier_add_hs256(&v, NULL, 32, &e), GW_EBADREQ);
	assert_int_equal(v.nkeys, 0);
	assert_int_equal(jwt_verifier_add_hs256(&v, key2, sizeof(key2), &e), 0);
	assert_int_equal(verify_at(&v, by_key, NOW, &e), GW_EUNAUTH);
	assert_string_equal(e.msg, "bad signature");
	assert_int_equal(verify_at(&v, by_key2, NOW, &e), 0);
	/* two keys: both verify */
	assert_int_equal(jwt_verifier_add_hs256(&v, key, sizeof(key), &e), 0);
	assert_int_equal(v.nkeys, 2);
	assert_int_equal(verify_at(&v, by_key, NOW, &e), 0);
	assert_int_equal(verify_at(&v, by_key2, NOW, &e), 0);
	jwt_verifier_release(&v);
	assert_null(v.keys);
	assert_int_equal(v.nkeys, 0);
	jwt_verifier_release(&v); /* zeroed: safe again */
	free(by_key);
	free(by_key2);
	json_decref(claims);
}

static void test_sign(void **state)
{
	json_t *claims = json_pack("{s:s, s:I}", "sub", "carol",
				   "exp", (json_int_t)1700000100);
	json_t *arr = json_array();
	char *tok = jwt_sign_hs256(key, sizeof(key), claims);
	struct jwt_claims c;
	struct gw_error e;

	(void)state;
	/* Interop: the same bytes as Python's hmac/base64 produce. */
	assert_string_equal(tok, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
				 "eyJzdWIiOiJjYXJvbCIsImV4cCI6MTcwMDAwMDEwMH0."
				 "F9Psm7BqiewcIJH8yPEiPKaPSbnXflcjp_StYb-uL_k");
	assert_int_equal(verify_with(&ver, tok, &c, &e), 0);
	assert_string_equal(c.sub, "carol");
	assert_null(c.sync);
	jwt_claims_release(&c);
	assert_null(jwt_sign_hs256(key, 31, claims));
	assert_null(jwt_sign_hs256(NULL, 32, claims));
	assert_null(jwt_sign_hs256(key, sizeof(key), arr));
	assert_null(jwt_sign_hs256(key, sizeof(key), NULL));
	free(tok);
	json_decref(arr);
	json_decref(claims);
}

/* Leeway and clock extremes: no overflow, and the boundaries move. */
static void test_leeway_edges(void **state)
{
	struct jwt_verifier v = ver;
	char *at_now = forge(HDR, PEXP("1700000000"));
	char *nbf_max = forge(HDR, PEXP("9007199254740991,"
					"\"nbf\":9007199254740991"));
	struct gw_error e;

	(void)state;
	v.leeway_s = 0;
	assert_int_equal(verify_at(&v, at_now, NOW, &e), GW_EEXPIRED);
	assert_int_equal(verify_at(&v, at_now, NOW - 1, &e), 0);
	v.leeway_s = -100; /* treated as 0 */
	assert_int_equal(verify_at(&v, at_now, NOW - 1, &e), 0);
	v.leeway_s = INT64_MAX; /* clamped, no overflow */
	assert_int_equal(verify_at(&v, at_now, NOW, &e), 0);
	/* now + leeway saturates: nbf passes, then exp has passed */
	assert_int_equal(verify_at(&v, nbf_max, INT64_MAX, &e), GW_EEXPIRED);
	v.leeway_s = 30;
	assert_int_equal(verify_at(&v, nbf_max, INT64_MAX, &e), GW_EEXPIRED);
	assert_int_equal(verify_at(&v, nbf_max, INT64_MIN, &e), GW_EUNAUTH);
	assert_string_equal(e.msg, "token not yet valid");
	assert_int_equal(verify_at(&v, nbf_max, 9007199254740991LL - 30, &e),
			 0);
	free(at_now);
	free(nbf_max);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_valid_claims_out),
		cmocka_unit_test(test_alg_none_empty_signature),
		cmocka_unit_test(test_bit_flips_text),
		cmocka_unit_test(test_bit_flips_decoded),
		cmocka_unit_test(test_encoding_strictness),
		cmocka_unit_test(test_signature_trailing_bits),
		cmocka_unit_test(test_segments_and_spaces),
		cmocka_unit_test(test_length_bounds),
		cmocka_unit_test(test_iss_aud),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_leeway_edges),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

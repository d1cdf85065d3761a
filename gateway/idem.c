/*
 * idem.c - idempotency key validation, scoping, request fingerprints and
 * the answer record. Pure: libcrypto's SHA-256 and libc only.
 */
#include "idem.h"

#include <openssl/evp.h>
#include <string.h>

#include "common.h"
#include "digest.h"
#include "hex.h"
#include "strx.h"

#define RECORD_MAGIC "sg1\n"

bool idem_key_valid(const char *key, size_t len)
{
	if (len == 0 || len > IDEM_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)key[i] < 0x21 || (unsigned char)key[i] > 0x7e)
			return false;
	return true;
}

/* SHA-256 over parts, each length-prefixed so that no two part lists
 * hash alike ("ab","c" vs "a","bc"). */
static void digest(const char *const *parts, const size_t *lens, size_t n,
		   char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestInit_ex(ctx, digest_sha256(), NULL) == 1;

	for (size_t i = 0; ok && i < n; i++) {
		char pre[STRX_INT_MAX + 1];
		size_t k = strx_u64(pre, lens[i]);

		pre[k++] = ':';
		ok = EVP_DigestUpdate(ctx, pre, k) == 1 &&
		     EVP_DigestUpdate(ctx, parts[i], lens[i]) == 1;
	}
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		memset(md, 0, sizeof(md)); /* never matches a real record */
	hex_encode(md, 32, out);
}

void idem_scope(const char *caller, const char *key, char *out)
{
	const char *p[] = {"scope", caller, key};
	size_t l[] = {5, strlen(caller), strlen(key)};

	digest(p, l, 3, out);
}

void idem_fingerprint(bool is_delete, const char *id, const char *if_match,
		      const char *body, size_t len, char *out)
{
	const char *p[] = {is_delete ? "DELETE" : "PUT", id,
			   if_match ? "1" : "0", if_match ? if_match : "",
			   body ? body : ""};
	size_t l[] = {strlen(p[0]), strlen(id), 1, strlen(p[3]), body ? len : 0};

	digest(p, l, 5, out);
}

void idem_record_head(const char *fp, const struct idem_answer *a,
		      struct sbuf *sb)
{
	size_t n = strcspn(a->message, "\n"); /* messages are one line */

	sbuf_adds(sb, RECORD_MAGIC);
	sbuf_adds(sb, fp);
	sbuf_addf(sb, "\n%s\n%d\n%s\n", a->err ? gw_err_name(a->err) : "OK",
		  a->created ? 1 : 0, a->etag);
	sbuf_add(sb, a->message, n);
	sbuf_addc(sb, '\n');
}

/* The next '\n'-terminated field of [*p, end) into dst (cap bytes). */
static int field(const char **p, const char *end, char *dst, size_t cap)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n;

	if (!nl)
		return -1;
	n = (size_t)(nl - *p);
	if (n >= cap || memchr(*p, '\0', n))
		return -1;
	memcpy(dst, *p, n);
	dst[n] = '\0';
	*p = nl + 1;
	return 0;
}

int idem_record_parse(const char *rec, size_t len, char *fp,
		      struct idem_answer *a)
{
	const char *p = rec, *end = rec + len;
	char name[32], created[4];

	memset(a, 0, sizeof(*a));
	if (len < sizeof(RECORD_MAGIC) - 1 ||
	    memcmp(rec, RECORD_MAGIC, sizeof(RECORD_MAGIC) - 1) != 0)
		return GW_EINTERNAL;
	p += sizeof(RECORD_MAGIC) - 1;
	if (field(&p, end, fp, IDEM_HEX_LEN + 1) || strlen(fp) != IDEM_HEX_LEN ||
	    field(&p, end, name, sizeof(name)) ||
	    field(&p, end, created, sizeof(created)) ||
	    field(&p, end, a->etag, sizeof(a->etag)) ||
	    field(&p, end, a->message, sizeof(a->message)))
		return GW_EINTERNAL;
	if (strcmp(name, "OK") == 0) {
		a->err = 0;
	} else if (!(a->err = gw_err_from_name(name))) {
		return GW_EINTERNAL;
	}
	if (strcmp(created, "0") != 0 && strcmp(created, "1") != 0)
		return GW_EINTERNAL;
	a->created = created[0] == '1';
	a->body = p < end ? p : NULL;
	a->len = (size_t)(end - p);
	return 0;
}

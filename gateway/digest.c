/*
 * digest.c - digests fetched once (digest.h).
 */
#include "digest.h"

#include <pthread.h>
#include <string.h>

static EVP_MD *sha256;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void)
{
	/* kept for the life of the process */
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *digest_sha256(void)
{
	pthread_once(&sha256_once, fetch_sha256);
	return sha256;
}

bool digest_sha256_of(const void *p, size_t n, unsigned char md[32])
{
	static __thread EVP_MD_CTX *ctx; /* kept for the life of the thread */
	const EVP_MD *m = digest_sha256();
	unsigned int mdlen = 0;

	if (!ctx)
		ctx = EVP_MD_CTX_new();
	if (ctx && m && EVP_DigestInit_ex2(ctx, m, NULL) == 1 &&
	    EVP_DigestUpdate(ctx, p, n) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32)
		return true;
	memset(md, 0, 32);
	return false;
}

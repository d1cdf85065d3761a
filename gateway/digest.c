/*
 * digest.c - digests fetched once (digest.h).
 */
#include "digest.h"

#include <pthread.h>

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

/*
 * digest.h - the message digests the gateway computes per request, fetched
 * from OpenSSL's providers once. EVP_sha256() makes every EVP_Digest call
 * look the algorithm up again (a provider search under a lock); a write
 * hashes its version vector for the ETag two or three times.
 */
#ifndef SG_DIGEST_H
#define SG_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

/* SHA-256, fetched on first use (thread-safe); NULL if OpenSSL has none. */
const EVP_MD *digest_sha256(void);

/* SHA-256 of p[0..n) into md[32], through one context per thread kept for
 * the life of the process (EVP_Digest makes and frees one per call, two
 * allocations). false if OpenSSL fails; md is then zeroed. */
bool digest_sha256_of(const void *p, size_t n, unsigned char md[32]);

#endif

/*
 * offset.h - change-log positions "<epoch>:<seq>" (DESIGN.md section 5).
 * The epoch is 1..32 characters of [A-Za-z0-9]; seq is a decimal integer in
 * 0..2^53-1 without sign or leading zeros. Pure; thread-safe.
 */
#ifndef SG_OFFSET_H
#define SG_OFFSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OFFSET_EPOCH_MAX 32
#define OFFSET_STR_MAX (OFFSET_EPOCH_MAX + 1 + 16 + 1)

struct offset {
	char epoch[OFFSET_EPOCH_MAX + 1];
	uint64_t seq;
};

bool offset_epoch_valid(const char *s, size_t len);
/* Parses s[0..len). Returns 0 or GW_EBADREQ. */
int offset_parse(const char *s, size_t len, struct offset *out);
/* Writes "<epoch>:<seq>" into buf (OFFSET_STR_MAX bytes); returns length. */
size_t offset_format(const char *epoch, uint64_t seq, char *buf);
/* Parses a decimal seq in 0..2^53-1 (no sign, no leading zeros). */
int offset_parse_seq(const char *s, size_t len, uint64_t *out);
/* Fills buf with len random epoch characters from the given random bytes. */
void offset_epoch_from_bytes(const unsigned char *rnd, size_t len, char *buf);

#endif

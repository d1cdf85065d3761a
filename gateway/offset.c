/*
 * offset.c - parse and format "<epoch>:<seq>" offsets. Pure.
 */
#include "offset.h"

#include <string.h>

#include "common.h"
#include "strx.h"

bool offset_epoch_valid(const char *s, size_t len)
{
	if (len < 1 || len > OFFSET_EPOCH_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

int offset_parse_seq(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len < 1 || len > 16 || (len > 1 && s[0] == '0'))
		return GW_EBADREQ;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return GW_EBADREQ;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > (uint64_t)GW_MAX_SAFE_INT)
		return GW_EBADREQ;
	*out = v;
	return 0;
}

int offset_parse(const char *s, size_t len, struct offset *out)
{
	const char *colon = memchr(s, ':', len);
	size_t elen;

	if (!colon)
		return GW_EBADREQ;
	elen = (size_t)(colon - s);
	if (!offset_epoch_valid(s, elen))
		return GW_EBADREQ;
	if (offset_parse_seq(colon + 1, len - elen - 1, &out->seq))
		return GW_EBADREQ;
	memcpy(out->epoch, s, elen);
	out->epoch[elen] = '\0';
	return 0;
}

size_t offset_format(const char *epoch, uint64_t seq, char *buf)
{
	char num[STRX_INT_MAX];
	size_t at = 0, n = strx_u64(num, seq);

	strx_cat(buf, OFFSET_STR_MAX, &at, epoch, strlen(epoch));
	strx_cat(buf, OFFSET_STR_MAX, &at, ":", 1);
	strx_cat(buf, OFFSET_STR_MAX, &at, num, n);
	return at;
}

void offset_epoch_from_bytes(const unsigned char *rnd, size_t len, char *buf)
{
	static const char alpha[] = "0123456789abcdefghijklmnopqrstuvwxyz";

	for (size_t i = 0; i < len; i++)
		buf[i] = alpha[rnd[i] % 36];
	buf[len] = '\0';
}

/*
 * fuzz_offset.c - libFuzzer target for offsets "<epoch>:<seq>" (DESIGN.md
 * section 5). offset_parse must agree with a naive reference parser; what
 * parses formats back to exactly the input bytes (one spelling per offset);
 * and the scanner that reads the offset off a stored document agrees.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "doc.h"
#include "offset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static int alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* The contract of offset.h, written out plainly. */
static int reference(const char *s, size_t n, struct offset *out)
{
	size_t colon = 0;
	uint64_t v = 0;

	while (colon < n && s[colon] != ':')
		colon++;
	if (colon == n || colon < 1 || colon > OFFSET_EPOCH_MAX)
		return -1;
	for (size_t i = 0; i < colon; i++)
		if (!alnum(s[i]))
			return -1;
	if (n - colon - 1 < 1 || n - colon - 1 > 16)
		return -1;
	if (s[colon + 1] == '0' && n - colon - 1 > 1)
		return -1;
	for (size_t i = colon + 1; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > (uint64_t)GW_MAX_SAFE_INT)
		return -1;
	memcpy(out->epoch, s, colon);
	out->epoch[colon] = '\0';
	out->seq = v;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct offset got, want;
	int rc = offset_parse(in, size, &got);
	int ref = reference(in, size, &want);

	check((rc == 0) == (ref == 0));
	if (rc == 0) {
		char buf[OFFSET_STR_MAX];
		size_t n;

		check(strcmp(got.epoch, want.epoch) == 0 && got.seq == want.seq);
		check(offset_epoch_valid(got.epoch, strlen(got.epoch)));
		n = offset_format(got.epoch, got.seq, buf);
		check(n == size && memcmp(buf, in, size) == 0);
	} else {
		check(rc == GW_EBADREQ);
	}
	/* the seq parser alone */
	{
		uint64_t v = 12345;
		int src = offset_parse_seq(in, size, &v);
		struct offset tmp;
		char wrapped[64];

		if (size <= 16) {
			wrapped[0] = 'e';
			wrapped[1] = ':';
			memcpy(wrapped + 2, in, size);
			check((src == 0) == (reference(wrapped, size + 2, &tmp) == 0));
			if (src == 0)
				check(v == tmp.seq);
		} else {
			check(src == GW_EBADREQ);
		}
		if (src)
			check(v == 12345);
	}
	/* the stored-document scanner reads the same offset */
	if (size <= 64 && !memchr(in, '"', size)) {
		char doc[96];
		struct offset so;
		size_t n = 0;

		memcpy(doc, "{\"offset\":\"", 11);
		n = 11;
		memcpy(doc + n, in, size);
		n += size;
		memcpy(doc + n, "\"}", 2);
		n += 2;
		rc = doc_stored_offset(doc, n, &so);
		check((rc == 0) == (ref == 0));
		if (rc == 0)
			check(strcmp(so.epoch, want.epoch) == 0 && so.seq == want.seq);
	}
	return 0;
}

/*
 * fuzz_resolution.c - libFuzzer target for what comes back from the
 * outside on the resolver path: resolver answers (resolution_parse) and
 * idempotency records read from Redis (idem_record_parse). Invariants: an
 * accepted answer is exactly {data, deleted} within the limits, its data
 * serialization parses back to the same value and holds no raw newline
 * (pub/sub framing relies on it); a parsed record round-trips through
 * idem_record_head byte for byte.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "idem.h"
#include "resolution.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static void answer(const char *buf, size_t len)
{
	struct doc_limits lim = {256, 16};
	struct resolution_answer a;
	const char *reason = NULL;
	int rc = resolution_parse(buf, len, &lim, &a, &reason);

	if (rc) {
		check(reason != NULL);
		check(a.data == NULL && a.data_json == NULL);
		return;
	}
	if (a.deleted) {
		check(a.data == NULL && a.data_json == NULL);
	} else {
		json_error_t je;
		json_t *back;

		check(a.data != NULL && a.data_json != NULL);
		check(a.data_json_len <= lim.data_max);
		check(strlen(a.data_json) == a.data_json_len);
		check(memchr(a.data_json, '\n', a.data_json_len) == NULL);
		back = json_loadb(a.data_json, a.data_json_len, JSON_DECODE_ANY, &je);
		check(back != NULL && json_equal(back, a.data));
		json_decref(back);
	}
	resolution_answer_release(&a);
}

static void record(const char *buf, size_t len)
{
	struct idem_answer a;
	char fp[IDEM_HEX_LEN + 1];
	struct sbuf sb = SBUF_INIT;

	if (idem_record_parse(buf, len, fp, &a))
		return;
	check(strlen(fp) == IDEM_HEX_LEN);
	idem_record_head(fp, &a, &sb);
	if (a.body)
		sbuf_add(&sb, a.body, a.len);
	check(!sbuf_failed(&sb));
	/* the one spelling of a record: it re-encodes to the same bytes */
	check(sb.len == len && memcmp(sb.buf, buf, len) == 0);
	sbuf_release(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	answer(buf, size);
	record(buf, size);
	free(buf);
	return 0;
}

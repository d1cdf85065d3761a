/*
 * fuzz_jscan.c - libFuzzer target holding the scanner (jscan.h) to
 * jansson's verdict: any input one accepts the other accepts, and the
 * compact copy is the same value. Input: one control byte (the depth cap,
 * 2..33), then the JSON text.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "jscan.h"
#include "jsonx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sbuf out = SBUF_INIT;
	struct gw_error e = {0};
	struct jscan s;
	const char *buf = (const char *)data + 1;
	size_t len;
	int depth, rc;
	json_t *tree;

	if (size < 1)
		return 0;
	depth = 2 + data[0] % 32;
	len = size - 1;
	tree = jsonx_parse(buf, len, depth, NULL);
	jscan_init(&s, buf, len, depth, &e);
	rc = jscan_check(&s);
	jscan_release(&s);
	check((rc == 0) == (tree != NULL));
	if (rc) {
		check(rc == GW_EBADREQ && e.code == rc && e.msg[0] != '\0');
	} else {
		json_t *copy;

		jscan_init(&s, buf, len, depth, NULL);
		check(jscan_value(&s, &out, NULL, NULL) == 0);
		jscan_release(&s);
		check(!sbuf_failed(&out) && out.len <= len);
		copy = json_loadb(out.buf, out.len, JSON_DECODE_ANY, NULL);
		check(copy && json_equal(copy, tree));
		json_decref(copy);
	}
	json_decref(tree);
	sbuf_release(&out);
	return 0;
}

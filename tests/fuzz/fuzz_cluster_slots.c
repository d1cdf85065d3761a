/*
 * fuzz_cluster_slots.c - libFuzzer target for the MOVED/ASK parser and the
 * key slot: a parsed redirect has a slot in range, a port in range and a
 * host that fits; printing it back (IPv6 hosts bracketed) parses to the
 * same; a key's slot equals the slot of its hash tag alone.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_slots.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct cluster_redirect r, again;
	char buf[CLUSTER_HOST_MAX + 64];
	const char *open, *close;
	int slot, n;

	if (cluster_parse_redirect(in, size, &r) == 0) {
		check(r.slot >= 0 && r.slot < CLUSTER_SLOTS);
		check(r.port > 0 && r.port <= 65535);
		check(strlen(r.host) <= CLUSTER_HOST_MAX);
		n = snprintf(buf, sizeof(buf), strchr(r.host, ':') ? "%s %d [%s]:%d"
								    : "%s %d %s:%d",
			     r.kind == CLUSTER_MOVED ? "MOVED" : "ASK", r.slot,
			     r.host, r.port);
		check(n > 0 && (size_t)n < sizeof(buf));
		check(cluster_parse_redirect(buf, (size_t)n, &again) == 0);
		check(again.kind == r.kind && again.slot == r.slot &&
		      again.port == r.port && strcmp(again.host, r.host) == 0);
	}

	slot = cluster_key_slot(in, size);
	check(slot >= 0 && slot < CLUSTER_SLOTS);
	open = memchr(in, '{', size);
	close = open ? memchr(open + 1, '}', size - (size_t)(open - in) - 1) : NULL;
	if (close && close > open + 1)
		check(slot == (cluster_crc16(open + 1, (size_t)(close - open - 1)) & 16383));
	else
		check(slot == (cluster_crc16(in, size) & 16383));
	return 0;
}

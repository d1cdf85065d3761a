/*
 * cluster_slots.c - key slots, the slot map and MOVED/ASK parsing for Redis
 * Cluster (cluster_slots.h). Pure: bytes and structs in, values out; it
 * knows nothing of hiredis, sockets or documents.
 */
#include "cluster_slots.h"

#include <string.h>

#include "common.h"

uint16_t cluster_crc16(const char *buf, size_t len)
{
	uint16_t crc = 0;

	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)((unsigned char)buf[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021)
					     : (uint16_t)(crc << 1);
	}
	return crc;
}

int cluster_key_slot(const char *key, size_t len)
{
	const char *open = memchr(key, '{', len);

	if (open) {
		size_t rest = len - (size_t)(open - key) - 1;
		const char *close = memchr(open + 1, '}', rest);

		if (close && close > open + 1)
			return cluster_crc16(open + 1, (size_t)(close - open - 1)) &
			       (CLUSTER_SLOTS - 1);
	}
	return cluster_crc16(key, len) & (CLUSTER_SLOTS - 1);
}

void cluster_map_init(struct cluster_map *m)
{
	m->nnodes = 0;
	for (size_t i = 0; i < CLUSTER_SLOTS; i++)
		m->slot[i] = -1;
}

static bool node_valid(const char *host, int port)
{
	size_t n = host ? strlen(host) : 0;

	return n > 0 && n <= CLUSTER_HOST_MAX && port > 0 && port <= 65535;
}

static int node_find(const struct cluster_map *m, const char *host, int port)
{
	for (size_t i = 0; i < m->nnodes; i++)
		if (m->nodes[i].port == port && strcmp(m->nodes[i].host, host) == 0)
			return (int)i;
	return -1;
}

int cluster_map_node(struct cluster_map *m, const char *host, int port)
{
	int i;

	if (!node_valid(host, port))
		return GW_EBADREQ;
	if ((i = node_find(m, host, port)) >= 0)
		return i;
	if (m->nnodes >= CLUSTER_NODES_MAX)
		return GW_ENOMEM;
	memcpy(m->nodes[m->nnodes].host, host, strlen(host) + 1);
	m->nodes[m->nnodes].port = port;
	return (int)m->nnodes++;
}

int cluster_map_build(struct cluster_map *m, const struct cluster_range *r,
		      size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (r[k].first < 0 || r[k].last >= CLUSTER_SLOTS ||
		    r[k].first > r[k].last ||
		    !node_valid(r[k].master.host, r[k].master.port))
			return GW_EBADREQ;
	}
	/* every row is valid; now the nodes, then the slots */
	for (size_t k = 0; k < n; k++) {
		int i = cluster_map_node(m, r[k].master.host, r[k].master.port);

		if (i < 0)
			return i;
	}
	for (size_t s = 0; s < CLUSTER_SLOTS; s++)
		m->slot[s] = -1;
	for (size_t k = 0; k < n; k++) {
		int i = node_find(m, r[k].master.host, r[k].master.port);

		for (int s = r[k].first; s <= r[k].last; s++)
			m->slot[s] = (int16_t)i;
	}
	return 0;
}

int cluster_map_move(struct cluster_map *m, int slot, const char *host,
		     int port)
{
	int i;

	if (slot < 0 || slot >= CLUSTER_SLOTS)
		return GW_EBADREQ;
	if ((i = cluster_map_node(m, host, port)) < 0)
		return i;
	m->slot[slot] = (int16_t)i;
	return i;
}

int cluster_map_owner(const struct cluster_map *m, int slot)
{
	if (slot < 0 || slot >= CLUSTER_SLOTS)
		return -1;
	return m->slot[slot];
}

bool cluster_map_complete(const struct cluster_map *m)
{
	for (size_t s = 0; s < CLUSTER_SLOTS; s++)
		if (m->slot[s] < 0)
			return false;
	return true;
}

size_t cluster_map_slots_of(const struct cluster_map *m, int i)
{
	size_t n = 0;

	for (size_t s = 0; s < CLUSTER_SLOTS; s++)
		n += m->slot[s] == i;
	return n;
}

/* A decimal number of 1..5 digits in s[0..len), value <= max. */
static int parse_num(const char *s, size_t len, int max)
{
	int v = 0;

	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

int cluster_parse_redirect(const char *s, size_t len,
			   struct cluster_redirect *out)
{
	const char *p = s, *end = s + len, *sp, *colon, *host;
	size_t hlen;

	if (len > 6 && memcmp(s, "MOVED ", 6) == 0) {
		out->kind = CLUSTER_MOVED;
		p += 6;
	} else if (len > 4 && memcmp(s, "ASK ", 4) == 0) {
		out->kind = CLUSTER_ASK;
		p += 4;
	} else {
		return GW_EBADREQ;
	}
	sp = memchr(p, ' ', (size_t)(end - p));
	if (!sp || (out->slot = parse_num(p, (size_t)(sp - p), CLUSTER_SLOTS - 1)) < 0)
		return GW_EBADREQ;
	host = sp + 1;
	/* the port follows the last ':' */
	for (colon = end; colon > host && colon[-1] != ':'; colon--)
		;
	if (colon == host)
		return GW_EBADREQ; /* no ':' at all */
	if ((out->port = parse_num(colon, (size_t)(end - colon), 65535)) <= 0)
		return GW_EBADREQ;
	hlen = (size_t)(colon - 1 - host);
	if (hlen >= 2 && host[0] == '[') {
		if (host[hlen - 1] != ']')
			return GW_EBADREQ;
		host++;
		hlen -= 2;
		if (hlen == 0)
			return GW_EBADREQ;
	}
	if (hlen > CLUSTER_HOST_MAX)
		return GW_EBADREQ;
	for (size_t i = 0; i < hlen; i++) {
		unsigned char ch = (unsigned char)host[i];

		/* letters, digits, '.', '-', '_' and ':' (IPv6), '%' (zone) */
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
		      ch == '_' || ch == ':' || ch == '%'))
			return GW_EBADREQ;
	}
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	return 0;
}

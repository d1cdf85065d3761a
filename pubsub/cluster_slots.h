/*
 * cluster_slots.h - Redis Cluster key slots, the slot map and redirect
 * errors, as plain values: CRC16 (XMODEM) of a key or of its hash tag mod
 * 16384; a table of 16384 slots -> node index built from a CLUSTER SLOTS
 * answer the adapter has decoded into struct cluster_range rows; and the
 * parser of "MOVED <slot> <host>:<port>" / "ASK <slot> <host>:<port>".
 * Pure: no library header, no I/O; any thread (a map is the caller's).
 */
#ifndef SG_CLUSTER_SLOTS_H
#define SG_CLUSTER_SLOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLUSTER_SLOTS 16384
#define CLUSTER_HOST_MAX 255  /* a DNS name at most; IPv6 text fits */
#define CLUSTER_NODES_MAX 64  /* nodes one map may name (ever) */

/* CRC16-CCITT (XMODEM: poly 0x1021, init 0, no reflection) of buf[0..len). */
uint16_t cluster_crc16(const char *buf, size_t len);

/*
 * The slot (0..16383) of key[0..len): CRC16 of the hash tag when the key
 * has one (the bytes between its first '{' and the first '}' after it,
 * if there are any), else of the whole key.
 */
int cluster_key_slot(const char *key, size_t len);

struct cluster_node {
	char host[CLUSTER_HOST_MAX + 1]; /* as Redis gives it; IPv6 unbracketed */
	int port;
};

/* One row of CLUSTER SLOTS: slots first..last served by master. */
struct cluster_range {
	int first, last;
	struct cluster_node master;
};

/*
 * Slot -> node. Nodes are only ever appended, so an index stays the same
 * node for the map's life (the adapter keeps one connection per index).
 */
struct cluster_map {
	size_t nnodes;
	struct cluster_node nodes[CLUSTER_NODES_MAX];
	int16_t slot[CLUSTER_SLOTS]; /* node index, -1: no owner known */
};

/* Empties m: no nodes, no slot owned. */
void cluster_map_init(struct cluster_map *m);

/* The index of host:port in m, appended if new. GW_EBADREQ for a bad
 * host (empty, too long) or port (1..65535), GW_ENOMEM when m is full. */
int cluster_map_node(struct cluster_map *m, const char *host, int port);

/*
 * Replaces every slot's owner with the n rows of r (slots no row names
 * become -1). Validates everything first: a row with first > last, a slot
 * outside 0..16383, or a bad node makes it return GW_EBADREQ and leave m
 * unchanged; GW_ENOMEM (m unchanged but for nodes added) when the rows
 * name more nodes than fit. 0 otherwise.
 */
int cluster_map_build(struct cluster_map *m, const struct cluster_range *r,
		      size_t n);

/* A MOVED: slot now belongs to host:port. Returns its node index, or an
 * error as cluster_map_node does (GW_EBADREQ also for a bad slot). */
int cluster_map_move(struct cluster_map *m, int slot, const char *host,
		     int port);

/* The node index owning slot, or -1 (none known, or slot out of range). */
int cluster_map_owner(const struct cluster_map *m, int slot);

/* Every slot has an owner. */
bool cluster_map_complete(const struct cluster_map *m);

/* Slots owned by node index i. */
size_t cluster_map_slots_of(const struct cluster_map *m, int i);

enum cluster_redirect_kind { CLUSTER_MOVED, CLUSTER_ASK };

struct cluster_redirect {
	enum cluster_redirect_kind kind;
	int slot;
	char host[CLUSTER_HOST_MAX + 1]; /* "" : the host the error came from */
	int port;
};

/*
 * Parses an error reply's text s[0..len): "MOVED <slot> <endpoint>" or
 * "ASK <slot> <endpoint>", single spaces, nothing after. The endpoint is
 * host:port, the port after the last ':' so that an unbracketed IPv6
 * address works ("::1:7000"), or [ipv6]:port; an empty host (":7000")
 * means the node the error came from. slot 0..16383, port 1..65535, digits
 * only. Returns 0 and fills *out, or GW_EBADREQ (*out undefined) for
 * anything else, including the unknown endpoint "?".
 */
int cluster_parse_redirect(const char *s, size_t len,
			   struct cluster_redirect *out);

#endif

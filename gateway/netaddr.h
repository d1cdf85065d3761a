/*
 * netaddr.h - client addresses: IPv4/IPv6 networks (CIDR) of trusted
 * proxies, and the address a request comes from when it passed through
 * them (X-Forwarded-For). Pure: text in, text out.
 */
#ifndef SG_NETADDR_H
#define SG_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define NETADDR_STR_MAX 46 /* INET6_ADDRSTRLEN */

struct netaddr_net {
	int family;          /* 4 or 6 */
	unsigned char a[16]; /* network bytes (4 used for IPv4) */
	int bits;            /* prefix length */
};

struct netaddr_set {
	struct netaddr_net *nets; /* owned */
	size_t n;
};

/*
 * Parses a comma-separated list of addresses and networks ("10.0.0.0/8,
 * 127.0.0.1, ::1, fd00::/8"); "" is the empty set. Returns 0, or
 * GW_EBADREQ naming the bad entry, or GW_ENOMEM.
 */
int netaddr_set_parse(const char *list, struct netaddr_set *out,
		      struct gw_error *err);
void netaddr_set_release(struct netaddr_set *s);

struct sockaddr;

/* The text of a socket address (IPv4 or IPv6) into out (NETADDR_STR_MAX +
 * 1 bytes); false, with out "", for any other family or NULL. */
bool netaddr_text(const struct sockaddr *addr, char *out);

/* Whether addr (text; IPv4-mapped IPv6 counts as IPv4) is in s. */
bool netaddr_in(const struct netaddr_set *s, const char *addr);

/*
 * The address a request comes from: peer, or, when peer is a trusted
 * proxy and xff (X-Forwarded-For, may be NULL) names addresses, the
 * rightmost one that is not a trusted proxy (what the nearest proxy
 * saw; anything left of it the client may have written). Copies it into
 * out (NETADDR_STR_MAX + 1 bytes), normalized.
 */
void netaddr_client(const struct netaddr_set *trusted, const char *peer,
		    const char *xff, char *out);

#endif

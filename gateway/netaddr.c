/*
 * netaddr.c - trusted proxy networks and X-Forwarded-For (netaddr.h).
 * Depends on libc only (inet_pton/inet_ntop).
 */
#include "netaddr.h"
#include "strx.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* addr as family and bytes; IPv4-mapped IPv6 becomes IPv4. */
static bool parse_addr(const char *s, size_t len, int *family,
		       unsigned char *a)
{
	char buf[NETADDR_STR_MAX + 1];
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
						 0xff, 0xff};

	if (len == 0 || len > NETADDR_STR_MAX)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, a) == 1) {
		*family = 4;
		return true;
	}
	if (inet_pton(AF_INET6, buf, a) != 1)
		return false;
	if (memcmp(a, mapped, 12) == 0) {
		memmove(a, a + 12, 4);
		*family = 4;
	} else {
		*family = 6;
	}
	return true;
}

static const char *trim(const char *s, const char *end, size_t *len)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*len = (size_t)(end - s);
	return s;
}

int netaddr_set_parse(const char *list, struct netaddr_set *out,
		      struct gw_error *err)
{
	const char *p = list ? list : "";

	memset(out, 0, sizeof(*out));
	while (*p) {
		const char *end = strchr(p, ',');
		const char *e, *slash;
		struct netaddr_net net;
		struct netaddr_net *grown;
		size_t len;

		if (!end)
			end = p + strlen(p);
		e = trim(p, end, &len);
		p = *end ? end + 1 : end;
		if (!len)
			continue;
		memset(&net, 0, sizeof(net));
		slash = memchr(e, '/', len);
		if (!parse_addr(e, slash ? (size_t)(slash - e) : len, &net.family,
				net.a))
			goto bad;
		net.bits = net.family == 4 ? 32 : 128;
		if (slash) {
			char *stop;
			long bits = strtol(slash + 1, &stop, 10);

			if (stop != e + len || stop == slash + 1 || bits < 0 ||
			    bits > net.bits)
				goto bad;
			net.bits = (int)bits;
		}
		grown = realloc(out->nets, (out->n + 1) * sizeof(*grown));
		if (!grown) {
			netaddr_set_release(out);
			return gw_fail(err, GW_ENOMEM, "out of memory");
		}
		out->nets = grown;
		out->nets[out->n++] = net;
		continue;
bad:
		netaddr_set_release(out);
		return gw_fail(err, GW_EBADREQ,
			       "\"%.*s\" is not an IP address or network (a.b.c.d/n)",
			       (int)(len > 64 ? 64 : len), e);
	}
	return 0;
}

void netaddr_set_release(struct netaddr_set *s)
{
	free(s->nets);
	memset(s, 0, sizeof(*s));
}

static bool net_has(const struct netaddr_net *n, int family,
		    const unsigned char *a)
{
	int full = n->bits / 8, rest = n->bits % 8;

	if (n->family != family || memcmp(n->a, a, (size_t)full) != 0)
		return false;
	if (!rest)
		return true;
	return ((n->a[full] ^ a[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static bool in_set(const struct netaddr_set *s, int family,
		   const unsigned char *a)
{
	for (size_t i = 0; i < s->n; i++)
		if (net_has(&s->nets[i], family, a))
			return true;
	return false;
}

bool netaddr_in(const struct netaddr_set *s, const char *addr)
{
	unsigned char a[16];
	int family;

	return addr && parse_addr(addr, strlen(addr), &family, a) &&
	       in_set(s, family, a);
}

bool netaddr_text(const struct sockaddr *addr, char *out)
{
	const void *a;

	out[0] = '\0';
	if (!addr)
		return false;
	if (addr->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)addr)->sin_addr;
	else if (addr->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr;
	else
		return false;
	return inet_ntop(addr->sa_family, a, out, NETADDR_STR_MAX + 1) != NULL;
}

static void format(int family, const unsigned char *a, char *out)
{
	if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, a, out,
		       NETADDR_STR_MAX + 1))
		out[0] = '\0';
}

void netaddr_client(const struct netaddr_set *trusted, const char *peer,
		    const char *xff, char *out)
{
	unsigned char a[16];
	int family;
	const char *end;

	if (!peer || !parse_addr(peer, strlen(peer), &family, a)) {
		strx_copy(out, NETADDR_STR_MAX + 1, peer ? peer : "");
		return;
	}
	format(family, a, out);
	if (!xff || !in_set(trusted, family, a))
		return;
	/* right to left: each trusted hop vouches for the one before it */
	end = xff + strlen(xff);
	while (end > xff) {
		const char *start = end, *e;
		size_t len;
		unsigned char b[16];
		int fb;

		while (start > xff && start[-1] != ',')
			start--;
		e = trim(start, end, &len);
		end = start > xff ? start - 1 : xff;
		if (!len)
			continue;
		if (!parse_addr(e, len, &fb, b))
			return; /* garbage: keep the last address vouched for */
		format(fb, b, out);
		if (!in_set(trusted, fb, b))
			return;
	}
}

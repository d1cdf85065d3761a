/*
 * config_redis.c - redis_url: redis://[[user]:password@]host[:port][/db]
 * for one Redis, redis+cluster://[[user]:password@]host:port[,host:port...]
 * for the seeds of a Redis Cluster (config_parse_redis_url, config.h).
 * Pure: libc only.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

/* The seed list of a redis+cluster:// URL: host:port[,host:port...], each
 * with its port (IPv6: [addr]:port); cfg keeps it without brackets and
 * redis_host/redis_port name the first seed. */
static int parse_cluster_seeds(struct config *c, const char *p,
			       struct gw_error *err)
{
	struct sbuf sb = SBUF_INIT;
	char first[256] = "";
	long first_port = 0;

	while (*p) {
		const char *end = strchr(p, ','), *colon, *h = p;
		size_t n = end ? (size_t)(end - p) : strlen(p), hl;
		char *e;
		long port;

		for (colon = p + n; colon > p && colon[-1] != ':'; colon--)
			;
		if (colon == p) {
			sbuf_release(&sb);
			return gw_fail(err, GW_EBADREQ,
				       "redis_url: each cluster seed needs host:port");
		}
		hl = (size_t)(colon - 1 - p);
		if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
			h++;
			hl -= 2;
		}
		port = strtol(colon, &e, 10);
		if (e == colon || e != p + n || port < 1 || port > 65535) {
			sbuf_release(&sb);
			return gw_fail(err, GW_EBADREQ, "redis_url: bad port");
		}
		if (hl == 0 || hl >= sizeof(first) || memchr(h, '/', hl) ||
		    memchr(h, '[', hl) || memchr(h, ']', hl)) {
			sbuf_release(&sb);
			return gw_fail(err, GW_EBADREQ, "redis_url: bad cluster seed host");
		}
		if (!first[0]) {
			memcpy(first, h, hl);
			first[hl] = '\0';
			first_port = port;
		}
		sbuf_addf(&sb, "%s%.*s:%ld", sb.len ? "," : "", (int)hl, h, port);
		p += n;
		if (*p == ',' && !*++p) {
			sbuf_release(&sb);
			return gw_fail(err, GW_EBADREQ, "redis_url: empty cluster seed");
		}
	}
	if (!first[0]) {
		sbuf_release(&sb);
		return gw_fail(err, GW_EBADREQ, "redis_url: no cluster seed");
	}
	free(c->redis_host);
	c->redis_host = strdup(first);
	c->redis_cluster_seeds = sbuf_failed(&sb) ? NULL : sbuf_detach(&sb, NULL);
	sbuf_release(&sb);
	if (!c->redis_host || !c->redis_cluster_seeds)
		return gw_fail(err, GW_ENOMEM, "out of memory");
	c->redis_port = (int)first_port;
	c->redis_db = 0;
	return 0;
}

int config_parse_redis_url(struct config *c, const char *url,
			   struct gw_error *err)
{
	const char *p = url, *at, *slash, *colon;
	char host[256] = "127.0.0.1";
	char *end;
	long port = 6379, db = 0;

	bool cluster = strncmp(p, "redis+cluster://", 16) == 0;

	if (!cluster && strncmp(p, "redis://", 8) != 0)
		return gw_fail(err, GW_EBADREQ,
			       "redis_url must look like redis://[:password@]host:port[/db] "
			       "or redis+cluster://[:password@]host:port[,host:port...]");
	p += cluster ? 16 : 8;
	free(c->redis_cluster_seeds);
	c->redis_cluster_seeds = NULL;
	free(c->redis_password);
	c->redis_password = NULL;
	at = strrchr(p, '@');
	free(c->redis_user);
	c->redis_user = NULL;
	if (at) {
		/* [user]:password@ - a userinfo without ':' is ambiguous */
		const char *pw = memchr(p, ':', (size_t)(at - p));

		if (!pw || (pw > p && at == pw + 1) ||
		    strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") <
			    (size_t)(pw - p))
			return gw_fail(err, GW_EBADREQ,
				       "redis_url: credentials must be :password@ or user:password@");
		if ((at > pw + 1 &&
		     !(c->redis_password = strndup(pw + 1, (size_t)(at - pw - 1)))) ||
		    (pw > p && !(c->redis_user = strndup(p, (size_t)(pw - p)))))
			return gw_fail(err, GW_ENOMEM, "out of memory");
		p = at + 1;
	}
	if (cluster)
		return parse_cluster_seeds(c, p, err);
	slash = strchr(p, '/');
	colon = memchr(p, ':', slash ? (size_t)(slash - p) : strlen(p));
	{
		size_t hlen = colon ? (size_t)(colon - p)
				    : (slash ? (size_t)(slash - p) : strlen(p));

		if (hlen >= sizeof(host))
			return gw_fail(err, GW_EBADREQ, "redis_url: host too long");
		if (hlen) {
			memcpy(host, p, hlen);
			host[hlen] = '\0';
		}
	}
	if (colon) {
		port = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || (*end && *end != '/') || port < 1 || port > 65535)
			return gw_fail(err, GW_EBADREQ, "redis_url: bad port");
	}
	if (slash && slash[1]) {
		db = strtol(slash + 1, &end, 10);
		if (*end || db < 0 || db > 1000)
			return gw_fail(err, GW_EBADREQ, "redis_url: bad database number");
	}
	free(c->redis_host);
	if (!(c->redis_host = strdup(host)))
		return gw_fail(err, GW_ENOMEM, "out of memory");
	c->redis_port = (int)port;
	c->redis_db = (int)db;
	return 0;
}

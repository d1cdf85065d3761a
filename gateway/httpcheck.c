/*
 * httpcheck.c - the REST listener's hardening rules (request shapes,
 * percent-decoding, static paths and types, the public Host), kept apart
 * from the HTTP library so that unit tests call them directly. Must not
 * depend on libmicrohttpd, libuv or sockets: libc only.
 */
#include "httpcheck.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "hex.h"

#define PATH_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/"
#define HOST_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]"

void httpcheck_count(struct httpcheck_counts *c, const char *name)
{
	if (strcasecmp(name, "Content-Length") == 0)
		c->content_length++;
	if (strcasecmp(name, "Transfer-Encoding") == 0)
		c->transfer_encoding++;
	if (strcasecmp(name, "Host") == 0)
		c->host++;
	c->fields++;
}

int httpcheck_headers(const struct httpcheck_counts *c, const char *version,
		      const char **why)
{
	if (c->fields > HTTPCHECK_FIELDS_MAX) {
		*why = "too many header fields";
		return GW_EHEADERS;
	}
	if (c->content_length && c->transfer_encoding) {
		*why = "both Content-Length and Transfer-Encoding";
		return GW_EBADREQ;
	}
	if (c->content_length > 1) {
		*why = "more than one Content-Length";
		return GW_EBADREQ;
	}
	if (c->host > 1 || (c->host == 0 && strcmp(version, "HTTP/1.1") == 0)) {
		*why = "exactly one Host header is required";
		return GW_EBADREQ;
	}
	return 0;
}

size_t httpcheck_unescape(char *s)
{
	char *w = s;
	const char *r = s;

	while (*r) {
		int hi, lo;

		if (r[0] == '%' && (hi = hex_digit(r[1])) >= 0 && (lo = hex_digit(r[2])) >= 0 &&
		    (hi | lo) != 0) {
			*w++ = (char)(hi * 16 + lo);
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

bool httpcheck_static_path(const char *url)
{
	size_t n = strlen(url);

	/* it must start with '/': the path is appended to web_root, and
	 * "secret.txt" would name "<web_root>secret.txt" beside it */
	if (url[0] != '/' || strstr(url, "..") || n > HTTPCHECK_PATH_MAX ||
	    strspn(url, PATH_CHARS) != n)
		return false;
	/* no component starting with '.' (.env, .git, .htpasswd), but for
	 * the one meant to be public */
	for (const char *p = strstr(url, "/."); p; p = strstr(p + 1, "/."))
		if (strncmp(p, "/.well-known/", 13) != 0)
			return false;
	return true;
}

bool httpcheck_origin_listed(const char *list, const char *origin)
{
	size_t n;

	if (!list || !origin || !*origin)
		return false;
	n = strlen(origin);
	while (*list) {
		const char *end = strchr(list, ','), *a = list, *b;

		if (!end)
			end = list + strlen(list);
		b = end;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if ((size_t)(b - a) == n && memcmp(a, origin, n) == 0)
			return true;
		list = *end ? end + 1 : end;
	}
	return false;
}

const char *httpcheck_mime_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".mjs", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".json", "application/json"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
		{".ico", "image/x-icon"},
		{".txt", "text/plain; charset=utf-8"},
	};
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < GW_ARRAY_LEN(types); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

void httpcheck_etag(uint64_t size, uint64_t mtime_ns, char *out)
{
	snprintf(out, HTTPCHECK_ETAG_MAX, "W/\"%" PRIx64 "-%" PRIx64 "\"", size,
		 mtime_ns);
}

/* The opaque tag of *p ("W/" skipped): its start and length, *p moved past
 * it; false when *p holds no well-formed tag (RFC 9110 8.8.3). */
static bool next_tag(const char **p, const char **tag, size_t *len)
{
	const char *s = *p, *end;

	if (strncmp(s, "W/", 2) == 0)
		s += 2;
	if (*s != '"' || !(end = strchr(s + 1, '"')))
		return false;
	*tag = s;
	*len = (size_t)(end + 1 - s);
	*p = end + 1;
	return true;
}

bool httpcheck_etag_matches(const char *inm, const char *etag)
{
	const char *mine, *p = etag, *tag;
	size_t mlen, len;

	if (!inm || !next_tag(&p, &mine, &mlen))
		return false;
	p = inm;
	for (;;) {
		p += strspn(p, " \t,");
		if (!*p)
			return false;
		if (*p == '*')
			return true;
		if (!next_tag(&p, &tag, &len))
			return false;
		if (len == mlen && memcmp(tag, mine, len) == 0)
			return true;
		if (*p && *p != ',' && *p != ' ' && *p != '\t')
			return false;
	}
}

void httpcheck_public_host(const char *host, char *out)
{
	size_t n = host ? strlen(host) : 0;
	char *colon;

	if (!host || n > HTTPCHECK_HOST_MAX || strspn(host, HOST_CHARS) != n) {
		memcpy(out, HTTPCHECK_HOST_DEFAULT, sizeof(HTTPCHECK_HOST_DEFAULT));
		return;
	}
	memcpy(out, host, n + 1);
	/* "host:port" and "[v6]:port" lose the port; "[v6]" keeps its colons */
	colon = strrchr(out, ':');
	if (colon && !strchr(colon, ']'))
		*colon = '\0';
}

/*
 * httpcheck.h - the hardening rules of the REST listener as pure functions
 * over strings (operations.md "What the gateway enforces"): request shapes
 * that smuggle or flood, percent-decoding that never yields a NUL, which
 * paths may name a static file, its type and weak ETag (and If-None-Match
 * against it), and the Host value that may go into a ws:// URL. No HTTP
 * library, no sockets, no allocation; any thread.
 */
#ifndef SG_HTTPCHECK_H
#define SG_HTTPCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTPCHECK_FIELDS_MAX 100    /* header fields; more: GW_EHEADERS */
#define HTTPCHECK_PATH_MAX 200      /* longest static-file path */
#define HTTPCHECK_HOST_MAX 255      /* longest Host value used as is */
#define HTTPCHECK_HOST_DEFAULT "127.0.0.1"
#define HTTPCHECK_ETAG_MAX 38       /* W/"<16 hex>-<16 hex>" and a NUL */

/* Header fields of one request, as httpcheck_count saw them. */
struct httpcheck_counts {
	unsigned fields;            /* all of them */
	unsigned content_length;
	unsigned transfer_encoding;
	unsigned host;
};

/* Counts one header field named name (compared case-insensitively) into
 * c, which starts zeroed. */
void httpcheck_count(struct httpcheck_counts *c, const char *name);

/*
 * Refuses requests whose length or target is ambiguous, before any of the
 * body is read (request smuggling shapes, RFC 9112 6.1/6.3, 3.2). Returns
 * 0; GW_EHEADERS for more than HTTPCHECK_FIELDS_MAX fields; GW_EBADREQ for
 * both Content-Length and Transfer-Encoding, several Content-Lengths, or
 * several Hosts or (when version is "HTTP/1.1") none. On an error *why is
 * set to a static reason; on 0 it is left alone.
 */
int httpcheck_headers(const struct httpcheck_counts *c, const char *version,
		      const char **why);

/*
 * Percent-decodes the NUL-terminated s in place and returns its new length.
 * "%00" stays as it is: a decoded NUL would cut names and values short in
 * C strings ("docs/a%00" must not address "docs/a"); kept literal, the '%'
 * fails name validation instead. Malformed escapes ("%4", "%zz") stay too.
 */
size_t httpcheck_unescape(char *s);

/*
 * Whether url (a decoded request path) may name a file under the web root:
 * a '/' first, at most HTTPCHECK_PATH_MAX bytes of [A-Za-z0-9._/-] and no
 * "..".
 */
bool httpcheck_static_path(const char *url);

/* Whether origin is one of the comma-separated list (exact, whitespace
 * around entries ignored; "" lists none). */
bool httpcheck_origin_listed(const char *list, const char *origin);

/* The Content-Type for path by its extension; application/octet-stream
 * for any other. Returns a static string. */
const char *httpcheck_mime_type(const char *path);

/*
 * The weak ETag of a static file, W/"<size hex>-<mtime ns hex>" (lower
 * case, no leading zeros), written into out (HTTPCHECK_ETAG_MAX bytes).
 * Weak: two files of the same size and mtime may differ in bytes.
 */
void httpcheck_etag(uint64_t size, uint64_t mtime_ns, char *out);

/*
 * Whether an If-None-Match value (NULL when absent) matches etag, by the
 * weak comparison of RFC 9110 13.1.2 (a "W/" on either side is ignored):
 * "*" matches any, else one of the comma-separated entity-tags must equal
 * etag's opaque tag. A malformed member ends the list: what follows it
 * does not match.
 */
bool httpcheck_etag_matches(const char *if_none_match, const char *etag);

/*
 * The host part of a Host header value for a URL we hand out: host (NULL
 * when absent) without its ":port" when it is at most HTTPCHECK_HOST_MAX
 * bytes of [A-Za-z0-9.:[]-], else HTTPCHECK_HOST_DEFAULT. Writes it into
 * out, which has room for HTTPCHECK_HOST_MAX + 1 bytes.
 */
void httpcheck_public_host(const char *host, char *out);

#endif

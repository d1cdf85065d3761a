/*
 * test_httpcheck.c - the REST listener's hardening rules, without a
 * socket: the request shapes refused before a body is read (smuggling,
 * header floods), percent-decoding that never produces a NUL or decodes
 * twice, which paths may name a static file, file types, and the Host
 * value allowed into the ws:// URL of /v1/info.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common.h"
#include "httpcheck.h"

#define H16 "hhhhhhhhhhhhhhhh"
#define H255 H16 H16 H16 H16 H16 H16 H16 H16 H16 H16 H16 H16 H16 H16 H16 \
	"hhhhhhhhhhhhhhh"
#define P16 "/ppppppppppppppp"
#define P200 P16 P16 P16 P16 P16 P16 P16 P16 P16 P16 P16 P16 "/ppppppp"

/* ---- request shapes ------------------------------------------------------ */

static void test_headers_table(void **state)
{
	static const struct {
		struct httpcheck_counts c; /* fields, content_length, transfer_encoding, host */
		const char *version;
		int err;
		const char *why;
	} rows[] = {
		{{1, 0, 0, 1}, "HTTP/1.1", 0, NULL},
		{{3, 1, 0, 1}, "HTTP/1.1", 0, NULL},
		{{3, 0, 1, 1}, "HTTP/1.1", 0, NULL},
		{{3, 0, 2, 1}, "HTTP/1.1", 0, NULL}, /* MHD parses a TE list */
		{{HTTPCHECK_FIELDS_MAX, 1, 0, 1}, "HTTP/1.1", 0, NULL},
		{{HTTPCHECK_FIELDS_MAX + 1, 1, 0, 1}, "HTTP/1.1", GW_EHEADERS, "too many header fields"},
		/* the flood is reported first, whatever else is wrong */
		{{HTTPCHECK_FIELDS_MAX + 1, 2, 1, 0}, "HTTP/1.1", GW_EHEADERS, "too many header fields"},
		{{3, 1, 1, 1}, "HTTP/1.1", GW_EBADREQ, "both Content-Length and Transfer-Encoding"},
		{{4, 2, 1, 1}, "HTTP/1.1", GW_EBADREQ, "both Content-Length and Transfer-Encoding"},
		{{3, 2, 0, 1}, "HTTP/1.1", GW_EBADREQ, "more than one Content-Length"},
		{{0, 0, 0, 0}, "HTTP/1.1", GW_EBADREQ, "exactly one Host header is required"},
		{{2, 0, 0, 2}, "HTTP/1.1", GW_EBADREQ, "exactly one Host header is required"},
		{{0, 0, 0, 0}, "HTTP/1.0", 0, NULL}, /* HTTP/1.0 need not send one */
		{{2, 0, 0, 2}, "HTTP/1.0", GW_EBADREQ, "exactly one Host header is required"},
		{{2, 1, 0, 1}, "HTTP/1.0", 0, NULL},
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		const char *why = "untouched";
		int err = httpcheck_headers(&rows[i].c, rows[i].version, &why);

		if (err != rows[i].err)
			fail_msg("row %zu: %s, want %s", i, gw_err_name(err),
				 gw_err_name(rows[i].err));
		assert_string_equal(why, rows[i].why ? rows[i].why : "untouched");
	}
	/* the wire: 431 and 400, and 431 says what it is */
	assert_int_equal(gw_err_http(GW_EHEADERS), 431);
	assert_string_equal(gw_err_code(GW_EHEADERS), "request_header_fields_too_large");
}

static void test_count(void **state)
{
	static const char *const names[] = {
		"Host", "host", "HOST", "Content-Length", "content-length",
		"Transfer-Encoding", "TRANSFER-ENCODING", "X-Host", "Hostname",
		"Content-Length2", "Content-Type", "Transfer", "",
	};
	struct httpcheck_counts c = {0, 0, 0, 0};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(names); i++)
		httpcheck_count(&c, names[i]);
	assert_int_equal(c.fields, GW_ARRAY_LEN(names));
	assert_int_equal(c.host, 3);
	assert_int_equal(c.content_length, 2);
	assert_int_equal(c.transfer_encoding, 2);
}

/* A request of n fields with one Host: the boundary where 431 starts. */
static void test_count_then_check(void **state)
{
	(void)state;
	for (unsigned n = HTTPCHECK_FIELDS_MAX - 1; n <= HTTPCHECK_FIELDS_MAX + 1; n++) {
		struct httpcheck_counts c = {0, 0, 0, 0};
		const char *why = NULL;

		httpcheck_count(&c, "Host");
		for (unsigned i = 1; i < n; i++)
			httpcheck_count(&c, "X-Pad");
		assert_int_equal(httpcheck_headers(&c, "HTTP/1.1", &why),
				 n > HTTPCHECK_FIELDS_MAX ? GW_EHEADERS : 0);
	}
}

/* ---- percent-decoding ---------------------------------------------------- */

static void test_unescape_table(void **state)
{
	static const struct {
		const char *in, *out;
	} rows[] = {
		{"", ""},
		{"abc", "abc"},
		{"/v1/collections/c/docs/a", "/v1/collections/c/docs/a"},
		{"%41", "A"},
		{"%4a%4A", "JJ"},
		{"a%20b", "a b"},
		{"%2F", "/"},
		{"%2e%2e", ".."},
		{"%ff", "\xff"},
		{"%0a", "\n"},
		{"%01", "\x01"},
		{"%10", "\x10"},
		/* a NUL is never produced */
		{"%00", "%00"},
		{"a%00b", "a%00b"},
		{"docs/a%00", "docs/a%00"},
		{"%00%41", "%00A"},
		/* one pass: a decoded '%' does not start another escape */
		{"%2500", "%00"},
		{"%2541", "%41"},
		/* malformed escapes stay literal */
		{"%", "%"},
		{"%4", "%4"},
		{"%0", "%0"},
		{"a%", "a%"},
		{"%zz", "%zz"},
		{"%4g", "%4g"},
		{"%g4", "%g4"},
		{"%%41", "%A"},
		{"%-1", "%-1"},
		{"+", "+"}, /* no form decoding */
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		char buf[64];
		size_t n;

		snprintf(buf, sizeof(buf), "%s", rows[i].in);
		n = httpcheck_unescape(buf);
		if (strcmp(buf, rows[i].out) != 0)
			fail_msg("row %zu \"%s\": got \"%s\"", i, rows[i].in, buf);
		assert_int_equal(n, strlen(rows[i].out));
	}
}

/* Every two-digit escape: only %00 is kept, every other byte decodes. */
static void test_unescape_every_byte(void **state)
{
	(void)state;
	for (int b = 0; b < 256; b++) {
		char buf[8];
		size_t n;

		snprintf(buf, sizeof(buf), "%%%02x", b);
		n = httpcheck_unescape(buf);
		if (b == 0) {
			assert_int_equal(n, 3);
			assert_string_equal(buf, "%00");
		} else {
			assert_int_equal(n, 1);
			assert_int_equal((unsigned char)buf[0], b);
			assert_int_equal(buf[1], '\0');
		}
	}
}

/* ---- static files ---------------------------------------------------------- */

static void test_static_path_table(void **state)
{
	static const struct {
		const char *url;
		bool ok;
	} rows[] = {
		{"/", true},
		{"/index.html", true},
		{"/syncgate.js", true},
		{"/a/b-c_d.v2.js", true},
		{"/.well-known/x", true},
		{"/.env", false},           /* dotfiles and dot-folders */
		{"/.git/config", false},
		{"/a/.htpasswd", false},
		{"/.well-known", false},
		{"/a/.well-known/x", true},
		{"/.well-known/.x", false},
		{"//", true},
		{P200, true},
		{P200 "p", false},
		{"/..", false},
		{"/../etc/passwd", false},
		{"/a/../b", false},
		{"/a..b", false},
		{"/...", false},
		{"/a b", false},
		{"/a%20b", false},
		{"/a~b", false},
		{"/a?b", false},
		{"/a#b", false},
		{"/a\\b", false},
		{"/a:b", false},
		{"/a\tb", false},
		{"/caf\xc3\xa9", false},
		{"*", false},
		{"http://x/", false},
		{"secret.txt", false}, /* would be <web_root>secret.txt, beside it */
		{"index.html", false},
		{"", false},
	};

	(void)state;
	assert_int_equal(strlen(P200), HTTPCHECK_PATH_MAX);
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++)
		if (httpcheck_static_path(rows[i].url) != rows[i].ok)
			fail_msg("row %zu \"%s\": want %s", i, rows[i].url,
				 rows[i].ok ? "allowed" : "refused");
}

/* What MHD hands the router is the path after httpcheck_unescape: encoded
 * dots and slashes decode first and meet the same rule. */
static void test_static_path_after_unescape(void **state)
{
	static const struct {
		const char *raw;
		bool ok;
	} rows[] = {
		{"/%2e%2e/etc/passwd", false},
		{"/%2E%2E/etc/passwd", false},
		{"/.%2e/x", false},
		{"/%2e./x", false},
		{"/a/%2e%2e%2fb", false},
		{"/..%2fetc%2fpasswd", false},
		{"/%252e%252e/x", false}, /* decoded once: "%2e%2e", '%' refused */
		{"/%00/x", false},
		{"/a%2fb.js", true},      /* "/a/b.js": a path like any other */
		{"/%69ndex.html", true},
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		char buf[64];

		snprintf(buf, sizeof(buf), "%s", rows[i].raw);
		httpcheck_unescape(buf);
		if (httpcheck_static_path(buf) != rows[i].ok)
			fail_msg("row %zu \"%s\" -> \"%s\": want %s", i, rows[i].raw,
				 buf, rows[i].ok ? "allowed" : "refused");
	}
}

static void test_etag(void **state)
{
	char e[HTTPCHECK_ETAG_MAX];

	(void)state;
	httpcheck_etag(0x1597, 0x18ed42d9f7d4b00fULL, e);
	assert_string_equal(e, "W/\"1597-18ed42d9f7d4b00f\"");
	httpcheck_etag(0, 0, e);
	assert_string_equal(e, "W/\"0-0\"");
	httpcheck_etag(UINT64_MAX, UINT64_MAX, e);
	assert_string_equal(e, "W/\"ffffffffffffffff-ffffffffffffffff\"");
	assert_int_equal(strlen(e) + 1, HTTPCHECK_ETAG_MAX);
}

static void test_etag_matches_table(void **state)
{
	static const char etag[] = "W/\"f9-18ed\"";
	static const struct {
		const char *inm;
		bool match;
	} rows[] = {
		{NULL, false},
		{"", false},
		{"W/\"f9-18ed\"", true},
		{"\"f9-18ed\"", true},           /* weak comparison */
		{"*", true},
		{"  *  ", true},
		{"\"x\", W/\"f9-18ed\"", true},
		{"\"x\",W/\"f9-18ed\"", true},
		{"\"x\" ,\t\"f9-18ed\"", true},
		{"\"x\"", false},
		{"W/\"f9-18ec\"", false},
		{"W/\"f9-18ed", false},           /* unterminated */
		{"f9-18ed", false},               /* unquoted */
		{"W/f9-18ed", false},
		{"\"f9\"-18ed\"", false},
		{"\"x\"junk, \"f9-18ed\"", false}, /* malformed: the list ends */
		{"w/\"f9-18ed\"", false},         /* W/ is case-sensitive */
		{"\"\"", false},
		{",,,", false},
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++)
		if (httpcheck_etag_matches(rows[i].inm, etag) != rows[i].match)
			fail_msg("row %zu \"%s\": want %s", i,
				 rows[i].inm ? rows[i].inm : "(null)",
				 rows[i].match ? "match" : "no match");
	/* a malformed etag of ours matches nothing, not even "*" */
	assert_false(httpcheck_etag_matches("*", "f9"));
}

static void test_mime_table(void **state)
{
	static const struct {
		const char *path, *type;
	} rows[] = {
		{"web/index.html", "text/html; charset=utf-8"},
		{"web/syncgate.js", "text/javascript; charset=utf-8"},
		{"web/m.mjs", "text/javascript; charset=utf-8"},
		{"web/s.css", "text/css; charset=utf-8"},
		{"web/d.json", "application/json"},
		{"web/i.svg", "image/svg+xml"},
		{"web/i.png", "image/png"},
		{"web/favicon.ico", "image/x-icon"},
		{"web/r.txt", "text/plain; charset=utf-8"},
		{"web/.js", "text/javascript; charset=utf-8"},
		{"web/README", "application/octet-stream"},
		{"web/x.HTML", "application/octet-stream"},  /* case matters */
		{"web/x.html.bak", "application/octet-stream"},
		{"web/dir.d/file", "application/octet-stream"},
		{"web/x.", "application/octet-stream"},
		{"", "application/octet-stream"},
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++)
		assert_string_equal(httpcheck_mime_type(rows[i].path), rows[i].type);
}

/* ---- Host ------------------------------------------------------------------ */

static void test_public_host_table(void **state)
{
	static const struct {
		const char *host, *out;
	} rows[] = {
		{NULL, HTTPCHECK_HOST_DEFAULT},
		{"", ""},
		{"example.com", "example.com"},
		{"example.com:8080", "example.com"},
		{"10.0.0.1:80", "10.0.0.1"},
		{"my-host", "my-host"},
		{"[::1]", "[::1]"},
		{"[::1]:8080", "[::1]"},
		{"[fe80::1]:1", "[fe80::1]"},
		{"x:1:2", "x:1"},
		{H255, H255},
		{H255 ":1", HTTPCHECK_HOST_DEFAULT}, /* the bound is on the whole value */
		{H255 "h", HTTPCHECK_HOST_DEFAULT},
		{"a b", HTTPCHECK_HOST_DEFAULT},
		{"evil.com/x", HTTPCHECK_HOST_DEFAULT},
		{"evil.com\"", HTTPCHECK_HOST_DEFAULT},
		{"evil.com\\", HTTPCHECK_HOST_DEFAULT},
		{"user@evil.com", HTTPCHECK_HOST_DEFAULT},
		{"ex_ample", HTTPCHECK_HOST_DEFAULT},
		{"caf\xc3\xa9", HTTPCHECK_HOST_DEFAULT},
		{"a\r\nb", HTTPCHECK_HOST_DEFAULT},
	};

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		char out[HTTPCHECK_HOST_MAX + 1];

		memset(out, 'X', sizeof(out));
		httpcheck_public_host(rows[i].host, out);
		if (strcmp(out, rows[i].out) != 0)
			fail_msg("row %zu \"%s\": got \"%s\"", i,
				 rows[i].host ? rows[i].host : "(null)", out);
	}
}

static void test_origin_listed(void **state)
{
	static const char list[] = "https://app.example, http://localhost:3000,";

	(void)state;
	assert_true(httpcheck_origin_listed(list, "https://app.example"));
	assert_true(httpcheck_origin_listed(list, "http://localhost:3000"));
	assert_false(httpcheck_origin_listed(list, "https://app.example.evil"));
	assert_false(httpcheck_origin_listed(list, "https://app.exampl"));
	assert_false(httpcheck_origin_listed(list, "http://app.example"));
	assert_false(httpcheck_origin_listed(list, ""));
	assert_false(httpcheck_origin_listed(list, NULL));
	assert_false(httpcheck_origin_listed("", "https://app.example"));
	assert_false(httpcheck_origin_listed(NULL, "https://app.example"));
	assert_false(httpcheck_origin_listed("*", "https://app.example"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origin_listed),
		cmocka_unit_test(test_headers_table),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_count_then_check),
		cmocka_unit_test(test_unescape_table),
		cmocka_unit_test(test_unescape_every_byte),
		cmocka_unit_test(test_static_path_table),
		cmocka_unit_test(test_static_path_after_unescape),
		cmocka_unit_test(test_etag),
		cmocka_unit_test(test_etag_matches_table),
		cmocka_unit_test(test_mime_table),
		cmocka_unit_test(test_public_host_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

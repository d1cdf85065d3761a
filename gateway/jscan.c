/*
 * jscan.c - strict JSON validation and compact copying without a tree
 * (jscan.h). The accepted language is jansson's with the flags jsonx_parse
 * uses; tests/unit/test_jscan.c and tests/fuzz/fuzz_jscan.c hold the two
 * to the same verdict.
 */
#include "jscan.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "utf8.h"

#define KEYS_SMALL 8 /* objects up to this many keys: pairwise check */

void jscan_init(struct jscan *s, const char *buf, size_t len, int depth_max,
		struct gw_error *err)
{
	memset(s, 0, sizeof(*s));
	s->buf = buf;
	s->len = len;
	s->depth_max = depth_max;
	s->err = err;
}

static void drop_keys(struct jscan *s, size_t base)
{
	while (s->nkeys > base)
		free(s->keys[--s->nkeys].owned);
}

void jscan_release(struct jscan *s)
{
	drop_keys(s, 0);
	free(s->keys);
	s->keys = NULL;
	s->capkeys = 0;
}

static int bad(struct jscan *s, size_t at, const char *what)
{
	if (!s->rc)
		s->rc = gw_fail(s->err, GW_EBADREQ, "invalid JSON: %s at position %zu",
				what, at);
	return s->rc;
}

static int too_deep(struct jscan *s)
{
	if (!s->rc)
		s->rc = gw_fail(s->err, GW_EBADREQ, "JSON nested deeper than %d",
				s->depth_max);
	return s->rc;
}

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Skips whitespace; what came before it goes to out first. */
static void skip_ws(struct jscan *s)
{
	size_t i = s->pos;

	if (i >= s->len || !is_ws((unsigned char)s->buf[i]))
		return;
	if (s->out && i > s->run)
		sbuf_add(s->out, s->buf + s->run, i - s->run);
	while (i < s->len && is_ws((unsigned char)s->buf[i]))
		i++;
	s->pos = s->run = i;
}

static int hex4(const unsigned char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		int d = hex_digit((char)p[i]);

		if (d < 0)
			return -1;
		v = v << 4 | (unsigned)d;
	}
	*out = v;
	return 0;
}

/* Appends code point u as UTF-8 to d. */
static size_t put_utf8(unsigned u, char *d)
{
	if (u < 0x80) {
		d[0] = (char)u;
		return 1;
	}
	if (u < 0x800) {
		d[0] = (char)(0xc0 | u >> 6);
		d[1] = (char)(0x80 | (u & 0x3f));
		return 2;
	}
	if (u < 0x10000) {
		d[0] = (char)(0xe0 | u >> 12);
		d[1] = (char)(0x80 | (u >> 6 & 0x3f));
		d[2] = (char)(0x80 | (u & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | u >> 18);
	d[1] = (char)(0x80 | (u >> 12 & 0x3f));
	d[2] = (char)(0x80 | (u >> 6 & 0x3f));
	d[3] = (char)(0x80 | (u & 0x3f));
	return 4;
}

/*
 * The string at s->pos (its opening quote). Leaves s->pos past the closing
 * quote; *esc says whether it held an escape. With dec non-NULL (room for
 * the string's length in the input) the decoded bytes go there, *dlen
 * their count.
 */
static int scan_string(struct jscan *s, bool *esc, char *dec, size_t *dlen)
{
	const unsigned char *b = (const unsigned char *)s->buf;
	size_t i = s->pos + 1, n = s->len, d = 0;

	*esc = false;
	for (;;) {
		size_t from = i;
		unsigned c;

		while (i < n && b[i] >= 0x20 && b[i] < 0x80 && b[i] != '"' &&
		       b[i] != '\\')
			i++;
		if (dec) {
			memcpy(dec + d, b + from, i - from);
			d += i - from;
		}
		if (i >= n)
			return bad(s, s->pos, "unterminated string");
		c = b[i];
		if (c == '"')
			break;
		if (c < 0x20)
			return bad(s, i, "control character in a string");
		if (c >= 0x80) {
			size_t k = utf8_seq_len(b + i, n - i);

			if (!k)
				return bad(s, i, "invalid UTF-8 in a string");
			if (dec) {
				memcpy(dec + d, b + i, k);
				d += k;
			}
			i += k;
			continue;
		}
		/* a backslash */
		*esc = true;
		if (i + 1 >= n)
			return bad(s, s->pos, "unterminated string");
		c = b[i + 1];
		if (c == 'u') {
			unsigned u, lo;

			if (i + 6 > n || hex4(b + i + 2, &u))
				return bad(s, i, "invalid \\u escape");
			if (u == 0)
				return bad(s, i, "\\u0000 is not allowed");
			if (u >= 0xdc00 && u <= 0xdfff)
				return bad(s, i, "lone low surrogate");
			if (u >= 0xd800 && u <= 0xdbff) {
				if (i + 12 > n || b[i + 6] != '\\' || b[i + 7] != 'u' ||
				    hex4(b + i + 8, &lo) || lo < 0xdc00 || lo > 0xdfff)
					return bad(s, i, "lone high surrogate");
				u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
				i += 6;
			}
			i += 6;
			if (dec)
				d += put_utf8(u, dec + d);
			continue;
		}
		switch (c) {
		case '"': case '\\': case '/':
			break;
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		default:
			return bad(s, i, "invalid escape");
		}
		if (dec)
			dec[d++] = (char)c;
		i += 2;
	}
	s->pos = i + 1;
	if (dlen)
		*dlen = d;
	return 0;
}

/* Whether the digits of an integer (no sign, no leading zero) fit 64 bits. */
static bool int_fits(const char *p, size_t n, bool neg)
{
	static const char max[] = "9223372036854775807";
	static const char min[] = "9223372036854775808";

	if (n != sizeof(max) - 1)
		return n < sizeof(max) - 1;
	return memcmp(p, neg ? min : max, n) <= 0;
}

static bool is_digit(const unsigned char *b, size_t i, size_t n)
{
	return i < n && b[i] >= '0' && b[i] <= '9';
}

static int scan_number(struct jscan *s)
{
	const unsigned char *b = (const unsigned char *)s->buf;
	size_t i = s->pos, n = s->len, start = s->pos, digits;
	bool neg = false, real = false;

	if (b[i] == '-') {
		neg = true;
		i++;
	}
	if (!is_digit(b, i, n))
		return bad(s, start, "invalid number");
	if (b[i] == '0') {
		i++;
		if (is_digit(b, i, n))
			return bad(s, start, "invalid number (leading zero)");
	} else {
		while (is_digit(b, i, n))
			i++;
	}
	digits = i - start - (neg ? 1 : 0);
	if (i < n && b[i] == '.') {
		real = true;
		i++;
		if (!is_digit(b, i, n))
			return bad(s, start, "invalid number");
		while (is_digit(b, i, n))
			i++;
	}
	if (i < n && (b[i] == 'e' || b[i] == 'E')) {
		real = true;
		i++;
		if (i < n && (b[i] == '+' || b[i] == '-'))
			i++;
		if (!is_digit(b, i, n))
			return bad(s, start, "invalid number");
		while (is_digit(b, i, n))
			i++;
	}
	if (!real) {
		if (!int_fits(s->buf + start + (neg ? 1 : 0), digits, neg))
			return bad(s, start, "integer out of range");
	} else {
		char small[64], *tmp = small;
		size_t len = i - start;
		double v;

		if (len >= sizeof(small) && !(tmp = malloc(len + 1)))
			return bad(s, start, "number too long for memory");
		memcpy(tmp, s->buf + start, len);
		tmp[len] = '\0';
		v = strtod(tmp, NULL);
		if (tmp != small)
			free(tmp);
		if (isinf(v))
			return bad(s, start, "real number overflow");
	}
	s->pos = i;
	return 0;
}

static int literal(struct jscan *s, const char *word, size_t n)
{
	if (s->len - s->pos < n || memcmp(s->buf + s->pos, word, n) != 0)
		return bad(s, s->pos, "invalid literal");
	s->pos += n;
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	const struct jscan_key *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	return memcmp(x->p, y->p, x->n);
}

/* Whether the keys pushed since base hold a duplicate. */
static bool has_duplicate(struct jscan *s, size_t base)
{
	struct jscan_key *k = s->keys + base;
	size_t n = s->nkeys - base;

	if (n <= KEYS_SMALL) {
		for (size_t i = 1; i < n; i++)
			for (size_t j = 0; j < i; j++)
				if (key_cmp(&k[i], &k[j]) == 0)
					return true;
		return false;
	}
	qsort(k, n, sizeof(*k), key_cmp);
	for (size_t i = 1; i < n; i++)
		if (key_cmp(&k[i], &k[i - 1]) == 0)
			return true;
	return false;
}

/* Reads the key at s->pos (after whitespace) and remembers it. */
static int push_key(struct jscan *s, char *copy, size_t cap, size_t *klen)
{
	size_t at = s->pos, dlen = 0;
	struct jscan_key *k;
	char *dec = NULL;
	bool esc;

	if (at >= s->len || s->buf[at] != '"')
		return bad(s, at, "object key must be a string");
	if (scan_string(s, &esc, NULL, NULL))
		return s->rc;
	if (esc) {
		/* decode once more, now that it is known to be valid */
		size_t end = s->pos;

		dec = malloc(end - at);
		if (!dec)
			return bad(s, at, "object key too long for memory");
		s->pos = at;
		scan_string(s, &esc, dec, &dlen);
		s->pos = end;
	}
	if (s->nkeys == s->capkeys) {
		size_t cap2 = s->capkeys ? s->capkeys * 2 : 16;
		struct jscan_key *nk = realloc(s->keys, cap2 * sizeof(*nk));

		if (!nk) {
			free(dec);
			return bad(s, at, "too many object keys for memory");
		}
		s->keys = nk;
		s->capkeys = cap2;
	}
	k = &s->keys[s->nkeys++];
	k->owned = dec;
	k->p = dec ? dec : s->buf + at + 1;
	k->n = dec ? dlen : s->pos - at - 2;
	if (copy) {
		size_t m = k->n < cap ? k->n : cap - 1;

		memcpy(copy, k->p, m);
		copy[m] = '\0';
		*klen = k->n;
	}
	return 0;
}

static int scan_any(struct jscan *s);

static int expect(struct jscan *s, char c, const char *what)
{
	skip_ws(s);
	if (s->pos >= s->len || s->buf[s->pos] != c)
		return bad(s, s->pos, what);
	s->pos++;
	return 0;
}

/* After an object's last member: its closing brace was consumed. */
static int close_object(struct jscan *s, size_t base, size_t at)
{
	bool dup = has_duplicate(s, base);

	drop_keys(s, base);
	s->depth--;
	return dup ? bad(s, at, "duplicate object key") : 0;
}

static int scan_object(struct jscan *s)
{
	size_t base = s->nkeys, at = s->pos;

	s->pos++;
	skip_ws(s);
	if (s->pos < s->len && s->buf[s->pos] == '}') {
		s->pos++;
		s->depth--;
		return 0;
	}
	for (;;) {
		skip_ws(s);
		if (push_key(s, NULL, 0, NULL) || expect(s, ':', "':' expected") ||
		    scan_any(s))
			return s->rc;
		skip_ws(s);
		if (s->pos < s->len && s->buf[s->pos] == ',') {
			s->pos++;
			continue;
		}
		if (s->pos < s->len && s->buf[s->pos] == '}') {
			s->pos++;
			return close_object(s, base, at);
		}
		return bad(s, s->pos, "',' or '}' expected");
	}
}

static int scan_array(struct jscan *s)
{
	s->pos++;
	skip_ws(s);
	if (s->pos < s->len && s->buf[s->pos] == ']') {
		s->pos++;
		s->depth--;
		return 0;
	}
	for (;;) {
		if (scan_any(s))
			return s->rc;
		skip_ws(s);
		if (s->pos < s->len && s->buf[s->pos] == ',') {
			s->pos++;
			continue;
		}
		if (s->pos < s->len && s->buf[s->pos] == ']') {
			s->pos++;
			s->depth--;
			return 0;
		}
		return bad(s, s->pos, "',' or ']' expected");
	}
}

/* One value at s->pos, after whitespace. */
static int scan_any(struct jscan *s)
{
	bool esc;

	skip_ws(s);
	if (s->pos >= s->len)
		return bad(s, s->pos, "value expected");
	switch (s->buf[s->pos]) {
	case '{':
	case '[':
		if (++s->depth > s->depth_max)
			return too_deep(s);
		return s->buf[s->pos] == '{' ? scan_object(s) : scan_array(s);
	case '"':
		return scan_string(s, &esc, NULL, NULL);
	case 't':
		return literal(s, "true", 4);
	case 'f':
		return literal(s, "false", 5);
	case 'n':
		return literal(s, "null", 4);
	default:
		if (s->buf[s->pos] == '-' ||
		    (s->buf[s->pos] >= '0' && s->buf[s->pos] <= '9'))
			return scan_number(s);
		return bad(s, s->pos, "value expected");
	}
}

int jscan_value(struct jscan *s, struct sbuf *out, size_t *start, size_t *end)
{
	if (s->rc)
		return s->rc;
	skip_ws(s);
	if (start)
		*start = s->pos;
	s->out = out;
	s->run = s->pos;
	/* the copy is at most what is left: one allocation, not a doubling
	 * per power of two */
	if (out)
		sbuf_reserve(out, s->len - s->pos);
	if (!scan_any(s) && out && s->pos > s->run)
		sbuf_add(out, s->buf + s->run, s->pos - s->run);
	s->out = NULL;
	if (end)
		*end = s->pos;
	return s->rc;
}

static int at_end(struct jscan *s)
{
	skip_ws(s);
	return s->pos < s->len ? bad(s, s->pos, "end of input expected") : 0;
}

int jscan_check(struct jscan *s)
{
	if (jscan_value(s, NULL, NULL, NULL))
		return s->rc;
	return at_end(s);
}

int jscan_object_open(struct jscan *s)
{
	if (s->rc)
		return s->rc;
	skip_ws(s);
	if (s->pos >= s->len || s->buf[s->pos] != '{')
		return 0;
	if (++s->depth > s->depth_max)
		return too_deep(s);
	s->pos++;
	return 1;
}

int jscan_member(struct jscan *s, char *key, size_t cap, size_t *klen)
{
	if (s->rc)
		return s->rc;
	skip_ws(s);
	if (s->pos < s->len && s->buf[s->pos] == '}') {
		s->pos++;
		if (close_object(s, 0, 0))
			return s->rc;
		return at_end(s);
	}
	if (s->nkeys > 0 && expect(s, ',', "',' or '}' expected"))
		return s->rc;
	skip_ws(s);
	if (push_key(s, key, cap, klen) || expect(s, ':', "':' expected"))
		return s->rc;
	return 1;
}

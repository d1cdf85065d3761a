/*
 * jsonx.c - strict JSON parsing and controlled serialization over jansson.
 * Must not depend on any I/O library.
 */
#include "jsonx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jsonx_depth(const char *buf, size_t len, int limit)
{
	int depth = 0, max = 0;
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '[' || c == '{') {
			if (++depth > max) {
				max = depth;
				if (max > limit)
					return max;
			}
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return max;
}

/* Keeps printable ASCII of a parser message: jansson quotes input bytes
 * and may cut a UTF-8 sequence, and the message goes into JSON answers. */
static void ascii_only(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

json_t *jsonx_parse(const char *buf, size_t len, int max_depth,
		    struct gw_error *err)
{
	json_error_t jerr;
	json_t *v;

	/* raw NUL never belongs in JSON text; jansson stops at it in some
	 * positions instead of failing */
	if (memchr(buf, '\0', len)) {
		gw_fail(err, GW_EBADREQ, "invalid JSON: NUL byte at position %zu",
			(size_t)((const char *)memchr(buf, '\0', len) - buf));
		return NULL;
	}
	if (jsonx_depth(buf, len, max_depth) > max_depth) {
		gw_fail(err, GW_EBADREQ, "JSON nested deeper than %d", max_depth);
		return NULL;
	}
	v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!v) {
		ascii_only(jerr.text);
		gw_fail(err, GW_EBADREQ, "invalid JSON: %s at position %d",
			jerr.text, jerr.position);
	}
	return v;
}

static void dump_real(double d, struct sbuf *sb)
{
	char tmp[40];

	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	sbuf_adds(sb, tmp);
	/* keep reals reals: "1" would come back as an integer */
	if (!strpbrk(tmp, ".eE"))
		sbuf_adds(sb, ".0");
}

void jsonx_dump(const json_t *v, struct sbuf *sb)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *val;
		bool first = true;

		sbuf_addc(sb, '{');
		/* jansson keeps insertion order; const-cast for the iterator */
		json_object_foreach((json_t *)(uintptr_t)v, key, val) {
			if (!first)
				sbuf_addc(sb, ',');
			first = false;
			sbuf_add_json_str(sb, key, strlen(key));
			sbuf_addc(sb, ':');
			jsonx_dump(val, sb);
		}
		sbuf_addc(sb, '}');
		break;
	}
	case JSON_ARRAY: {
		size_t n = json_array_size(v);

		sbuf_addc(sb, '[');
		for (size_t i = 0; i < n; i++) {
			if (i)
				sbuf_addc(sb, ',');
			jsonx_dump(json_array_get(v, i), sb);
		}
		sbuf_addc(sb, ']');
		break;
	}
	case JSON_STRING:
		sbuf_add_json_str(sb, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		sbuf_addf(sb, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		dump_real(json_real_value(v), sb);
		break;
	case JSON_TRUE:
		sbuf_adds(sb, "true");
		break;
	case JSON_FALSE:
		sbuf_adds(sb, "false");
		break;
	case JSON_NULL:
	default:
		sbuf_adds(sb, "null");
		break;
	}
}

int jsonx_int(const json_t *v, int64_t min, int64_t max, int64_t *out)
{
	json_int_t n;

	if (!json_is_integer(v))
		return GW_EBADREQ;
	n = json_integer_value(v);
	if (n < min || n > max)
		return GW_EBADREQ;
	*out = (int64_t)n;
	return 0;
}

/*
 * errors.c - maps GW_E* codes to names, wire codes, messages, HTTP statuses
 * and WebSocket close codes, all generated from GW_ERR_MAP in common.h.
 * Depends on nothing but libc.
 */
#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct err_row {
	const char *name;
	const char *code;
	const char *msg;
	int http;
	int ws;
};

/* Indexed by err - (GW_ERR_BASE_ + 1): the enum is dense. */
static const struct err_row rows[] = {
#define GW_ERR_ROW(name, code, msg, http, ws) {#name, code, msg, http, ws},
	GW_ERR_MAP(GW_ERR_ROW)
#undef GW_ERR_ROW
};

_Static_assert(GW_ARRAY_LEN(rows) == (size_t)(GW_ERR_END_ - GW_ERR_BASE_ - 1),
	       "one row per GW_E* code");

static const struct err_row *find(int err)
{
	if (err <= GW_ERR_BASE_ || err >= GW_ERR_END_)
		err = GW_EINTERNAL;
	return &rows[err - (GW_ERR_BASE_ + 1)];
}

const char *gw_err_code(int err) { return find(err)->code; }
const char *gw_err_message(int err) { return find(err)->msg; }
int gw_err_http(int err) { return find(err)->http; }
int gw_err_ws_close(int err) { return find(err)->ws; }
const char *gw_err_name(int err) { return find(err)->name; }

int gw_err_from_name(const char *name)
{
	if (!name)
		return 0;
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++)
		if (strcmp(rows[i].name, name) == 0)
			return GW_ERR_BASE_ + 1 + (int)i;
	return 0;
}

int gw_fail(struct gw_error *e, int code, const char *fmt, ...)
{
	if (e) {
		va_list ap;

		e->code = code;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

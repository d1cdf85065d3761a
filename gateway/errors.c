/*
 * errors.c - maps GW_E* codes to wire codes, messages, HTTP statuses and
 * WebSocket close codes, all generated from GW_ERR_MAP in common.h.
 * Depends on nothing but libc.
 */
#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct err_row {
	int err;
	const char *name;
	const char *code;
	const char *msg;
	int http;
	int ws;
};

static const struct err_row rows[] = {
#define GW_ERR_ROW(name, code, msg, http, ws) {GW_E##name, #name, code, msg, http, ws},
	GW_ERR_MAP(GW_ERR_ROW)
#undef GW_ERR_ROW
};

static const struct err_row *find(int err)
{
	const struct err_row *internal = NULL;

	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++) {
		if (rows[i].err == err)
			return &rows[i];
		if (rows[i].err == GW_EINTERNAL)
			internal = &rows[i];
	}
	return internal;
}

const char *gw_err_code(int err) { return find(err)->code; }
const char *gw_err_message(int err) { return find(err)->msg; }
int gw_err_http(int err) { return find(err)->http; }
int gw_err_ws_close(int err) { return find(err)->ws; }
const char *gw_err_name(int err) { return find(err)->name; }

int gw_err_from_name(const char *name)
{
	for (size_t i = 0; i < GW_ARRAY_LEN(rows); i++)
		if (strcmp(rows[i].name, name) == 0)
			return rows[i].err;
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

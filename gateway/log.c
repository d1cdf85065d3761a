/*
 * log.c - JSON-lines logging to stdout. Depends on libc and sbuf only.
 */
#include "log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "sbuf.h"
#include "strx.h"

static char node_name[64] = "syncgate";
static enum log_level min_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *node, enum log_level min)
{
	strx_copy(node_name, sizeof(node_name), node);
	min_level = min;
}

int log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

bool log_refusal_ok(unsigned long *dropped)
{
	static int64_t window_ms;
	static unsigned written;
	static unsigned long skipped;
	struct timespec ts;
	int64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (now - window_ms >= 1000) {
		window_ms = now;
		written = 0;
	}
	if (written >= LOG_REFUSALS_PER_S) {
		skipped++;
		*dropped = 0;
		return false;
	}
	written++;
	*dropped = skipped;
	skipped = 0;
	return true;
}

void log_msg(enum log_level lvl, const char *idkey, const char *id,
	     const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	char msg[1024], ts[40];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	int n;

	if (lvl < min_level)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	sbuf_addf(&sb, "{\"ts\":\"%s.%03dZ\",\"level\":\"%s\",\"node\":", ts,
		  (int)(tv.tv_usec / 1000), level_names[lvl]);
	sbuf_add_json_str(&sb, node_name, strlen(node_name));
	if (idkey && id) {
		sbuf_addf(&sb, ",\"%s\":", idkey);
		sbuf_add_json_str(&sb, id, strlen(id));
	}
	sbuf_adds(&sb, ",\"msg\":");
	sbuf_add_json_str(&sb, msg, strlen(msg));
	sbuf_adds(&sb, "}\n");
	if (!sbuf_failed(&sb)) {
		fwrite(sb.buf, 1, sb.len, stdout);
		fflush(stdout);
	}
	sbuf_release(&sb);
}

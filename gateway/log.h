/*
 * log.h - JSON log lines on stdout: one object per line with time, level,
 * node, an optional request or session id, and the message. Never pass a
 * token, key or secret to these functions. Loop thread only.
 */
#ifndef SG_LOG_H
#define SG_LOG_H

#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the node name (copied) and the lowest level printed. */
void log_init(const char *node, enum log_level min);
/* Parses "debug", "info", "warn", "error"; -1 if none of these. */
int log_level_parse(const char *s);

/*
 * Prints one line. idkey/id (e.g. "req", "r12") may be NULL. The message is
 * printf-formatted and JSON-escaped.
 */
void log_msg(enum log_level lvl, const char *idkey, const char *id,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Refusals (a bad token, a refused handshake) come from clients, as many
 * as they like: their lines are limited to LOG_REFUSALS_PER_S a second,
 * all kinds together. Returns whether one may be written now; *dropped
 * gets how many were left out before it (then reset).
 */
#define LOG_REFUSALS_PER_S 10
bool log_refusal_ok(unsigned long *dropped);

#define log_debug(...) log_msg(LOG_DEBUG, NULL, NULL, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, NULL, NULL, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, NULL, NULL, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, NULL, NULL, __VA_ARGS__)

#endif

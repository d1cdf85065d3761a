/*
 * config_opts.h - the option and action tables config.c loads by and
 * config_print.c prints from (private to those two).
 */
#ifndef SG_CONFIG_OPTS_H
#define SG_CONFIG_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum opt_type { T_STR, T_INT, T_I64, T_BOOL };

#define F_SECRET 1  /* hidden by --print-config */
#define F_NOFILE 2  /* environment only (secrets): no flag, not in the file */

struct opt {
	const char *name;   /* dotted path in the JSON file */
	const char *env;    /* environment variable */
	enum opt_type type;
	size_t off;
	const char *def;
	int64_t min, max;
	int flags;
	const char *choices; /* "a|b" for enumerations */
	const char *help;
};

/* The flags that are not options: what to do, and where the file is. */
struct action_flag {
	const char *flag;
	const char *alias;   /* a short spelling, or NULL */
	const char *value;   /* its value's name, or NULL: takes none */
	enum config_action action;
	const char *help;
};

extern const struct opt config_opts[];
extern const size_t config_nopts;
extern const struct action_flag config_actions[];
extern const size_t config_nactions;

/* The flag of option o, without "--" (from its environment variable's
 * name); false: it has none (environment only). */
bool config_flag_name(const struct opt *o, char *out, size_t cap);

#endif

/*
 * env.c - lookups in an environment block. Pure: libc only.
 */
#include "env.h"

#include <string.h>

const char *env_get(char **envp, const char *name)
{
	size_t n = strlen(name);

	for (char **e = envp; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

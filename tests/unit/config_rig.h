/*
 * config_rig.h - helpers of the configuration tests (test_config*.c): temp
 * config files, loading with fake argv and envp, --print-config output.
 * Included by each; all helpers are static.
 */
#ifndef TEST_CONFIG_RIG_H
#define TEST_CONFIG_RIG_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define SECRET "0123456789abcdef0123456789abcdef-jwt"

static char *tmp_file(const char *content)
{
	char *path = strdup("/tmp/sg-test-config-XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)),
			 (ssize_t)strlen(content));
	close(fd);
	return path;
}

static void drop_file(char *path)
{
	unlink(path);
	free(path);
}

/* config_load over a NULL-terminated argv (argv[0] added) and envp. */
static int load(struct config *c, const char *const *args,
		const char *const *env, enum config_action *act,
		struct gw_error *e)
{
	char *argv[32];
	char *envp[32];
	const char *sub = NULL;
	int argc = 0, n = 0;

	argv[argc++] = (char *)(uintptr_t)"syncgate";
	for (; args && *args; args++)
		argv[argc++] = (char *)(uintptr_t)*args;
	argv[argc] = NULL;
	for (; env && *env; env++)
		envp[n++] = (char *)(uintptr_t)*env;
	envp[n] = NULL;
	memset(e, 0, sizeof(*e));
	return config_load(c, argc, argv, envp, act, &sub, e);
}

static char *printed(const struct config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	config_print(c, f);
	fclose(f);
	return buf;
}

#endif

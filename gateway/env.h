/*
 * env.h - reading an environment block (a NULL-terminated array of "K=V"
 * strings, as main's environ) without the process's global state, so that
 * configuration stays testable. Pure.
 */
#ifndef SG_ENV_H
#define SG_ENV_H

/* The value of name in envp (borrowed), or NULL. envp may be NULL. */
const char *env_get(char **envp, const char *name);

#endif

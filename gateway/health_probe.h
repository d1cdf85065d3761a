#ifndef SYNCGATE_HEALTH_PROBE_H
#define SYNCGATE_HEALTH_PROBE_H

/*
 * health_probe.h - `syncgate --health`: one HTTP GET of /v1/health on the
 * REST listener the configuration names, for container health checks
 * (Docker's HEALTHCHECK has no shell tools to rely on in a slim image).
 */

#include <stdbool.h>

/* Whether argv holds --health (the probe replaces the normal run). */
bool health_probe_wanted(int argc, char **argv);

/*
 * Loads the configuration exactly as a normal start does (defaults, file,
 * environment, the flags other than --health), then makes one GET of
 * http://<bind>:<http_port>/v1/health (an unspecified bind, 0.0.0.0 or ::,
 * is probed on loopback) with a 2 s overall timeout and no proxy.
 * Returns the exit code Docker expects of a health check: 0 when the answer
 * is 200, 1 for anything else (no answer, another status, a bad config),
 * with one line saying why on stdout (0) or stderr (1).
 */
int health_probe_main(int argc, char **argv, char **envp);

#endif

/*
 * health_probe.c - `syncgate --health` (health_probe.h). An adapter: a
 * short-lived libcurl easy call, run instead of the gateway, never inside
 * it. Depends on config.h for where the listener is, nothing else.
 */
#include "health_probe.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define PROBE_PATH "/v1/health"
#define PROBE_TIMEOUT_MS 2000L
#define PROBE_CONNECT_TIMEOUT_MS 1000L

bool health_probe_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--health") == 0)
			return true;
	return false;
}

/* The URL of the probe for bind and port into out (size n); 0 or -1. */
static int probe_url(const char *bind, int port, char *out, size_t n)
{
	struct in6_addr v6;
	const char *host = bind;
	int len;

	if (!bind[0] || strcmp(bind, "0.0.0.0") == 0)
		host = "127.0.0.1";
	else if (strcmp(bind, "::") == 0)
		host = "::1";
	if (inet_pton(AF_INET6, host, &v6) == 1)
		len = snprintf(out, n, "http://[%s]:%d" PROBE_PATH, host, port);
	else
		len = snprintf(out, n, "http://%s:%d" PROBE_PATH, host, port);
	return len > 0 && (size_t)len < n ? 0 : -1;
}

/* The body is not looked at. */
static size_t discard(char *p, size_t size, size_t nmemb, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * nmemb;
}

/* One GET of url; the HTTP status, or 0 with why set when none came. */
static long probe(const char *url, char *why, size_t n)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;
	CURL *h;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    !(h = curl_easy_init())) {
		snprintf(why, n, "cannot start libcurl");
		return 0;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, PROBE_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, PROBE_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(why, n, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
	curl_easy_cleanup(h);
	curl_global_cleanup();
	return status;
}

int health_probe_main(int argc, char **argv, char **envp)
{
	struct gw_error e = {0, ""};
	enum config_action action;
	const char *token_sub = NULL;
	struct config cfg;
	char **args, url[300], why[CURL_ERROR_SIZE + 64] = "";
	int n = 0, rc = 1;
	long status;

	/* the same flags as a normal start, without --health */
	if (!(args = calloc((size_t)argc + 1, sizeof(*args)))) {
		fprintf(stderr, "syncgate --health: out of memory\n");
		return 1;
	}
	for (int i = 0; i < argc; i++)
		if (i == 0 || strcmp(argv[i], "--health") != 0)
			args[n++] = argv[i];
	if (config_load(&cfg, n, args, envp, &action, &token_sub, &e)) {
		fprintf(stderr, "syncgate --health: %s\n", e.msg);
		goto out;
	}
	if (action != CONFIG_RUN) {
		fprintf(stderr, "syncgate --health: takes no other action flag\n");
		goto out_cfg;
	}
	if (probe_url(cfg.bind, cfg.http_port, url, sizeof(url))) {
		fprintf(stderr, "syncgate --health: bind address too long\n");
		goto out_cfg;
	}
	status = probe(url, why, sizeof(why));
	if (status == 200) {
		printf("healthy: 200 from %s\n", url);
		rc = 0;
	} else if (status) {
		fprintf(stderr, "unhealthy: %ld from %s\n", status, url);
	} else {
		fprintf(stderr, "unhealthy: no answer from %s: %s\n", url, why);
	}
out_cfg:
	config_release(&cfg);
out:
	free(args);
	return rc;
}

/*
 * webroot.c - serves the files under web_root over libmicrohttpd, with the
 * path rule and types of httpcheck.c. An adapter; must not depend on
 * routing, authentication, documents or Redis.
 */
#include "webroot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"
#include "httpcheck.h"

/* 304 for a file the client has (its etag matched): headers, no body.
 * (libmicrohttpd 0.9.75 adds Content-Length: 0 to it; clients ignore the
 * length of a 304.) */
static enum MHD_Result not_modified(struct MHD_Connection *conn, const char *etag,
				    const char *keep_alive)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "ETag", etag);
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (keep_alive)
		MHD_add_response_header(resp, "Keep-Alive", keep_alive);
	ret = MHD_queue_response(conn, MHD_HTTP_NOT_MODIFIED, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* The file's etag, size and mtime (ns): httpcheck_etag. */
static void file_etag(const struct stat *st, char *etag)
{
	uint64_t ns = (uint64_t)st->st_mtim.tv_sec * 1000000000u +
		      (uint64_t)st->st_mtim.tv_nsec;

	httpcheck_etag((uint64_t)st->st_size, ns, etag);
}

/* Opens rel under root without leaving it: symbolic links are followed
 * only while they stay inside (openat2 RESOLVE_BENEATH; where the kernel
 * lacks it, the resolved path must start with the resolved root). -1
 * when it is not there or not inside. */
static int open_beneath(const char *root, const char *rel)
{
	struct open_how how;
	char rp[PATH_MAX], rr[PATH_MAX], path[PATH_MAX + 1100];
	size_t n;
	int dfd, fd;

	dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof(how));
	close(dfd);
	if (fd >= 0 || errno != ENOSYS)
		return fd;
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (!realpath(root, rr) || !realpath(path, rp))
		return -1;
	n = strlen(rr);
	if (strncmp(rp, rr, n) != 0 || rp[n] != '/')
		return -1;
	return open(rp, O_RDONLY | O_CLOEXEC);
}

int webroot_serve(struct MHD_Connection *conn, const char *root,
		  const char *url, const char *keep_alive, enum MHD_Result *ret)
{
	char rel[1024], etag[HTTPCHECK_ETAG_MAX];
	struct stat st;
	struct MHD_Response *resp;
	size_t n = strlen(url);
	int fd;

	if (!root[0] || !httpcheck_static_path(url))
		return GW_ENOTFOUND;
	/* relative to root: "/" and "/a/" name their index.html */
	snprintf(rel, sizeof(rel), "%s%s", n > 1 ? url + 1 : "",
		 url[n - 1] == '/' ? "index.html" : "");
	fd = open_beneath(root, rel);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return GW_ENOTFOUND;
	}
	file_etag(&st, etag);
	if (httpcheck_etag_matches(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
								"If-None-Match"),
				   etag)) {
		close(fd);
		*ret = not_modified(conn, etag, keep_alive);
		return 0;
	}
	/* MHD sends no body to a HEAD, and closes fd with the response */
	resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!resp) {
		close(fd);
		return GW_ENOMEM;
	}
	MHD_add_response_header(resp, "Content-Type", httpcheck_mime_type(rel));
	MHD_add_response_header(resp, "ETag", etag);
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (keep_alive)
		MHD_add_response_header(resp, "Keep-Alive", keep_alive);
	*ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return 0;
}

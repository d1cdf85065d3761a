/*
 * webroot.c - serves the files under web_root over libmicrohttpd, with the
 * path rule and types of httpcheck.c. An adapter; must not depend on
 * routing, authentication, documents or Redis.
 */
#include "webroot.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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

int webroot_serve(struct MHD_Connection *conn, const char *root,
		  const char *url, const char *keep_alive, enum MHD_Result *ret)
{
	char path[1024], etag[HTTPCHECK_ETAG_MAX];
	struct stat st;
	struct MHD_Response *resp;
	size_t n = strlen(url);
	int fd;

	if (!root[0] || !httpcheck_static_path(url))
		return GW_ENOTFOUND;
	snprintf(path, sizeof(path), "%s%s%s", root, url,
		 n && url[n - 1] == '/' ? "index.html" : "");
	fd = open(path, O_RDONLY | O_CLOEXEC);
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
	MHD_add_response_header(resp, "Content-Type", httpcheck_mime_type(path));
	MHD_add_response_header(resp, "ETag", etag);
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (keep_alive)
		MHD_add_response_header(resp, "Keep-Alive", keep_alive);
	*ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return 0;
}

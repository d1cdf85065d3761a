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

int webroot_serve(struct MHD_Connection *conn, const char *root,
		  const char *url, enum MHD_Result *ret)
{
	char path[1024];
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
	resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!resp) {
		close(fd);
		return GW_ENOMEM;
	}
	MHD_add_response_header(resp, "Content-Type", httpcheck_mime_type(path));
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	*ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return 0;
}

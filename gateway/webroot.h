/*
 * webroot.h - the browser files (web/) answered from web_root through
 * libmicrohttpd: which path names which file, its type and cache headers.
 * Loop thread only.
 */
#ifndef SG_WEBROOT_H
#define SG_WEBROOT_H

#include <microhttpd.h>

/*
 * Queues on conn the file that url (a decoded request path) names under
 * root, a directory ("" when static files are off); a url ending in '/'
 * names its index.html. Every answer carries the file's weak ETag
 * (httpcheck_etag), Cache-Control: no-cache and nosniff; an If-None-Match
 * that matches it gets 304 with no body, a HEAD the headers only; a
 * keep_alive that is not NULL is sent as the Keep-Alive header. Returns
 * 0 when queued, with *ret set to MHD_queue_response's result; GW_ENOTFOUND, nothing queued, when static
 * files are off, url breaks httpcheck_static_path or names no regular file;
 * GW_ENOMEM, nothing queued, when MHD cannot build the response. Counts no
 * metric and logs nothing: the caller answers errors and counts.
 */
int webroot_serve(struct MHD_Connection *conn, const char *root,
		  const char *url, const char *keep_alive, enum MHD_Result *ret);

#endif

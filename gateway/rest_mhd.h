/*
 * rest_mhd.h - libmicrohttpd driven from the libuv loop (STYLE.md "The
 * shape of the program"): the daemon runs in epoll mode, libuv polls its
 * epoll fd and a timer follows MHD_get_timeout. Below routing it guards the
 * listener: the first request's header deadline (slowloris), the share of
 * fds MHD may hold, %00-safe decoding, and MHD's log. What a request means
 * is the business of the routes the caller registers. Loop thread only.
 */
#ifndef SG_REST_MHD_H
#define SG_REST_MHD_H

#include <microhttpd.h>
#include <uv.h>

struct config;
struct rest_mhd;

/*
 * The routing layer behind the daemon. Both are called from inside
 * MHD_run, on the loop thread, with cls = arg.
 *
 * request is MHD's access handler (MHD_AccessHandlerCallback) with MHD's
 *   contract. The first call for a request has *req_cls == NULL and comes
 *   once its headers are complete (its header deadline is already
 *   cleared); what the handler stores in *req_cls is the handler's. The
 *   URL path and query arguments are decoded by httpcheck_unescape.
 * completed is MHD's MHD_RequestCompletedCallback: MHD is done with the
 *   request (answered, the client went away, or rest_mhd_stop); the
 *   handler releases *req_cls, or leaves it to whoever still uses it.
 *
 * arg is borrowed and must outlive the daemon.
 */
struct rest_mhd_routes {
	MHD_AccessHandlerCallback request;
	MHD_RequestCompletedCallback completed;
	void *arg;
};

/*
 * Listens on cfg's bind:http_port with cfg's HTTP limits; the first
 * MHD_run comes from the loop, after this returns. NULL on failure
 * (logged). loop and cfg are borrowed; *routes is copied.
 */
struct rest_mhd *rest_mhd_start(uv_loop_t *loop, const struct config *cfg,
				const struct rest_mhd_routes *routes);

/*
 * Resumes conn, which the routes suspended (MHD_suspend_connection), and
 * makes MHD run again for it from a 0 ms timer; MHD calls request again
 * for it there. Meant for answers that come later from the loop (the use
 * cases' contract); called inside an MHD_run it still works, one run later.
 */
void rest_mhd_resume(struct rest_mhd *m, struct MHD_Connection *conn);

/* Stops accepting connections; open ones are served on. */
void rest_mhd_quiesce(struct rest_mhd *m);

/*
 * Stops the daemon: completed runs for every open request before this
 * returns, and no route is called after. m itself is freed once libuv has
 * closed its handles (from the loop, later); do not use it after this
 * call. m NULL: no-op.
 */
void rest_mhd_stop(struct rest_mhd *m);

#endif

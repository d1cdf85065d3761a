/*
 * rest_req.h - what the parts of the REST listener share: the listener
 * and request records, answering (rest_answer.c: the one place where a
 * GW_E* code or a use case's result becomes an HTTP status, headers and a
 * JSON body), and the handlers (rest_handlers.c). rest.c routes. Private
 * to gateway/rest*.c.
 */
#ifndef SG_REST_REQ_H
#define SG_REST_REQ_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "app.h"
#include "identity.h"
#include "names.h"
#include "sbuf.h"
#include "sync.h"

struct rl_table;
struct rest_mhd;
struct route;

struct rest {
	struct app *app;        /* borrowed */
	struct rest_mhd *mhd;   /* owned */
	unsigned inflight;      /* requests waiting for a use case */
	uint64_t next_id;
	bool closing;           /* quiesced: documents answer 503 */
	char keep_alive[24];    /* Keep-Alive: timeout=<limits.http_timeout_s> */
	struct rl_table *rates; /* owned: a bucket per caller */
	struct rl_table *auth_fails; /* owned: a bucket per client address */
};

struct req {
	struct rest *r;              /* borrowed */
	struct MHD_Connection *conn; /* borrowed from MHD */
	char id[24];
	struct sbuf body;
	size_t discarded;
	bool too_big;
	bool discard;     /* refused on its headers: its body is dropped */
	bool suspended;   /* waiting for a use case's answer */
	bool gone;        /* MHD finished with it while the use case runs */
	bool have_reply;
	bool close_after; /* answer with Connection: close (framing doubt) */
	struct sync_result reply; /* reply.body owned while have_reply */
	struct identity who;      /* owned once authenticated */
	const struct route *rt;   /* decided on the headers */
	int refuse;               /* or the answer decided on them (GW_E*) */
	const char *refuse_allow; /* 405: the methods */
	int retry_after;          /* 429: seconds */
	char refuse_msg[200];
	char coll[NAMES_COLLECTION_MAX + 1];
	char id_doc[NAMES_ID_MAX + 1];
	char method[8];
	char path[96];
};

/* Headers an answer may carry besides the fixed ones. */
struct answer_meta {
	const char *etag;   /* NULL or "" when none */
	int retry_after;    /* seconds, 0: none */
	const char *allow;  /* 405 */
	bool replayed;      /* Idempotent-Replayed: true */
};

/* ---- answering (rest_answer.c) ---- */

/* Sends body (taken) with status and the fixed headers plus meta's. */
enum MHD_Result rest_send_body(struct req *q, int status, char *body,
			       size_t len, const char *ctype,
			       const struct answer_meta *meta);
/* A use case's result (r->body taken); allow: the 405's methods. */
enum MHD_Result rest_send_result(struct req *q, struct sync_result *r,
				 const char *allow);
enum MHD_Result rest_send_error(struct req *q, int err, const char *msg);
enum MHD_Result rest_send_405(struct req *q, const char *allow);
enum MHD_Result rest_send_json(struct req *q, int status, const char *json);
/* sync_done_fn for the use cases: keeps the result, resumes q. */
void rest_on_done(void *arg, struct sync_result *reply);
/* After starting a use case (rc its return): suspends q, or answers the
 * error at once. */
enum MHD_Result rest_started(struct req *q, int rc, const struct gw_error *e);

/* ---- handlers (rest_handlers.c) ---- */

/* Every handler answers q (or suspends it for a use case); url is the decoded
 * path, which only the static files need. */
typedef enum MHD_Result (*handler_fn)(struct req *q, const char *url);
enum MHD_Result rest_h_health(struct req *q, const char *url);
enum MHD_Result rest_h_ready(struct req *q, const char *url);
enum MHD_Result rest_h_info(struct req *q, const char *url);
enum MHD_Result rest_h_metrics(struct req *q, const char *url);
enum MHD_Result rest_h_static(struct req *q, const char *url);
enum MHD_Result rest_h_dev_token(struct req *q, const char *url);
enum MHD_Result rest_h_doc_put(struct req *q, const char *url);
enum MHD_Result rest_h_doc_delete(struct req *q, const char *url);
enum MHD_Result rest_h_doc_get(struct req *q, const char *url);
enum MHD_Result rest_h_list(struct req *q, const char *url);
enum MHD_Result rest_h_changes(struct req *q, const char *url);
enum MHD_Result rest_h_conflicts(struct req *q, const char *url);
enum MHD_Result rest_h_preflight(struct req *q, const char *url);

#endif

/*
 * sync_write_ctx.h - private to the write pipeline (sync_write.c, its
 * answers in sync_answer.c, its resolver step in sync_resolve.c): the state
 * of one write and the steps the three files hand it between. Not an
 * interface for anything else. Loop thread only.
 */
#ifndef SG_SYNC_WRITE_CTX_H
#define SG_SYNC_WRITE_CTX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>

#include "decide.h"
#include "doc.h"
#include "doclock.h"
#include "idem.h"
#include "metrics.h"
#include "resolution.h"
#include "sbuf.h"
#include "sync.h"

struct sync {
	struct app *app;         /* borrowed */
	struct doclock *locks;   /* owned */
};

struct wctx {
	struct doclock_waiter lock;  /* first: the lock hands us back by it */
	struct sync *sy;             /* borrowed */
	sync_done_fn done;
	void *arg;
	char coll[NAMES_COLLECTION_MAX + 1];
	char id[NAMES_ID_MAX + 1];
	bool is_delete;
	bool has_if_match;
	char if_match[80];
	char req_id[24];
	struct doc_write w;          /* owned: the parsed body */
	char writer[NAMES_ACTOR_MAX + 1];
	const struct coll_policy *policy; /* borrowed from the config; NULL: lww */
	enum conflict_policy conflict;
	uint64_t history, conflict_history;
	/* idempotency */
	bool has_key;
	char subject[NAMES_ACTOR_MAX + 1]; /* the caller's */
	bool can_read;               /* the caller may read the collection:
					else answers carry no data and no
					stored document */
	char scope[IDEM_HEX_LEN + 1];
	char fp[IDEM_HEX_LEN + 1];
	/* time */
	double t0;                   /* monotonic seconds, for the latency */
	int64_t give_up_ms;          /* monotonic: stop re-deciding (503); set
					when the write gets its document */
	int64_t resolve_by_ms;       /* monotonic: the resolver budget's end */
	int rounds;
	bool presumed;               /* this round decided on "no document"
					without reading (presume_absent) */
	int resolver_rounds;
	const char *fallback_reason; /* set once the resolver failed: the
					fallback policy decides from then on */
	/* the current round */
	bool have_stored;
	struct doc stored;           /* owned */
	struct sbuf stored_json;     /* owned: its bytes, for answers */
	struct decide_out dec;       /* owned; dec.next borrows w.data_json or
					ans.data_json: release dec first */
	struct sbuf next;            /* the document being stored, up to
					"offset":" */
	struct sbuf trail;           /* the conflict entry, up to "offset":" */
	struct sbuf tail;            /* the answer after the document */
	struct sbuf rec;             /* the idempotency record (head, or all) */
	struct sbuf answer_json;     /* the resolver's answer, compact */
	struct resolution_answer ans;
	bool asked;                  /* a resolver answered in this round */
	long resolver_status;
	int64_t resolver_ms;
	struct sync_result res;      /* the answer being recorded */
	char etag[VV_ETAG_LEN + 1];
};

static inline int64_t wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static inline int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- steps (each takes the write; none returns a status: the write is
 * either handed to a callback or answered, exactly once) ---- */

/* sync_write.c */
/* Answers with res (taken), frees w, hands its document to the next. */
void wctx_finish(struct wctx *w, struct sync_result *res,
		 enum metrics_write_result mr);
/* Answers with the error err (msg NULL: the table's), as wctx_finish. */
void wctx_fail(struct wctx *w, int err, const char *msg);
/* Decides against w->stored (the fallback policy once one is set) and goes
 * on: answer, resolver, or store. */
void wctx_decide(struct wctx *w);
/* Stores w->dec.next if the stored document is still the one decided on. */
void wctx_store(struct wctx *w);

/* sync_answer.c */
/* Answers from an idempotency record (the first answer of the key). */
void wctx_answer_record(struct wctx *w, const char *rec, size_t len);
/* Appends ,"conflict":{"policy","winner"[,"fallback","reason"]}. */
void wctx_conflict_report(struct wctx *w, struct sbuf *sb);
/* w->tail: the answer's members after the stored document. */
void wctx_build_tail(struct wctx *w);
/* w->trail: this round's conflict entry, up to "offset":". */
void wctx_build_trail(struct wctx *w, bool changed);
/* Takes "data" and "stored" out of r's body (a write answer, or the
 * members after an error object), for a caller without read permission. */
void wctx_strip_unreadable(struct sync_result *r);
/* Answers r (taken) after keeping what it leaves behind in Redis. */
void wctx_answer_unchanged(struct wctx *w, struct sync_result *r);
/* The stored document plus applied false (rules 3 and 4). */
void wctx_answer_noop(struct wctx *w);
/* 409 conflict with the stored document. */
void wctx_answer_reject(struct wctx *w);

/* sync_resolve.c */
/* Asks the collection's resolver about the conflict in w->dec
 * (DECIDE_RESOLVE), within the write's budget; its answer is stored
 * (wctx_store), a failure lets the fallback decide (wctx_decide). */
void wctx_ask_resolver(struct wctx *w);

#endif

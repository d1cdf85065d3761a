/*
 * decide.h - the write rules of DESIGN.md section 4 as one pure function:
 * given the stored document (or none) and a write, what to store and what
 * to answer. The caller then stores the result atomically, on the condition
 * that the stored document is still the one decided on.
 */
#ifndef SG_DECIDE_H
#define SG_DECIDE_H

#include <stdbool.h>
#include <stdint.h>

#include "doc.h"
#include "policy.h"

struct decide_in {
	const struct doc *stored;      /* borrowed; NULL when no document */
	const struct doc_write *write; /* borrowed */
	const char *collection;
	const char *id;
	const char *writer;    /* the resolved actor of this write */
	bool is_delete;
	const char *if_match;  /* If-Match header value, or NULL */
	enum conflict_policy policy;
	int64_t now_ms;        /* server time */
	int64_t clamp_ms;      /* client timestamps capped at now + clamp */
	bool server_clock;     /* lww_clock=server: ignore client timestamps */
	const char *subject;   /* the caller's subject, or NULL */
	int devices_max;       /* actors of subject ("sub", "sub:*") a
				  document's version may hold; 0: no cap */
};

enum decide_kind {
	DECIDE_APPLY,   /* store out->next (one change, published once) */
	DECIDE_NOOP,    /* nothing changes; answer with the stored document */
	DECIDE_FAIL,    /* answer out->err */
	DECIDE_RESOLVE  /* callback policy, rule 5: ask the resolver; out->next
			   is the incoming document (version W) to send */
};

struct decide_out {
	enum decide_kind kind;
	int err;            /* DECIDE_FAIL: GW_EBADREQ, GW_ENOTFOUND,
			       GW_EINVVER, GW_ECONFLICT, GW_EPRECOND, ... */
	const char *message;
	struct doc next;    /* DECIDE_APPLY: the document to store (no offset);
			       DECIDE_RESOLVE: the incoming document */
	bool applied;       /* the incoming state is what is now stored */
	bool created;       /* a PUT brought the document (back) to life: 201 */
	bool conflict;      /* rule 5 ran */
	const char *winner; /* "incoming", "stored" or "resolver" when conflict */
	int64_t ts;         /* the write's timestamp as decided (clamped) */
};

/* Zeroes out and decides. Release out with decide_out_release. */
void decide_write(const struct decide_in *in, struct decide_out *out);
void decide_out_release(struct decide_out *out);

/*
 * The document a resolver's answer makes (DESIGN.md sections 4 and 11), for
 * the same in that gave DECIDE_RESOLVE: data (borrowed; its serialization
 * data_json, borrowed until out is released) or a tombstone, version
 * merge(W, S), actor the writer, timestamp in->now_ms. Zeroes out first;
 * out->kind is DECIDE_APPLY with winner "resolver", or DECIDE_FAIL.
 */
void decide_resolved(const struct decide_in *in, json_t *data,
		     const char *data_json, size_t data_json_len, bool deleted,
		     struct decide_out *out);

#endif

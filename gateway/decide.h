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

enum decide_policy { POLICY_LWW, POLICY_REJECT, POLICY_CALLBACK };

struct decide_in {
	const struct doc *stored;      /* borrowed; NULL when no document */
	const struct doc_write *write; /* borrowed */
	const char *collection;
	const char *id;
	const char *writer;    /* the resolved actor of this write */
	bool is_delete;
	const char *if_match;  /* If-Match header value, or NULL */
	enum decide_policy policy;
	int64_t now_ms;        /* server time */
	int64_t clamp_ms;      /* client timestamps capped at now + clamp */
	bool server_clock;     /* lww_clock=server: ignore client timestamps */
};

enum decide_kind {
	DECIDE_APPLY, /* store out->next (one change, published once) */
	DECIDE_NOOP,  /* nothing changes; answer with the stored document */
	DECIDE_FAIL   /* answer out->err */
};

struct decide_out {
	enum decide_kind kind;
	int err;            /* DECIDE_FAIL: GW_EBADREQ, GW_ENOTFOUND,
			       GW_EINVVER, GW_ECONFLICT, GW_EPRECOND, ... */
	const char *message;
	struct doc next;    /* DECIDE_APPLY: the document to store (no offset) */
	bool applied;       /* the incoming state is what is now stored */
	bool created;       /* a PUT brought the document (back) to life: 201 */
	bool conflict;      /* rule 5 ran */
	const char *winner; /* "incoming" or "stored" when conflict */
};

/* Zeroes out and decides. Release out with decide_out_release. */
void decide_write(const struct decide_in *in, struct decide_out *out);
void decide_out_release(struct decide_out *out);

const char *decide_policy_name(enum decide_policy p);

#endif

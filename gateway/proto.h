/*
 * proto.h - the WebSocket protocol of DESIGN.md section 7: parsing client
 * messages and formatting server messages. Pure; parsers take bytes and
 * never see a socket.
 */
#ifndef SG_PROTO_H
#define SG_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"
#include "msg.h"
#include "names.h"
#include "offset.h"

enum proto_type { PROTO_SUBSCRIBE, PROTO_UNSUBSCRIBE, PROTO_AUTH, PROTO_PING };

#define PROTO_TOKEN_MAX 16384

/* Longest "ref" a client message may carry, serialized (bad_request past
 * it): each subscription keeps its ref as long as it lives. */
#define PROTO_REF_MAX 256

struct proto_msg {
	enum proto_type type;
	char collection[NAMES_COLLECTION_MAX + 1]; /* subscribe, unsubscribe */
	bool has_since;
	struct offset since;
	bool conflicts; /* subscribe: also the conflict trail's entries */
	char *ref;   /* owned: the "ref" value re-serialized, or NULL */
	char *token; /* owned: auth token, or NULL */
};

/*
 * Parses one client message. Unknown fields are ignored (forward
 * compatibility), duplicate keys are not. Returns 0, or GW_EBADREQ with
 * err->msg saying why; *ref_out (may be NULL) receives the message's ref
 * even on failure when it could be read, so errors can echo it.
 */
int proto_parse(const char *buf, size_t len, int depth_max,
		struct proto_msg *out, char **ref_out, struct gw_error *err);
void proto_msg_release(struct proto_msg *m);

/* Server messages; each returns a new msg (refs 1) or NULL on OOM. */
struct msg *proto_welcome(const char *node, const char *session);
struct msg *proto_subscribed(const char *coll, const char *offset,
			     const char *ref);
struct msg *proto_unsubscribed(const char *coll, const char *ref);
struct msg *proto_reset(const char *coll, const char *reason,
			const char *offset);
struct msg *proto_pong(const char *ref);
struct msg *proto_error(const char *code, const char *message,
			const char *ref);
/* {"type":"change", followed by a stored document's fields. */
struct msg *proto_change(const char *doc, size_t len);
/* A conflict trail entry (already {"type":"conflict",...}) as it is. */
struct msg *proto_conflict(const char *entry, size_t len);

#endif

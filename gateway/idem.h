/*
 * idem.h - idempotency keys (DESIGN.md section 6): which keys are valid,
 * the scope a key lives in (collection and caller: another caller's key
 * never matches), the fingerprint of a request (same key with another body
 * is 422), and the record of the first answer kept in Redis, from which a
 * retry is answered byte for byte. Pure.
 *
 * Record: "sg1\n<fingerprint>\n<OK|error name>\n<0|1 created>\n<etag>\n
 * <message>\n" then the body; the body is last so that the write script can
 * store the head it is given followed by the answer it completes.
 */
#ifndef SG_IDEM_H
#define SG_IDEM_H

#include <stdbool.h>
#include <stddef.h>

#include "sbuf.h"
#include "vv.h"

#define IDEM_KEY_MAX 255
#define IDEM_HEX_LEN 64 /* SHA-256 in hex */

/* 1..IDEM_KEY_MAX visible ASCII characters (0x21..0x7e). */
bool idem_key_valid(const char *key, size_t len);
/* The Redis-side name of key for caller (hex, IDEM_HEX_LEN + 1 bytes). */
void idem_scope(const char *caller, const char *key, char *out);
/* The request's fingerprint (hex, IDEM_HEX_LEN + 1 bytes): method, id,
 * If-Match (NULL: none) and the body bytes. */
void idem_fingerprint(bool is_delete, const char *id, const char *if_match,
		      const char *body, size_t len, char *out);

/* The first answer, transport-free (see sync.h). */
struct idem_answer {
	int err;                       /* 0 or a GW_E* code */
	bool created;
	char etag[VV_ETAG_LEN + 1];    /* "" when none */
	char message[200];             /* err: the message; "" for the default */
	const char *body;              /* borrowed: the answer JSON, or with err
					  extra error members; NULL when none */
	size_t len;
};

/* Appends the record head for fingerprint fp (a's body not included). */
void idem_record_head(const char *fp, const struct idem_answer *a,
		      struct sbuf *sb);
/*
 * Parses a record; fp (IDEM_HEX_LEN + 1 bytes) receives its fingerprint
 * and a->body points into rec. Returns 0 or GW_EINTERNAL (not a record).
 */
int idem_record_parse(const char *rec, size_t len, char *fp,
		      struct idem_answer *a);

#endif

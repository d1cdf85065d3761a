/* fanout.h - loadgen fanout: the state of the step under way, which the
 * WebSocket client (changes) and the HTTP client (PUT answers) feed, and
 * the mode itself (fanout.c). */
#ifndef LG_FANOUT_H
#define LG_FANOUT_H

#include "loadgen.h"

struct step_state {
	bool active;
	double rate;
	uint64_t j0, n, next, answered, ok, put_errors, delivered, dups, misrouted;
	uint64_t exp_ok;
	int64_t t0, last_send, last_delivery, lag_max;
	uint8_t *ms;		/* per message: 0 not sent, 1 sent, 2 stored, 3 failed */
	uint32_t *expect, *dcount;
	uint64_t *bits;		/* per subscriber: one bit per message of its collection */
	size_t wps;
	uint64_t status[6];	/* answers by class: [0] errors, [2] 2xx ... */
};

extern struct step_state ST;

void on_change(struct conn *c, const char *m, size_t n, int64_t now);
/* Sends every message that is due, while a publisher is free. */
void pub_pump(void);
int mode_fanout(struct buf *j);

#endif

/* fanout.c - loadgen fanout: publishers PUT at a fixed rate R for D
 * seconds (--ramp F: steps of R, R*F, R*F^2... until one fails, then
 * --bisect steps), every delivery to every subscriber counted; the step's
 * figures, its pass or fail, and the best step (fanout.h). */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanout.h"
#include "http.h"
#include "stats.h"
#include "ws.h"

/* Fan-out latency is taken from each message's SCHEDULED send time (message
 * i of a step is due at t0 + i/R), which the payload carries with its
 * sequence number: a server that slows the publishers down is charged for
 * it. Deliveries are counted per (message, subscriber): lost, duplicated,
 * misrouted; each subscriber also checks that the offsets of its changes
 * follow each other (seq + 1, no gap, no reordering). */

#define MARK         "SGLG"

static struct hist lat_h;

struct step_state ST;

void on_change(struct conn *c, const char *m, size_t n, int64_t now)
{
	const char *mk = memmem(m, n, MARK, 4), *e = m + n, *p;
	int64_t sched = 0, seq = offset_seq(m, n);
	uint64_t j = 0, i, bit;
	uint64_t *w;

	G.last_change = now;
	if (seq >= 0) {
		if (c->last_seq >= 0 && seq != c->last_seq + 1)
			G.order_errors++;
		c->last_seq = seq;
	}
	if (!mk) {
		G.foreign++;
		return;
	}
	for (p = mk + 4; p < e && isdigit((unsigned char)*p); p++)
		sched = sched * 10 + (*p - '0');
	if (p < e && *p == '.')
		for (p++; p < e && isdigit((unsigned char)*p); p++)
			j = j * 10 + (uint64_t)(*p - '0');
	if (!ST.n || j < ST.j0 || j >= ST.j0 + ST.n) {
		G.late++;
		return;
	}
	i = j - ST.j0;
	if ((int)(j % (uint64_t)O.colls) != c->coll) {
		ST.misrouted++;
		return;
	}
	bit = i / (uint64_t)O.colls;
	w = &ST.bits[(size_t)c->idx * ST.wps + bit / 64];
	if (*w & (1ULL << (bit % 64))) {
		ST.dups++;
		return;
	}
	*w |= 1ULL << (bit % 64);
	ST.dcount[i]++;
	ST.delivered++;
	ST.last_delivery = now;
	h_add(&lat_h, now - sched);
}

static void pub_send(struct conn *c, uint64_t i, int64_t sched, int64_t now)
{
	char id[64], body[64 + 1024];
	static struct buf big;
	uint64_t j = ST.j0 + i;
	int coll = (int)(j % (uint64_t)O.colls);
	int n;

	snprintf(id, sizeof(id), "%s-%" PRIu64, runid, j);
	n = snprintf(body, sizeof(body), "{\"data\":{\"m\":\"" MARK "%" PRId64 ".%" PRIu64 ".",
		     sched, j);
	buf_clear(&big);
	buf_add(&big, body, (size_t)n);
	/* pad the string to --size bytes (it starts after {"data":{"m":") */
	for (int k = n - 14; k < O.size; k++)
		buf_add(&big, "x", 1);
	buf_add(&big, "\"}}", 3);
	ST.expect[i] = (uint32_t)ready_in_coll[coll];
	ST.ms[i] = 1;
	http_put(c, coll, id, buf_data(&big), buf_avail(&big));
	c->req = i;
	c->sched = sched;
	c->t0 = now;
	c->state = C_BUSY;
	ST.last_send = now;
	if (now - sched > ST.lag_max)
		ST.lag_max = now - sched;
	if (conn_flush(c) < 0)
		http_lost(c, "send failed", true);
}

static int pub_rr;

/* Sends every message that is due, while a publisher is free. */
void pub_pump(void)
{
	int64_t now;

	if (!ST.active)
		return;
	now = now_ns();
	while (ST.next < ST.n) {
		int64_t sched = ST.t0 + (int64_t)((double)ST.next * 1e9 / ST.rate);
		struct conn *c = NULL;

		if (sched > now) {
			timer_arm(sched);
			return;
		}
		for (int k = 0; k < nhttps; k++) {
			struct conn *x = &https[(pub_rr + k) % nhttps];

			if (x->state == C_OPEN) {
				c = x;
				pub_rr = (pub_rr + k + 1) % nhttps;
				break;
			}
		}
		if (!c)
			return;		/* an answer frees one and pumps again */
		pub_send(c, ST.next++, sched, now);
	}
}

/* ----------------------------------------------------------------- fanout */

struct step_res {
	int step;		/* index in "steps" */
	double rate;
	bool pass;
	double deliveries_per_s, p99;
	double cpu_us;		/* server CPU µs per delivery, -1 unknown */
	char fail[256];
};

/* One step at `rate` for O.duration; appends its JSON object to j. */
static void run_step(double rate, const char *phase, struct buf *j, struct step_res *res)
{
	uint64_t n = (uint64_t)llround(rate * O.duration), per_coll, lost = 0, unacked = 0;
	uint64_t late0 = G.late, order0 = G.order_errors, disc0 = G.disconnects;
	uint64_t order, disc, late;
	int64_t sched_end, drain_end = 0, complete = 0, now;
	struct cpu_snap c0, c1;
	double wall, dps, p99;
	bool timed_out = false;
	struct buf why = {0};

	if (n < 1)
		n = 1;
	per_coll = (n + (uint64_t)O.colls - 1) / (uint64_t)O.colls;
	ST.j0 += ST.n;
	ST.n = n;
	ST.rate = rate;
	ST.next = ST.answered = ST.ok = ST.put_errors = ST.delivered = 0;
	ST.dups = ST.misrouted = ST.exp_ok = 0;
	ST.lag_max = 0;
	memset(ST.status, 0, sizeof(ST.status));
	free(ST.ms);
	free(ST.expect);
	free(ST.dcount);
	free(ST.bits);
	ST.wps = (per_coll + 63) / 64;
	ST.ms = calloc(n, 1);
	ST.expect = calloc(n, sizeof(*ST.expect));
	ST.dcount = calloc(n, sizeof(*ST.dcount));
	ST.bits = calloc((size_t)O.subs * ST.wps + 1, sizeof(*ST.bits));
	if (!ST.ms || !ST.expect || !ST.dcount || !ST.bits)
		die("out of memory");
	memset(&lat_h, 0, sizeof(lat_h));
	memset(&put_h, 0, sizeof(put_h));
	cpu_take(&c0);
	ST.t0 = now_ns() + 5 * MS;
	ST.last_send = ST.last_delivery = ST.t0;
	sched_end = ST.t0 + (int64_t)(O.duration * 1e9);
	ST.active = true;
	pub_pump();
	for (;;) {
		now = now_ns();
		if (now >= deadline) {
			timed_out = true;
			break;
		}
		if (ST.next == ST.n && !drain_end)
			drain_end = (sched_end > ST.last_send ? sched_end : ST.last_send) +
				    (int64_t)(O.drain * 1e9);
		if (drain_end && now >= drain_end)
			break;
		/* everything stored and delivered: a short grace for strays, then done */
		if (!complete && ST.answered == ST.n && !ST.put_errors && ST.delivered >= ST.exp_ok)
			complete = now;
		if (complete && now >= complete + 100 * MS)
			break;
		loop_once(complete ? complete + 100 * MS : drain_end ? drain_end : now + 100 * MS);
	}
	ST.active = false;
	cpu_take(&c1);
	/* requests still in flight: counted as errors, their connections renewed */
	for (int k = 0; k < nhttps; k++)
		if (https[k].state == C_BUSY)
			http_lost(&https[k], "no answer by the end of the step", true);
	for (uint64_t i = 0; i < n; i++) {
		if (ST.ms[i] == 2)
			lost += ST.expect[i] > ST.dcount[i] ? ST.expect[i] - ST.dcount[i] : 0;
		else
			unacked += ST.dcount[i];
	}
	order = G.order_errors - order0;
	disc = G.disconnects - disc0;
	late = G.late - late0;
	wall = (double)((ST.last_delivery > sched_end ? ST.last_delivery : sched_end) - ST.t0) / 1e9;
	dps = wall > 0 ? (double)ST.delivered / wall : 0;
	p99 = h_pct(&lat_h, 99);
	if (ST.next < ST.n)
		bprintf(&why, "%snot all sent", why.len ? ", " : "");
	if (p99 > O.p99_max)
		bprintf(&why, "%sp99 %.1f ms > %.0f ms", why.len ? ", " : "", p99, O.p99_max);
	if (lost)
		bprintf(&why, "%s%" PRIu64 " lost", why.len ? ", " : "", lost);
	if (ST.put_errors)
		bprintf(&why, "%s%" PRIu64 " PUT errors", why.len ? ", " : "", ST.put_errors);
	if (ST.dups)
		bprintf(&why, "%s%" PRIu64 " duplicates", why.len ? ", " : "", ST.dups);
	if (ST.misrouted)
		bprintf(&why, "%s%" PRIu64 " misrouted", why.len ? ", " : "", ST.misrouted);
	if (order)
		bprintf(&why, "%s%" PRIu64 " out of order", why.len ? ", " : "", order);
	if (disc)
		bprintf(&why, "%s%" PRIu64 " disconnects", why.len ? ", " : "", disc);
	if (timed_out)
		bprintf(&why, "%s--max-time reached", why.len ? ", " : "");
	res->rate = rate;
	res->pass = why.len == 0;
	snprintf(res->fail, sizeof(res->fail), "%.*s", (int)why.len, why.p ? why.p : "");
	res->deliveries_per_s = dps;
	res->p99 = p99;
	res->cpu_us = ST.delivered && O.npids ? cpu_server_s(&c0, &c1) * 1e6 / (double)ST.delivered : -1;
	bprintf(j, "{\"phase\":\"%s\",\"rate\":%.2f,\"duration_s\":%.2f,\"published\":%" PRIu64
		",\"put_ok\":%" PRIu64 ",\"put_errors\":%" PRIu64
		",\"put_status\":{\"2xx\":%" PRIu64 ",\"4xx\":%" PRIu64 ",\"5xx\":%" PRIu64
		",\"other\":%" PRIu64 "},\"expected\":%" PRIu64 ",\"delivered\":%" PRIu64
		",\"lost\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"misrouted\":%" PRIu64
		",\"delivered_unacked\":%" PRIu64 ",\"late_from_earlier_steps\":%" PRIu64
		",\"out_of_order\":%" PRIu64 ",\"disconnects\":%" PRIu64
		",\"deliveries_per_s\":%.0f,\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,"
		"\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f},\"put_ms\":{\"p50\":%.3f,\"p99\":%.3f,"
		"\"max\":%.3f},\"publish_lag_max_ms\":%.3f,",
		phase, rate, O.duration, ST.next, ST.ok, ST.put_errors, ST.status[2], ST.status[4],
		ST.status[5], ST.status[0] + ST.status[1] + ST.status[3], ST.exp_ok,
		ST.delivered, lost, ST.dups, ST.misrouted, unacked, late, order, disc, dps,
		h_pct(&lat_h, 50), h_pct(&lat_h, 90), p99, h_pct(&lat_h, 99.9), h_max(&lat_h),
		h_pct(&put_h, 50), h_pct(&put_h, 99), h_max(&put_h), (double)ST.lag_max / 1e6);
	json_cpu(j, &c0, &c1, ST.delivered, "delivery");
	bprintf(j, ",\"pass\":%s,\"fail\":", res->pass ? "true" : "false");
	if (why.len)
		bprintf(j, "\"%.*s\"}", (int)why.len, why.p);
	else
		bprintf(j, "null}");
	fprintf(stderr, "%s: %8.1f msg/s  %9.0f deliveries/s  p50 %7.2f  p99 %7.2f  max %7.2f ms"
		"  put p99 %6.2f ms  lost %" PRIu64 "  srv %5.2f us/deliv  loadgen cpu %3.0f%%  %s%.*s\n",
		O.label, rate, dps, h_pct(&lat_h, 50), p99, h_max(&lat_h), h_pct(&put_h, 99),
		lost, res->cpu_us, (c1.self_s - c0.self_s) * 1e9 / (double)(c1.t - c0.t) * 100,
		res->pass ? "pass" : "FAIL: ", (int)why.len, why.p ? why.p : "");
	free(why.p);
}

/* The best pass (most deliveries/s) and the lowest failing rate so far. */
static void keep(const struct step_res *r, struct step_res *best, bool *have_best,
		 struct step_res *fail, bool *have_fail)
{
	if (r->pass && (!*have_best || r->deliveries_per_s > best->deliveries_per_s)) {
		*best = *r;
		*have_best = true;
	}
	if (!r->pass && (!*have_fail || r->rate < fail->rate)) {
		*fail = *r;
		*have_fail = true;
	}
}

/* After a failed step: until no change has come in for 500 ms (at most 5 s),
 * so that the next step does not start behind the last one's backlog. */
static void quiet(void)
{
	int64_t stop = now_ns() + 5 * NS;

	while (now_ns() < stop && now_ns() - G.last_change < 500 * MS && !out_of_time())
		loop_once(now_ns() + 100 * MS);
}

int mode_fanout(struct buf *j)
{
	double connect_s, rate = O.rate;
	struct step_res best = {0}, fail = {0}, r = {0};
	bool have_best = false, have_fail = false;
	int steps = 0;

	alloc_subs(O.subs);
	connect_s = subs_open(O.subs);
	fprintf(stderr, "%s: %" PRIu64 " of %d subscribers ready in %.1f s\n", O.label,
		G.sub_ready, O.subs, connect_s);
	json_head(j);
	bprintf(j, ",\"subs\":%d,\"collections\":%d,\"payload_bytes\":%d,\"pub_conns\":%d"
		",\"subs_ready\":%" PRIu64 ",\"subs_failed\":%" PRIu64 ",\"connect_s\":%.2f"
		",\"ramp_factor\":%.2f,\"bisect\":%d,\"p99_max_ms\":%.1f,\"drain_s\":%.1f",
		O.subs, O.colls, O.size, O.pub_conns, G.sub_ready, G.sub_failed, connect_s,
		O.ramp, O.bisect, O.p99_max, O.drain);
	if (G.sub_ready == 0 || !https_open(O.pub_conns)) {
		bprintf(j, ",\"error\":\"%s\"}", G.sub_ready ? "publishers did not connect"
							      : "no subscriber ready");
		return 2;
	}
	bprintf(j, ",\"steps\":[");
	for (;;) {
		if (steps)
			bprintf(j, ",");
		run_step(rate, "ramp", j, &r);
		r.step = steps++;
		keep(&r, &best, &have_best, &fail, &have_fail);
		if (!O.ramp || !r.pass || steps >= O.max_steps || rate * O.ramp > O.rate_max)
			break;
		if ((double)(deadline - now_ns()) / 1e9 < O.duration + O.drain + 1)
			break;
		rate *= O.ramp;
	}
	/* between the best pass and the lowest fail, halving the interval */
	for (int b = 0; b < O.bisect && have_best && have_fail && steps < O.max_steps; b++) {
		quiet();
		if ((double)(deadline - now_ns()) / 1e9 < O.duration + O.drain + 1)
			break;
		bprintf(j, ",");
		run_step((best.rate + fail.rate) / 2, "bisect", j, &r);
		r.step = steps++;
		keep(&r, &best, &have_best, &fail, &have_fail);
	}
	bprintf(j, "],\"disconnects\":%" PRIu64 ",\"server_closes\":%" PRIu64
		",\"last_close_code\":%d,\"foreign_changes\":%" PRIu64 ",\"best\":",
		G.disconnects, G.server_closes, G.last_close_code, G.foreign);
	if (have_best) {
		bprintf(j, "{\"step\":%d,\"rate\":%.2f,\"deliveries_per_s\":%.0f,\"p99_ms\":%.3f,"
			"\"server_cpu_us_per_delivery\":", best.step, best.rate,
			best.deliveries_per_s, best.p99);
		if (best.cpu_us >= 0)
			bprintf(j, "%.2f}", best.cpu_us);
		else
			bprintf(j, "null}");
	} else {
		bprintf(j, "null");
	}
	bprintf(j, ",\"lowest_fail\":");
	if (have_fail)
		bprintf(j, "{\"step\":%d,\"rate\":%.2f,\"deliveries_per_s\":%.0f,\"p99_ms\":%.3f,"
			"\"fail\":\"%s\"}", fail.step, fail.rate, fail.deliveries_per_s, fail.p99,
			fail.fail);
	else
		bprintf(j, "null");
	bprintf(j, "}");
	if (have_best)
		fprintf(stderr, "%s: best passing step %.0f deliveries/s (%.1f msg/s, p99 %.2f ms)\n",
			O.label, best.deliveries_per_s, best.rate, best.p99);
	else
		fprintf(stderr, "%s: no step passed\n", O.label);
	return 0;
}

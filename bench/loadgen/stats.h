/* stats.h - loadgen's figures: latency histograms, CPU and RSS of the
 * --server-pid processes and of loadgen itself (/proc, getrusage), and the
 * JSON fields built from them (stats.c). */
#ifndef LG_STATS_H
#define LG_STATS_H

#include "loadgen.h"

/* Log-linear: exact below 256, then 128 buckets per power of two (< 0.8 %
 * relative error). Values are nanoseconds. */
#define H_SUB 128
#define H_N   (58 * H_SUB)

struct hist {
	uint64_t n, max;
	uint64_t c[H_N];
};

void h_add(struct hist *h, int64_t v);
/* The p-th percentile in ms (0 when empty). */
double h_pct(const struct hist *h, double p);
double h_max(const struct hist *h);

extern long clk_tck;

struct cpu_snap {
	long long pid[MAX_PIDS];
	double self_s;
	int64_t t;
};

void cpu_take(struct cpu_snap *s);
/* Server CPU seconds between two snapshots, summed over --server-pid. */
double cpu_server_s(const struct cpu_snap *a, const struct cpu_snap *b);
void json_cpu(struct buf *j, const struct cpu_snap *a, const struct cpu_snap *b,
	      uint64_t ops, const char *per);
long server_rss_kb(void);
void json_head(struct buf *j);

#endif

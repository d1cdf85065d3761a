/* stats.c - loadgen's figures: the log-linear latency histogram, CPU
 * (utime + stime) and RSS of the --server-pid processes from /proc, its own
 * CPU from getrusage, and the JSON fields made of them (stats.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "stats.h"

/* ------------------------------------------------------------- histogram */

static unsigned h_idx(uint64_t v)
{
	unsigned msb;

	if (v < 256)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	return (msb - 7) * H_SUB + (unsigned)(v >> (msb - 7));
}

static uint64_t h_mid(unsigned idx)
{
	unsigned k;

	if (idx < 256)
		return idx;
	k = idx / H_SUB - 1;
	return ((uint64_t)(idx - k * H_SUB) << k) + ((1ULL << k) >> 1);
}

void h_add(struct hist *h, int64_t v)
{
	uint64_t u = v < 0 ? 0 : (uint64_t)v;

	h->c[h_idx(u)]++;
	h->n++;
	if (u > h->max)
		h->max = u;
}

/* The p-th percentile in ms (0 when empty). */
double h_pct(const struct hist *h, double p)
{
	uint64_t want, seen = 0;

	if (!h->n)
		return 0;
	want = (uint64_t)ceil(p / 100.0 * (double)h->n);
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < H_N; i++) {
		seen += h->c[i];
		if (seen >= want) {
			uint64_t v = h_mid(i);

			return (double)(v > h->max ? h->max : v) / 1e6;
		}
	}
	return (double)h->max / 1e6;
}

double h_max(const struct hist *h)
{
	return (double)h->max / 1e6;
}

/* ------------------------------------------------------- server counters */

long clk_tck;

/* utime + stime of a process, in clock ticks (-1: gone). */
static long long proc_cpu(int pid)
{
	char path[64], s[1024];
	FILE *f;
	size_t n;
	const char *p;
	unsigned long long ut, st;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(s, 1, sizeof(s) - 1, f);
	fclose(f);
	s[n] = 0;
	p = strrchr(s, ')');
	if (!p)
		return -1;
	/* after ") ": state(3) ... utime is field 14, stime 15 */
	if (sscanf(p + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu",
		   &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

static long proc_rss_kb(int pid)
{
	char path[64], line[256];
	FILE *f;
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static double self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

void cpu_take(struct cpu_snap *s)
{
	for (int i = 0; i < O.npids; i++)
		s->pid[i] = proc_cpu(O.pids[i]);
	s->self_s = self_cpu_s();
	s->t = now_ns();
}

/* Server CPU seconds between two snapshots, summed over --server-pid. */
double cpu_server_s(const struct cpu_snap *a, const struct cpu_snap *b)
{
	double s = 0;

	for (int i = 0; i < O.npids; i++)
		if (a->pid[i] >= 0 && b->pid[i] >= 0)
			s += (double)(b->pid[i] - a->pid[i]) / (double)clk_tck;
	return s;
}

void json_cpu(struct buf *j, const struct cpu_snap *a, const struct cpu_snap *b,
	      uint64_t ops, const char *per)
{
	double wall = (double)(b->t - a->t) / 1e9, srv = cpu_server_s(a, b);

	bprintf(j, "\"server_cpu_s\":%.2f,\"server_cpu_s_by_pid\":[", srv);
	for (int i = 0; i < O.npids; i++)
		bprintf(j, "%s%.2f", i ? "," : "",
			(double)(b->pid[i] - a->pid[i]) / (double)clk_tck);
	bprintf(j, "],\"server_cpu_util\":%.2f,\"server_cpu_us_per_%s\":",
		wall > 0 ? srv / wall : 0, per);
	if (ops && O.npids)
		bprintf(j, "%.2f", srv * 1e6 / (double)ops);
	else
		bprintf(j, "null");
	bprintf(j, ",\"loadgen_cpu_util\":%.2f",
		wall > 0 ? (b->self_s - a->self_s) / wall : 0);
}

long server_rss_kb(void)
{
	long s = 0;

	for (int i = 0; i < O.npids; i++) {
		long kb = proc_rss_kb(O.pids[i]);

		if (kb > 0)
			s += kb;
	}
	return s;
}

void json_head(struct buf *j)
{
	bprintf(j, "{\"bench\":\"%s\",\"mode\":\"%s\"", O.label, O.mode);
}

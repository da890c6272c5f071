/* The overhead suite (`make bench`): every workload run untraced and under
 * each tracer, in alternating A/B pairs (untraced, traced) for N rounds with
 * the tracer order rotated per round, so drift and a noisy neighbour hit
 * both sides alike, until each ratio's 95% confidence interval is narrow
 * enough (or a time cap). Reports medians, and traced/untraced ratios of wall
 * and CPU time as the mean of the paired ratios with that interval, and how
 * many points each lies above the floor (counting programs on the same
 * tracepoints); never a pass/fail on time; plus, per traced run, the tracer's own
 * CPU time and peak RSS and every loss counter it reports. A profile pass
 * (one more traced run each, kernel BPF statistics on and a system-wide perf
 * profile) says where the time goes. Table on stdout, JSON in results_dir. */
#ifndef MEMSCOPE_BENCH_OVERHEAD_H
#define MEMSCOPE_BENCH_OVERHEAD_H

#include <stdbool.h>

#define OV_MAX_ROUNDS 50

struct ov_opts {
	int rounds;			/* at least this many; exactly, when ci_points is 0 */
	/* Adaptive rounds: after `rounds`, go on until every traced/untraced
	 * ratio's 95% confidence interval is within +-ci_points points, or
	 * OV_MAX_ROUNDS, or the time cap (the table then says so). */
	double ci_points;
	double max_minutes;		/* cap on the whole suite, shared out per workload */
	bool profile;
	const char *workloads;		/* comma-separated names, NULL: all */
	const char *tracers;		/* comma-separated names, NULL: all */
	const char *results_dir;
	const char *memscope;
	const char *baseline;		/* another memscope build to compare, or NULL */
};

/* 0 when the suite ran (whatever the numbers), -errno when it could not. */
int overhead__run(const struct ov_opts *o);

#endif

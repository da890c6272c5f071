/* What the overhead suite measured, shared by the runner (overhead.c) and
 * its outputs (overhead_out.c): the table on stdout and the JSON file. */
#ifndef MEMSCOPE_BENCH_OVERHEAD_INT_H
#define MEMSCOPE_BENCH_OVERHEAD_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "msreport.h"
#include "overhead.h"
#include "prof.h"
#include "sysinfo.h"
#include "tracers.h"
#include "workloads.h"

#define OV_MAX_CFGS	8	/* untraced + tracers */
/* Runs kept per configuration: the untraced one runs once per tracer per
 * round, so this also caps the rounds (max_rounds()). */
#define OV_MAX_RUNS	160
#define OV_PERF_ROWS	12
#define OV_WHY_LEN	200

struct ov_run {
	double wall_s, cpu_s;		/* the workload's, from wait4 */
	uint64_t pgalloc;		/* pages the kernel allocated while it ran (all CPUs) */
	struct wl_metric m[WL_MAX_METRICS];
	size_t n_m;
	/* traced runs only */
	double tr_cpu_pct;		/* tracer CPU while the workload ran, % of one core */
	double tr_cpu_s;		/* tracer user+sys over its whole life */
	long tr_rss_kib;		/* tracer peak RSS */
	bool has_rep;
	struct msreport rep;		/* memscope's counters (containers dropped) */
};

struct ov_profile {
	bool done;
	char why[OV_WHY_LEN];		/* when not done */
	double wall_s;
	/* Counters when the tracer said it was tracing, and at the end: the
	 * difference covers exactly the traced window. */
	struct prof_prog progs0[PROF_MAX_PROGS];
	size_t n_progs0;
	struct prof_prog progs[PROF_MAX_PROGS];
	size_t n_progs;
	struct prof_row rows[OV_PERF_ROWS];
	size_t n_rows;
	char perf_why[OV_WHY_LEN];	/* when perf gave nothing */
	bool has_rep;
	struct msreport rep;
};

struct ov_cfg {
	const struct tracer_def *tracer;	/* NULL: untraced */
	bool usable;
	char why[OV_WHY_LEN];
	struct ov_run runs[OV_MAX_RUNS];
	size_t n_runs;
	/* traced/untraced of each A/B pair (the untraced run right before) */
	double pair_wall[OV_MAX_ROUNDS], pair_cpu[OV_MAX_ROUNDS];
	double pair_metric[WL_MAX_COMPARED][OV_MAX_ROUNDS];	/* the workload's compared */
	size_t n_pairs;
	size_t n_failed;
	struct ov_profile prof;
};

struct ov_workload {
	const struct workload *w;
	bool skipped;
	char why[OV_WHY_LEN];
	struct ov_cfg cfg[OV_MAX_CFGS];
	size_t n_cfg;
	int rounds;			/* rounds done */
	bool converged;			/* every interval within +-ci_points */
	bool capped;			/* stopped by the time cap or the round cap first */
};

struct ov_result {
	const struct ov_opts *opts;
	struct sysinfo_machine machine;
	char date[32];
	double load_before, load_after;
	bool has_report;		/* this memscope writes --report */
	char notes[8][OV_WHY_LEN];
	size_t n_notes;
	struct ov_workload wl[8];
	size_t n_wl;
};

/* Whether every usable traced configuration of ow has both paired ratios'
 * 95% intervals within +-points points. */
bool ov_converged(const struct ov_workload *ow, double points);
void ov_print_table(const struct ov_result *r, FILE *out);
void ov_write_json(FILE *f, void *result);

#endif

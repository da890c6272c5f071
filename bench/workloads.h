/* The workloads the overhead suite times. Each does a fixed amount of work
 * (so wall times of traced and untraced runs compare) and ends by printing
 * one line of "key value" pairs about itself:
 *
 *   pages 655360 seconds 1.612 pages_per_sec 406549
 *
 * Command lines name files in the run's scratch directory as @DIR@. The
 * service yardstick runs a fixed time instead, and what counts there is what
 * its line says: requests per second and latency. */
#ifndef MEMSCOPE_BENCH_WORKLOADS_H
#define MEMSCOPE_BENCH_WORKLOADS_H

#include <stddef.h>
#include <stdio.h>

#define WL_MAX_ARGS	12
#define WL_ARG_LEN	512
#define WL_MAX_METRICS	8
#define WL_MAX_COMPARED	3

struct workload {
	const char *name;
	const char *what;
	const char *needs;			/* a program that must be on PATH, or NULL */
	const char *needs_file;			/* a file that must exist, or NULL */
	const char *setup[WL_MAX_ARGS];		/* once before the first run, untimed */
	const char *prep[WL_MAX_ARGS];		/* before every timed run, untimed */
	const char *run[WL_MAX_ARGS];		/* the timed command */
	/* For a service that runs a fixed time: the metrics its users feel,
	 * compared traced/untraced like the times. */
	const char *compared[WL_MAX_COMPARED];
};

extern const struct workload workloads[];
extern const size_t n_workloads;

struct wl_argv {
	char *argv[WL_MAX_ARGS + 1];
	char buf[WL_MAX_ARGS][WL_ARG_LEN];
};

struct wl_metric {
	char name[32];
	double value;
};

const struct workload *workload__find(const char *name);
/* The template with @DIR@ replaced; -ENAMETOOLONG, or -ENOENT for an empty one. */
int workload__argv(const char *const *tmpl, const char *dir, struct wl_argv *out);
/* The "key value" pairs of the last line that has any; pairs whose value is
 * not a number are skipped. Returns how many were stored (at most max). */
size_t workload__metrics(FILE *f, struct wl_metric *m, size_t max);
/* Value of one metric, NAN when absent. */
double workload__metric(const struct wl_metric *m, size_t n, const char *name);

#endif

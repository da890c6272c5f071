/* The metrics `memscope serve` exposes, written as one Prometheus page from
 * figures gathered elsewhere (topview rows, cgroup files, the tracer, our own
 * overhead), so the page's shape is tested on plain structs. Per container
 * (a topview row: labels container = short id or cgroup path, cgroup = the
 * row's cgroup path):
 *
 *	memscope_container_resident_bytes{class}	own memory, nested rows excluded:
 *		native (anon less V8 heap), v8_heap (when known), file, shmem, kernel
 *	memscope_container_charged_bytes{kind}		memory.stat, hierarchical
 *	memscope_container_usage_bytes, _limit_bytes	memory.current / memory.max
 *	memscope_container_growth_bytes_per_second	least-squares slope of own usage
 *	memscope_container_class_growth_bytes_per_second{class}
 *	memscope_container_growth_monotonic		1 when it only grew over the window
 *	memscope_container_oom_kills_total		memory.events oom_kill
 *	memscope_container_processes
 *	memscope_process_resident_bytes{pid,comm,class}	with --per-process
 * and memscope's own: memscope_bpf_tracer_up, memscope_bpf_lost_events_total
 * {reason}, memscope_bpf_oom_kills_total (kills the tracer saw, by container;
 * 0 for every container before its first, so that increase() sees that one),
 * memscope_bpf_stats_enabled, memscope_bpf_program_run_seconds_total and
 * _runs_total {program} (while BPF statistics are on), process_cpu_seconds_total,
 * process_resident_memory_bytes, process_start_time_seconds,
 * memscope_collect_duration_seconds, memscope_growth_window_seconds, and what
 * the global budgets (budget.h) did: memscope_budget_evicted_total{budget},
 * memscope_budget_refused_total{budget}, memscope_budget_skipped_total{work},
 * memscope_perfmap_shared_total.
 */
#ifndef MEMSCOPE_METRICS_H
#define MEMSCOPE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "budget.h"
#include "cgstat.h"
#include "selfstat.h"
#include "topview.h"
#include "drops.h"

#define METRICS_KILL_ROWS_MAX	4096	/* containers whose BPF-seen kills are kept apart */
#define METRICS_OTHER_CGROUP	"[other]"

struct metrics_ctr {
	const struct top_row *row;	/* own figures, growth, processes */
	struct cgstat charged;		/* its cgroup's files, hierarchical */
};

struct hmap;

struct metrics_tracer {
	bool running;
	struct tracer_drops drops;
	uint64_t oom_queue_dropped;	/* kills the session could not queue */
	/* OOM kills it saw: "cgroup\0container" labels -> uint64_t; NULL until the first */
	struct hmap *kills;
};

/* Counts a kill in the row of cgroup_path (as /proc/PID/cgroup prints it;
 * NULL when unknown, then labelled by cgid). Past METRICS_KILL_ROWS_MAX rows
 * kills go to one METRICS_OTHER_CGROUP row. 0 or -ENOMEM. */
int metrics__count_kill(struct metrics_tracer *t, const char *cgroup_path, uint64_t cgid);
void metrics__tracer_free(struct metrics_tracer *t);

struct metrics_page {
	const struct metrics_ctr *ctrs;
	size_t n_ctrs;
	bool per_process;		/* rows carry their processes */
	double window_s;		/* the slopes' window */
	double collect_s;		/* the last reading of every row took this long */
	const struct selfstat *self;	/* NULL: unknown */
	double start_time;		/* unix seconds */
	const struct metrics_tracer *tracer;
	int bpf_stats;			/* 1 on, 0 off, < 0 unknown */
	const struct selfstat_prog *progs;
	size_t n_progs;
	const struct budget_counts *budgets;	/* NULL: not shown */
};

/* The whole page. 0, or the first error of the writer (promtext.h): the page
 * is complete and valid even then, short of what was refused. */
int metrics__write(const struct metrics_page *m, FILE *f);

/* "ringbuf_full"... as record --report names its losses. */
const char *metrics__loss_name(int drop);

#endif

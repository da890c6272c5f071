/* The model behind `memscope top`: which rows there are, what each holds,
 * how fast it grows, and the table or JSON document they are shown as.
 *
 * A row is a container (all the cgroups of one container: the runtime's
 * scope and whatever the container made below it) or any other memory cgroup
 * with processes of its own. Rows partition the host's memory: a row counts
 * its cgroup's (hierarchical) figures minus those of the rows nested below
 * it, so nothing is counted twice and what sits in a cgroup without
 * processes goes to the nearest row above it. The root cgroup keeps no page
 * counter of its own (v1 estimates it from global counters, v2 has no
 * memory.current): its usage is the sum of its classes.
 *
 * Reading is split from showing: topview__scan() finds the rows (each
 * refresh), topview__sample() reads their figures (each sample, cheap),
 * topview__update() fits the slopes, reads the processes and sorts; the
 * printers only format (the table in topview_table.c, the JSON document in
 * topview_json.c). The hierarchy's mount and /proc are options, so tests run
 * all of it on fixture trees.
 */
#ifndef MEMSCOPE_TOPVIEW_H
#define MEMSCOPE_TOPVIEW_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "cgpath.h"
#include "cgroups.h"
#include "cgstat.h"
#include "container.h"
#include "docker.h"
#include "growth.h"
#include "procstatus.h"
#include "v8_census.h"
#include "verdict.h"

#define TOP_WALK_DEPTH		64		/* deeper cgroups: not shown */
#define TOP_WALK_DIRS		(1u << 20)	/* cgroups looked at per scan */
#define TOP_ROWS_MAX		65536
#define TOP_ROW_PIDS_MAX	65536		/* pids kept per row (all are counted) */

struct topview_opts {
	struct cg_hier hier;	/* mount and version of the memory hierarchy */
	const char *proc_root;	/* "/proc" */
	double window;		/* seconds of samples the slopes fit */
	double period;		/* seconds between samples (sizes the rings) */
	bool procs;		/* keep each row's processes (for -P) */
	struct v8_census *v8;	/* V8 heaps (needs root); NULL: not measured, and
				 * what grows in anon is "anon growth" */
};

enum top_series {
	TOP_S_USAGE, TOP_S_ANON, TOP_S_FILE, TOP_S_SHMEM, TOP_S_KERNEL,
	TOP_S_V8,		/* only with opts.v8 */
	TOP_S_COUNT,
};

struct top_proc {
	pid_t pid;
	pid_t inner_pid;	/* in its own pid namespace */
	char name[PROCSTATUS_NAME_MAX + 1];
	uint64_t rss, anon, file, shmem;
};

struct top_row {
	char *path;		/* in the hierarchy, "/" for the root */
	uint64_t cgid;		/* the cgroup id BPF programs see */
	struct container_info ctr;
	char short_id[CONTAINER_LABEL_LEN + 1];
	char name[DOCKER_NAME_MAX];	/* "" unless the Docker engine named it */
	char image[DOCKER_IMAGE_MAX];
	const char *label;	/* name, else short id, else path */

	size_t n_procs;		/* processes in it (all of them) */
	pid_t *pids;		/* the first TOP_ROW_PIDS_MAX of them */
	size_t n_pids, pids_cap;

	struct cgstat raw;	/* last sample, hierarchical, as the files say */
	struct cgstat own;	/* raw minus the rows nested below */
	uint64_t limit;		/* CGSTAT_UNLIMITED when none (each refresh) */
	uint64_t oom_kills;	/* (each refresh) */
	uint64_t rss;		/* sum of its processes' VmRSS */
	double v8;		/* V8 heap bytes, NaN while unknown (issue 3) */

	struct growth *series[TOP_S_COUNT];	/* own figures over the window */
	double slope;		/* own usage, MiB/min; NaN until 2 samples */
	struct growth_split split;
	bool monotonic;
	struct verdict verdict;	/* of the classes over the window (verdict.h) */
	char verdict_text[64];	/* "native growth (stopped growing 4 s ago)" */

	struct top_proc *procs;	/* with opts.procs (or a -p filter): largest first */
	size_t n_proc_list;

	struct top_row *parent;	/* nearest row above, NULL */
	bool shown;		/* passes the -c / -p filters */
	bool seen;		/* found by the current scan */
};

struct topview;

/* NULL + errno (EINVAL, ENOMEM). */
struct topview *topview__new(const struct topview_opts *o);
void topview__free(struct topview *tv);

/* Walks the hierarchy: new rows appear, rows whose processes are all gone
 * disappear, process lists are refreshed. 0 or -errno of opening the root. */
int topview__scan(struct topview *tv);
/* Reads every row's figures and adds them to its series (t: monotonic seconds). */
void topview__sample(struct topview *tv, double t);
/* Slopes, verdicts, limits, OOM kills, process figures and labels (dl may be
 * NULL), then sorts: growing rows by slope, then the rest by usage. */
void topview__update(struct topview *tv, const struct docker_list *dl);

/* Only rows under (or containing, for a container) one of these cgroup paths,
 * and holding one of these pids; n == 0 lifts that filter. Copies both. */
int topview__set_filter(struct topview *tv, const char *const *paths, size_t n_paths,
			const pid_t *pids, size_t n_pids);

/* V8 heaps from now on (opts.v8 set later: serve knows whether it may only
 * once its tracer attached). */
void topview__set_v8(struct topview *tv, struct v8_census *v8);

/* Does the row grow: a slope, and a verdict of growth (sorted first, and the
 * only rows whose MONO column means something). */
static inline bool topview__row_growing(const struct top_row *r)
{
	return isfinite(r->slope) && verdict__is_growth(&r->verdict);
}

/* Whether the next updates keep each row's processes (the -P toggle). */
void topview__set_procs(struct topview *tv, bool procs);

/* The rows in display order; valid until the next scan. */
struct top_row *const *topview__rows(const struct topview *tv, size_t *n);
/* A row without figures yet (new since the last sample). */
bool topview__has_unsampled(const struct topview *tv);
/* A Docker container row the last update found no name for: time to ask
 * the engine again (it was started since). */
bool topview__has_unnamed_container(const struct topview *tv);

/* ---- printing ---------------------------------------------------------------- */

enum top_col {
	TOP_COL_LABEL, TOP_COL_PROCS, TOP_COL_MEM, TOP_COL_RSS, TOP_COL_ANON, TOP_COL_FILE,
	TOP_COL_SHMEM, TOP_COL_KERNEL, TOP_COL_V8, TOP_COL_NATIVE, TOP_COL_GROWTH, TOP_COL_MONO,
	TOP_COL_OOM, TOP_COL_VERDICT, TOP_COL_COUNT,
};

/* Narrow terminals: columns give way until the label gets TOP_LABEL_WANT,
 * except MEM and VERDICT, which give way only to a TOP_LABEL_MIN label. */
#define TOP_LABEL_MIN	12
#define TOP_LABEL_WANT	32

struct top_layout {
	unsigned cols;		/* 1 << enum top_col */
	int label_w;
};

/* Columns that fit width (0: all, and labels never cut), dropping the least
 * important first, and the label column's width for a longest label of
 * label_len. */
void topview__layout(int width, size_t label_len, struct top_layout *out);

struct top_print {
	int width, height;	/* terminal size; 0: unlimited (pipes) */
	bool procs;		/* list processes under their row */
	const char *title;	/* first line above the table, or NULL */
	/* for the JSON document */
	const struct cg_hier *hier;
	double window, interval;
	int64_t time;		/* unix seconds */
};

/* The table: title, header, shown rows (and processes); lines end in eol
 * ("\n", or "\033[K\n" to clear old text when repainting), lines are cut to
 * width and at most height lines are written. Bytes that are not printable
 * ASCII in labels (they come from cgroup and container names) become '?'. */
void topview__print_table(struct top_row *const *rows, size_t n, const struct top_print *p,
			  const char *eol, FILE *f);
/* One JSON document on one line. */
void topview__print_json(struct top_row *const *rows, size_t n, const struct top_print *p,
			 FILE *f);

/* ---- pure helpers ------------------------------------------------------------ */

/* The cgroup-path helpers live in cgpath.h; these names stay for the
 * modules that called them here before. */
static inline int topview__row_path(const char *cgroup_path, char *buf, size_t len)
{
	return cgpath__row_path(cgroup_path, buf, len);
}

static inline bool topview__is_under(const char *path, const char *ancestor)
{
	return cgpath__is_under(path, ancestor);
}

/* own -= child, field by field, never below 0. */
void topview__subtract(struct cgstat *own, const struct cgstat *child);
/* "0", "512", "12.3K", "456M", "1.2G"... into buf; returns buf. */
const char *topview__fmt_bytes(uint64_t bytes, char *buf, size_t len);
/* "+1200", "-3.5", "0.0", "-" (NaN). */
const char *topview__fmt_rate(double mib_per_min, char *buf, size_t len);
/* Copies at most width printable-ASCII characters of s (others as '?'); when
 * s is longer, keeps its end behind "..." (paths say most at their end). */
void topview__fit(const char *s, int width, char *buf, size_t len);

#endif

/* The last few minutes of every container's memory charge, by kind, so that
 * when the OOM killer strikes the report can say what had been growing and
 * how fast. One point a second per container (every memory cgroup with
 * processes, a container's cgroups counted as one), a bounded ring each.
 *
 * Sources, hierarchical figures either way:
 *	anon 48234496 / file 1052672 / kernel 786432 / sock 0 / shmem 0
 * - "memcg tracepoints" (opts.memcg_tp and a kernel that has them): BPF sums
 *   every charge change (memcg_events.h); each container's memory.stat is read
 *   once for a baseline, so points are exact without polling every cgroup.
 * - "memory.stat": the cgroup's own files through cgstat (memory.stat, plus
 *   memory.current / memory.usage_in_bytes) each period.
 *
 *	struct timeline *tl = timeline__new(&(struct timeline_opts){ .hier = &h });
 *	timeline__tick(tl, cli_now());		often; samples when a period is due
 *	timeline__growth(tl, "/docker/3f4e..", &g);	start, end, slope of its usage
 */
#ifndef MEMSCOPE_TIMELINE_H
#define MEMSCOPE_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroups.h"
#include "cgstat.h"
#include "verdict.h"
#include "memcg_kinds.h"

#define TIMELINE_POINTS		300	/* default: 5 minutes at one point a second */
#define TIMELINE_POINTS_MAX	86400
#define TIMELINE_SERIES		1024	/* containers kept: default and maximum */
#define TIMELINE_PERIOD_S	1.0
/* Containers are looked for this often (a walk of the hierarchy). */
#define TIMELINE_SCAN_S		5.0


struct timeline_point {
	double t;		/* monotonic seconds */
	uint64_t usage;		/* charged to the cgroup, bytes */
	uint64_t kind[TIMELINE_KINDS];
};

struct timeline_opts {
	const struct cg_hier *hier;	/* NULL: points only come from timeline__add */
	size_t points;			/* per container; 0: TIMELINE_POINTS */
	size_t max_series;		/* 0: TIMELINE_SERIES */
	double period;			/* seconds between points; 0: TIMELINE_PERIOD_S */
	bool memcg_tp;			/* with hier: the memcg tracepoints when present */
};

/* What one container's series says about its recent past. */
struct timeline_growth {
	char path[PATH_MAX];	/* the series' cgroup (the container's outermost) */
	uint64_t cgid;
	size_t points;
	double seconds;		/* from the first point to the last */
	uint64_t start, end;	/* usage at the first and the last point */
	double slope;		/* usage, MiB/min, least squares; NaN with < 2 points */
	double kind_slope[TIMELINE_KINDS];
	struct timeline_point last;
	/* verdict.h's rule on the kinds, anon all native (timeline__judge
	 * splits it when the V8 heap is known). */
	struct verdict verdict;
};

struct timeline;

/* NULL + errno (EINVAL: bad options; ENOMEM). */
struct timeline *timeline__new(const struct timeline_opts *o);
void timeline__free(struct timeline *tl);

/* Only containers under (or holding) one of these cgroup paths; n == 0 lifts
 * the filter. 0 or -errno. */
int timeline__set_filter(struct timeline *tl, const char *const *paths, size_t n);

/* Reads every container's figures when a period is due (and looks for new
 * containers every TIMELINE_SCAN_S). Containers that went away keep their
 * series for one ring's length. 0, or -errno of walking the hierarchy. */
int timeline__tick(struct timeline *tl, double now);

/* Appends a point to the series of cgroup path (the row of a container),
 * making the series when new. Points whose time goes back are ignored.
 * 0; -ENOSPC when max_series are kept and none is stale; -EINVAL; -ENOMEM. */
int timeline__add(struct timeline *tl, const char *path, uint64_t cgid, double t,
		  const struct cgstat *st);

/* Forgets series whose last point is older than t_min. */
void timeline__expire(struct timeline *tl, double t_min);

size_t timeline__count(const struct timeline *tl);
/* "memcg tracepoints" or "memory.stat" */
const char *timeline__source(const struct timeline *tl);
/* Why that source, for the one notice line: "the kernel has them",
 * "no memcg tracepoints: disabled by MEMSCOPE_DISABLE=memcg_tp"... */
const char *timeline__source_why(const struct timeline *tl);
/* "anon", "file", "kernel", "sock", "shmem" */
const char *timeline__kind_name(enum timeline_kind k);

/* The points of the series of cgroup_path's container (the cgroup itself
 * when it is in none), oldest first, at most max. Returns how many were
 * copied, or -ENOENT when there is no such series. */
ssize_t timeline__points(const struct timeline *tl, const char *cgroup_path,
			 struct timeline_point *out, size_t max);

/* Start, end and slopes of that series. 0, -ENOENT, -ENOMEM. */
int timeline__growth(const struct timeline *tl, const char *cgroup_path,
		     struct timeline_growth *out);

/* verdict.h's rule on that series up to time until (its points' clock; NaN:
 * all of them), by kind: native, file, shmem, kernel (kernel + sock); anon
 * split into native and V8 heap when v8_end, the V8 heap's bytes at the last
 * point judged, is known (verdict__split_anon), all native when it is NaN.
 * An OOM report judges up to the kill: later points show the victim's pages
 * freed, which is not what grew. 0, -ENOENT, -ENOMEM. */
int timeline__judge(const struct timeline *tl, const char *cgroup_path, double v8_end,
		    double until, struct verdict *out);
/* A CLOCK_BOOTTIME instant (a BPF event's) on the points' clock. */
double timeline__time_of_boot_ns(uint64_t boot_ns);

#endif

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cgpath.h"
#include "cli.h"
#include "feature_state.h"
#include "growth.h"
#include "hmap.h"
#include "log.h"
#include "memcg_events.h"
#include "timeline.h"
#include "topview.h"

/* Baselines are taken again after lost changes, at most this often. */
#define TIMELINE_REBASE_S	30.0

#define SAMPLE_FIELDS	(CGSTAT_USAGE | CGSTAT_ANON | CGSTAT_FILE | CGSTAT_SHMEM | \
			 CGSTAT_KERNEL | CGSTAT_SOCK)

struct series {
	char *path;
	uint64_t cgid;
	struct timeline_point *ring;
	size_t head, n;		/* head: the oldest point */
	/* memcg tracepoints: memory.stat once, when the sums stood at base_delta */
	bool have_base;
	struct cgstat base;
	int64_t base_delta[TIMELINE_KINDS];
};

struct timeline {
	size_t cap, max_series;
	double period;
	struct series **series;
	size_t n_series;
	struct hmap *by_path;	/* path -> struct series * */
	struct cg_hier hier;
	struct topview *tv;	/* finds the containers; NULL without a hierarchy */
	char **filter;
	size_t n_filter;
	double next_sample, next_scan;
	bool scanned;
	struct memcg_events *me;	/* NULL: memory.stat each period */
	uint64_t me_dropped;		/* changes lost, as of the last baselines */
	size_t me_cgroups;		/* cgroups with changes, as of the last scan */
	double next_rebase;
	char why[160];			/* why this source */
};

static const char *const kind_names[TIMELINE_KINDS] = {
	[TIMELINE_ANON] = "anon", [TIMELINE_FILE] = "file", [TIMELINE_KERNEL] = "kernel",
	[TIMELINE_SOCK] = "sock", [TIMELINE_SHMEM] = "shmem",
};

const char *timeline__kind_name(enum timeline_kind k)
{
	return (unsigned)k < TIMELINE_KINDS ? kind_names[k] : "unknown";
}

const char *timeline__source(const struct timeline *tl)
{
	return tl && tl->me ? "memcg tracepoints" : "memory.stat";
}

const char *timeline__source_why(const struct timeline *tl)
{
	return tl ? tl->why : "";
}

size_t timeline__count(const struct timeline *tl)
{
	return tl ? tl->n_series : 0;
}

static void free_filter(struct timeline *tl)
{
	for (size_t i = 0; i < tl->n_filter; i++)
		free(tl->filter[i]);
	free(tl->filter);
	tl->filter = NULL;
	tl->n_filter = 0;
}

static void series_free(struct series *s)
{
	if (!s)
		return;
	free(s->path);
	free(s->ring);
	free(s);
}

void timeline__free(struct timeline *tl)
{
	if (!tl)
		return;
	for (size_t i = 0; i < tl->n_series; i++)
		series_free(tl->series[i]);
	free(tl->series);
	hmap__free(tl->by_path);
	topview__free(tl->tv);
	memcg_events__free(tl->me);
	free_filter(tl);
	free(tl);
}

static void open_source(struct timeline *tl, const struct timeline_opts *o)
{
	char why[sizeof(tl->why) - 32];

	if (!o->hier) {
		snprintf(tl->why, sizeof(tl->why), "points are added by the caller");
		return;
	}
	if (!o->memcg_tp) {
		snprintf(tl->why, sizeof(tl->why), "the memcg tracepoints were not asked for");
		return;
	}
	tl->me = memcg_events__open(o->hier, why, sizeof(why));
	if (tl->me) {
		snprintf(tl->why, sizeof(tl->why), "the kernel has them");
		features__on(FEATURE_MEMCG_EVENTS, NULL);
		return;
	}
	snprintf(tl->why, sizeof(tl->why), "no memcg tracepoints: %s",
		 why[0] ? why : strerror(errno));
	features__off(FEATURE_MEMCG_EVENTS, why[0] ? why : strerror(errno));
}

struct timeline *timeline__new(const struct timeline_opts *o)
{
	struct timeline *tl;

	if (!o || o->points > TIMELINE_POINTS_MAX || o->max_series > TIMELINE_SERIES ||
	    !(o->period >= 0 && o->period <= 3600)) {
		errno = EINVAL;
		return NULL;
	}
	tl = calloc(1, sizeof(*tl));
	if (!tl)
		return NULL;
	tl->cap = o->points ? o->points : TIMELINE_POINTS;
	tl->max_series = o->max_series ? o->max_series : TIMELINE_SERIES;
	tl->period = o->period > 0 ? o->period : TIMELINE_PERIOD_S;
	tl->series = calloc(tl->max_series, sizeof(*tl->series));
	tl->by_path = hmap__new(sizeof(struct series *));
	if (!tl->series || !tl->by_path)
		goto nomem;
	if (o->hier) {
		/* topview only finds the rows here: its own rings stay tiny. */
		struct topview_opts to = { .hier = *o->hier, .proc_root = "/proc",
					   .window = tl->period, .period = tl->period };

		tl->hier = *o->hier;
		tl->tv = topview__new(&to);
		if (!tl->tv) {
			int err = errno;

			timeline__free(tl);
			errno = err;
			return NULL;
		}
	}
	open_source(tl, o);
	return tl;
nomem:
	timeline__free(tl);
	errno = ENOMEM;
	return NULL;
}

int timeline__set_filter(struct timeline *tl, const char *const *paths, size_t n)
{
	if (!tl || (n && !paths))
		return -EINVAL;
	free_filter(tl);
	if (!n)
		return 0;
	tl->filter = calloc(n, sizeof(*tl->filter));
	if (!tl->filter)
		return -ENOMEM;
	for (; tl->n_filter < n; tl->n_filter++) {
		const char *p = paths[tl->n_filter];

		if (!p || !(tl->filter[tl->n_filter] = strdup(p))) {
			free_filter(tl);
			return p ? -ENOMEM : -EINVAL;
		}
	}
	return 0;
}

static const struct timeline_point *point_at(const struct series *s, size_t cap, size_t i)
{
	return &s->ring[(s->head + i) % cap];
}

static void remove_at(struct timeline *tl, size_t i)
{
	struct series *s = tl->series[i];

	hmap__delete(tl->by_path, s->path, strlen(s->path));
	series_free(s);
	tl->series[i] = tl->series[--tl->n_series];
}

/* Room for one more series: the one that has gone longest without a point
 * goes, if it missed at least two periods (its cgroup went away). */
static bool make_room(struct timeline *tl, double t)
{
	size_t oldest = 0;
	double oldest_t = INFINITY;

	if (tl->n_series < tl->max_series)
		return true;
	for (size_t i = 0; i < tl->n_series; i++) {
		const struct series *s = tl->series[i];
		double last = s->n ? point_at(s, tl->cap, s->n - 1)->t : -INFINITY;

		if (last < oldest_t) {
			oldest_t = last;
			oldest = i;
		}
	}
	if (!(oldest_t < t - 2 * tl->period))
		return false;
	remove_at(tl, oldest);
	return true;
}

static struct series *series_get(struct timeline *tl, const char *path, double t, int *err)
{
	struct series **slot = hmap__find(tl->by_path, path, strlen(path)), *s;

	if (slot)
		return *slot;
	if (!make_room(tl, t)) {
		*err = -ENOSPC;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path)) || !(s->ring = calloc(tl->cap, sizeof(*s->ring))) ||
	    !(slot = hmap__upsert(tl->by_path, path, strlen(path), NULL))) {
		series_free(s);
		*err = -ENOMEM;
		return NULL;
	}
	*slot = s;
	tl->series[tl->n_series++] = s;
	return s;
}

static void to_point(const struct cgstat *st, double t, struct timeline_point *p)
{
	p->t = t;
	p->kind[TIMELINE_ANON] = st->anon;
	p->kind[TIMELINE_FILE] = st->file;
	p->kind[TIMELINE_KERNEL] = st->kernel;
	p->kind[TIMELINE_SOCK] = st->sock;
	p->kind[TIMELINE_SHMEM] = st->shmem;
	if (st->have & CGSTAT_USAGE) {
		p->usage = st->usage;
		return;
	}
	/* The v2 root has no usage file: what it holds is the sum of its kinds. */
	p->usage = 0;
	for (int k = 0; k < TIMELINE_KINDS; k++)
		p->usage = p->usage > UINT64_MAX - p->kind[k] ? UINT64_MAX : p->usage + p->kind[k];
}

static bool valid_path(const char *path)
{
	return path && path[0] == '/' && strlen(path) < PATH_MAX;
}

static void add_point(struct timeline *tl, struct series *s, uint64_t cgid, double t,
		      const struct cgstat *st)
{
	s->cgid = cgid;
	if (s->n && t < point_at(s, tl->cap, s->n - 1)->t)
		return;
	if (s->n < tl->cap) {
		to_point(st, t, &s->ring[(s->head + s->n) % tl->cap]);
		s->n++;
	} else {
		to_point(st, t, &s->ring[s->head]);
		s->head = (s->head + 1) % tl->cap;
	}
}

int timeline__add(struct timeline *tl, const char *path, uint64_t cgid, double t,
		  const struct cgstat *st)
{
	struct series *s;
	int err = 0;

	if (!tl || !valid_path(path) || !st || !isfinite(t))
		return -EINVAL;
	s = series_get(tl, path, t, &err);
	if (!s)
		return err;
	add_point(tl, s, cgid, t, st);
	return 0;
}

void timeline__expire(struct timeline *tl, double t_min)
{
	if (!tl)
		return;
	for (size_t i = tl->n_series; i-- > 0;) {
		const struct series *s = tl->series[i];

		if (!s->n || point_at(s, tl->cap, s->n - 1)->t < t_min)
			remove_at(tl, i);
	}
}

static bool wanted(const struct timeline *tl, const struct top_row *r)
{
	if (!tl->n_filter)
		return true;
	/* As top: a cgroup under a filter, or the container a filter is inside. */
	for (size_t i = 0; i < tl->n_filter; i++)
		if (cgpath__is_under(r->path, tl->filter[i]) ||
		    (r->ctr.runtime != CONTAINER_PLAIN &&
		     cgpath__is_under(tl->filter[i], r->path)))
			return true;
	return false;
}

static int read_row(const struct timeline *tl, const struct top_row *r, struct cgstat *st)
{
	char dir[PATH_MAX];
	int n;

	n = snprintf(dir, sizeof(dir), "%s%s", tl->hier.mount, strcmp(r->path, "/") ? r->path : "");
	if (n < 0 || (size_t)n >= sizeof(dir))
		return -ENAMETOOLONG;
	return cgstat__read(dir, tl->hier.version, SAMPLE_FIELDS, st);
}

/* From the tracepoint sums: memory.stat is read once per series, for the
 * baseline, and again only when the BPF side lost changes. */
static int row_from_events(struct timeline *tl, struct series *s, const struct top_row *r,
			   struct cgstat *st)
{
	int64_t now[TIMELINE_KINDS];
	int err;

	if ((err = memcg_events__sum(tl->me, r->path, now)))
		return err;
	if (!s->have_base) {
		if ((err = read_row(tl, r, &s->base)))
			return err;
		memcpy(s->base_delta, now, sizeof(now));
		s->have_base = true;
	}
	memcg_events__apply(&s->base, s->base_delta, now, st);
	return 0;
}

static void sample_row(struct timeline *tl, const struct top_row *r, double now)
{
	struct series *s;
	struct cgstat st;
	int err = 0;

	if (!valid_path(r->path))
		return;
	s = series_get(tl, r->path, now, &err);
	if (!s) {
		log_debug("timeline: %s: %s", r->path, strerror(-err));
		return;
	}
	/* A cgroup that went away between the walk and now gets no point. */
	if (tl->me ? row_from_events(tl, s, r, &st) : read_row(tl, r, &st))
		return;
	add_point(tl, s, r->cgid, now, &st);
}

/* Lost changes would leave every series off by what was lost: take new
 * baselines from memory.stat, but not more often than TIMELINE_REBASE_S (a
 * busy host loses a few nested runs all the time, most of them of items not
 * even wanted, and a baseline each second would be memory.stat polling). */
static void read_events(struct timeline *tl, double now)
{
	uint64_t dropped;
	int err = memcg_events__read(tl->me);

	if (err)
		log_debug("timeline: reading the memcg sums: %s", strerror(-err));
	dropped = memcg_events__dropped(tl->me);
	if (dropped == tl->me_dropped || now < tl->next_rebase)
		return;
	tl->next_rebase = now + TIMELINE_REBASE_S;
	log_debug("timeline: %llu memcg changes lost: new baselines",
		  (unsigned long long)(dropped - tl->me_dropped));
	tl->me_dropped = dropped;
	for (size_t i = 0; i < tl->n_series; i++)
		tl->series[i]->have_base = false;
}

int timeline__tick(struct timeline *tl, double now)
{
	struct top_row *const *rows;
	size_t n;
	int err = 0;

	if (!tl || !tl->tv || !isfinite(now))
		return tl && !isfinite(now) ? -EINVAL : 0;
	if (tl->scanned && now < tl->next_sample)
		return 0;
	if (tl->me)
		read_events(tl, now);
	/* A cgroup the memcg events saw first since the last walk is a new
	 * container: walk now, not up to TIMELINE_SCAN_S later. A container
	 * OOM-killed two seconds after it started would otherwise have one
	 * point, or none, and no growth in its report. */
	if (!tl->scanned || now >= tl->next_scan ||
	    (tl->me && memcg_events__cgroups(tl->me) != tl->me_cgroups)) {
		err = topview__scan(tl->tv);
		tl->scanned = true;
		tl->next_scan = now + TIMELINE_SCAN_S;
		tl->me_cgroups = memcg_events__cgroups(tl->me);
	}
	/* The next point one period after this one, but never a burst of
	 * catch-up points after a long stall. */
	tl->next_sample = fmax(tl->next_sample + tl->period, now + tl->period / 2);
	rows = topview__rows(tl->tv, &n);
	for (size_t i = 0; i < n; i++)
		if (wanted(tl, rows[i]))
			sample_row(tl, rows[i], now);
	timeline__expire(tl, now - (double)tl->cap * tl->period);
	return err;
}

static const struct series *find(const struct timeline *tl, const char *cgroup_path)
{
	char row[PATH_MAX];
	struct series **slot;

	if (!tl || !cgroup_path || cgpath__row_path(cgroup_path, row, sizeof(row)))
		return NULL;
	slot = hmap__find(tl->by_path, row, strlen(row));
	return slot ? *slot : NULL;
}

ssize_t timeline__points(const struct timeline *tl, const char *cgroup_path,
			 struct timeline_point *out, size_t max)
{
	const struct series *s = find(tl, cgroup_path);
	size_t n;

	if (!s)
		return -ENOENT;
	n = s->n < max ? s->n : max;
	/* The newest n of them. */
	for (size_t i = 0; i < n; i++)
		out[i] = *point_at(s, tl->cap, s->n - n + i);
	return (ssize_t)n;
}

int timeline__growth(const struct timeline *tl, const char *cgroup_path,
		     struct timeline_growth *out)
{
	const struct series *s = find(tl, cgroup_path);
	const struct timeline_point *first, *last;
	double *t, *v;

	if (!s || !s->n)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	snprintf(out->path, sizeof(out->path), "%s", s->path);
	out->cgid = s->cgid;
	out->points = s->n;
	first = point_at(s, tl->cap, 0);
	last = point_at(s, tl->cap, s->n - 1);
	out->seconds = last->t - first->t;
	out->start = first->usage;
	out->end = last->usage;
	out->last = *last;
	t = malloc(s->n * sizeof(*t));
	v = malloc(s->n * sizeof(*v));
	if (!t || !v) {
		free(t);
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->n; i++) {
		t[i] = point_at(s, tl->cap, i)->t;
		v[i] = (double)point_at(s, tl->cap, i)->usage;
	}
	out->slope = growth__fit(t, v, s->n);
	for (int k = 0; k < TIMELINE_KINDS; k++) {
		for (size_t i = 0; i < s->n; i++)
			v[i] = (double)point_at(s, tl->cap, i)->kind[k];
		out->kind_slope[k] = growth__fit(t, v, s->n);
	}
	free(t);
	free(v);
	return timeline__judge(tl, cgroup_path, NAN, NAN, &out->verdict);
}

double timeline__time_of_boot_ns(uint64_t boot_ns)
{
	struct timespec bt;
	double mono;

	/* Both clocks read together: they differ by the time suspended. */
	clock_gettime(CLOCK_BOOTTIME, &bt);
	mono = cli_now();
	return mono - ((double)bt.tv_sec + bt.tv_nsec / 1e9 - (double)boot_ns / 1e9);
}

int timeline__judge(const struct timeline *tl, const char *cgroup_path, double v8_end,
		    double until, struct verdict *out)
{
	enum { T, ANON, NATIVE, V8, FILE_, SHMEM, KERNEL, NCOLS };
	const struct series *s = find(tl, cgroup_path);
	const double *v[MEM_NR_CLASSES] = { NULL };
	double *col[NCOLS];
	double *buf;
	size_t n;

	if (!s || !s->n)
		return -ENOENT;
	n = s->n;
	while (n > 1 && point_at(s, tl->cap, n - 1)->t > until)
		n--;
	buf = malloc(n * NCOLS * sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	for (int c = 0; c < NCOLS; c++)
		col[c] = buf + c * n;
	for (size_t i = 0; i < n; i++) {
		const struct timeline_point *p = point_at(s, tl->cap, i);

		col[T][i] = p->t;
		col[ANON][i] = (double)p->kind[TIMELINE_ANON];
		col[FILE_][i] = (double)p->kind[TIMELINE_FILE];
		col[SHMEM][i] = (double)p->kind[TIMELINE_SHMEM];
		col[KERNEL][i] = (double)p->kind[TIMELINE_KERNEL] + (double)p->kind[TIMELINE_SOCK];
	}
	verdict__split_anon(col[ANON], n, col[ANON][n - 1] - v8_end, col[NATIVE], col[V8]);
	v[MEM_CLASS_NATIVE] = col[NATIVE];
	v[MEM_CLASS_V8_HEAP] = isfinite(v8_end) ? col[V8] : NULL;
	v[MEM_CLASS_FILE] = col[FILE_];
	v[MEM_CLASS_SHMEM] = col[SHMEM];
	v[MEM_CLASS_KERNEL] = col[KERNEL];
	verdict__judge(col[T], v, n, out);
	free(buf);
	return 0;
}

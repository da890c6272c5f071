#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hmap.h"
#include "log.h"
#include "procname.h"
#include "topview.h"

#define SAMPLE_FIELDS	(CGSTAT_USAGE | CGSTAT_ANON | CGSTAT_FILE | CGSTAT_SHMEM | \
			 CGSTAT_KERNEL | CGSTAT_SOCK)

struct topview {
	struct topview_opts o;
	struct hmap *by_path;		/* row path -> struct top_row * */
	struct top_row **rows;
	size_t n_rows, rows_cap;
	size_t ring_cap;
	char **filter_paths;
	size_t n_filter_paths;
	pid_t *filter_pids;
	size_t n_filter_pids;
	bool unnamed;
};

/* ---- pure helpers ------------------------------------------------------------ */

void topview__subtract(struct cgstat *own, const struct cgstat *child)
{
	uint64_t *o[] = { &own->usage, &own->anon, &own->file, &own->shmem, &own->kernel,
			  &own->sock, &own->mapped, &own->swap };
	const uint64_t c[] = { child->usage, child->anon, child->file, child->shmem,
			       child->kernel, child->sock, child->mapped, child->swap };

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		*o[i] = *o[i] > c[i] ? *o[i] - c[i] : 0;
}

/* ---- rows ------------------------------------------------------------------- */

struct topview *topview__new(const struct topview_opts *o)
{
	struct topview *tv;
	double samples;

	if (!o || !o->hier.mount[0] || (o->hier.version != 1 && o->hier.version != 2) ||
	    !o->proc_root || !(o->window > 0) || !(o->period > 0)) {
		errno = EINVAL;
		return NULL;
	}
	tv = calloc(1, sizeof(*tv));
	if (!tv)
		return NULL;
	tv->o = *o;
	tv->o.proc_root = strdup(o->proc_root);
	tv->by_path = hmap__new(sizeof(struct top_row *));
	if (!tv->o.proc_root || !tv->by_path) {
		topview__free(tv);
		errno = ENOMEM;
		return NULL;
	}
	/* Room for a window of samples, plus slack for late timers. */
	samples = ceil(o->window / o->period) * 1.5 + 2;
	tv->ring_cap = samples > GROWTH_CAP_MAX ? GROWTH_CAP_MAX : (size_t)samples;
	return tv;
}

static void row_free(struct top_row *r)
{
	if (!r)
		return;
	for (int s = 0; s < TOP_S_COUNT; s++)
		growth__free(r->series[s]);
	free(r->path);
	free(r->pids);
	free(r->procs);
	free(r);
}

static void free_filter(struct topview *tv)
{
	for (size_t i = 0; i < tv->n_filter_paths; i++)
		free(tv->filter_paths[i]);
	free(tv->filter_paths);
	free(tv->filter_pids);
	tv->filter_paths = NULL;
	tv->filter_pids = NULL;
	tv->n_filter_paths = tv->n_filter_pids = 0;
}

void topview__free(struct topview *tv)
{
	if (!tv)
		return;
	for (size_t i = 0; i < tv->n_rows; i++)
		row_free(tv->rows[i]);
	free(tv->rows);
	hmap__free(tv->by_path);
	free_filter(tv);
	free((char *)tv->o.proc_root);
	free(tv);
}

/* The row's directory: mount + path. */
static int row_dir(const struct topview *tv, const char *path, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s%s", tv->o.hier.mount, strcmp(path, "/") ? path : "");

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static struct top_row *row_new(struct topview *tv, const char *path)
{
	struct top_row *r, **slot;
	char dir[PATH_MAX];
	struct stat st;

	if (tv->n_rows >= TOP_ROWS_MAX)
		return NULL;
	if (tv->n_rows == tv->rows_cap) {
		size_t cap = tv->rows_cap ? tv->rows_cap * 2 : 64;
		struct top_row **grown = realloc(tv->rows, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		tv->rows = grown;
		tv->rows_cap = cap;
	}
	r = calloc(1, sizeof(*r));
	if (!r || !(r->path = strdup(path)))
		goto fail;
	for (int s = 0; s < TOP_S_COUNT; s++)
		if (!(r->series[s] = growth__new(tv->ring_cap)))
			goto fail;
	if (!row_dir(tv, path, dir, sizeof(dir)) && !stat(dir, &st))
		r->cgid = (uint64_t)st.st_ino;
	container__info(path, &r->ctr);
	if (r->ctr.runtime != CONTAINER_PLAIN)
		snprintf(r->short_id, sizeof(r->short_id), "%.*s", CONTAINER_LABEL_LEN, r->ctr.id);
	r->label = r->short_id[0] ? r->short_id : r->path;
	r->v8 = NAN;
	r->slope = NAN;
	r->limit = CGSTAT_UNLIMITED;
	r->split = (struct growth_split){ NAN, NAN, NAN, NAN, NAN, NAN };
	r->shown = true;
	slot = hmap__upsert(tv->by_path, path, strlen(path), NULL);
	if (!slot)
		goto fail;
	*slot = r;
	tv->rows[tv->n_rows++] = r;
	return r;
fail:
	row_free(r);
	return NULL;
}

static struct top_row *row_get(struct topview *tv, const char *path)
{
	struct top_row **slot = hmap__find(tv->by_path, path, strlen(path));
	struct top_row *r = slot ? *slot : row_new(tv, path);

	if (r && !r->seen) {
		r->seen = true;
		r->n_procs = 0;
		r->n_pids = 0;
	}
	return r;
}

static int row_add_pids(struct top_row *r, const pid_t *pids, size_t stored, size_t total)
{
	size_t room = TOP_ROW_PIDS_MAX - r->n_pids, take = stored < room ? stored : room;

	r->n_procs += total;
	if (!take)
		return 0;
	if (r->n_pids + take > r->pids_cap) {
		size_t cap = r->pids_cap ? r->pids_cap : 16;
		pid_t *grown;

		while (cap < r->n_pids + take)
			cap *= 2;
		grown = realloc(r->pids, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		r->pids = grown;
		r->pids_cap = cap;
	}
	memcpy(r->pids + r->n_pids, pids, take * sizeof(*pids));
	r->n_pids += take;
	return 0;
}

struct walk {
	struct topview *tv;
	char path[PATH_MAX];	/* absolute; the cgroup path starts at mount_len */
	size_t mount_len;
	dev_t dev;
	size_t dirs;
};

/* A cgroup with processes puts them in its row. */
static void visit_cgroup(struct walk *w)
{
	const char *rel = w->path[w->mount_len] ? w->path + w->mount_len : "/";
	char key[PATH_MAX];
	struct top_row *r;
	pid_t *pids = NULL;
	ssize_t n = cgstat__read_pids(w->path, TOP_ROW_PIDS_MAX, &pids);

	if (n > 0 && !topview__row_path(rel, key, sizeof(key)) && (r = row_get(w->tv, key)) &&
	    row_add_pids(r, pids, (size_t)n < TOP_ROW_PIDS_MAX ? (size_t)n : TOP_ROW_PIDS_MAX,
			 (size_t)n))
		log_debug("top: out of memory listing the processes of %s", key);
	free(pids);
}

/* Visits w->path (of length len) and the cgroups below it. Never follows
 * symlinks nor leaves the cgroup file system. */
static void walk(struct walk *w, size_t len, int depth)
{
	struct dirent *de;
	DIR *d;

	if (w->dirs++ >= TOP_WALK_DIRS)
		return;
	visit_cgroup(w);
	if (depth + 1 >= TOP_WALK_DEPTH || !(d = opendir(w->path)))
		return;
	while ((de = readdir(d))) {
		struct stat st;
		int n;

		if ((de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) ||
		    !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		n = snprintf(w->path + len, sizeof(w->path) - len, "/%s", de->d_name);
		if (n < 0 || (size_t)n >= sizeof(w->path) - len)
			continue;
		if (!lstat(w->path, &st) && S_ISDIR(st.st_mode) && st.st_dev == w->dev)
			walk(w, len + (size_t)n, depth + 1);
	}
	w->path[len] = '\0';
	closedir(d);
}

/* Nearest row above each row: its path's ancestors, looked up. */
static void link_parents(struct topview *tv)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < tv->n_rows; i++) {
		struct top_row *r = tv->rows[i];

		r->parent = NULL;
		snprintf(path, sizeof(path), "%s", r->path);
		while (!r->parent && strcmp(path, "/")) {
			char *slash = strrchr(path, '/');
			struct top_row **slot;

			if (!slash)
				break;
			if (slash == path)
				slash[1] = '\0';
			else
				*slash = '\0';
			slot = hmap__find(tv->by_path, path, strlen(path));
			r->parent = slot ? *slot : NULL;
		}
	}
}

int topview__scan(struct topview *tv)
{
	struct walk *w;
	struct stat st;
	size_t kept = 0;

	if (!tv)
		return -EINVAL;
	if (stat(tv->o.hier.mount, &st))
		return -errno;
	/* PATH_MAX of path: off the stack, the walk recurses. */
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	for (size_t i = 0; i < tv->n_rows; i++)
		tv->rows[i]->seen = false;
	w->tv = tv;
	w->dev = st.st_dev;
	w->mount_len = strlen(tv->o.hier.mount);
	snprintf(w->path, sizeof(w->path), "%s", tv->o.hier.mount);
	walk(w, w->mount_len, 0);
	if (w->dirs > TOP_WALK_DIRS)
		log_debug("top: more than %u cgroups, the rest not shown", TOP_WALK_DIRS);
	free(w);
	for (size_t i = 0; i < tv->n_rows; i++) {
		struct top_row *r = tv->rows[i];

		if (r->seen) {
			tv->rows[kept++] = r;
			continue;
		}
		hmap__delete(tv->by_path, r->path, strlen(r->path));
		row_free(r);
	}
	tv->n_rows = kept;
	link_parents(tv);
	return 0;
}

/* ---- figures ---------------------------------------------------------------- */

/* The V8 heap resident in the row's processes (the first TOP_ROW_PIDS_MAX),
 * capped by its anon; NaN when not measured. A V8 process that cannot be
 * probed counts nothing: its heap stays in native, as in `record`. */
static double row_v8(struct topview *tv, struct top_row *r)
{
	uint64_t sum = 0, bytes;

	if (!tv->o.v8)
		return NAN;
	for (size_t i = 0; i < r->n_pids; i++)
		if (v8_census__bytes(tv->o.v8, r->pids[i], &bytes))
			sum += bytes;
	r->v8 = (double)(sum < r->own.anon ? sum : r->own.anon);
	return r->v8;
}

void topview__sample(struct topview *tv, double t)
{
	char dir[PATH_MAX];

	if (!tv)
		return;
	for (size_t i = 0; i < tv->n_rows; i++) {
		struct top_row *r = tv->rows[i];
		struct cgstat st;

		/* A cgroup that just went away keeps its last figures until the next scan. */
		if (row_dir(tv, r->path, dir, sizeof(dir)) ||
		    cgstat__read(dir, tv->o.hier.version, SAMPLE_FIELDS, &st))
			continue;
		if (!strcmp(r->path, "/")) {
			st.usage = st.anon + st.file + st.shmem + st.kernel + st.sock;
			st.have |= CGSTAT_USAGE;
		}
		r->raw = st;
	}
	for (size_t i = 0; i < tv->n_rows; i++)
		tv->rows[i]->own = tv->rows[i]->raw;
	for (size_t i = 0; i < tv->n_rows; i++)
		if (tv->rows[i]->parent)
			topview__subtract(&tv->rows[i]->parent->own, &tv->rows[i]->raw);
	v8_census__poll(tv->o.v8);
	for (size_t i = 0; i < tv->n_rows; i++) {
		struct top_row *r = tv->rows[i];
		const double v[TOP_S_COUNT] = {
			[TOP_S_USAGE] = (double)r->own.usage,
			[TOP_S_ANON] = (double)r->own.anon,
			[TOP_S_FILE] = (double)r->own.file,
			[TOP_S_SHMEM] = (double)r->own.shmem,
			[TOP_S_KERNEL] = (double)r->own.kernel + (double)r->own.sock,
			[TOP_S_V8] = row_v8(tv, r),
		};

		if (!r->raw.have)
			continue;
		for (int s = 0; s < TOP_S_COUNT; s++) {
			if (s == TOP_S_V8 && !tv->o.v8)
				continue;
			growth__add(r->series[s], t, v[s]);
			/* Half a period of slack: a timer a few ms late must not
			 * cost the window its first sample. */
			growth__trim(r->series[s], t - tv->o.window - tv->o.period / 2);
		}
	}
}

static bool wanted_pid(const struct topview *tv, pid_t pid)
{
	for (size_t i = 0; i < tv->n_filter_pids; i++)
		if (tv->filter_pids[i] == pid)
			return true;
	return tv->n_filter_pids == 0;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct top_proc *x = a, *y = b;

	if (x->rss != y->rss)
		return x->rss < y->rss ? 1 : -1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* RSS of the row's processes, and the list of them when wanted. */
static void read_procs(struct topview *tv, struct top_row *r)
{
	bool list = tv->o.procs || tv->n_filter_pids;
	char name[PROCNAME_LEN];

	r->rss = 0;
	r->n_proc_list = 0;
	free(r->procs);
	r->procs = list && r->n_pids ? calloc(r->n_pids, sizeof(*r->procs)) : NULL;
	for (size_t i = 0; i < r->n_pids; i++) {
		struct procstatus ps;
		struct top_proc *p;

		if (procstatus__read(tv->o.proc_root, r->pids[i], &ps) ||
		    !(ps.have & PROCSTATUS_VMRSS))
			continue;	/* gone, or a kernel thread */
		r->rss += ps.vm_rss;
		if (!r->procs || !wanted_pid(tv, r->pids[i]))
			continue;
		p = &r->procs[r->n_proc_list++];
		p->pid = r->pids[i];
		p->inner_pid = procstatus__inner_pid(&ps);
		/* The process's name: its main thread may have renamed itself
		 * (node 24: "MainThread"), and Name: is that thread's. */
		procname__read_now(tv->o.proc_root, (uint32_t)p->pid, name);
		snprintf(p->name, sizeof(p->name), "%s", name[0] ? name : ps.name);
		p->rss = ps.vm_rss;
		p->anon = ps.rss_anon;
		p->file = ps.rss_file;
		p->shmem = ps.rss_shmem;
	}
	if (r->procs)
		qsort(r->procs, r->n_proc_list, sizeof(*r->procs), cmp_proc);
}

/* The slopes `top` shows, and the verdict, the same rule as `record`'s on the
 * same window. Without V8 heaps measured, anon cannot be split: its growth
 * is "anon growth", not a guess at native. */
static void fit_growth(struct topview *tv, struct top_row *r)
{
	static const enum mem_class cls[TOP_S_COUNT] = {
		[TOP_S_ANON] = MEM_CLASS_NATIVE, [TOP_S_FILE] = MEM_CLASS_FILE,
		[TOP_S_SHMEM] = MEM_CLASS_SHMEM, [TOP_S_KERNEL] = MEM_CLASS_KERNEL,
		[TOP_S_V8] = MEM_CLASS_V8_HEAP,
	};
	size_t cap = growth__count(r->series[TOP_S_USAGE]), n = cap;
	const double *v[MEM_NR_CLASSES] = { NULL };
	double *t = malloc((cap + 1) * sizeof(double));
	double *vals = malloc((cap + 1) * TOP_S_COUNT * sizeof(double));
	double *col[TOP_S_COUNT] = { NULL };
	size_t got[TOP_S_COUNT] = { 0 };

	r->slope = growth__slope(r->series[TOP_S_USAGE]);
	r->monotonic = growth__monotonic(r->series[TOP_S_USAGE]);
	r->split = (struct growth_split){
		.total = r->slope,
		.anon = growth__slope(r->series[TOP_S_ANON]),
		.file = growth__slope(r->series[TOP_S_FILE]),
		.shmem = growth__slope(r->series[TOP_S_SHMEM]),
		.kernel = growth__slope(r->series[TOP_S_KERNEL]),
		.v8 = tv->o.v8 ? growth__slope(r->series[TOP_S_V8]) : NAN,
	};
	if (!t || !vals)
		n = 0;	/* no memory: no verdict this refresh */
	/* Every series gets a sample at the same times (topview__sample), the
	 * V8 heap's only since it is measured: the newest n are aligned. */
	for (int s = TOP_S_ANON; n && s < TOP_S_COUNT; s++) {
		if (s == TOP_S_V8 && !tv->o.v8)
			continue;
		col[s] = vals + s * (cap + 1);
		got[s] = growth__copy(r->series[s], t, col[s], cap);
		n = got[s] < n ? got[s] : n;
		v[cls[s]] = col[s];
	}
	for (int s = TOP_S_ANON; n && s < TOP_S_COUNT; s++)
		if (col[s])
			memmove(col[s], col[s] + got[s] - n, n * sizeof(double));
	/* The times: anon's, into the unused usage column's room. */
	if (n && growth__copy(r->series[TOP_S_ANON], t, vals, cap) == got[TOP_S_ANON])
		memmove(t, t + got[TOP_S_ANON] - n, n * sizeof(double));
	/* The V8 heap is anonymous memory: the rest of anon is native. */
	for (size_t i = 0; col[TOP_S_V8] && i < n; i++)
		col[TOP_S_ANON][i] = fmax(col[TOP_S_ANON][i] - col[TOP_S_V8][i], 0);
	verdict__judge(t, v, n, &r->verdict);
	if (!tv->o.v8 && r->verdict.verdict == GROWTH_NATIVE)
		r->verdict.verdict = GROWTH_ANON;
	verdict__text(&r->verdict, VERDICT_AGO, r->verdict.last, r->verdict_text,
		      sizeof(r->verdict_text));
	free(t);
	free(vals);
}

static void set_label(struct topview *tv, struct top_row *r, const struct docker_list *dl)
{
	const struct docker_ctr *c = NULL;

	if (r->ctr.runtime == CONTAINER_DOCKER)
		c = docker__find(dl, r->ctr.id);
	if (c) {
		snprintf(r->name, sizeof(r->name), "%s", c->name);
		snprintf(r->image, sizeof(r->image), "%s", c->image);
	} else if (r->ctr.runtime == CONTAINER_DOCKER) {
		tv->unnamed = true;
	}
	r->label = r->name[0] ? r->name : r->short_id[0] ? r->short_id : r->path;
}

static bool passes_filter(const struct topview *tv, const struct top_row *r)
{
	bool path_ok = !tv->n_filter_paths, pid_ok = !tv->n_filter_pids;

	for (size_t i = 0; i < tv->n_filter_paths && !path_ok; i++)
		path_ok = topview__is_under(r->path, tv->filter_paths[i]) ||
			  (r->ctr.runtime != CONTAINER_PLAIN &&
			   topview__is_under(tv->filter_paths[i], r->path));
	for (size_t i = 0; i < r->n_pids && !pid_ok; i++)
		pid_ok = wanted_pid(tv, r->pids[i]);
	return path_ok && pid_ok;
}

/* Its memory grows, and one kind of memory explains it. */
/* Growing rows first, fastest first; then the rest, largest first, so rows
 * that do not grow keep still instead of trading places on noise. */
static int cmp_row(const void *a, const void *b)
{
	const struct top_row *x = *(struct top_row *const *)a, *y = *(struct top_row *const *)b;

	if (topview__row_growing(x) != topview__row_growing(y))
		return topview__row_growing(x) ? -1 : 1;
	if (topview__row_growing(x) && x->slope != y->slope)
		return x->slope > y->slope ? -1 : 1;
	if (x->own.usage != y->own.usage)
		return x->own.usage > y->own.usage ? -1 : 1;
	return strcmp(x->path, y->path);
}

void topview__update(struct topview *tv, const struct docker_list *dl)
{
	char dir[PATH_MAX];

	if (!tv)
		return;
	tv->unnamed = false;
	for (size_t i = 0; i < tv->n_rows; i++) {
		struct top_row *r = tv->rows[i];
		struct cgstat ctl;

		if (!row_dir(tv, r->path, dir, sizeof(dir)) &&
		    !cgstat__read(dir, tv->o.hier.version, CGSTAT_LIMIT | CGSTAT_OOM, &ctl)) {
			r->limit = ctl.have & CGSTAT_LIMIT ? ctl.limit : CGSTAT_UNLIMITED;
			r->oom_kills = ctl.oom_kills;
		}
		fit_growth(tv, r);
		read_procs(tv, r);
		set_label(tv, r, dl);
		r->shown = passes_filter(tv, r);
	}
	if (tv->n_rows)
		qsort(tv->rows, tv->n_rows, sizeof(*tv->rows), cmp_row);
}

void topview__set_v8(struct topview *tv, struct v8_census *v8)
{
	if (tv)
		tv->o.v8 = v8;
}

int topview__set_filter(struct topview *tv, const char *const *paths, size_t n_paths,
			const pid_t *pids, size_t n_pids)
{
	if (!tv || (n_paths && !paths) || (n_pids && !pids))
		return -EINVAL;
	free_filter(tv);
	if (n_paths && !(tv->filter_paths = calloc(n_paths, sizeof(char *))))
		return -ENOMEM;
	for (; tv->n_filter_paths < n_paths; tv->n_filter_paths++) {
		tv->filter_paths[tv->n_filter_paths] = strdup(paths[tv->n_filter_paths]);
		if (!tv->filter_paths[tv->n_filter_paths])
			goto nomem;
	}
	if (n_pids && !(tv->filter_pids = malloc(n_pids * sizeof(pid_t))))
		goto nomem;
	if (n_pids)
		memcpy(tv->filter_pids, pids, n_pids * sizeof(pid_t));
	tv->n_filter_pids = n_pids;
	return 0;
nomem:
	free_filter(tv);
	return -ENOMEM;
}

void topview__set_procs(struct topview *tv, bool procs)
{
	if (tv)
		tv->o.procs = procs;
}

struct top_row *const *topview__rows(const struct topview *tv, size_t *n)
{
	*n = tv ? tv->n_rows : 0;
	return tv ? tv->rows : NULL;
}

bool topview__has_unsampled(const struct topview *tv)
{
	for (size_t i = 0; tv && i < tv->n_rows; i++)
		if (!growth__count(tv->rows[i]->series[TOP_S_USAGE]))
			return true;
	return false;
}

bool topview__has_unnamed_container(const struct topview *tv)
{
	return tv && tv->unnamed;
}

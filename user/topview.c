#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hmap.h"
#include "json.h"
#include "log.h"
#include "procname.h"
#include "topview.h"

#define SAMPLE_FIELDS	(CGSTAT_USAGE | CGSTAT_ANON | CGSTAT_FILE | CGSTAT_SHMEM | \
			 CGSTAT_KERNEL | CGSTAT_SOCK)
#define LINE_MAX_BYTES	(PATH_MAX + 512)	/* a table line before it is cut */
#define PROC_LABEL_MAX	(PROCSTATUS_NAME_MAX + 32)

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

bool topview__is_under(const char *path, const char *ancestor)
{
	size_t n;

	if (!path || !ancestor)
		return false;
	n = strlen(ancestor);
	while (n > 1 && ancestor[n - 1] == '/')
		n--;
	if (n == 1 && ancestor[0] == '/')
		return path[0] == '/';
	return !strncmp(path, ancestor, n) && (path[n] == '\0' || path[n] == '/');
}

/* Copies path[0..n) into buf. */
static int copy_prefix(const char *path, size_t n, char *buf, size_t len)
{
	int w = snprintf(buf, len, "%.*s", (int)n, path);

	if (w < 0 || (size_t)w >= len)
		return -ENAMETOOLONG;
	if (!buf[0])
		snprintf(buf, len, "/");
	return 0;
}

int topview__row_path(const char *cgroup_path, char *buf, size_t len)
{
	struct container_info info;
	size_t n;
	int err;

	if (!cgroup_path || !buf || !len)
		return -EINVAL;
	n = strlen(cgroup_path);
	if (container__info(cgroup_path, &info) || info.runtime == CONTAINER_PLAIN)
		return copy_prefix(cgroup_path, n, buf, len);
	/* The shortest prefix that already names the container: its outermost cgroup. */
	for (const char *p = cgroup_path + 1; p <= cgroup_path + n; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		err = copy_prefix(cgroup_path, (size_t)(p - cgroup_path), buf, len);
		if (err)
			return err;
		if (!container__info(buf, &info) && info.runtime != CONTAINER_PLAIN)
			return 0;
	}
	return copy_prefix(cgroup_path, n, buf, len);
}

void topview__subtract(struct cgstat *own, const struct cgstat *child)
{
	uint64_t *o[] = { &own->usage, &own->anon, &own->file, &own->shmem, &own->kernel,
			  &own->sock, &own->mapped, &own->swap };
	const uint64_t c[] = { child->usage, child->anon, child->file, child->shmem,
			       child->kernel, child->sock, child->mapped, child->swap };

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		*o[i] = *o[i] > c[i] ? *o[i] - c[i] : 0;
}

const char *topview__fmt_bytes(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
		return buf;
	}
	while (v >= 1024 && u < (int)sizeof(units) - 2) {
		v /= 1024;
		u++;
	}
	/* 1023.96 would print as "1024": go up a unit instead. */
	if (v >= 1023.5 && u < (int)sizeof(units) - 2) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, v < 9.95 ? "%.1f%c" : "%.0f%c", v, units[u]);
	return buf;
}

const char *topview__fmt_rate(double r, char *buf, size_t len)
{
	if (!isfinite(r))
		snprintf(buf, len, "-");
	else if (fabs(r) < 0.05)
		snprintf(buf, len, "0.0");
	else
		snprintf(buf, len, fabs(r) < 999.95 ? "%+.1f" : "%+.0f", r);
	return buf;
}

void topview__fit(const char *s, int width, char *buf, size_t len)
{
	size_t n, skip = 0, o = 0;

	if (!len)
		return;
	n = s ? strlen(s) : 0;
	if (width < 0)
		width = 0;
	if (n > (size_t)width) {
		if (width > 3) {
			memcpy(buf, "...", 3 < len - 1 ? 3 : len - 1);
			o = 3 < len - 1 ? 3 : len - 1;
		}
		skip = n - ((size_t)width - o);
	}
	for (size_t i = skip; i < n && o + 1 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	buf[o] = '\0';
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
static bool growing(const struct top_row *r)
{
	return isfinite(r->slope) && verdict__is_growth(&r->verdict);
}

/* Growing rows first, fastest first; then the rest, largest first, so rows
 * that do not grow keep still instead of trading places on noise. */
static int cmp_row(const void *a, const void *b)
{
	const struct top_row *x = *(struct top_row *const *)a, *y = *(struct top_row *const *)b;

	if (growing(x) != growing(y))
		return growing(x) ? -1 : 1;
	if (growing(x) && x->slope != y->slope)
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

/* ---- the table ------------------------------------------------------------- */

static const struct column {
	const char *head;
	int width;
	int drop;	/* order in which narrow terminals drop it; 0: never */
} columns[TOP_COL_COUNT] = {
	[TOP_COL_LABEL] = { "CONTAINER", 0, 0 },
	[TOP_COL_PROCS] = { "PROCS", 5, 7 },
	[TOP_COL_MEM] = { "MEM", 6, 11 },
	[TOP_COL_RSS] = { "RSS", 6, 6 },
	[TOP_COL_ANON] = { "ANON", 6, 10 },
	[TOP_COL_FILE] = { "FILE", 6, 9 },
	[TOP_COL_SHMEM] = { "SHMEM", 6, 3 },
	[TOP_COL_KERNEL] = { "KERNEL", 6, 4 },
	[TOP_COL_V8] = { "V8", 6, 1 },
	[TOP_COL_NATIVE] = { "NATIVE", 6, 2 },
	[TOP_COL_GROWTH] = { "MiB/min", 8, 0 },
	[TOP_COL_MONO] = { "MONO", 4, 5 },
	[TOP_COL_OOM] = { "OOM", 4, 8 },
	[TOP_COL_VERDICT] = { "VERDICT", 14, 12 },
};

#define DROP_MAX	12
#define DROP_LATE	11	/* these go only when a TOP_LABEL_MIN label would not fit */

/* Width of the columns in cols other than the label, each with its separator. */
static int fixed_width(unsigned cols)
{
	int w = 0;

	for (int c = 1; c < TOP_COL_COUNT; c++)
		if (cols & (1u << c))
			w += columns[c].width + 1;
	return w;
}

void topview__layout(int width, size_t label_len, struct top_layout *out)
{
	int head = (int)strlen(columns[TOP_COL_LABEL].head);
	int need = label_len > (size_t)INT_MAX / 2 ? INT_MAX / 2 : (int)label_len;
	int target;

	if (need < head)
		need = head;
	out->cols = (1u << TOP_COL_COUNT) - 1;
	if (width <= 0) {
		out->label_w = need;
		return;
	}
	for (int order = 1; order <= DROP_MAX; order++) {
		/* The verdict is worth more than a long label, a long label more
		 * than the other columns. */
		target = order < DROP_LATE ? TOP_LABEL_WANT : TOP_LABEL_MIN;
		if (target > need)
			target = need;
		if (fixed_width(out->cols) + target <= width)
			break;
		for (int c = 1; c < TOP_COL_COUNT; c++)
			if (columns[c].drop == order)
				out->cols &= ~(1u << c);
	}
	out->label_w = width - fixed_width(out->cols);
	if (out->label_w > need)
		out->label_w = need;
	if (out->label_w < TOP_LABEL_MIN)
		out->label_w = TOP_LABEL_MIN < need ? TOP_LABEL_MIN : need;
}

struct line {
	char buf[LINE_MAX_BYTES];
	size_t len;
};

static void cell(struct line *l, const char *text, int width, bool left)
{
	int n = snprintf(l->buf + l->len, sizeof(l->buf) - l->len, left ? "%s%-*s" : "%s%*s",
			 l->len ? " " : "", width, text);

	if (n > 0)
		l->len = (size_t)n < sizeof(l->buf) - l->len ? l->len + (size_t)n
							      : sizeof(l->buf) - 1;
}

/* Trailing blanks cut, then the line cut to width. */
static void emit(struct line *l, const struct top_print *p, const char *eol, FILE *f)
{
	while (l->len && l->buf[l->len - 1] == ' ')
		l->len--;
	if (p->width > 0 && l->len > (size_t)p->width)
		l->len = (size_t)p->width;
	fwrite(l->buf, 1, l->len, f);
	fputs(eol, f);
	l->len = 0;
}

struct cells {
	const char *text[TOP_COL_COUNT];	/* NULL: blank */
	char buf[TOP_COL_COUNT][32];
};

static void put_bytes(struct cells *c, enum top_col col, uint64_t v)
{
	c->text[col] = topview__fmt_bytes(v, c->buf[col], sizeof(c->buf[col]));
}

static void row_cells(const struct top_row *r, struct cells *c)
{
	uint64_t native = r->own.anon;

	memset(c->text, 0, sizeof(c->text));
	snprintf(c->buf[TOP_COL_PROCS], sizeof(c->buf[0]), "%zu", r->n_procs);
	c->text[TOP_COL_PROCS] = c->buf[TOP_COL_PROCS];
	put_bytes(c, TOP_COL_MEM, r->own.usage);
	put_bytes(c, TOP_COL_RSS, r->rss);
	put_bytes(c, TOP_COL_ANON, r->own.anon);
	put_bytes(c, TOP_COL_FILE, r->own.file);
	put_bytes(c, TOP_COL_SHMEM, r->own.shmem);
	put_bytes(c, TOP_COL_KERNEL, r->own.kernel + r->own.sock);
	if (isfinite(r->v8) && r->v8 >= 0) {
		put_bytes(c, TOP_COL_V8, (uint64_t)r->v8);
		native = native > (uint64_t)r->v8 ? native - (uint64_t)r->v8 : 0;
	} else {
		c->text[TOP_COL_V8] = "-";
	}
	put_bytes(c, TOP_COL_NATIVE, native);
	c->text[TOP_COL_GROWTH] = topview__fmt_rate(r->slope, c->buf[TOP_COL_GROWTH],
						    sizeof(c->buf[0]));
	c->text[TOP_COL_MONO] = !growing(r) ? "-" : r->monotonic ? "yes" : "no";
	snprintf(c->buf[TOP_COL_OOM], sizeof(c->buf[0]), "%llu", (unsigned long long)r->oom_kills);
	c->text[TOP_COL_OOM] = c->buf[TOP_COL_OOM];
	c->text[TOP_COL_VERDICT] = isfinite(r->slope) ? r->verdict_text : "-";
}

static void proc_label(const struct top_proc *p, char *buf, size_t len)
{
	if (p->inner_pid && p->inner_pid != p->pid)
		snprintf(buf, len, "  %d/%d %s", (int)p->pid, (int)p->inner_pid, p->name);
	else
		snprintf(buf, len, "  %d %s", (int)p->pid, p->name);
}

static void proc_cells(const struct top_proc *p, struct cells *c)
{
	memset(c->text, 0, sizeof(c->text));
	put_bytes(c, TOP_COL_RSS, p->rss);
	put_bytes(c, TOP_COL_ANON, p->anon);
	put_bytes(c, TOP_COL_FILE, p->file);
	put_bytes(c, TOP_COL_SHMEM, p->shmem);
}

/* What one table print works with. */
struct table {
	const struct top_print *p;
	struct top_layout lay;
	const char *eol;
	FILE *f;
	struct line line;
	char fitted[PATH_MAX];
};

static void emit_cells(struct table *t, const char *label, const struct cells *c)
{
	topview__fit(label, t->lay.label_w, t->fitted, sizeof(t->fitted));
	cell(&t->line, t->fitted, t->lay.label_w, true);
	for (int col = 1; col < TOP_COL_COUNT; col++)
		if (t->lay.cols & (1u << col))
			cell(&t->line, c->text[col] ? c->text[col] : "", columns[col].width,
			     col == TOP_COL_VERDICT);
	emit(&t->line, t->p, t->eol, t->f);
}

static size_t longest_label(struct top_row *const *rows, size_t n, bool procs)
{
	char buf[PROC_LABEL_MAX];
	size_t longest = 0;

	for (size_t i = 0; i < n; i++) {
		if (!rows[i]->shown)
			continue;
		if (strlen(rows[i]->label) > longest)
			longest = strlen(rows[i]->label);
		for (size_t j = 0; procs && j < rows[i]->n_proc_list; j++) {
			proc_label(&rows[i]->procs[j], buf, sizeof(buf));
			if (strlen(buf) > longest)
				longest = strlen(buf);
		}
	}
	return longest;
}

void topview__print_table(struct top_row *const *rows, size_t n, const struct top_print *p,
			  const char *eol, FILE *f)
{
	int max_lines = p->height > 0 ? p->height : INT_MAX, lines = 0;
	struct table *t = calloc(1, sizeof(*t));
	size_t shown = 0, done = 0;
	char label[PROC_LABEL_MAX];
	struct cells c = {};

	/* A line is PATH_MAX and more: off the stack. */
	if (!t)
		return;
	*t = (struct table){ .p = p, .eol = eol, .f = f };
	for (size_t i = 0; i < n; i++)
		shown += rows[i]->shown;
	topview__layout(p->width, longest_label(rows, n, p->procs), &t->lay);
	if (p->title && lines < max_lines) {
		/* Only sanitized here; emit() cuts it to width, keeping its start. */
		topview__fit(p->title, (int)sizeof(t->line.buf) - 1, t->line.buf,
			     sizeof(t->line.buf));
		t->line.len = strlen(t->line.buf);
		emit(&t->line, p, eol, f);
		lines++;
	}
	if (lines < max_lines) {
		for (int col = 0; col < TOP_COL_COUNT; col++)
			c.text[col] = columns[col].head;
		emit_cells(t, columns[TOP_COL_LABEL].head, &c);
		lines++;
	}
	for (size_t i = 0; i < n && lines < max_lines; i++) {
		const struct top_row *r = rows[i];

		if (!r->shown)
			continue;
		/* The last line left says what did not fit rather than one more row. */
		if (lines == max_lines - 1 && shown - done > 1) {
			snprintf(label, sizeof(label), "... %zu more", shown - done);
			memset(c.text, 0, sizeof(c.text));
			emit_cells(t, label, &c);
			break;
		}
		row_cells(r, &c);
		emit_cells(t, r->label, &c);
		lines++;
		done++;
		for (size_t j = 0; p->procs && j < r->n_proc_list && lines < max_lines - 1; j++) {
			proc_label(&r->procs[j], label, sizeof(label));
			proc_cells(&r->procs[j], &c);
			emit_cells(t, label, &c);
			lines++;
		}
	}
	free(t);
}

/* ---- JSON -------------------------------------------------------------------- */

static void json_rate(struct json *j, const char *key, double v)
{
	if (isfinite(v))
		json_double(j, key, round(v * 1000) / 1000);
	else
		json_null(j, key);
}

static void json_row(struct json *j, const struct top_row *r, bool procs)
{
	uint64_t native = r->own.anon;

	json_obj(j, NULL);
	json_str(j, "label", r->label);
	json_str(j, "cgroup", r->path);
	json_u64(j, "cgroup_id", r->cgid);
	json_str(j, "runtime", container__runtime_name(r->ctr.runtime));
	json_str(j, "container_id", r->ctr.id[0] ? r->ctr.id : NULL);
	json_str(j, "name", r->name[0] ? r->name : NULL);
	json_str(j, "image", r->image[0] ? r->image : NULL);
	json_str(j, "pod_uid", r->ctr.pod_uid[0] ? r->ctr.pod_uid : NULL);
	json_str(j, "qos", r->ctr.pod_uid[0] ? container__qos_name(r->ctr.qos) : NULL);
	json_u64(j, "procs", r->n_procs);
	json_u64(j, "usage", r->own.usage);
	if (r->limit == CGSTAT_UNLIMITED)
		json_null(j, "limit");
	else
		json_u64(j, "limit", r->limit);
	json_u64(j, "rss", r->rss);
	json_u64(j, "anon", r->own.anon);
	json_u64(j, "file", r->own.file);
	json_u64(j, "shmem", r->own.shmem);
	json_u64(j, "kernel", r->own.kernel);
	json_u64(j, "sock", r->own.sock);
	if (isfinite(r->v8) && r->v8 >= 0) {
		json_u64(j, "v8_heap", (uint64_t)r->v8);
		native = native > (uint64_t)r->v8 ? native - (uint64_t)r->v8 : 0;
	} else {
		json_null(j, "v8_heap");
	}
	json_u64(j, "native", native);
	json_rate(j, "growth_mib_per_min", r->slope);
	json_bool(j, "monotonic", r->monotonic);
	json_u64(j, "oom_kills", r->oom_kills);
	json_str(j, "verdict", isfinite(r->slope) ? growth__verdict_name(r->verdict.verdict) : NULL);
	json_str(j, "summary", isfinite(r->slope) ? r->verdict_text : NULL);
	json_u64(j, "samples", growth__count(r->series[TOP_S_USAGE]));
	json_rate(j, "sampled_s", growth__span(r->series[TOP_S_USAGE]));
	json_obj(j, "class_growth_mib_per_min");
	json_rate(j, "anon", r->split.anon);
	json_rate(j, "file", r->split.file);
	json_rate(j, "shmem", r->split.shmem);
	json_rate(j, "kernel", r->split.kernel);
	json_rate(j, "v8_heap", r->split.v8);
	json_end(j);
	if (procs) {
		json_arr(j, "processes");
		for (size_t i = 0; i < r->n_proc_list; i++) {
			const struct top_proc *p = &r->procs[i];

			json_obj(j, NULL);
			json_i64(j, "pid", p->pid);
			json_i64(j, "container_pid", p->inner_pid);
			json_str(j, "name", p->name);
			json_u64(j, "rss", p->rss);
			json_u64(j, "anon", p->anon);
			json_u64(j, "file", p->file);
			json_u64(j, "shmem", p->shmem);
			json_end(j);
		}
		json_end(j);
	}
	json_end(j);
}

void topview__print_json(struct top_row *const *rows, size_t n, const struct top_print *p,
			 FILE *f)
{
	struct json j;

	json_init(&j, f, false);
	json_obj(&j, NULL);
	json_i64(&j, "time", p->time);
	json_str(&j, "hierarchy", p->hier ? p->hier->mount : NULL);
	if (p->hier)
		json_i64(&j, "cgroup_version", p->hier->version);
	json_double(&j, "window_s", p->window);
	json_double(&j, "interval_s", p->interval);
	json_arr(&j, "cgroups");
	for (size_t i = 0; i < n; i++)
		if (rows[i]->shown)
			json_row(&j, rows[i], p->procs);
	json_end(&j);
	json_end(&j);
}

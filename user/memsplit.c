#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroups.h"
#include "cgstat.h"
#include "container.h"
#include "feature_state.h"
#include "hmap.h"
#include "json.h"
#include "log.h"
#include "memsplit.h"
#include "procname.h"
#include "procstatus.h"
#include "readfile.h"
#include "record_output.h"
#include "recorder.h"
#include "recording.h"
#include "v8.h"
#include "verdict.h"

#define MIB		(1024.0 * 1024.0)
#define LABEL_LEN	256
#define STACK_TEXT	512
#define STACK_FRAMES	5	/* leafmost user frames shown per native stack */
#define FRAME_SHOWN	64
#define STAT_MAX	4096	/* /proc/PID/stat */

/* Readings of one process or cgroup over the window, thinned out (every
 * other one dropped, interval doubled) when full, so a long window keeps
 * its whole shape in bounded memory. */
struct series {
	double *t;
	double *v[MEM_NR_CLASSES];	/* NULL for classes not measured */
	size_t n;
	double every, last_t;
	double judge_from;	/* readings before are not judged (startup) */
};

struct sproc {
	int pid;
	uint64_t starttime;	/* /proc/PID/stat, tells a recycled pid */
	char comm[MS_COMM_LEN + 1];
	bool alive, seen;
	enum v8_runtime rt;
	uint64_t exe_dev, exe_ino;	/* of its executable: an exec changes them */
	size_t cont;		/* index in containers, SIZE_MAX: none */
	double base[MEM_NR_CLASSES], last[MEM_NR_CLASSES];
	bool have_base;
	struct series s;
};

struct scont {
	char path[PATH_MAX];	/* as /proc/PID/cgroup prints it */
	char label[LABEL_LEN];
	uint64_t cgid;
	double base[MEM_NR_CLASSES], last[MEM_NR_CLASSES];
	bool have_base, readable;
	bool gone;		/* the cgroup was removed: entry free for the next one */
	struct series s;
};

struct stack_row {
	uint64_t bytes;
	double share;
	char text[STACK_TEXT];
};

struct row {
	bool container;
	size_t idx;		/* into procs or conts */
	double growth[MEM_NR_CLASSES];
	struct verdict j;
	size_t n_stacks;
	struct stack_row stacks[MEMSPLIT_TOP_STACKS];
};

struct memsplit {
	struct memsplit_opts o;
	struct v8 *v8;
	struct hmap *pid_idx;		/* int pid -> size_t index in procs */
	size_t *free_idx;		/* entries of gone processes, for reuse */
	size_t nfree, cap_free;
	struct sproc *procs;
	size_t nprocs, cap_procs;
	struct scont *conts;
	size_t nconts, cap_conts;
	double start, end, last_tick, last_discover;
	struct row *rows;
	size_t nrows;
};

static const struct {
	enum mem_class cls;
	const char *key;	/* JSON */
	const char *head;	/* stderr */
} columns[] = {
	{ MEM_CLASS_V8_HEAP, "v8_heap", "V8_HEAP" },
	{ MEM_CLASS_NATIVE, "native", "NATIVE" },
	{ MEM_CLASS_FILE, "file", "FILE" },
	{ MEM_CLASS_SHMEM, "shmem", "SHMEM" },
	{ MEM_CLASS_KERNEL, "kernel", "KERNEL" },
};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

/* ---- series ----------------------------------------------------------------- */

static int series_init(struct series *s, bool kernel)
{
	memset(s, 0, sizeof(*s));
	s->every = MEMSPLIT_TICK_S;
	s->last_t = -INFINITY;
	s->t = calloc(MEMSPLIT_SAMPLES_MAX, sizeof(double));
	if (!s->t)
		return -ENOMEM;
	for (int c = 1; c < MEM_NR_CLASSES; c++) {
		if (c == MEM_CLASS_KERNEL && !kernel)
			continue;
		s->v[c] = calloc(MEMSPLIT_SAMPLES_MAX, sizeof(double));
		if (!s->v[c])
			return -ENOMEM;
	}
	return 0;
}

static void series_free(struct series *s)
{
	free(s->t);
	for (int c = 0; c < MEM_NR_CLASSES; c++)
		free(s->v[c]);
}

/* Gone processes are not reported: drop their readings (~48 KiB each) and
 * hand their entry to the next new process, or memscope would grow on a
 * host that forks all day. */
static void proc_gone(struct memsplit *s, struct sproc *p)
{
	p->alive = false;
	series_free(&p->s);
	memset(&p->s, 0, sizeof(p->s));
	/* A dead V8 process keeps its entry and its V8 ranges until its pid is
	 * reused: an OOM report for it is built just after it died. V8
	 * processes are few; the others' entries are reused at once. */
	if (p->rt == V8_RUNTIME_V8)
		return;
	if (s->nfree == s->cap_free) {
		size_t cap = s->cap_free ? s->cap_free * 2 : 256;
		void *nf = realloc(s->free_idx, cap * sizeof(*s->free_idx));

		if (!nf)
			return;	/* the entry just stays unused */
		s->free_idx = nf;
		s->cap_free = cap;
	}
	hmap__delete(s->pid_idx, &p->pid, sizeof(p->pid));
	s->free_idx[s->nfree++] = (size_t)(p - s->procs);
}

static void series_add(struct series *s, double now, const double *vals)
{
	if (!s->t || now - s->last_t < s->every * 0.9)
		return;
	if (s->n == MEMSPLIT_SAMPLES_MAX) {
		for (size_t i = 0; i < s->n / 2; i++) {
			s->t[i] = s->t[2 * i];
			for (int c = 0; c < MEM_NR_CLASSES; c++)
				if (s->v[c])
					s->v[c][i] = s->v[c][2 * i];
		}
		s->n /= 2;
		s->every *= 2;
	}
	s->t[s->n] = now;
	for (int c = 0; c < MEM_NR_CLASSES; c++)
		if (s->v[c])
			s->v[c][s->n] = vals[c];
	s->n++;
	s->last_t = now;
}

static void judge_series(const struct series *s, struct verdict *v)
{
	const double *from[MEM_NR_CLASSES] = { NULL };
	size_t k = 0;

	while (k < s->n && s->t[k] < s->judge_from)
		k++;
	for (int c = 0; c < MEM_NR_CLASSES; c++)
		from[c] = s->v[c] ? s->v[c] + k : NULL;
	verdict__judge(s->t + k, from, s->n - k, v);
}

/* A process or cgroup first seen after the window opened is judged from
 * MEMSPLIT_SETTLE_S later: what a program allocates to start up (node's
 * first heap, its libraries) is not growth of the service. */
static void first_reading(const struct memsplit *s, struct series *se, double now)
{
	if (!se->n)
		se->judge_from = now > s->start ? now + MEMSPLIT_SETTLE_S : -INFINITY;
}

/* ---- readings ------------------------------------------------------------------- */

static void unknown(double *v)
{
	for (int c = 0; c < MEM_NR_CLASSES; c++)
		v[c] = NAN;
}

/* starttime (field 22) of proc_root/PID/stat: the comm before it may hold
 * anything, so fields are counted from its last ')'. */
static int read_starttime(const char *proc_root, int pid, uint64_t *out)
{
	char path[PATH_MAX], buf[STAT_MAX];
	const char *p;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%d/stat", proc_root, pid);
	n = readfile__at(AT_FDCWD, path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	/* Fields 3..21 follow the comm; starttime is the 20th after it. */
	for (int field = 0; field < 19; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EINVAL;
	}
	*out = strtoull(p + 1, NULL, 10);
	return 0;
}

static void read_proc(struct memsplit *s, struct sproc *p, double *v)
{
	struct procstatus st;
	uint64_t v8 = 0;

	unknown(v);
	if (procstatus__read(s->o.proc_root, p->pid, &st) ||
	    !(st.have & PROCSTATUS_RSSANON)) {
		proc_gone(s, p);
		return;
	}
	if (s->v8 && p->rt == V8_RUNTIME_V8 && v8__resident(s->v8, p->pid, &v8))
		v8 = 0;
	v[MEM_CLASS_V8_HEAP] = v8;
	/* The V8 heap is anonymous memory: the rest of anon is native. */
	v[MEM_CLASS_NATIVE] = st.rss_anon > v8 ? (double)(st.rss_anon - v8) : 0;
	v[MEM_CLASS_FILE] = st.rss_file;
	v[MEM_CLASS_SHMEM] = st.rss_shmem;
}

/* A removed cgroup holds no process, so it is never reported: drop its
 * readings (~50 KiB) and let the next new cgroup have the entry, or a host
 * where containers come and go would grow memscope. */
static void cont_gone(struct scont *c)
{
	series_free(&c->s);
	memset(c, 0, sizeof(*c));
	c->gone = true;
}

static void read_cont(struct memsplit *s, struct scont *c, double v8, double *v)
{
	char dir[PATH_MAX * 2];
	struct cgstat st;
	struct stat dst;
	int err;

	unknown(v);
	if (!c->readable)
		return;
	snprintf(dir, sizeof(dir), "%s%s", s->o.hier->mount, strcmp(c->path, "/") ? c->path : "");
	err = cgstat__read(dir, s->o.hier->version,
			   CGSTAT_ANON | CGSTAT_FILE | CGSTAT_SHMEM | CGSTAT_KERNEL | CGSTAT_SOCK, &st);
	/* A file missing inside the directory (no kmem accounting...) is not
	 * a removed cgroup. */
	if (err && stat(dir, &dst) && errno == ENOENT)
		cont_gone(c);
	if (err)
		return;
	v[MEM_CLASS_V8_HEAP] = v8;
	if (st.have & CGSTAT_ANON)
		v[MEM_CLASS_NATIVE] = st.anon > v8 ? st.anon - v8 : 0;
	if (st.have & CGSTAT_FILE)
		v[MEM_CLASS_FILE] = st.file;
	if (st.have & CGSTAT_SHMEM)
		v[MEM_CLASS_SHMEM] = st.shmem;
	if (st.have & (CGSTAT_KERNEL | CGSTAT_SOCK))
		v[MEM_CLASS_KERNEL] = (double)st.kernel + st.sock;
}

/* ---- processes and containers ----------------------------------------------------- */

/* Fills entry c (unused) for the cgroup at path. 0 or -ENOMEM (c left gone). */
static int new_cont(struct memsplit *s, struct scont *c, const char *path)
{
	char dir[PATH_MAX * 2];
	struct stat st;

	memset(c, 0, sizeof(*c));
	if (series_init(&c->s, true)) {
		cont_gone(c);
		return -ENOMEM;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	if (container__label(path, c->label, sizeof(c->label)))
		snprintf(c->label, sizeof(c->label), "%.*s", LABEL_LEN - 1, path);
	snprintf(dir, sizeof(dir), "%s%s", s->o.hier->mount, strcmp(path, "/") ? path : "");
	if (stat(dir, &st) == 0) {
		c->cgid = st.st_ino;
		c->readable = true;
	}
	return 0;
}

static size_t find_cont(struct memsplit *s, int pid)
{
	char path[PATH_MAX];
	size_t at = SIZE_MAX;
	struct scont *c;

	if (!s->o.hier || cgroups__pid_path(pid, s->o.hier, path, sizeof(path)))
		return SIZE_MAX;
	for (size_t i = 0; i < s->nconts; i++) {
		if (s->conts[i].gone && at == SIZE_MAX)
			at = i;
		else if (!s->conts[i].gone && !strcmp(s->conts[i].path, path))
			return i;
	}
	if (at != SIZE_MAX)
		return new_cont(s, &s->conts[at], path) ? SIZE_MAX : at;
	if (s->nconts == s->cap_conts) {
		size_t cap = s->cap_conts ? s->cap_conts * 2 : 16;
		void *np = realloc(s->conts, cap * sizeof(*s->conts));

		if (!np)
			return SIZE_MAX;
		s->conts = np;
		s->cap_conts = cap;
	}
	c = &s->conts[s->nconts];
	if (new_cont(s, c, path))
		return SIZE_MAX;
	return s->nconts++;
}

static bool cgid_wanted(const struct memsplit *s, uint64_t id)
{
	for (size_t i = 0; i < s->o.n_cgids; i++)
		if (s->o.cgids[i] == id)
			return true;
	return false;
}

/* The process's memory cgroup or one of its ancestors is in the filter
 * (the same 16 levels the kernel side walks). */
static bool in_wanted_cgroup(const struct memsplit *s, int pid)
{
	char path[PATH_MAX], dir[PATH_MAX * 2];
	struct stat st;

	if (!s->o.hier || cgroups__pid_path(pid, s->o.hier, path, sizeof(path)))
		return false;
	for (int level = 0; level < 16; level++) {
		char *slash = strrchr(path, '/');
		bool root = !strcmp(path, "/") || !path[0];

		snprintf(dir, sizeof(dir), "%s%s", s->o.hier->mount, root ? "" : path);
		if (stat(dir, &st) == 0 && cgid_wanted(s, st.st_ino))
			return true;
		if (root || !slash)
			return false;
		slash[slash == path] = '\0';	/* "/a" becomes "/", "/a/b" "/a" */
	}
	return false;
}

static bool pid_wanted(const struct memsplit *s, int pid)
{
	if (s->o.n_pids) {
		for (size_t i = 0; i < s->o.n_pids; i++)
			if ((int)s->o.pids[i] == pid)
				return true;
		return false;
	}
	return s->o.n_cgids == 0 || in_wanted_cgroup(s, pid);
}

/* The process's name, not its main thread's (procname.h: node 24 calls
 * that one "MainThread"). */
static void read_comm(const struct memsplit *s, int pid, char *comm, size_t len)
{
	char name[PROCNAME_LEN];

	procname__read_now(s->o.proc_root, (uint32_t)pid, name);
	snprintf(comm, len, "%s", name);
	for (size_t i = 0; comm[i]; i++)
		if (!isprint((unsigned char)comm[i]))
			comm[i] = '?';
}

static void exe_id(const struct memsplit *s, int pid, uint64_t *dev, uint64_t *ino)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%d/exe", s->o.proc_root, pid);
	if (stat(path, &st)) {
		*dev = *ino = 0;
		return;
	}
	*dev = st.st_dev;
	*ino = st.st_ino;
}

/* What runs in the process: V8 or not. Again after an exec (a shell that
 * execs node keeps its pid and start time). */
static void track_runtime(struct memsplit *s, struct sproc *p)
{
	exe_id(s, p->pid, &p->exe_dev, &p->exe_ino);
	read_comm(s, p->pid, p->comm, sizeof(p->comm));
	if (!s->v8 || v8__track(s->v8, p->pid, &p->rt))
		return;
	if (p->rt == V8_RUNTIME_NO_SYMBOLS)
		log_warn("pid %d (%s): V8 without its OS layer's symbols (stripped binary?): its "
			 "heap cannot be told from native memory (unknown runtime)", p->pid, p->comm);
	else if (p->rt == V8_RUNTIME_NO_PROBES)
		log_warn("pid %d (%s): the kernel refused uprobes on its V8 (-v tells why): its "
			 "heap cannot be told from native memory (unknown runtime)", p->pid, p->comm);
}

/* A process seen for the first time (or its pid recycled). */
static void add_proc(struct memsplit *s, int pid, uint64_t starttime, bool in_window)
{
	size_t *at, idx;
	struct sproc *p;
	bool created;

	at = hmap__upsert(s->pid_idx, &pid, sizeof(pid), &created);
	if (!at)
		return;
	if (!created) {
		idx = *at;
		p = &s->procs[idx];
		series_free(&p->s);
		if (s->v8)
			v8__forget(s->v8, pid);
	} else if (s->nfree) {
		idx = *at = s->free_idx[--s->nfree];
		p = &s->procs[idx];
	} else {
		if (s->nprocs == MEMSPLIT_PROCS_MAX) {
			hmap__delete(s->pid_idx, &pid, sizeof(pid));
			return;
		}
		if (s->nprocs == s->cap_procs) {
			size_t cap = s->cap_procs ? s->cap_procs * 2 : 256;
			void *np = realloc(s->procs, cap * sizeof(*s->procs));

			if (!np) {
				hmap__delete(s->pid_idx, &pid, sizeof(pid));
				return;
			}
			s->procs = np;
			s->cap_procs = cap;
		}
		idx = *at = s->nprocs++;
		p = &s->procs[idx];
	}
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->starttime = starttime;
	p->alive = p->seen = true;
	unknown(p->last);
	if (series_init(&p->s, false)) {
		p->alive = false;
		return;
	}
	track_runtime(s, p);
	p->cont = find_cont(s, pid);
	/* Everything a process started in the window holds was allocated in it. */
	if (in_window) {
		for (int c = 1; c < MEM_NR_CLASSES; c++)
			p->base[c] = 0;
		p->have_base = true;
	}
}

/* Walks proc_root for new processes; marks the ones gone. */
static void discover(struct memsplit *s, bool in_window)
{
	DIR *d = opendir(s->o.proc_root);
	struct dirent *de;

	if (!d)
		return;
	for (size_t i = 0; i < s->nprocs; i++)
		s->procs[i].seen = false;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		uint64_t starttime;
		size_t *at;

		if (*end || pid <= 0 || pid > INT_MAX || !pid_wanted(s, (int)pid))
			continue;
		if (read_starttime(s->o.proc_root, (int)pid, &starttime))
			continue;
		at = hmap__find(s->pid_idx, &(int){ (int)pid }, sizeof(int));
		if (at && s->procs[*at].starttime == starttime) {
			struct sproc *p = &s->procs[*at];
			uint64_t dev, ino;

			p->seen = true;
			if (p->rt != V8_RUNTIME_V8 && p->alive) {
				exe_id(s, p->pid, &dev, &ino);
				if (dev != p->exe_dev || ino != p->exe_ino)
					track_runtime(s, p);
			}
			continue;
		}
		add_proc(s, (int)pid, starttime, in_window);
	}
	closedir(d);
	for (size_t i = 0; i < s->nprocs; i++) {
		struct sproc *p = &s->procs[i];

		if (!p->seen && p->alive)
			proc_gone(s, p);
	}
}

/* One reading of everything; the first one of each is its base. */
static void read_all(struct memsplit *s, double now)
{
	double v[MEM_NR_CLASSES];
	double *v8_sum = calloc(s->nconts + 1, sizeof(double));

	for (size_t i = 0; i < s->nprocs; i++) {
		struct sproc *p = &s->procs[i];

		if (!p->alive)
			continue;
		read_proc(s, p, v);
		if (!p->alive)
			continue;
		memcpy(p->last, v, sizeof(v));
		if (!p->have_base) {
			memcpy(p->base, v, sizeof(v));
			p->have_base = true;
		}
		first_reading(s, &p->s, now);
		series_add(&p->s, now, v);
		if (v8_sum && p->cont != SIZE_MAX)
			v8_sum[p->cont] += v[MEM_CLASS_V8_HEAP];
	}
	for (size_t i = 0; i < s->nconts; i++) {
		struct scont *c = &s->conts[i];

		read_cont(s, c, v8_sum ? v8_sum[i] : 0, v);
		if (!isfinite(v[MEM_CLASS_NATIVE]))
			continue;
		memcpy(c->last, v, sizeof(v));
		if (!c->have_base) {
			/* A cgroup first seen now had no process at the start:
			 * then it held (next to) nothing. */
			if (now > s->start)
				for (int k = 1; k < MEM_NR_CLASSES; k++)
					c->base[k] = 0;
			else
				memcpy(c->base, v, sizeof(v));
			c->have_base = true;
		}
		first_reading(s, &c->s, now);
		series_add(&c->s, now, v);
	}
	free(v8_sum);
}

struct memsplit *memsplit__start(const struct memsplit_opts *o, double now)
{
	struct memsplit *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->o = *o;
	if (!s->o.proc_root)
		s->o.proc_root = "/proc";
	s->start = s->last_tick = s->last_discover = now;
	s->pid_idx = hmap__new(sizeof(size_t));
	if (!s->pid_idx) {
		memsplit__free(s);
		errno = ENOMEM;
		return NULL;
	}
	if (o->v8) {
		char why[160];

		s->v8 = v8__open();
		snprintf(why, sizeof(why), "cannot load the V8 uprobes (%s): no v8-heap class, "
			 "V8 heaps count as native", strerror(errno));
		if (s->v8)
			features__on(FEATURE_V8, NULL);
		else
			features__off(FEATURE_V8, why);
	}
	discover(s, false);
	read_all(s, now);
	return s;
}

void memsplit__tick(struct memsplit *s, double now)
{
	if (s->v8)
		v8__poll(s->v8);
	if (now - s->last_discover >= MEMSPLIT_DISCOVER_S) {
		discover(s, true);
		s->last_discover = now;
	}
	if (now - s->last_tick >= MEMSPLIT_TICK_S) {
		read_all(s, now);
		s->last_tick = now;
	}
}

void memsplit__finish(struct memsplit *s, double now)
{
	if (s->v8)
		v8__poll(s->v8);
	discover(s, true);
	for (size_t i = 0; i < s->nprocs; i++)
		s->procs[i].s.last_t = -INFINITY;	/* this reading always counts */
	for (size_t i = 0; i < s->nconts; i++)
		s->conts[i].s.last_t = -INFINITY;
	read_all(s, now);
	s->end = now;
}

static uint8_t classify(void *ctx, uint64_t pfn)
{
	return memclass__classify(ctx, pfn);
}

void memsplit__settle(struct memsplit *s, struct recorder *r, struct page_records *pr)
{
	size_t n = page_records__count(pr);
	struct memclass *m = n ? memclass__new(n, "/proc/kpageflags") : NULL;
	uint64_t marked = 0;

	if (!m) {
		recorder__settle(r, pr);
		return;
	}
	if (!memclass__has_flags(m))
		log_notice("cannot read /proc/kpageflags (%s): only V8 heap pages get a class",
			   strerror(errno));
	if (s->v8)
		marked = v8__mark_pfns(s->v8, m);
	log_debug("%" PRIu64 " pages resident in V8 heaps", marked);
	recorder__settle_classified(r, pr, classify, m);
	memclass__free(m);
}

/* ---- report ---------------------------------------------------------------------- */

static void growth_of(const double *base, const double *last, double *out)
{
	for (int c = 0; c < MEM_NR_CLASSES; c++)
		out[c] = last[c] - base[c];
}

/* With -v, a row's readings as the rule saw them, so a verdict can be
 * checked by hand: "t v8-heap native file shmem kernel" in MiB per line. */
static void dump_series(const struct memsplit *s, const char *what, const struct series *se)
{
	char line[256];

	if (!log_verbose())
		return;
	log_debug("readings of %s (t s, then MiB: v8-heap native file shmem kernel):", what);
	for (size_t i = 0; i < se->n; i++) {
		int at = snprintf(line, sizeof(line), "%.2f", se->t[i] - s->start);

		for (int c = 1; c < MEM_NR_CLASSES && at > 0 && (size_t)at < sizeof(line); c++)
			at += snprintf(line + at, sizeof(line) - at, " %.2f",
				       se->v[c] ? se->v[c][i] / MIB : NAN);
		log_debug("  %s", line);
	}
}

static void judge_row(const struct memsplit *s, struct row *r, const struct series *se)
{
	char what[LABEL_LEN + 32];

	if (r->container)
		snprintf(what, sizeof(what), "%s", s->conts[r->idx].label);
	else
		snprintf(what, sizeof(what), "pid %d", s->procs[r->idx].pid);
	dump_series(s, what, se);
	judge_series(se, &r->j);
}

struct slot_set {
	struct hmap *slots;	/* uint32_t slot -> size_t row index */
	struct memsplit *s;
};

static void note_slot(void *ctx, const struct ms_proc_key *key, const struct ms_proc_info *info)
{
	struct slot_set *ss = ctx;
	size_t *at = hmap__find(ss->s->pid_idx, &(int){ (int)key->tgid }, sizeof(int));
	size_t *row;

	if (!at || !ss->s->procs[*at].alive)
		return;
	row = hmap__upsert(ss->slots, &info->slot, sizeof(info->slot), NULL);
	if (row)
		*row = *at;
}

/* A frame as a verdict line shows it: without a C++ parameter list, cut to
 * FRAME_SHOWN bytes. */
static void short_frame(const char *name, char *out, size_t len)
{
	size_t n = strlen(name);
	int depth = 0;

	if (n && name[n - 1] == ')') {
		for (size_t i = n; i-- > 0;) {
			depth += name[i] == ')' ? 1 : name[i] == '(' ? -1 : 0;
			if (!depth) {
				if (i > 0)
					n = i;
				break;
			}
		}
	}
	if (n > FRAME_SHOWN)
		snprintf(out, len, "%.*s...", FRAME_SHOWN - 3, name);
	else
		snprintf(out, len, "%.*s", (int)n, name);
}

/* The leafmost user frames of a stack: where its pages were first touched. */
static void stack_text(const struct rec_stack *st, char *out, size_t len)
{
	size_t first = 0, last = st->nframes, at = 0;
	char name[FRAME_LEN], frame[FRAME_SHOWN + 1];

	while (last > first && st->frames[last - 1].kind == FRAME_KERNEL)
		last--;
	if (last > first + STACK_FRAMES)
		first = last - STACK_FRAMES;
	out[0] = '\0';
	for (size_t i = first; i < last && at < len; i++) {
		int w;

		record_output__frame_text(&st->frames[i], name, sizeof(name));
		short_frame(name, frame, sizeof(frame));
		w = snprintf(out + at, len - at, "%s%s", i > first ? ";" : "", frame);
		if (w < 0)
			break;
		at += (size_t)w;
	}
}

static int by_bytes_desc(const void *a, const void *b)
{
	uint64_t x = ((const struct stack_row *)a)->bytes, y = ((const struct stack_row *)b)->bytes;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* The largest native stacks of the row's process (or of the container's
 * processes), merged by what they show: where the native growth was first
 * touched. */
static void top_stacks(struct memsplit *s, const struct recording *rec, struct hmap *slots,
		       struct row *r)
{
	struct hmap *by_text = hmap__new(sizeof(uint64_t));
	size_t it = 0, n = 0;
	struct stack_row *all;
	char text[STACK_TEXT];
	uint64_t total = 0;
	const void *key;
	size_t klen;
	void *val;

	if (!by_text)
		return;
	for (size_t i = 0; i < rec->nstacks; i++) {
		const struct rec_stack *b = &rec->stacks[i];
		size_t *pi = hmap__find(slots, &b->slot, sizeof(b->slot));
		uint64_t *bytes;

		if (b->js || b->cls != MEM_CLASS_NATIVE || !b->sampled_outstanding || !pi ||
		    (r->container ? s->procs[*pi].cont != r->idx : *pi != r->idx))
			continue;
		stack_text(b, text, sizeof(text));
		bytes = hmap__upsert(by_text, text, strlen(text), NULL);
		if (bytes)
			*bytes += b->sampled_outstanding;
		total += b->sampled_outstanding;
	}
	all = calloc(hmap__count(by_text) + 1, sizeof(*all));
	while (all && hmap__next(by_text, &it, &key, &klen, &val)) {
		all[n].bytes = *(uint64_t *)val;
		snprintf(all[n++].text, STACK_TEXT, "%.*s", (int)klen, (const char *)key);
	}
	if (all)
		qsort(all, n, sizeof(*all), by_bytes_desc);
	r->n_stacks = n < MEMSPLIT_TOP_STACKS ? n : MEMSPLIT_TOP_STACKS;
	for (size_t k = 0; k < r->n_stacks; k++) {
		r->stacks[k] = all[k];
		r->stacks[k].share = total ? (double)all[k].bytes / total : 0;
	}
	free(all);
	hmap__free(by_text);
}

static double row_total(const struct row *r)
{
	double sum = 0;

	for (int c = 1; c < MEM_NR_CLASSES; c++)
		if (isfinite(r->growth[c]))
			sum += r->growth[c];
	return sum;
}

static int by_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	double tx = row_total(x), ty = row_total(y);

	if (x->container != y->container)
		return x->container ? -1 : 1;
	return tx < ty ? 1 : tx > ty ? -1 : 0;
}

int memsplit__report(struct memsplit *s, const struct recording *rec)
{
	struct slot_set ss = { hmap__new(sizeof(size_t)), s };
	bool *cont_used = calloc(s->nconts + 1, sizeof(bool));
	bool *reported = calloc(s->nprocs + 1, sizeof(bool));
	const void *key;
	size_t it = 0;
	void *val;

	free(s->rows);
	s->nrows = 0;
	s->rows = calloc(s->nprocs + s->nconts + 1, sizeof(*s->rows));
	if (!ss.slots || !cont_used || !reported || !s->rows) {
		hmap__free(ss.slots);
		free(cont_used);
		free(reported);
		return -ENOMEM;
	}
	for (size_t i = 0; i < rec->nprocs; i++)
		note_slot(&ss, &rec->procs[i].key, &rec->procs[i].info);
	/* A process is reported once, however many slots (cgroups) it had. */
	while (hmap__next(ss.slots, &it, &key, NULL, &val)) {
		size_t pi = *(size_t *)val;
		struct sproc *p = &s->procs[pi];
		struct row *r;

		if (reported[pi] || !p->have_base)
			continue;
		reported[pi] = true;
		r = &s->rows[s->nrows++];
		r->idx = pi;
		growth_of(p->base, p->last, r->growth);
		judge_row(s, r, &p->s);
		if (r->j.verdict == GROWTH_NATIVE)
			top_stacks(s, rec, ss.slots, r);
		if (p->cont != SIZE_MAX)
			cont_used[p->cont] = true;
	}
	for (size_t i = 0; i < s->nconts; i++) {
		struct scont *ct = &s->conts[i];
		struct row *r;

		if (!cont_used[i] || !ct->have_base)
			continue;
		r = &s->rows[s->nrows++];
		r->container = true;
		r->idx = i;
		growth_of(ct->base, ct->last, r->growth);
		judge_row(s, r, &ct->s);
		if (r->j.verdict == GROWTH_NATIVE)
			top_stacks(s, rec, ss.slots, r);
	}
	qsort(s->rows, s->nrows, sizeof(*s->rows), by_row);
	hmap__free(ss.slots);
	free(cont_used);
	free(reported);
	return 0;
}

/* The pid whose heap to snapshot for a container: its largest V8 growth. */
static int v8_pid_of(const struct memsplit *s, const struct row *r)
{
	double best = -INFINITY;
	int pid = 0;

	if (!r->container)
		return s->procs[r->idx].pid;
	for (size_t i = 0; i < s->nrows; i++) {
		const struct row *x = &s->rows[i];

		if (!x->container && s->procs[x->idx].cont == r->idx &&
		    x->growth[MEM_CLASS_V8_HEAP] > best) {
			best = x->growth[MEM_CLASS_V8_HEAP];
			pid = s->procs[x->idx].pid;
		}
	}
	return pid;
}

static void hint(const struct memsplit *s, const struct row *r, char *buf, size_t len)
{
	switch (r->j.verdict) {
	case GROWTH_V8:
		/* --js-heap first: heap snapshots need the restart that loses the leak */
		snprintf(buf, len, "retained JS objects: memscope record --js-heap -p %d names the "
			 "JS code that holds them, with no restart (or compare two heap snapshots: "
			 "node --heapsnapshot-signal=SIGUSR2, then kill -USR2 %d twice)",
			 v8_pid_of(s, r), v8_pid_of(s, r));
		break;
	case GROWTH_NATIVE:
		snprintf(buf, len, "outside the JS heap (Buffers, addons, C/C++ libraries, "
			 "fragmentation): heap snapshots will look normal; see the top native "
			 "stacks");
		break;
	case GROWTH_PAGE_CACHE:
		snprintf(buf, len, "file pages the kernel reclaims under pressure");
		break;
	default:
		buf[0] = '\0';
		break;
	}
}

/* Stop times count from the window's start, whenever the row was first seen. */
static void verdict_text(const struct memsplit *s, const struct row *r, char *buf, size_t len)
{
	verdict__text(&r->j, VERDICT_SINCE, s->start, buf, len);
}

static const char *signed_mib(char *buf, size_t len, double bytes)
{
	if (!isfinite(bytes))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%+.1f", bytes / MIB);
	return buf;
}

void memsplit__print(const struct memsplit *s, FILE *out)
{
	size_t shown = 0;
	char num[32], name[LABEL_LEN + 64], v[64], h[512];

	if (!s->nrows)
		return;
	fprintf(out, "memscope: growth by class over %.1f s (MiB) and verdict:\n", s->end - s->start);
	fprintf(out, "%-40s", "CONTAINER / PID COMM (RUNTIME)");
	for (size_t k = 0; k < NCOLUMNS; k++)
		fprintf(out, " %8s", columns[k].head);
	fprintf(out, "  VERDICT\n");
	for (size_t i = 0; i < s->nrows; i++) {
		const struct row *r = &s->rows[i];

		if (!r->container && shown++ == MEMSPLIT_SHOWN) {
			fprintf(out, "(%zu more processes in --report)\n", s->nrows - i);
			break;
		}
		if (r->container) {
			snprintf(name, sizeof(name), "%s", s->conts[r->idx].label);
		} else {
			const struct sproc *p = &s->procs[r->idx];

			snprintf(name, sizeof(name), "  %d %s (%s)", p->pid, p->comm,
				 p->rt == V8_RUNTIME_V8 ? "v8" : v8__runtime_name(p->rt));
		}
		fprintf(out, "%-40.40s", name);
		for (size_t k = 0; k < NCOLUMNS; k++)
			fprintf(out, " %8s", signed_mib(num, sizeof(num), r->growth[columns[k].cls]));
		verdict_text(s, r, v, sizeof(v));
		hint(s, r, h, sizeof(h));
		fprintf(out, "  %s%s%s\n", v, h[0] ? ": " : "", h);
		/* A container's stacks are its processes': shown under them. */
		for (size_t k = 0; !r->container && k < r->n_stacks; k++)
			fprintf(out, "      native %3.0f%%  %s\n", r->stacks[k].share * 100,
				r->stacks[k].text);
	}
}

static void json_classes(struct json *j, const char *key, const double *v, bool bytes)
{
	json_obj(j, key);
	for (size_t k = 0; k < NCOLUMNS; k++) {
		double x = v[columns[k].cls];

		if (bytes && isfinite(x))
			json_i64(j, columns[k].key, (int64_t)x);
		else
			json_double(j, columns[k].key, x);
	}
	json_end(j);
}

/* The rule's figures: how far each class's floor rose, how much it swings,
 * and when growth stopped (seconds into the window, null: still growing). */
static void json_verdict(const struct memsplit *s, struct json *j, const struct verdict *v)
{
	double rise[MEM_NR_CLASSES], swing[MEM_NR_CLASSES];

	for (int c = 0; c < MEM_NR_CLASSES; c++) {
		rise[c] = v->cls[c].known ? v->cls[c].rise : NAN;
		swing[c] = v->cls[c].known ? v->cls[c].swing : NAN;
	}
	json_classes(j, "floor_rise_bytes", rise, true);
	json_classes(j, "swing_bytes", swing, true);
	json_str(j, "verdict", growth__verdict_name(v->verdict));
	json_bool(j, "still_growing", verdict__is_growth(v) && !isfinite(v->stopped_at));
	json_double(j, "stopped_growing_at_s", verdict__is_growth(v) ? v->stopped_at - s->start : NAN);
}

static void json_row(const struct memsplit *s, const struct row *r, struct json *j)
{
	char v[64], h[512];

	verdict_text(s, r, v, sizeof(v));
	hint(s, r, h, sizeof(h));
	json_obj(j, NULL);
	if (r->container) {
		const struct scont *c = &s->conts[r->idx];

		json_str(j, "label", c->label);
		json_str(j, "cgroup", c->path);
		json_u64(j, "cgroup_id", c->cgid);
	} else {
		const struct sproc *p = &s->procs[r->idx];

		json_u64(j, "pid", p->pid);
		json_str(j, "comm", p->comm);
		json_str(j, "container", p->cont != SIZE_MAX ? s->conts[p->cont].label : NULL);
		json_str(j, "runtime", v8__runtime_name(p->rt));
		json_u64(j, "v8_committed_bytes", s->v8 ? v8__committed(s->v8, p->pid) : 0);
	}
	json_classes(j, "growth_bytes", r->growth, true);
	json_verdict(s, j, &r->j);
	json_str(j, "summary", v);
	json_str(j, "hint", h[0] ? h : NULL);
	json_arr(j, "top_native_stacks");
	for (size_t k = 0; k < r->n_stacks; k++) {
		json_obj(j, NULL);
		json_str(j, "stack", r->stacks[k].text);
		json_u64(j, "sampled_bytes", r->stacks[k].bytes);
		json_double(j, "share", r->stacks[k].share);
		json_end(j);
	}
	json_end(j);
	json_end(j);
}

void memsplit__json(const struct memsplit *s, struct json *j)
{
	struct v8_stats st = {};

	if (s->v8)
		v8__stats(s->v8, &st);
	json_obj(j, "growth");
	json_double(j, "window_s", s->end - s->start);
	json_bool(j, "v8_probes", s->v8 != NULL);
	json_u64(j, "v8_binaries_probed", st.binaries_probed);
	json_u64(j, "v8_events_lost", st.events_lost + st.ranges_full);
	json_arr(j, "containers");
	for (size_t i = 0; i < s->nrows; i++)
		if (s->rows[i].container)
			json_row(s, &s->rows[i], j);
	json_end(j);
	json_arr(j, "processes");
	for (size_t i = 0; i < s->nrows; i++)
		if (!s->rows[i].container)
			json_row(s, &s->rows[i], j);
	json_end(j);
	json_end(j);
}

uint64_t memsplit__v8_bytes(struct memsplit *s, int pid)
{
	return s && s->v8 ? v8__committed(s->v8, pid) : 0;
}

size_t memsplit__containers(const struct memsplit *s, size_t *entries)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nconts; i++)
		n += !s->conts[i].gone;
	if (entries)
		*entries = s->nconts;
	return n;
}

void memsplit__free(struct memsplit *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nprocs; i++)
		series_free(&s->procs[i].s);
	for (size_t i = 0; i < s->nconts; i++)
		series_free(&s->conts[i].s);
	free(s->procs);
	free(s->free_idx);
	free(s->conts);
	free(s->rows);
	hmap__free(s->pid_idx);
	v8__free(s->v8);
	free(s);
}

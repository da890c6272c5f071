/* The processes and cgroups a class split follows: found in /proc, read
 * from /proc/PID/status and the cgroup's memory.stat, dropped when gone. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroups.h"
#include "cgstat.h"
#include "container.h"
#include "hmap.h"
#include "log.h"
#include "memsplit.h"
#include "memsplit_int.h"
#include "procname.h"
#include "procstat.h"
#include "procstatus.h"
#include "v8.h"

/* Gone processes are not reported: drop their readings (~48 KiB each) and
 * hand their entry to the next new process, or memscope would grow on a
 * host that forks all day. */
static void proc_gone(struct memsplit *s, struct sproc *p)
{
	p->alive = false;
	memsplit_series__free(&p->s);
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

/* ---- readings ------------------------------------------------------------------- */

static void unknown(double *v)
{
	for (int c = 0; c < MEM_NR_CLASSES; c++)
		v[c] = NAN;
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
	memsplit_series__free(&c->s);
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
	if (memsplit_series__init(&c->s, true)) {
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
		memsplit_series__free(&p->s);
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
	if (memsplit_series__init(&p->s, false)) {
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
void memsplit_procs__discover(struct memsplit *s, bool in_window)
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
		if (procstat__start_ticks(s->o.proc_root, (int)pid, &starttime))
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
void memsplit_procs__read_all(struct memsplit *s, double now)
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
		memsplit_series__first_reading(s, &p->s, now);
		memsplit_series__add(&p->s, now, v);
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
		memsplit_series__first_reading(s, &c->s, now);
		memsplit_series__add(&c->s, now, v);
	}
	free(v8_sum);
}

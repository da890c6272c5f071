#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgstat.h"
#include "cli.h"
#include "container.h"
#include "ctrnames.h"
#include "growth.h"
#include "json.h"
#include "log.h"
#include "memsplit.h"
#include "oom_report.h"
#include "safe_text.h"
#include "procstatus.h"
#include "readfile.h"
#include "stack_text.h"
#include "recorder.h"
#include "recording.h"
#include "topview.h"

#define CHAIN_FIELDS	(CGSTAT_USAGE | CGSTAT_LIMIT | CGSTAT_ANON | CGSTAT_FILE | \
			 CGSTAT_SHMEM | CGSTAT_KERNEL | CGSTAT_SOCK)
/* A timeline point this old no longer tells the usage at the kill. */
#define RECENT_S	2.0

struct oom_report *oom_report__new(void)
{
	struct oom_report *r = calloc(1, sizeof(*r));

	if (r)
		r->limit = CGSTAT_UNLIMITED;
	return r;
}

void oom_report__free(struct oom_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_stacks; i++)
		free(r->stacks[i].stack.frames);
	free(r);
}

/* ---- pure parts ------------------------------------------------------------ */

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* Names come from processes and cgroup names: keep output plain ASCII. */
static void copy_printable(char *dst, size_t cap, const char *src, size_t len)
{
	size_t o = 0;

	if (!cap)
		return;
	for (size_t i = 0; src && i < len && src[i] && o + 1 < cap; i++) {
		unsigned char c = src[i];

		dst[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[o] = '\0';
}

int64_t oom_report__wall_ns(uint64_t boot_ns, int64_t realtime_now_ns, int64_t boottime_now_ns)
{
	return realtime_now_ns - (boottime_now_ns - (int64_t)boot_ns);
}

void oom_report__set_event(struct oom_report *r, const struct ms_oom_event *e,
			   uint64_t page_size, int64_t wall_ns)
{
	r->time_ns = wall_ns;
	r->victim.pid = e->victim_tgid;
	r->victim.cgid = e->victim_cgid;
	copy_printable(r->victim.comm, sizeof(r->victim.comm), e->victim_comm, MS_COMM_LEN);
	r->trigger.pid = e->trigger_tgid;
	r->trigger.cgid = e->trigger_cgid;
	copy_printable(r->trigger.comm, sizeof(r->trigger.comm), e->trigger_comm, MS_COMM_LEN);
	r->oom_score_adj = e->oom_score_adj;
	for (int i = 0; i < MS_NR_RSS; i++)
		r->rss[i] = sat_mul(e->rss_pages[i], page_size);
	r->evidence = e->frozen && e->victim_slot != MS_SLOT_NONE;
}

/* In an array kept largest first by the uint64_t that starts each element,
 * at most cap long: the element a value of `bytes` goes to, the smaller ones
 * moved down (the last one dropped when full, copied to *evicted first), or
 * NULL when it is too small to make it. */
static void *top_make_room(void *arr, size_t size, size_t *n, size_t cap, uint64_t bytes,
			   void *evicted)
{
	char *a = arr;
	uint64_t v;
	size_t i = *n;

	if (*n == cap) {
		memcpy(&v, a + (cap - 1) * size, sizeof(v));
		if (bytes <= v)
			return NULL;
		if (evicted)
			memcpy(evicted, a + (cap - 1) * size, size);
		i = cap - 1;
	} else {
		(*n)++;
	}
	for (; i > 0; i--) {
		memcpy(&v, a + (i - 1) * size, sizeof(v));
		if (v >= bytes)
			break;
		memcpy(a + i * size, a + (i - 1) * size, size);
	}
	return a + i * size;
}

/* The length of frame text f in a folded line: printable, cut to
 * FRAME_LEN - 1 bytes (copy_printable stops at the same place). */
static size_t folded_len(const char *f)
{
	return strnlen(f, FRAME_LEN - 1);
}

/* How many of t's frames a folded line holds: whole frames joined by ';',
 * at most cap - 1 bytes. */
static size_t frames_that_fit(const struct stack_text *t, size_t cap)
{
	size_t len = 0;

	for (size_t i = 0; i < t->n; i++) {
		size_t fl = folded_len(t->frames[i]);

		if (len + (i > 0) + fl + 1 > cap)
			return i;
		len += (i > 0) + fl;
	}
	return t->n;
}

/* frames joined by ';', whole frames only, at most cap - 1 bytes. */
static char *join_frames(const char *const *frames, size_t n, size_t cap)
{
	char *out = malloc(cap), *shrunk, frame[FRAME_LEN];
	size_t len = 0;

	if (!out)
		return NULL;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t fl;

		copy_printable(frame, sizeof(frame), frames[i], FRAME_LEN);
		fl = strlen(frame);
		if (len + (i > 0) + fl + 1 > cap)
			break;
		if (i > 0)
			out[len++] = ';';
		memcpy(out + len, frame, fl + 1);
		len += fl;
	}
	/* Most stacks are far shorter than cap, and reports are kept a while. */
	shrunk = realloc(out, len + 1);
	return shrunk ? shrunk : out;
}

char *oom_report__folded(const struct oom_stack *s)
{
	struct stack_text t = { 0 };
	char *out = NULL;

	if (!stack_text__stack(&s->stack, &t))
		out = join_frames(t.frames, t.n, OOM_STACK_MAX);
	stack_text__free(&t);
	return out;
}

/* Copies name into *at, printable and cut as a folded line cuts a user
 * frame; returns the copy. Cutting the bare name cuts the decorated text
 * at the same byte, as the marks only add at the ends. */
static const char *copy_name(char **at, const char *name)
{
	char *dst = *at;
	size_t len = folded_len(name);

	copy_printable(dst, len + 1, name, len);
	*at += len + 1;
	return dst;
}

/* s's copy in out, in one block: its frames, then every name. Only the
 * frames its folded line holds are kept, so that the text report and the
 * JSON show the same frames. 0, -EINVAL, -ENOMEM. */
static int stack_copy(const struct rec_stack *s, struct rec_stack *out)
{
	struct stack_text t = { 0 };
	size_t keep, bytes;
	struct frame *frames;
	char *at;
	int err;

	if (!s->container || !s->comm || (s->nframes && !s->frames))
		return -EINVAL;
	for (size_t i = 0; i < s->nframes; i++)
		if (!s->frames[i].name)
			return -EINVAL;
	err = stack_text__stack(s, &t);
	if (err)
		return err;
	/* container, comm and the class always fit: 3 * FRAME_LEN < OOM_STACK_MAX */
	keep = frames_that_fit(&t, OOM_STACK_MAX) - (t.n - s->nframes);
	stack_text__free(&t);
	bytes = keep * sizeof(*frames) + folded_len(s->container) + folded_len(s->comm) + 3;
	for (size_t i = 0; i < keep; i++)
		bytes += folded_len(s->frames[i].name) + 1;
	frames = malloc(bytes);
	if (!frames)
		return -ENOMEM;
	at = (char *)(frames + keep);
	*out = *s;
	out->frames = frames;
	out->nframes = keep;
	out->container = copy_name(&at, s->container);
	out->comm = copy_name(&at, s->comm);
	out->thread = copy_name(&at, "");
	for (size_t i = 0; i < keep; i++) {
		frames[i] = s->frames[i];
		/* an index into a recording the report does not keep */
		frames[i].mapping = 0;
		frames[i].name = copy_name(&at, s->frames[i].name);
	}
	return 0;
}

static bool same_stack(const struct rec_stack *a, const struct rec_stack *b)
{
	if (a->cls != b->cls || a->nframes != b->nframes || strcmp(a->container, b->container) ||
	    strcmp(a->comm, b->comm))
		return false;
	for (size_t i = 0; i < a->nframes; i++)
		if (a->frames[i].kind != b->frames[i].kind ||
		    strcmp(a->frames[i].name, b->frames[i].name))
			return false;
	return true;
}

/* Adds a stack to a list kept largest first, at most cap long, taking
 * st's block over: bytes add up when the list has the same stack already
 * (the recorder keeps apart what differs only below the symbol names). */
static void stacks_add(struct oom_stack *arr, size_t *n, size_t cap, struct rec_stack *st,
		       uint64_t bytes)
{
	struct oom_stack evicted = {}, *slot;

	for (size_t i = 0; i < *n; i++) {
		struct oom_stack same = arr[i];

		if (!same_stack(&same.stack, st))
			continue;
		free(st->frames);
		same.bytes = sat_add(same.bytes, bytes);
		/* Out of the list, then back in where its new size goes. */
		memmove(&arr[i], &arr[i + 1], (*n - i - 1) * sizeof(*arr));
		(*n)--;
		slot = top_make_room(arr, sizeof(*arr), n, cap, same.bytes, NULL);
		*slot = same;
		return;
	}
	slot = top_make_room(arr, sizeof(*arr), n, cap, bytes, &evicted);
	free(slot ? evicted.stack.frames : st->frames);
	if (slot)
		*slot = (struct oom_stack){ .bytes = bytes, .stack = *st };
}

int oom_report__add_stack(struct oom_report *r, const struct rec_stack *s, uint64_t bytes)
{
	struct rec_stack copy;
	int err;

	if (!r || !s)
		return -EINVAL;
	err = stack_copy(s, &copy);
	if (err)
		return err;
	stacks_add(r->stacks, &r->n_stacks, OOM_TOP_STACKS, &copy, bytes);
	return 0;
}

static uint64_t slack(uint64_t limit)
{
	uint64_t s = limit / OOM_SLACK_DIV;

	return s > OOM_SLACK_MIN ? s : OOM_SLACK_MIN;
}

static bool reaches(uint64_t usage, uint64_t limit)
{
	return usage >= limit || limit - usage <= slack(limit);
}

static bool candidate(const struct oom_cgroup *c)
{
	return c->limit != CGSTAT_UNLIMITED && c->trigger_inside;
}

int oom_report__limiting(const struct oom_cgroup *chain, size_t n, uint64_t victim_bytes,
			 bool *estimated)
{
	*estimated = false;
	for (size_t i = 0; i < n; i++) {
		const struct oom_cgroup *c = &chain[i];

		if (candidate(c) && reaches(c->usage > c->recent ? c->usage : c->recent, c->limit))
			return (int)i;
	}
	for (size_t i = 0; i < n; i++) {
		const struct oom_cgroup *c = &chain[i];

		if (candidate(c) && (!c->peak || reaches(c->peak, c->limit)) &&
		    reaches(sat_add(c->usage, victim_bytes), c->limit)) {
			*estimated = true;
			return (int)i;
		}
	}
	return -1;
}

void oom_report__set_limit(struct oom_report *r, const struct oom_cgroup *chain, size_t n)
{
	uint64_t victim = sat_add(sat_add(r->rss[MS_RSS_ANON], r->rss[MS_RSS_FILE]),
				  r->rss[MS_RSS_SHMEM]);
	int at = oom_report__limiting(chain, n, victim, &r->estimated);
	const struct oom_cgroup *c = at >= 0 ? &chain[at] : n ? &chain[0] : NULL;

	r->constraint = at >= 0 ? OOM_MEMCG : OOM_GLOBAL;
	r->source = OOM_SOURCE_INFERRED;
	if (!c)
		return;
	snprintf(r->cgroup, sizeof(r->cgroup), "%s", c->path);
	r->limit = c->limit;
	r->limit_kind = c->limit != CGSTAT_UNLIMITED ? OOM_LIMIT_MEMORY : OOM_LIMIT_UNKNOWN;
	r->usage = c->usage > c->recent ? c->usage : c->recent;
	r->peak = c->peak;
	r->have_charged = c->st.have & (CGSTAT_ANON | CGSTAT_FILE);
	r->charged[TIMELINE_ANON] = c->st.anon;
	r->charged[TIMELINE_FILE] = c->st.file;
	r->charged[TIMELINE_KERNEL] = c->st.kernel;
	r->charged[TIMELINE_SOCK] = c->st.sock;
	r->charged[TIMELINE_SHMEM] = c->st.shmem;
}

/* Which limit a memory cgroup OOM hit. v1 charges memory+swap first (when
 * swap is accounted): a memsw counter at its limit was the one. */
static enum oom_limit_kind kernel_limit_kind(const struct oom_kmsg_kill *k)
{
	const struct oom_kmsg_counter *sw = &k->memsw;

	if (sw->have && sw->limit < CGSTAT_LIMIT_HUGE && reaches(sw->usage, sw->limit))
		return OOM_LIMIT_MEMSW;
	return k->memory.have ? OOM_LIMIT_MEMORY : OOM_LIMIT_UNKNOWN;
}

int oom_report__set_kernel(struct oom_report *r, const struct oom_kmsg_kill *k,
			   const struct oom_cgroup *chain, size_t n)
{
	const struct oom_cgroup *at = NULL;
	const char *limiting;

	if (!k || k->pid != r->victim.pid)
		return -ESRCH;
	/* A cgroup or a comm with commas in it can shift the fields: what the
	 * record says must agree with what memscope knows before it wins. */
	if (k->task_memcg[0] && r->victim.cgroup[0] && strcmp(k->task_memcg, r->victim.cgroup))
		return -EINVAL;
	if (k->constraint == OOM_KMSG_MEMCG &&
	    (!k->oom_memcg[0] || !k->task_memcg[0] ||
	     !topview__is_under(k->task_memcg, k->oom_memcg)))
		return -EINVAL;

	limiting = k->constraint == OOM_KMSG_MEMCG ? k->oom_memcg : k->task_memcg;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(chain[i].path, limiting))
			at = &chain[i];
	/* Without a memcg limit the report still shows the victim's cgroup. */
	if (k->constraint != OOM_KMSG_MEMCG && !at && n)
		at = &chain[0];

	r->source = OOM_SOURCE_KMSG;
	r->estimated = false;
	r->have_kernel = true;
	r->kernel = *k;
	r->constraint = k->constraint == OOM_KMSG_MEMCG ? OOM_MEMCG :
			k->constraint == OOM_KMSG_CPUSET ? OOM_CPUSET :
			k->constraint == OOM_KMSG_MEMORY_POLICY ? OOM_MEMPOLICY : OOM_GLOBAL;
	snprintf(r->cgroup, sizeof(r->cgroup), "%s", at ? at->path : limiting);
	r->limit = at ? at->limit : CGSTAT_UNLIMITED;
	r->usage = at ? (at->usage > at->recent ? at->usage : at->recent) : 0;
	r->peak = at ? at->peak : 0;
	r->limit_kind = OOM_LIMIT_UNKNOWN;
	if (k->constraint == OOM_KMSG_MEMCG) {
		/* The kernel's counters at the kill beat files read after it. */
		r->limit_kind = kernel_limit_kind(k);
		if (r->limit_kind == OOM_LIMIT_MEMSW) {
			r->limit = k->memsw.limit;
			r->usage = k->memsw.usage;
		} else if (r->limit_kind == OOM_LIMIT_MEMORY) {
			r->limit = k->memory.limit;
			r->usage = k->memory.usage;
		}
	} else if (r->limit != CGSTAT_UNLIMITED) {
		r->limit_kind = OOM_LIMIT_MEMORY;
	}
	r->have_charged = at && (at->st.have & (CGSTAT_ANON | CGSTAT_FILE));
	if (r->have_charged) {
		r->charged[TIMELINE_ANON] = at->st.anon;
		r->charged[TIMELINE_FILE] = at->st.file;
		r->charged[TIMELINE_KERNEL] = at->st.kernel;
		r->charged[TIMELINE_SOCK] = at->st.sock;
		r->charged[TIMELINE_SHMEM] = at->st.shmem;
	}
	return 0;
}

bool oom_report__in_cgroups(const struct oom_report *r, const char *const *paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (r->victim.cgroup[0] && topview__is_under(r->victim.cgroup, paths[i]))
			return true;
	return n == 0;
}

/* The anon the victim held that no known managed heap explains. */
uint64_t oom_report__native_bytes(const struct oom_report *r)
{
	uint64_t anon = r->rss[MS_RSS_ANON];

	return anon > r->v8_heap ? anon - r->v8_heap : 0;
}

/* verdict.h's rule, the one record and top use, judged when collected
 * (oom_report__collect: up to the kill, anon split by the V8 heap held). */
enum growth_verdict oom_report__verdict(const struct oom_report *r)
{
	return r->growth.verdict.verdict;
}

/* ---- collecting ------------------------------------------------------------ */

static int cgroup_dir(const struct cg_hier *h, const char *path, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s%s", h->mount, strcmp(path, "/") ? path : "");

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The high watermark: v1 memory.max_usage_in_bytes, v2 memory.peak (5.19+). */
static uint64_t read_peak(const char *dir, int version)
{
	char path[PATH_MAX], buf[64];
	uint64_t v;
	ssize_t n;
	int w = snprintf(path, sizeof(path), "%s/%s", dir,
			 version == 1 ? "memory.max_usage_in_bytes" : "memory.peak");

	if (w < 0 || (size_t)w >= sizeof(path))
		return 0;
	n = readfile__at(AT_FDCWD, path, buf, sizeof(buf));
	return n > 0 && !cgstat__parse_u64(buf, (size_t)n, &v) ? v : 0;
}

/* "/a/b" -> "/a", "/a" -> "/". */
static void parent_path(char *path)
{
	char *slash = strrchr(path, '/');

	if (slash == path || !slash)
		path[1] = '\0', path[0] = '/';
	else
		*slash = '\0';
}

int oom_report__read_chain(const struct cg_hier *h, const char *path, const char *trigger_path,
			   struct oom_cgroup *chain, size_t max, size_t *n)
{
	char cur[PATH_MAX], dir[PATH_MAX];
	int err;

	*n = 0;
	if (!h || !path || path[0] != '/' || (max && !chain))
		return -EINVAL;
	if (snprintf(cur, sizeof(cur), "%s", path) >= (int)sizeof(cur))
		return -ENAMETOOLONG;
	while (*n < max && strcmp(cur, "/")) {
		struct oom_cgroup *c = &chain[*n];

		memset(c, 0, sizeof(*c));
		if ((err = cgroup_dir(h, cur, dir, sizeof(dir))))
			return err;
		err = cgstat__read(dir, h->version, CHAIN_FIELDS, &c->st);
		if (err) {
			/* The victim's own cgroup must be readable; an ancestor
			 * that is not ends the chain. */
			if (!*n)
				return err;
			break;
		}
		snprintf(c->path, sizeof(c->path), "%s", cur);
		c->usage = c->st.usage;
		c->limit = c->st.have & CGSTAT_LIMIT ? c->st.limit : CGSTAT_UNLIMITED;
		c->peak = read_peak(dir, h->version);
		c->trigger_inside = !trigger_path || topview__is_under(trigger_path, cur);
		(*n)++;
		parent_path(cur);
	}
	return 0;
}

/* Usage at the timeline's last point, when cgroup path has its own series
 * and that point is recent. */
static uint64_t recent_usage(const struct oom_sources *src, const char *path)
{
	struct timeline_point p;
	char row[PATH_MAX];

	if (!src->tl || topview__row_path(path, row, sizeof(row)) || strcmp(row, path) ||
	    timeline__points(src->tl, path, &p, 1) != 1 || cli_now() - p.t > RECENT_S)
		return 0;
	return p.usage;
}

static bool rss_known(const uint64_t *rss)
{
	for (int i = 0; i < MS_NR_RSS; i++)
		if (rss[i])
			return true;
	return false;
}

/* What the event left out (the tracepoint hook gives pids only) from /proc,
 * and where the task's cgroup is. A task without VmRSS has let go of its
 * memory: it is exiting, and v1 then shows it in the root memory cgroup, so
 * its cgroup line is only trusted when status, read after it, still has
 * VmRSS. rss (may be NULL) gets the task's resident set if the event had none. */
static void name_task(const struct oom_sources *src, struct oom_task *t, uint64_t *rss)
{
	struct cgroups *cg = src->cgroups;
	char proc_path[PATH_MAX] = "";
	const char *path = NULL;
	struct procstatus ps;
	bool live;

	if (!t->pid)
		return;
	if (!t->cgid && src->hier)
		cgroups__pid_path((int)t->pid, src->hier, proc_path, sizeof(proc_path));
	if ((!t->comm[0] || !t->cgid || (rss && !rss_known(rss))) && src->proc_root &&
	    !procstatus__read(src->proc_root, (pid_t)t->pid, &ps)) {
		live = ps.have & PROCSTATUS_VMRSS;
		if (!t->comm[0])
			copy_printable(t->comm, sizeof(t->comm), ps.name, sizeof(ps.name));
		if (live && !t->cgid)
			snprintf(t->cgroup, sizeof(t->cgroup), "%s", proc_path);
		if (live && rss && !rss_known(rss)) {
			rss[MS_RSS_ANON] = ps.rss_anon;
			rss[MS_RSS_FILE] = ps.rss_file;
			rss[MS_RSS_SHMEM] = ps.rss_shmem;
		}
	}
	if (t->cgid && cg) {
		path = cgroups__path(cg, t->cgid);
		/* A cgroup made less than a second ago: look again, now. */
		if (!path && !cgroups__refresh(cg))
			path = cgroups__path(cg, t->cgid);
		if (path)
			snprintf(t->cgroup, sizeof(t->cgroup), "%s", path);
	}
	if (t->cgroup[0] && !container__label(t->cgroup, t->container, sizeof(t->container))) {
		const char *name = ctrnames__name(src->names, t->cgroup, cli_now());

		if (name)
			copy_printable(t->name, sizeof(t->name), name, strlen(name));
		return;
	}
	t->container[0] = '\0';
	if (t->cgid)
		snprintf(t->container, sizeof(t->container), "[cgroup %" PRIu64 "]", t->cgid);
}

/* The kernel's own page counters, copied by BPF at the kill: they beat
 * anything read from cgroupfs afterwards. Both chains start at the victim's
 * cgroup and go up one level per entry. */
static void use_counters_at_kill(struct oom_cgroup *chain, size_t n,
				 const struct ms_oom_event *e, uint64_t page_size)
{
	for (size_t i = 0; i < n && i < e->nchain && i < MS_OOM_CHAIN; i++) {
		uint64_t usage = e->chain_usage[i] * page_size;

		/* PAGE_COUNTER_MAX is LONG_MAX / PAGE_SIZE: anything near it
		 * is "no limit". */
		chain[i].limit = e->chain_max[i] >= (1ULL << 50) / page_size ?
				 CGSTAT_UNLIMITED : e->chain_max[i] * page_size;
		chain[i].recent = usage > chain[i].recent ? usage : chain[i].recent;
	}
}

/* How long a report waits for the kernel's summary of its kill. It is
 * logged before the victim is marked, so it is normally there already; short,
 * because in a burst the kernel rate-limits its records and every kill whose
 * record was dropped waits this long. */
#define KMSG_WAIT_MS	100

static void find_limit(const struct oom_sources *src, struct oom_report *r,
		       const struct ms_oom_event *e, uint64_t page_size)
{
	struct oom_cgroup *chain = calloc(OOM_CHAIN_MAX, sizeof(*chain));
	const struct oom_kmsg_kill *kill;
	bool have_chain = false;
	size_t n = 0;

	if (!chain)
		return;
	/* Cgroup files first: the victim's pages leave its cgroup within
	 * milliseconds, the kernel's log keeps. */
	if (src->hier && r->victim.cgroup[0] &&
	    !oom_report__read_chain(src->hier, r->victim.cgroup,
				    r->trigger.cgroup[0] ? r->trigger.cgroup : NULL, chain,
				    OOM_CHAIN_MAX, &n)) {
		for (size_t i = 0; i < n; i++)
			chain[i].recent = recent_usage(src, chain[i].path);
		use_counters_at_kill(chain, n, e, page_size);
		have_chain = true;
	}
	kill = oom_kmsg__await(src->kmsg, r->victim.pid, KMSG_WAIT_MS);
	if (kill && oom_report__set_kernel(r, kill, chain, n))
		log_notice("OOM kill of pid %u: the kernel's record contradicts its cgroup %s "
			   "(task_memcg=%s): limit inferred instead", r->victim.pid,
			   r->victim.cgroup, kill->task_memcg);
	if (r->source != OOM_SOURCE_KMSG && have_chain)
		oom_report__set_limit(r, chain, n);
	free(chain);
}

/* Buckets symbolized for the top stacks: a victim may have thousands, and
 * several buckets often name the same stack. */
#define EVIDENCE_NAMED	64

struct pick {
	uint64_t bytes;		/* first: top_make_room sorts on it */
	const struct rec_bucket *b;
};

struct picks {
	struct pick top[EVIDENCE_NAMED];
	size_t n;
	uint64_t total;
};

static void pick_bucket(void *ctx, const struct rec_bucket *b, uint64_t bytes)
{
	struct picks *p = ctx;
	struct pick *slot;

	p->total = sat_add(p->total, bytes);
	slot = top_make_room(p->top, sizeof(p->top[0]), &p->n, EVIDENCE_NAMED, bytes, NULL);
	if (slot)
		*slot = (struct pick){ .bytes = bytes, .b = b };
}

static int read_evidence(const struct oom_sources *src, struct oom_report *r, uint32_t slot)
{
	struct oom_stack *named = NULL;
	struct recording *scratch = NULL;
	struct picks *p = calloc(1, sizeof(*p));
	size_t n_named = 0;
	int err;

	if (!p)
		return -ENOMEM;
	err = recorder__slot_evidence(src->recorder, src->pages, slot, pick_bucket, p);
	if (err < 0)
		goto out;
	err = 0;
	r->evidence_bytes = p->total;
	scratch = recording__new();
	named = calloc(EVIDENCE_NAMED, sizeof(*named));
	if (!scratch || !named) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < p->n; i++) {
		struct rec_stack *st, copy;

		if ((err = src->name_stack(src->name_ctx, scratch, p->top[i].b, &st)) ||
		    (err = stack_copy(st, &copy)))
			break;
		stacks_add(named, &n_named, EVIDENCE_NAMED, &copy, p->top[i].bytes);
	}
	for (size_t i = 0; i < n_named; i++) {
		if (r->n_stacks < OOM_TOP_STACKS)
			r->stacks[r->n_stacks++] = named[i];
		else
			free(named[i].stack.frames);
	}
out:
	recording__free(scratch);
	free(named);
	free(p);
	return err;
}

struct oom_report *oom_report__collect(const struct oom_sources *src,
				       const struct ms_oom_event *e)
{
	struct oom_report *r = oom_report__new();
	uint64_t page_size = src->page_size ? src->page_size : (uint64_t)sysconf(_SC_PAGESIZE);
	struct timespec rt, bt;
	const char *hook;

	if (!r)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	oom_report__set_event(r, e, page_size,
			      oom_report__wall_ns(e->boot_ns,
						  rt.tv_sec * 1000000000LL + rt.tv_nsec,
						  bt.tv_sec * 1000000000LL + bt.tv_nsec));
	hook = src->oom_hook;
	snprintf(r->hook, sizeof(r->hook), "%s", hook ? hook : "");
	r->sample_every = src->sample_every;
	name_task(src, &r->victim, r->rss);
	name_task(src, &r->trigger, NULL);
	/* What V8 had committed, capped by the anonymous memory it lives in. */
	if (src->split) {
		uint64_t v8 = memsplit__v8_bytes(src->split, (int)e->victim_tgid);

		r->v8_heap = v8 < r->rss[MS_RSS_ANON] ? v8 : r->rss[MS_RSS_ANON];
	}
	/* Limits first: the victim's pages leave its cgroup within milliseconds. */
	find_limit(src, r, e, page_size);
	if (r->evidence && src->recorder && src->name_stack &&
	    read_evidence(src, r, e->victim_slot) == -ENOMEM) {
		oom_report__free(r);
		errno = ENOMEM;
		return NULL;
	}
	if (src->tl && r->victim.cgroup[0] &&
	    !timeline__growth(src->tl, r->victim.cgroup, &r->growth)) {
		r->have_growth = true;
		snprintf(r->growth_source, sizeof(r->growth_source), "%s",
			 timeline__source(src->tl));
		/* Judged up to the kill (later points show the victim's pages
		 * freed), the V8 heap at the kill splitting the anon growth. */
		timeline__judge(src->tl, r->victim.cgroup, r->v8_heap ? (double)r->v8_heap : NAN,
				timeline__time_of_boot_ns(e->boot_ns), &r->growth.verdict);
	}
	return r;
}

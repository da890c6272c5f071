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
#include "record_ctx.h"
#include "stack_text.h"
#include "recorder.h"
#include "recording.h"
#include "topview.h"

#define MIB		(1024.0 * 1024.0)
#define TEXT_FRAMES	8	/* user frames a text stack line shows, leaf first */
#define TEXT_FRAME_MAX	64	/* characters of one frame a text stack line shows */
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
		free(r->stacks[i].folded);
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

/* Adds a stack to a list kept largest first, at most cap long, taking
 * folded over: bytes add up when the list has the same stack already (the
 * recorder keeps apart what differs only below the symbol names). */
static void stacks_add(struct oom_stack *arr, size_t *n, size_t cap, char *folded,
		       uint64_t bytes)
{
	struct oom_stack evicted = {}, *slot;

	for (size_t i = 0; i < *n; i++) {
		struct oom_stack same = arr[i];

		if (strcmp(same.folded, folded))
			continue;
		free(folded);
		same.bytes = sat_add(same.bytes, bytes);
		/* Out of the list, then back in where its new size goes. */
		memmove(&arr[i], &arr[i + 1], (*n - i - 1) * sizeof(*arr));
		(*n)--;
		slot = top_make_room(arr, sizeof(*arr), n, cap, same.bytes, NULL);
		*slot = same;
		return;
	}
	slot = top_make_room(arr, sizeof(*arr), n, cap, bytes, &evicted);
	free(slot ? evicted.folded : folded);
	if (slot)
		*slot = (struct oom_stack){ .bytes = bytes, .folded = folded };
}

int oom_report__add_stack(struct oom_report *r, const char *const *frames, size_t n,
			  uint64_t bytes)
{
	char *folded;

	if (!r || (n && !frames))
		return -EINVAL;
	folded = join_frames(frames, n, OOM_STACK_MAX);
	if (!folded)
		return -ENOMEM;
	stacks_add(r->stacks, &r->n_stacks, OOM_TOP_STACKS, folded, bytes);
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

/* ---- output ---------------------------------------------------------------- */

static const char *fmt_bytes(uint64_t b, char *buf, size_t len)
{
	if (b < 1024)
		snprintf(buf, len, "%" PRIu64 " B", b);
	else if (b < 1024 * 1024)
		snprintf(buf, len, "%.1f KiB", b / 1024.0);
	else if (b < 1024ULL * 1024 * 1024)
		snprintf(buf, len, "%.1f MiB", b / MIB);
	else
		snprintf(buf, len, "%.2f GiB", b / (MIB * 1024));
	return buf;
}

static void fmt_time(int64_t ns, bool iso, char *buf, size_t len)
{
	time_t sec = (time_t)(ns / 1000000000);
	long ms = (long)((ns % 1000000000) / 1000000);
	struct tm tm;
	char day[64];

	if (ns < 0 || !gmtime_r(&sec, &tm) ||
	    !strftime(day, sizeof(day), iso ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm)) {
		snprintf(buf, len, "?");
		return;
	}
	snprintf(buf, len, iso ? "%s.%03ldZ" : "%s.%03ld UTC", day, ms);
}

/* The anon the victim held that no known managed heap explains. */
static uint64_t native_bytes(const struct oom_report *r)
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

static void print_task(FILE *f, const char *what, const struct oom_task *t)
{
	fprintf(f, "  %-12s pid %u (%s)", what, t->pid, t->comm[0] ? t->comm : "?");
	if (t->name[0])
		fprintf(f, ", container %s (%s)", t->name, t->container);
	else if (t->container[0] && strcmp(t->container, t->cgroup))
		fprintf(f, ", container %s", t->container);
	if (t->cgroup[0])
		fprintf(f, ", cgroup %s", t->cgroup);
	else if (t->cgid)
		fprintf(f, ", cgroup id %" PRIu64, t->cgid);
}

static const char *constraint_name(enum oom_constraint c)
{
	switch (c) {
	case OOM_MEMCG:
		return "memcg";
	case OOM_CPUSET:
		return "cpuset";
	case OOM_MEMPOLICY:
		return "mempolicy";
	case OOM_GLOBAL:
		break;
	}
	return "global";
}

static const char *source_name(enum oom_source s)
{
	return s == OOM_SOURCE_KMSG ? "kmsg" : "inferred";
}

static const char *limit_kind_name(enum oom_limit_kind k)
{
	return k == OOM_LIMIT_MEMSW ? "memory+swap" : k == OOM_LIMIT_MEMORY ? "memory" : NULL;
}

static void print_limit(const struct oom_report *r, FILE *f)
{
	char a[32], b[32], c[32];

	if (r->constraint == OOM_MEMCG)
		fprintf(f, "  %-12s memory cgroup %s: limit %s%s%s, usage %s", "constraint",
			r->cgroup, fmt_bytes(r->limit, a, sizeof(a)),
			r->limit_kind == OOM_LIMIT_MEMSW ? " of memory+swap" : "",
			r->limit_kind == OOM_LIMIT_MEMORY && r->source == OOM_SOURCE_KMSG ?
				" of memory" : "",
			fmt_bytes(r->usage, b, sizeof(b)));
	else if (r->constraint != OOM_GLOBAL)
		fprintf(f, "  %-12s %s (the allowed NUMA nodes ran out, not a cgroup limit)",
			"constraint", constraint_name(r->constraint));
	else if (r->cgroup[0])
		fprintf(f, "  %-12s global (no memory cgroup limit reached); %s: %s%s, usage %s",
			"constraint", r->cgroup,
			r->limit == CGSTAT_UNLIMITED ? "no limit" : "limit ",
			r->limit == CGSTAT_UNLIMITED ? "" : fmt_bytes(r->limit, a, sizeof(a)),
			fmt_bytes(r->usage, b, sizeof(b)));
	else
		fprintf(f, "  %-12s global (no memory cgroup limit reached)", "constraint");
	if (r->peak)
		fprintf(f, ", peak %s", fmt_bytes(r->peak, c, sizeof(c)));
	if (r->estimated)
		fputs(" (usage read as the victim's pages were freed: limit told by peak + RSS)",
		      f);
	if (r->source == OOM_SOURCE_KMSG)
		fprintf(f, "; the kernel's log (record %llu)\n",
			(unsigned long long)r->kernel.seq);
	else
		fputs("; inferred from usage against limit (no kernel record of this kill)\n", f);
	if (!r->have_charged)
		return;
	fprintf(f, "  %-12s", "charged");
	for (int k = 0; k < TIMELINE_KINDS; k++)
		fprintf(f, "%s %s %s", k ? "," : "", timeline__kind_name(k),
			fmt_bytes(r->charged[k], a, sizeof(a)));
	fputc('\n', f);
}

static void print_growth(const struct oom_report *r, FILE *f)
{
	const struct timeline_growth *g = &r->growth;
	char a[32], b[32];

	if (!r->have_growth) {
		fprintf(f, "  %-12s unknown (no timeline of this container yet)\n", "growth");
		return;
	}
	fprintf(f, "  %-12s %s -> %s in %.0f s", "growth", fmt_bytes(g->start, a, sizeof(a)),
		fmt_bytes(g->end, b, sizeof(b)), g->seconds);
	if (isfinite(g->slope))
		fprintf(f, ", %+.1f MiB/min (%s)", g->slope,
			growth__verdict_name(oom_report__verdict(r)));
	fprintf(f, "; %s of %s, %zu point%s\n", r->growth_source, g->path, g->points,
		g->points == 1 ? "" : "s");
}

/* A frame for a text line: C++ names lose their parameter list, and what is
 * still too long keeps its end, the most specific part. */
static void print_frame(FILE *f, const char *name)
{
	size_t len = strlen(name);
	int depth = 0;

	if (len > 2 && name[len - 1] == ')') {
		for (size_t i = len; i-- > 1;) {
			depth += name[i] == ')' ? 1 : name[i] == '(' ? -1 : 0;
			if (!depth) {
				len = i;
				break;
			}
		}
	}
	if (len > TEXT_FRAME_MAX)
		fprintf(f, "...%.*s", TEXT_FRAME_MAX - 3, name + len - (TEXT_FRAME_MAX - 3));
	else
		fprintf(f, "%.*s", (int)len, name);
}

/* A frame with no name of its own ("[v8 jit]", "[jit]", "[unknown]"). */
static bool unnamed(const char *frame)
{
	size_t len = strlen(frame);

	return len > 2 && frame[0] == '[' && frame[len - 1] == ']';
}

/* How many frames, down from frames[end - 1] to frames[lo], repeat the same
 * unnamed frame (1 for a named one): eight interpreter or JIT frames in a row
 * say no more than one, and would push the named callers off the line. */
static size_t unnamed_run(char *const *frames, size_t lo, size_t end)
{
	size_t run = 1;

	if (!unnamed(frames[end - 1]))
		return 1;
	while (end - run > lo && !strcmp(frames[end - 1 - run], frames[end - 1]))
		run++;
	return run;
}

/* One stack as a line: user frames leaf first, runs of an unnamed frame as
 * one ("[v8 jit] x8"); kernel frames when there are
 * no user frames. The first two frames are the container and the comm. */
static void print_stack(const struct oom_stack *s, FILE *f)
{
	char *frames[MAX_FRAMES];
	char *copy = strdup(s->folded), *save = NULL, a[32];
	size_t n = 0, shown = 0, user = 0, end;

	fprintf(f, "    %10s  ", fmt_bytes(s->bytes, a, sizeof(a)));
	if (!copy) {
		fprintf(f, "%s\n", s->folded);
		return;
	}
	for (char *tok = strtok_r(copy, ";", &save); tok && n < MAX_FRAMES;
	     tok = strtok_r(NULL, ";", &save))
		frames[n++] = tok;
	for (size_t i = 2; i < n; i++) {
		size_t l = strlen(frames[i]);

		if (l < 4 || strcmp(frames[i] + l - 4, "_[k]"))
			user = i + 1;
	}
	/* user frames are [2, user); without any, the kernel's [2, n) */
	end = user > 2 ? user : n;
	size_t i = end;

	while (i > 2 && shown < TEXT_FRAMES) {
		size_t run = unnamed_run(frames, 2, i);

		if (shown++)
			fputs(" < ", f);
		print_frame(f, frames[i - 1]);
		if (run > 1)
			fprintf(f, " x%zu", run);
		i -= run;
	}
	if (i > 2)
		fputs(" < ...", f);
	if (!shown)
		fputs("(no frames)", f);
	fputc('\n', f);
	free(copy);
}

static void print_text(const struct oom_report *r, FILE *f);

static void clean_name(char *s, size_t cap)
{
	char *tmp = malloc(cap);

	if (!tmp) {
		s[0] = '\0';
		return;
	}
	safe_text__copy(tmp, cap, s, (size_t)-1);
	memcpy(s, tmp, cap);
	free(tmp);
}

/* Cgroup and container names are printed in many places: the printer gets a
 * copy with them made safe (no newline, ESC or C1), and what it writes goes
 * through the sanitiser once more, its own newlines kept. */
void oom_report__print_text(const struct oom_report *r, FILE *f)
{
	struct oom_report *c = malloc(sizeof(*c));
	char *buf = NULL;
	size_t len = 0;
	FILE *m = c ? open_memstream(&buf, &len) : NULL;

	if (!m) {
		free(c);
		return;
	}
	*c = *r;	/* shallow: the printer only reads */
	clean_name(c->cgroup, sizeof(c->cgroup));
	clean_name(c->victim.cgroup, sizeof(c->victim.cgroup));
	clean_name(c->victim.container, sizeof(c->victim.container));
	clean_name(c->trigger.cgroup, sizeof(c->trigger.cgroup));
	clean_name(c->trigger.container, sizeof(c->trigger.container));
	print_text(c, m);
	if (!fclose(m))
		safe_text__fput_lines(buf, f);
	free(buf);
	free(c);
}

static void print_text(const struct oom_report *r, FILE *f)
{
	char when[64], a[32], b[32], c[32], d[32];

	fmt_time(r->time_ns, false, when, sizeof(when));
	fprintf(f, "OOM kill at %s: pid %u (%s) in %s\n", when, r->victim.pid,
		r->victim.comm[0] ? r->victim.comm : "?",
		r->victim.name[0] ? r->victim.name :
		r->victim.container[0] ? r->victim.container : "an unknown cgroup");
	print_task(f, "victim", &r->victim);
	fprintf(f, ", oom_score_adj %d\n", r->oom_score_adj);
	print_task(f, "trigger", &r->trigger);
	fputc('\n', f);
	print_limit(r, f);
	fprintf(f, "  %-12s anon %s, file %s, shmem %s, swap %s\n", "victim rss",
		fmt_bytes(r->rss[MS_RSS_ANON], a, sizeof(a)),
		fmt_bytes(r->rss[MS_RSS_FILE], b, sizeof(b)),
		fmt_bytes(r->rss[MS_RSS_SHMEM], c, sizeof(c)),
		fmt_bytes(r->rss[MS_RSS_SWAP], d, sizeof(d)));
	fprintf(f, "  %-12s", "classes");
	if (r->v8_heap)
		fprintf(f, " v8-heap %s,", fmt_bytes(r->v8_heap, a, sizeof(a)));
	fprintf(f, " native %s, file %s, shmem %s\n", fmt_bytes(native_bytes(r), b, sizeof(b)),
		fmt_bytes(r->rss[MS_RSS_FILE], c, sizeof(c)),
		fmt_bytes(r->rss[MS_RSS_SHMEM], d, sizeof(d)));
	print_growth(r, f);
	if (!r->evidence) {
		if (!strcmp(r->hook, "tracepoint"))
			fprintf(f, "  %-12s none: before Linux 6.8 oom:mark_victim names no task "
				"whose pages could be kept\n", "stacks");
		else
			fprintf(f, "  %-12s none: memscope had not seen pid %u allocate\n",
				"stacks", r->victim.pid);
		return;
	}
	fprintf(f, "  %-12s what it held at the kill (one page in %u sampled; %s in all):\n",
		"stacks", r->sample_every, fmt_bytes(r->evidence_bytes, a, sizeof(a)));
	for (size_t i = 0; i < r->n_stacks; i++)
		print_stack(&r->stacks[i], f);
	if (!r->n_stacks)
		fputs("    (none of its sampled pages were still held)\n", f);
}

/* Leaves the object open: the caller may add to it, then closes it. */
static void json_task(struct json *j, const char *key, const struct oom_task *t)
{
	json_obj(j, key);
	json_u64(j, "pid", t->pid);
	json_str(j, "comm", t->comm[0] ? t->comm : NULL);
	json_str(j, "container", t->container[0] ? t->container : NULL);
	json_str(j, "container_name", t->name[0] ? t->name : NULL);
	json_str(j, "cgroup", t->cgroup[0] ? t->cgroup : NULL);
	if (t->cgid)
		json_u64(j, "cgroup_id", t->cgid);
	else
		json_null(j, "cgroup_id");
}

static void json_bytes_or_null(struct json *j, const char *key, uint64_t v, bool known)
{
	if (known)
		json_u64(j, key, v);
	else
		json_null(j, key);
}

static void json_growth(struct json *j, const struct oom_report *r)
{
	const struct timeline_growth *g = &r->growth;

	if (!r->have_growth) {
		json_null(j, "growth");
		return;
	}
	json_obj(j, "growth");
	json_str(j, "source", r->growth_source);
	json_str(j, "cgroup", g->path);
	json_u64(j, "points", g->points);
	json_double(j, "seconds", g->seconds);
	json_u64(j, "start_bytes", g->start);
	json_u64(j, "end_bytes", g->end);
	json_double(j, "slope_mib_per_min", g->slope);
	json_str(j, "verdict", isfinite(g->slope) ? growth__verdict_name(oom_report__verdict(r)) : NULL);
	json_obj(j, "slope_by_kind");
	for (int k = 0; k < TIMELINE_KINDS; k++)
		json_double(j, timeline__kind_name(k), g->kind_slope[k]);
	json_end(j);
	json_end(j);
}

/* The kernel's summary as it logged it, so a reader can hold the report
 * against dmesg. */
static void json_kernel(struct json *j, const struct oom_report *r)
{
	const struct oom_kmsg_kill *k = &r->kernel;

	if (!r->have_kernel) {
		json_null(j, "kernel");
		return;
	}
	json_obj(j, "kernel");
	json_u64(j, "seq", k->seq);
	json_str(j, "constraint", oom_kmsg__constraint_name(k->constraint));
	json_str(j, "oom_memcg", k->oom_memcg[0] ? k->oom_memcg : NULL);
	json_str(j, "task_memcg", k->task_memcg[0] ? k->task_memcg : NULL);
	json_str(j, "task", k->task);
	json_u64(j, "pid", k->pid);
	if (k->memory.have) {
		json_u64(j, "memory_usage_bytes", k->memory.usage);
		json_u64(j, "memory_limit_bytes", k->memory.limit);
	}
	if (k->memsw.have) {
		json_u64(j, "memsw_usage_bytes", k->memsw.usage);
		json_u64(j, "memsw_limit_bytes", k->memsw.limit);
	}
	json_end(j);
}

void oom_report__json(struct json *j, const char *key, const struct oom_report *r)
{
	char when[64];

	fmt_time(r->time_ns, true, when, sizeof(when));
	json_obj(j, key);
	json_str(j, "time", when);
	json_i64(j, "time_ns", r->time_ns);
	json_str(j, "hook", r->hook[0] ? r->hook : NULL);
	json_task(j, "victim", &r->victim);
	json_i64(j, "oom_score_adj", r->oom_score_adj);
	json_end(j);
	json_task(j, "trigger", &r->trigger);
	json_end(j);

	json_str(j, "constraint", constraint_name(r->constraint));
	json_str(j, "constraint_source", source_name(r->source));
	json_bool(j, "constraint_estimated", r->estimated);
	json_obj(j, "cgroup");
	json_str(j, "path", r->cgroup[0] ? r->cgroup : NULL);
	json_bytes_or_null(j, "limit_bytes", r->limit, r->limit != CGSTAT_UNLIMITED);
	json_str(j, "limit_kind", limit_kind_name(r->limit_kind));
	json_bytes_or_null(j, "usage_bytes", r->usage, r->cgroup[0]);
	json_bytes_or_null(j, "peak_bytes", r->peak, r->peak);
	if (r->have_charged) {
		json_obj(j, "charged_bytes");
		for (int k = 0; k < TIMELINE_KINDS; k++)
			json_u64(j, timeline__kind_name(k), r->charged[k]);
		json_end(j);
	}
	json_end(j);

	json_kernel(j, r);

	json_obj(j, "rss");
	json_u64(j, "anon_bytes", r->rss[MS_RSS_ANON]);
	json_u64(j, "file_bytes", r->rss[MS_RSS_FILE]);
	json_u64(j, "shmem_bytes", r->rss[MS_RSS_SHMEM]);
	json_u64(j, "swap_bytes", r->rss[MS_RSS_SWAP]);
	json_end(j);
	json_obj(j, "classes");
	if (r->v8_heap)
		json_u64(j, "v8_heap_bytes", r->v8_heap);
	json_u64(j, "native_bytes", native_bytes(r));
	json_u64(j, "file_bytes", r->rss[MS_RSS_FILE]);
	json_u64(j, "shmem_bytes", r->rss[MS_RSS_SHMEM]);
	json_end(j);

	json_obj(j, "evidence");
	json_bool(j, "seen", r->evidence);
	json_u64(j, "sample_every", r->sample_every);
	json_u64(j, "bytes", r->evidence_bytes);
	json_arr(j, "stacks");
	for (size_t i = 0; i < r->n_stacks; i++) {
		json_obj(j, NULL);
		json_u64(j, "bytes", r->stacks[i].bytes);
		json_str(j, "stack", r->stacks[i].folded);
		json_end(j);
	}
	json_end(j);
	json_end(j);
	json_growth(j, r);
	json_end(j);
}

void oom_report__print_json(const struct oom_report *r, FILE *f)
{
	struct json j;

	json_init(&j, f, false);
	oom_report__json(&j, NULL, r);
}

int oom_report__write(const struct oom_report *r, bool json, int fd)
{
	char *buf = NULL;
	size_t len = 0, done = 0;
	FILE *f = open_memstream(&buf, &len);
	int err = 0;

	if (!f)
		return -errno;
	if (json)
		oom_report__print_json(r, f);
	else
		oom_report__print_text(r, f);
	if (fclose(f)) {
		free(buf);
		return -ENOMEM;
	}
	while (done < len) {
		ssize_t w = write(fd, buf + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err = w < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)w;
	}
	free(buf);
	return err;
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
	struct cgroups *cg = src->rc ? src->rc->cgroups : NULL;
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
	const struct record_ctx *rc = src->rc;
	struct oom_stack *named = NULL;
	struct recording *scratch = NULL;
	struct stack_text text = { 0 };
	struct picks *p = calloc(1, sizeof(*p));
	size_t n_named = 0;
	int err;

	if (!p)
		return -ENOMEM;
	err = recorder__slot_evidence(rc->recorder, src->pages, slot, pick_bucket, p);
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
		struct rec_stack *st;
		char *folded;

		if ((err = src->name_stack(rc, scratch, p->top[i].b, &st)) ||
		    (err = stack_text__stack(st, &text)))
			break;
		folded = join_frames(text.frames, text.n, OOM_STACK_MAX);
		if (!folded) {
			err = -ENOMEM;
			break;
		}
		stacks_add(named, &n_named, EVIDENCE_NAMED, folded, p->top[i].bytes);
	}
	for (size_t i = 0; i < n_named; i++) {
		if (r->n_stacks < OOM_TOP_STACKS)
			r->stacks[r->n_stacks++] = named[i];
		else
			free(named[i].folded);
	}
out:
	stack_text__free(&text);
	recording__free(scratch);
	free(named);
	free(p);
	return err;
}

struct oom_report *oom_report__collect(const struct oom_sources *src,
				       const struct ms_oom_event *e)
{
	const struct record_ctx *rc = src->rc;
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
	r->sample_every = rc ? rc->sample_every : 0;
	name_task(src, &r->victim, r->rss);
	name_task(src, &r->trigger, NULL);
	/* What V8 had committed, capped by the anonymous memory it lives in. */
	if (rc && rc->split) {
		uint64_t v8 = memsplit__v8_bytes(rc->split, (int)e->victim_tgid);

		r->v8_heap = v8 < r->rss[MS_RSS_ANON] ? v8 : r->rss[MS_RSS_ANON];
	}
	/* Limits first: the victim's pages leave its cgroup within milliseconds. */
	find_limit(src, r, e, page_size);
	if (r->evidence && rc && rc->recorder && src->name_stack &&
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

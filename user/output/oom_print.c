#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "container.h"
#include "growth.h"
#include "json.h"
#include "log.h"
#include "oom_print.h"
#include "oom_report.h"
#include "recording.h"
#include "safe_text.h"
#include "stack_text.h"
#include "units.h"

#define TEXT_FRAMES	8	/* user frames a text stack line shows, leaf first */
#define TEXT_FRAME_MAX	64	/* characters of one frame a text stack line shows */

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
 * still too long keeps its end, the most specific part. name is len bytes. */
static void print_frame(FILE *f, const char *name, size_t len)
{
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

/* A frame as the line shows it: its text with its mark (stack_text.h), cut
 * where the folded line cuts it, and whose it is by its kind. */
struct shown_frame {
	const char *text;
	size_t len;
	bool kernel;
};

/* A frame with no name of its own ("[v8 jit]", "[jit]", "[unknown]"). */
static bool unnamed(const struct shown_frame *fr)
{
	return fr->len > 2 && fr->text[0] == '[' && fr->text[fr->len - 1] == ']';
}

static bool same_text(const struct shown_frame *a, const struct shown_frame *b)
{
	return a->len == b->len && !memcmp(a->text, b->text, a->len);
}

/* How many frames, down from frames[end - 1] to frames[lo], repeat the same
 * unnamed frame (1 for a named one): eight interpreter or JIT frames in a row
 * say no more than one, and would push the named callers off the line. */
static size_t unnamed_run(const struct shown_frame *frames, size_t lo, size_t end)
{
	size_t run = 1;

	if (!unnamed(&frames[end - 1]))
		return 1;
	while (end - run > lo && same_text(&frames[end - 1 - run], &frames[end - 1]))
		run++;
	return run;
}

/* One stack as a line: user frames leaf first, runs of an unnamed frame as
 * one ("[v8 jit] x8"); kernel frames when there are no user frames. The
 * first two text frames are the container and the comm, then the class
 * (which counts as the user's), then the stack's frames. */
static void print_stack(const struct oom_stack *s, FILE *f)
{
	struct shown_frame frames[MAX_FRAMES];
	struct stack_text t = { 0 };
	size_t n = 0, shown = 0, user = 0, end, first;
	char a[32];

	fprintf(f, "    %10s  ", fmt_bytes(s->bytes, a, sizeof(a)));
	if (stack_text__stack(&s->stack, &t)) {
		fputs("(no frames)\n", f);
		stack_text__free(&t);
		return;
	}
	/* t.frames[first + i] is s->stack.frames[i] */
	first = t.n - s->stack.nframes;
	for (size_t i = 0; i < t.n && n < MAX_FRAMES; i++) {
		size_t len = strnlen(t.frames[i], FRAME_LEN - 1);

		/* An empty frame (a nameless one) never showed on the line. */
		if (!len)
			continue;
		frames[n++] = (struct shown_frame){
			.text = t.frames[i], .len = len,
			.kernel = i >= first && s->stack.frames[i - first].kind == FRAME_KERNEL,
		};
	}
	for (size_t i = 2; i < n; i++)
		if (!frames[i].kernel)
			user = i + 1;
	/* user frames are [2, user); without any, the kernel's [2, n) */
	end = user > 2 ? user : n;
	size_t i = end;

	while (i > 2 && shown < TEXT_FRAMES) {
		size_t run = unnamed_run(frames, 2, i);

		if (shown++)
			fputs(" < ", f);
		print_frame(f, frames[i - 1].text, frames[i - 1].len);
		if (run > 1)
			fprintf(f, " x%zu", run);
		i -= run;
	}
	if (i > 2)
		fputs(" < ...", f);
	if (!shown)
		fputs("(no frames)", f);
	fputc('\n', f);
	stack_text__free(&t);
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
void oom_print__text(const struct oom_report *r, FILE *f)
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
	fprintf(f, " native %s, file %s, shmem %s\n", fmt_bytes(oom_report__native_bytes(r), b, sizeof(b)),
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

void oom_print__json(struct json *j, const char *key, const struct oom_report *r)
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
	json_u64(j, "native_bytes", oom_report__native_bytes(r));
	json_u64(j, "file_bytes", r->rss[MS_RSS_FILE]);
	json_u64(j, "shmem_bytes", r->rss[MS_RSS_SHMEM]);
	json_end(j);

	json_obj(j, "evidence");
	json_bool(j, "seen", r->evidence);
	json_u64(j, "sample_every", r->sample_every);
	json_u64(j, "bytes", r->evidence_bytes);
	json_arr(j, "stacks");
	for (size_t i = 0; i < r->n_stacks; i++) {
		char *folded = oom_report__folded(&r->stacks[i]);

		json_obj(j, NULL);
		json_u64(j, "bytes", r->stacks[i].bytes);
		/* Out of memory: the stack's size without its frames beats no report. */
		json_str(j, "stack", folded ? folded : "");
		free(folded);
		json_end(j);
	}
	json_end(j);
	json_end(j);
	json_growth(j, r);
	json_end(j);
}

void oom_print__json_line(const struct oom_report *r, FILE *f)
{
	struct json j;

	json_init(&j, f, false);
	oom_print__json(&j, NULL, r);
}

int oom_print__write(const struct oom_report *r, bool json, int fd)
{
	char *buf = NULL;
	size_t len = 0, done = 0;
	FILE *f = open_memstream(&buf, &len);
	int err = 0;

	if (!f)
		return -errno;
	if (json)
		oom_print__json_line(r, f);
	else
		oom_print__text(r, f);
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

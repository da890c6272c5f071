#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "feature_state.h"
#include "hmap.h"
#include "log.h"
#include "memsplit.h"
#include "memsplit_int.h"
#include "stack_text.h"
#include "recorder.h"
#include "recording.h"
#include "units.h"
#include "v8.h"

#define STACK_FRAMES	5	/* leafmost user frames shown per native stack */
#define FRAME_SHOWN	64

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
	memsplit_procs__discover(s, false);
	memsplit_procs__read_all(s, now);
	return s;
}

void memsplit__tick(struct memsplit *s, double now)
{
	if (s->v8)
		v8__poll(s->v8);
	if (now - s->last_discover >= MEMSPLIT_DISCOVER_S) {
		memsplit_procs__discover(s, true);
		s->last_discover = now;
	}
	if (now - s->last_tick >= MEMSPLIT_TICK_S) {
		memsplit_procs__read_all(s, now);
		s->last_tick = now;
	}
}

void memsplit__finish(struct memsplit *s, double now)
{
	if (s->v8)
		v8__poll(s->v8);
	memsplit_procs__discover(s, true);
	for (size_t i = 0; i < s->nprocs; i++)
		s->procs[i].s.last_t = -INFINITY;	/* this reading always counts */
	for (size_t i = 0; i < s->nconts; i++)
		s->conts[i].s.last_t = -INFINITY;
	memsplit_procs__read_all(s, now);
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
	memsplit_series__judge(se, &r->j);
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

		stack_text__frame(&st->frames[i], name, sizeof(name));
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
		memsplit_series__free(&s->procs[i].s);
	for (size_t i = 0; i < s->nconts; i++)
		memsplit_series__free(&s->conts[i].s);
	free(s->procs);
	free(s->free_idx);
	free(s->conts);
	free(s->rows);
	hmap__free(s->pid_idx);
	v8__free(s->v8);
	free(s);
}

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cgroups.h"
#include "container.h"
#include "folded.h"
#include "hmap.h"
#include "ksyms.h"
#include "record_output.h"
#include "recorder.h"
#include "tracer.h"
#include "usyms.h"

#define FRAME_LEN	256
#define MAX_KFRAMES	127
#define MAX_FRAMES	(2 + MS_MAX_USTACK + 1 + MAX_KFRAMES)

void record_output__label(struct cgroups *cg, uint64_t cgid, char *buf, size_t len)
{
	const char *path = cg ? cgroups__path(cg, cgid) : NULL;

	if (!path || container__label(path, buf, len))
		snprintf(buf, len, "[cgroup %" PRIu64 "]", cgid);
}

/* The stack BPF records starts inside the tracing machinery that ran it
 * (the program, bpf_trace_run*, the tracepoint's iterator). */
static bool tracing_frame(const char *name)
{
	static const char *const prefixes[] = {
		"bpf_trace_run", "__bpf_trace_", "__traceiter_", "trace_call_bpf", "perf_trace_",
		"bpf_prog_",
	};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

static const char *ksym_name(const struct record_ctx *c, uint64_t ip)
{
	const struct ksym *s = c->ksyms ? ksyms__lookup(c->ksyms, ip, NULL) : NULL;

	return s ? s->name : NULL;
}

/* Kernel frames root->leaf into names[], each ending in _[k]. */
static size_t kernel_frames(const struct record_ctx *c, int32_t id, char (*names)[FRAME_LEN])
{
	uint64_t ips[MAX_KFRAMES];
	size_t n, out = 0, top = 0;

	if (tracer__kstack(c->tracer, id, ips, MAX_KFRAMES, &n))
		return 0;
	/* ips[0] is the innermost frame: drop everything up to the last frame
	 * of the tracing machinery, which sits within the first few. */
	for (size_t i = 0; i < n && i < 8; i++) {
		const char *name = ksym_name(c, ips[i]);

		if (name && tracing_frame(name))
			top = i + 1;
	}
	for (size_t i = n; i-- > top;) {
		const char *name = ksym_name(c, ips[i]);

		if (name)
			snprintf(names[out++], FRAME_LEN, "%s_[k]", name);
		else
			snprintf(names[out++], FRAME_LEN, "0x%" PRIx64 "_[k]", ips[i]);
	}
	return out;
}

static uint64_t bucket_value(const struct record_ctx *c, const struct rec_bucket *b)
{
	return c->outstanding ? b->outstanding_bytes : b->alloc_bytes;
}

int record_output__folded(const struct record_ctx *c, struct folded *out)
{
	static char names[MAX_FRAMES][FRAME_LEN];
	const char *frames[MAX_FRAMES];
	size_t nb = recorder__nbuckets(c->recorder);

	for (size_t i = 0; i < nb; i++) {
		const struct rec_bucket *b = recorder__bucket(c->recorder, i);
		uint64_t value = bucket_value(c, b);
		size_t n = 0;
		int err;

		if (!value)
			continue;
		record_output__label(c->cgroups, b->cgid, names[n++], FRAME_LEN);
		snprintf(names[n++], FRAME_LEN, "%.*s", MS_COMM_LEN, b->comm);
		for (size_t f = b->nframes; f-- > 0;)
			usyms__frame_name(c->usyms, b->frames[f], f > 0, names[n++], FRAME_LEN);
		n += kernel_frames(c, b->kstack_id, &names[n]);
		for (size_t f = 0; f < n; f++)
			frames[f] = names[f];
		if ((err = folded__add(out, frames, n, value)))
			return err;
	}
	return 0;
}

/* Exact totals, from the kernel's per-process counters. */
struct total {
	uint64_t alloc, freed;
	uint32_t procs;
};

struct proc_row {
	struct ms_proc_key key;
	struct ms_proc_info info;
	struct ms_proc_stats st;
};

struct collect {
	const struct record_ctx *c;
	struct proc_row *rows;
	size_t n, cap;
};

static void collect_proc(void *ctx, const struct ms_proc_key *key, const struct ms_proc_info *info)
{
	struct collect *col = ctx;
	struct proc_row *row;

	if (col->n == col->cap) {
		size_t cap = col->cap ? col->cap * 2 : 256;
		void *p = realloc(col->rows, cap * sizeof(*col->rows));

		if (!p)
			return;
		col->rows = p;
		col->cap = cap;
	}
	row = &col->rows[col->n];
	row->key = *key;
	row->info = *info;
	if (tracer__proc_stats(col->c->tracer, info->slot, &row->st) == 0)
		col->n++;
}

static int64_t outstanding(const struct ms_proc_stats *st)
{
	return (int64_t)(st->alloc_bytes - st->free_bytes);
}

static int by_outstanding(const void *a, const void *b)
{
	int64_t x = outstanding(&((const struct proc_row *)a)->st);
	int64_t y = outstanding(&((const struct proc_row *)b)->st);

	return x < y ? 1 : x > y ? -1 : 0;
}

static void mib(char *buf, size_t len, int64_t bytes)
{
	snprintf(buf, len, "%.1f", bytes / 1048576.0);
}

static void print_containers(const struct record_ctx *c, const struct collect *col, FILE *out)
{
	struct hmap *by_label = hmap__new(sizeof(struct total));
	char label[FRAME_LEN], a[32], f[32], o[32];
	const void *key;
	size_t it = 0, klen;
	void *val;

	if (!by_label)
		return;
	for (size_t i = 0; i < col->n; i++) {
		struct total *t;

		record_output__label(c->cgroups, col->rows[i].key.cgid, label, sizeof(label));
		t = hmap__upsert(by_label, label, strlen(label), NULL);
		if (!t)
			continue;
		t->alloc += col->rows[i].st.alloc_bytes;
		t->freed += col->rows[i].st.free_bytes;
		t->procs++;
	}
	fprintf(out, "%-40s %6s %12s %12s %14s\n", "CONTAINER", "PROCS", "ALLOC_MIB", "FREED_MIB",
		c->outstanding ? "RESIDENT_MIB" : "");
	while (hmap__next(by_label, &it, &key, &klen, &val)) {
		struct total *t = val;

		mib(a, sizeof(a), t->alloc);
		mib(f, sizeof(f), t->freed);
		mib(o, sizeof(o), (int64_t)(t->alloc - t->freed));
		fprintf(out, "%-40.*s %6u %12s %12s %14s\n", (int)klen, (const char *)key, t->procs, a,
			c->outstanding ? f : "-", c->outstanding ? o : "");
	}
	hmap__free(by_label);
}

static void print_processes(const struct record_ctx *c, const struct collect *col, FILE *out)
{
	char label[FRAME_LEN], a[32], o[32];
	size_t shown = col->n < 20 ? col->n : 20;

	fprintf(out, "%-8s %-16s %-24s %12s %14s\n", "PID", "COMM", "CONTAINER", "ALLOC_MIB",
		c->outstanding ? "RESIDENT_MIB" : "");
	for (size_t i = 0; i < shown; i++) {
		const struct proc_row *r = &col->rows[i];

		record_output__label(c->cgroups, r->key.cgid, label, sizeof(label));
		mib(a, sizeof(a), r->st.alloc_bytes);
		mib(o, sizeof(o), outstanding(&r->st));
		fprintf(out, "%-8u %-16.*s %-24.24s %12s %14s\n", r->key.tgid, MS_COMM_LEN,
			r->info.comm, label, a, c->outstanding ? o : "");
	}
	if (col->n > shown)
		fprintf(out, "(%zu more processes)\n", col->n - shown);
}

static void print_losses(const struct record_ctx *c, FILE *out)
{
	static const char *const names[MS_NR_DROPS] = {
		[MS_DROP_PROCS_FULL] = "process table full (counted in [overflow])",
		[MS_DROP_PFN_RANGE] = "pfn out of range (hot-added memory)",
		[MS_DROP_RINGBUF] = "samples lost, ring buffer full (raise --ringbuf)",
		[MS_DROP_USTACK] = "user stacks not walkable",
		[MS_DROP_KSTACK] = "kernel stacks not stored (raise --kstacks)",
		[MS_DROP_SNAP] = "user stack bytes unreadable",
	};
	struct recorder_stats rs;
	struct tracer_drops d;
	struct ms_proc_stats ov;

	tracer__drops(c->tracer, &d);
	recorder__stats(c->recorder, &rs);
	fprintf(out, "losses:");
	for (int i = 0; i < MS_NR_DROPS; i++)
		fprintf(out, "%s %s=%" PRIu64, i ? "," : "", names[i], d.kernel[i]);
	fprintf(out, ", program runs missed by the kernel (recursion)=%" PRIu64
		", leaf unwinds failed=%" PRIu64 ", frames unresolved=%" PRIu64
		", samples dropped (no memory)=%" PRIu64 "\n",
		d.recursion_misses, rs.leaf_unwind_failed, rs.frames_unresolved,
		rs.samples_dropped_nomem);
	if (tracer__proc_stats(c->tracer, MS_SLOT_OVERFLOW, &ov) == 0 && ov.alloc_bytes)
		fprintf(out, "[overflow] processes past --max-procs: %.1f MiB allocated\n",
			ov.alloc_bytes / 1048576.0);
	fprintf(out, "samples: %" PRIu64 " (leaf callers recovered from CFI: %" PRIu64 ")\n",
		rs.samples, rs.leaf_callers_recovered);
}

void record_output__summary(const struct record_ctx *c, FILE *out)
{
	struct collect col = { .c = c };

	tracer__for_each_proc(c->tracer, collect_proc, &col);
	qsort(col.rows, col.n, sizeof(*col.rows), by_outstanding);
	fprintf(out, "memscope: %.1f s, %s, exact totals per container:\n", c->seconds,
		c->outstanding ? "pages allocated in the window and still resident"
			       : "pages allocated in the window");
	print_containers(c, &col, out);
	print_processes(c, &col, out);
	print_losses(c, out);
	free(col.rows);
}

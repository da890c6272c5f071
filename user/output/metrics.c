#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "feature_state.h"
#include "hmap.h"
#include "metrics.h"
#include "promtext.h"

#define MIB_PER_MIN	(1024.0 * 1024.0 / 60.0)	/* bytes per second in one MiB/min */

const char *metrics__loss_name(int drop)
{
	return drops__key(drop);
}

/* ---- kills seen by the tracer ----------------------------------------------- */

/* "cgroup\0container\0", the key of a kill row (both labels readable as
 * strings from the map's copy), into buf; its length, 0 if too long. */
static size_t kill_key(const char *cgroup, const char *container, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s%c%s", cgroup, '\0', container);

	return n < 0 || (size_t)n >= len ? 0 : (size_t)n + 1;
}

static const char *key_container(const char *key)
{
	return key + strlen(key) + 1;
}

/* Adds one to the row of key, made when there are fewer than limit rows. */
static int count_in(struct hmap *m, const char *key, size_t len, size_t limit)
{
	uint64_t *n = hmap__find(m, key, len);

	if (!n && hmap__count(m) >= limit)
		return -ENOSPC;
	if (!n && !(n = hmap__upsert(m, key, len, NULL)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

int metrics__count_kill(struct metrics_tracer *t, const char *cgroup_path, uint64_t cgid)
{
	char row[PATH_MAX], label[PATH_MAX], key[2 * PATH_MAX + 1];
	size_t len;
	int err;

	if (!t->kills && !(t->kills = hmap__new(sizeof(uint64_t))))
		return -ENOMEM;
	/* Same labels as the container's other series, so queries can join them. */
	if (!cgroup_path || topview__row_path(cgroup_path, row, sizeof(row)) ||
	    container__label(row, label, sizeof(label))) {
		row[0] = '\0';
		snprintf(label, sizeof(label), "[cgroup %" PRIu64 "]", cgid);
	}
	len = kill_key(row, label, key, sizeof(key));
	/* The last row is kept for the catch-all. */
	err = len ? count_in(t->kills, key, len, METRICS_KILL_ROWS_MAX - 1) : -ENOSPC;
	if (err == -ENOSPC) {
		len = kill_key(METRICS_OTHER_CGROUP, METRICS_OTHER_CGROUP, key, sizeof(key));
		err = count_in(t->kills, key, len, METRICS_KILL_ROWS_MAX);
	}
	return err;
}

void metrics__tracer_free(struct metrics_tracer *t)
{
	hmap__free(t->kills);
	t->kills = NULL;
}

/* ---- the page ------------------------------------------------------------- */

/* Labels of a container's series, with room for one or two more after them. */
struct ctr_labels {
	struct prom_label l[6];
	size_t n;
};

/* The container label stays the short id (or the cgroup path) when the
 * engine names the container: series keep their identity across a rename,
 * and join the kill counts, which are keyed by id at the kill. */
static const char *stable_label(const struct top_row *r)
{
	return r->name[0] && r->short_id[0] ? r->short_id : r->label;
}

static void ctr_labels(const struct top_row *r, struct ctr_labels *cl)
{
	cl->l[0] = (struct prom_label){ "container", stable_label(r) };
	cl->l[1] = (struct prom_label){ "cgroup", r->path };
	cl->n = 2;
	if (r->name[0])
		cl->l[cl->n++] = (struct prom_label){ "container_name", r->name };
}

static void sample_with(struct promtext *p, const struct ctr_labels *cl, const char *name,
			const char *value, double v)
{
	struct ctr_labels x = *cl;

	x.l[x.n++] = (struct prom_label){ name, value };
	promtext__sample(p, x.l, x.n, v);
}

static bool sampled(const struct metrics_ctr *c)
{
	return c->row && c->row->raw.have;
}

static void resident(struct promtext *p, const struct metrics_page *m)
{
	promtext__family(p, "memscope_container_resident_bytes", PROMTEXT_GAUGE,
			 "Memory charged to the container's cgroup, less the containers nested in "
			 "it, by class: native (anonymous memory outside a V8 heap), v8_heap (when "
			 "memscope knows it), file (page cache), shmem, kernel (slab, stacks, page "
			 "tables, socket buffers).");
	for (size_t i = 0; i < m->n_ctrs; i++) {
		const struct top_row *r = m->ctrs[i].row;
		double native = (double)r->own.anon;
		struct ctr_labels cl;

		if (!sampled(&m->ctrs[i]))
			continue;
		ctr_labels(r, &cl);
		if (isfinite(r->v8) && r->v8 >= 0) {
			native = native > r->v8 ? native - r->v8 : 0;
			sample_with(p, &cl, "class", "v8_heap", r->v8);
		}
		sample_with(p, &cl, "class", "native", native);
		sample_with(p, &cl, "class", "file", (double)r->own.file);
		sample_with(p, &cl, "class", "shmem", (double)r->own.shmem);
		sample_with(p, &cl, "class", "kernel", (double)r->own.kernel + (double)r->own.sock);
	}
}

static void charged(struct promtext *p, const struct metrics_page *m)
{
	static const struct {
		unsigned bit;
		const char *kind;
		size_t off;
	} kinds[] = {
		{ CGSTAT_ANON, "anon", offsetof(struct cgstat, anon) },
		{ CGSTAT_FILE, "file", offsetof(struct cgstat, file) },
		{ CGSTAT_SHMEM, "shmem", offsetof(struct cgstat, shmem) },
		{ CGSTAT_KERNEL, "kernel", offsetof(struct cgstat, kernel) },
		{ CGSTAT_SOCK, "sock", offsetof(struct cgstat, sock) },
		{ CGSTAT_MAPPED, "file_mapped", offsetof(struct cgstat, mapped) },
		{ CGSTAT_SWAP, "swap", offsetof(struct cgstat, swap) },
	};

	promtext__family(p, "memscope_container_charged_bytes", PROMTEXT_GAUGE,
			 "What the cgroup's memory.stat charges it and the cgroups below it, by "
			 "kind (file excludes shmem; file_mapped is part of file and shmem; swap "
			 "is not resident).");
	for (size_t i = 0; i < m->n_ctrs; i++) {
		const struct cgstat *st = &m->ctrs[i].charged;
		struct ctr_labels cl;

		if (!sampled(&m->ctrs[i]))
			continue;
		ctr_labels(m->ctrs[i].row, &cl);
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			if (st->have & kinds[k].bit)
				sample_with(p, &cl, "kind", kinds[k].kind,
					    (double)*(const uint64_t *)((const char *)st +
									kinds[k].off));
	}
}

enum ctr_figure { FIG_USAGE, FIG_LIMIT, FIG_GROWTH, FIG_MONOTONIC, FIG_OOM, FIG_PROCS };

/* A figure of the row, false when it has none to show. */
static bool figure(const struct top_row *r, enum ctr_figure f, double *v)
{
	switch (f) {
	case FIG_USAGE:
		*v = (double)r->raw.usage;
		return r->raw.have & CGSTAT_USAGE;
	case FIG_LIMIT:
		*v = (double)r->limit;
		return r->limit != CGSTAT_UNLIMITED;
	case FIG_GROWTH:
		*v = r->slope * MIB_PER_MIN;
		return isfinite(r->slope);
	case FIG_MONOTONIC:
		*v = r->monotonic;
		return isfinite(r->slope);
	case FIG_OOM:
		*v = (double)r->oom_kills;
		return true;
	case FIG_PROCS:
		*v = (double)r->n_procs;
		return true;
	}
	return false;
}

static void per_container(struct promtext *p, const struct metrics_page *m, const char *name,
			  enum promtext_type type, enum ctr_figure f, const char *help)
{
	promtext__family(p, name, type, help);
	for (size_t i = 0; i < m->n_ctrs; i++) {
		struct ctr_labels cl;
		double v;

		if (!sampled(&m->ctrs[i]) || !figure(m->ctrs[i].row, f, &v))
			continue;
		ctr_labels(m->ctrs[i].row, &cl);
		promtext__sample(p, cl.l, cl.n, v);
	}
}

static void class_growth(struct promtext *p, const struct metrics_page *m)
{
	static const char *const cls[] = { "anon", "v8_heap", "file", "shmem", "kernel" };

	promtext__family(p, "memscope_container_class_growth_bytes_per_second", PROMTEXT_GAUGE,
			 "Least-squares slope of each class of the container's own memory over "
			 "the window (anon includes any V8 heap; kernel includes socket buffers).");
	for (size_t i = 0; i < m->n_ctrs; i++) {
		const struct growth_split *s;
		struct ctr_labels cl;
		double mib_min[5];

		if (!sampled(&m->ctrs[i]))
			continue;
		s = &m->ctrs[i].row->split;
		mib_min[0] = s->anon;
		mib_min[1] = s->v8;
		mib_min[2] = s->file;
		mib_min[3] = s->shmem;
		mib_min[4] = s->kernel;
		ctr_labels(m->ctrs[i].row, &cl);
		for (size_t k = 0; k < sizeof(cls) / sizeof(cls[0]); k++)
			if (isfinite(mib_min[k]))
				sample_with(p, &cl, "class", cls[k], mib_min[k] * MIB_PER_MIN);
	}
}

static void processes(struct promtext *p, const struct metrics_page *m)
{
	promtext__family(p, "memscope_process_resident_bytes", PROMTEXT_GAUGE,
			 "Resident memory of each process (RssAnon, RssFile, RssShmem of "
			 "/proc/PID/status), by class.");
	for (size_t i = 0; i < m->n_ctrs; i++) {
		const struct top_row *r = m->ctrs[i].row;

		if (!sampled(&m->ctrs[i]))
			continue;
		for (size_t k = 0; k < r->n_proc_list; k++) {
			const struct top_proc *pr = &r->procs[k];
			struct ctr_labels cl;
			char pid[16];

			ctr_labels(r, &cl);
			snprintf(pid, sizeof(pid), "%d", (int)pr->pid);
			cl.l[cl.n++] = (struct prom_label){ "pid", pid };
			cl.l[cl.n++] = (struct prom_label){ "comm", pr->name };
			sample_with(p, &cl, "class", "anon", (double)pr->anon);
			sample_with(p, &cl, "class", "file", (double)pr->file);
			sample_with(p, &cl, "class", "shmem", (double)pr->shmem);
		}
	}
}

static void one(struct promtext *p, const char *name, enum promtext_type type, const char *help,
		double v)
{
	promtext__family(p, name, type, help);
	promtext__sample(p, NULL, 0, v);
}

/* Every container, at 0 until its first kill, then the rows of containers
 * that are gone (or were never known). */
static void tracer_kills(struct promtext *p, const struct metrics_page *m,
			 const struct metrics_tracer *t)
{
	struct hmap *shown = hmap__new(0);
	char key[2 * PATH_MAX + 1];
	const void *k;
	size_t it = 0, len;
	void *v;

	promtext__family(p, "memscope_bpf_oom_kills_total", PROMTEXT_COUNTER,
			 "OOM kills the tracer saw since memscope started, by the victim's "
			 "container.");
	for (size_t i = 0; i < m->n_ctrs; i++) {
		const struct top_row *r = m->ctrs[i].row;
		const struct prom_label l[] = { { "container", stable_label(r) },
						{ "cgroup", r->path } };
		const uint64_t *n;

		if (!sampled(&m->ctrs[i]) ||
		    !(len = kill_key(r->path, stable_label(r), key, sizeof(key))))
			continue;
		n = t->kills ? hmap__find(t->kills, key, len) : NULL;
		promtext__sample(p, l, 2, n ? (double)*n : 0);
		if (shown)
			hmap__upsert(shown, key, len, NULL);
	}
	while (t->kills && hmap__next(t->kills, &it, &k, &len, &v)) {
		const struct prom_label l[] = { { "container", key_container(k) }, { "cgroup", k } };

		/* Without the set (no memory), a row could come twice: leave them out. */
		if (shown && !hmap__find(shown, k, len))
			promtext__sample(p, l, 2, (double)*(uint64_t *)v);
	}
	hmap__free(shown);
}

/* One series per feature this run tried: 0 where the kernel refused it. */
static void feature_states(struct promtext *p)
{
	bool any = false;

	for (int f = 0; f < FEATURE_COUNT; f++) {
		if (features__state(f) == FEATURE_UNSET)
			continue;
		if (!any)
			promtext__family(p, "memscope_feature_enabled", PROMTEXT_GAUGE,
					 "1 while a part of memscope is on; 0 where this kernel "
					 "refused it or it was not requested (memscope's log says why).");
		any = true;
		promtext__sample(p, &(struct prom_label){ "feature", features__name(f) }, 1,
				 features__state(f) == FEATURE_ON);
	}
}

static void tracer_figures(struct promtext *p, const struct metrics_page *m)
{
	const struct metrics_tracer *t = m->tracer;

	one(p, "memscope_bpf_tracer_up", PROMTEXT_GAUGE,
	    "1 while memscope's BPF programs are attached (they need root); the "
	    "memscope_bpf_* series below come from them.", t && t->running);
	feature_states(p);
	if (!t || !t->running)
		return;
	promtext__family(p, "memscope_bpf_lost_events_total", PROMTEXT_COUNTER,
			 "Events memscope's BPF side could not account for, by reason (as "
			 "memscope record --report names them).");
	for (int d = 0; d < MS_NR_DROPS; d++)
		promtext__sample(p, &(struct prom_label){ "reason", drops__key(d) }, 1,
				 (double)t->drops.kernel[d]);
	promtext__sample(p, &(struct prom_label){ "reason", "recursion_miss" }, 1,
			 (double)t->drops.recursion_misses);
	promtext__sample(p, &(struct prom_label){ "reason", "oom_queue_full" }, 1,
			 (double)t->oom_queue_dropped);
	promtext__sample(p, &(struct prom_label){ "reason", "pages_moved_unattributed" }, 1,
			 (double)t->drops.moves.unattributed);
	promtext__family(p, "memscope_bpf_pages_moved_total", PROMTEXT_COUNTER,
			 "Pages that changed frame and kept their owner, by how (khugepaged's "
			 "collapses, migration and compaction, pieces of split pages).");
	promtext__sample(p, &(struct prom_label){ "how", "collapsed" }, 1,
			 (double)t->drops.moves.collapsed);
	promtext__sample(p, &(struct prom_label){ "how", "migrated" }, 1,
			 (double)t->drops.moves.migrated);
	promtext__sample(p, &(struct prom_label){ "how", "split" }, 1, (double)t->drops.moves.split);
	tracer_kills(p, m, t);
}

static void bpf_programs(struct promtext *p, const struct metrics_page *m)
{
	if (m->bpf_stats >= 0)
		one(p, "memscope_bpf_stats_enabled", PROMTEXT_GAUGE,
		    "1 while the kernel counts BPF program run time (sysctl "
		    "kernel.bpf_stats_enabled, or memscope serve --bpf-stats).", m->bpf_stats);
	if (m->bpf_stats <= 0 || !m->n_progs)
		return;
	promtext__family(p, "memscope_bpf_program_run_seconds_total", PROMTEXT_COUNTER,
			 "Time memscope's BPF programs ran, while BPF statistics were on.");
	for (size_t i = 0; i < m->n_progs; i++)
		promtext__sample(p, &(struct prom_label){ "program", m->progs[i].name }, 1,
				 (double)m->progs[i].run_time_ns / 1e9);
	promtext__family(p, "memscope_bpf_program_runs_total", PROMTEXT_COUNTER,
			 "Runs of memscope's BPF programs, while BPF statistics were on.");
	for (size_t i = 0; i < m->n_progs; i++)
		promtext__sample(p, &(struct prom_label){ "program", m->progs[i].name }, 1,
				 (double)m->progs[i].run_cnt);
}

static void own_figures(struct promtext *p, const struct metrics_page *m)
{
	if (m->self) {
		one(p, "process_cpu_seconds_total", PROMTEXT_COUNTER,
		    "CPU time memscope used, user and system, all threads.", m->self->cpu_seconds);
		one(p, "process_resident_memory_bytes", PROMTEXT_GAUGE,
		    "memscope's resident memory.", (double)m->self->rss_bytes);
	}
	one(p, "process_start_time_seconds", PROMTEXT_GAUGE,
	    "When memscope started, in seconds since the epoch.", m->start_time);
	one(p, "memscope_collect_duration_seconds", PROMTEXT_GAUGE,
	    "How long the last reading of every container's cgroup and process files took.",
	    m->collect_s);
	one(p, "memscope_growth_window_seconds", PROMTEXT_GAUGE,
	    "The window the growth slopes are fitted over.", m->window_s);
}

static void labelled(struct promtext *p, const char *key, const char *value, double v)
{
	promtext__sample(p, &(struct prom_label){ key, value }, 1, v);
}

static void budgets(struct promtext *p, const struct budget_counts *b)
{
	if (!b)
		return;
	promtext__family(p, "memscope_budget_evicted_total", PROMTEXT_COUNTER,
			 "Holders a global budget made give their memory back (read again when "
			 "needed): modules' ELF data, perf maps, pending V8 processes.");
	labelled(p, "budget", "elf", (double)b->elf_evicted);
	labelled(p, "budget", "perfmap", (double)b->perfmap_evicted);
	labelled(p, "budget", "v8_pending", (double)b->v8_procs_evicted);
	promtext__family(p, "memscope_budget_refused_total", PROMTEXT_COUNTER,
			 "What a budget refused to hold: ELF section reads, perf maps, V8 ranges.");
	labelled(p, "budget", "elf", (double)b->elf_refused);
	labelled(p, "budget", "perfmap", (double)b->perfmap_refused);
	labelled(p, "budget", "v8_ranges", (double)b->v8_ranges_refused);
	promtext__family(p, "memscope_budget_skipped_total", PROMTEXT_COUNTER,
			 "V8 tracking work left undone by the per-tick budget: pagemap pages and "
			 "chunk probes.");
	labelled(p, "work", "v8_pagemap_pages", (double)b->v8_pages_skipped);
	labelled(p, "work", "v8_chunk_probes", (double)b->v8_probes_skipped);
	one(p, "memscope_perfmap_shared_total", PROMTEXT_COUNTER,
	    "Processes given a perf map another process's parse already held (same file).",
	    (double)b->perfmap_shared);
}

int metrics__write(const struct metrics_page *m, FILE *f)
{
	struct promtext p;
	int err = promtext__init(&p, f);

	if (err)
		return err;
	resident(&p, m);
	charged(&p, m);
	per_container(&p, m, "memscope_container_usage_bytes", PROMTEXT_GAUGE, FIG_USAGE,
		      "Memory charged to the cgroup and those below it (memory.current; for "
		      "the root, the sum of its classes).");
	per_container(&p, m, "memscope_container_limit_bytes", PROMTEXT_GAUGE, FIG_LIMIT,
		      "The cgroup's memory limit (memory.max), for limited cgroups only.");
	per_container(&p, m, "memscope_container_growth_bytes_per_second", PROMTEXT_GAUGE,
		      FIG_GROWTH, "Least-squares slope of the container's own memory over the "
		      "window (memscope_growth_window_seconds).");
	class_growth(&p, m);
	per_container(&p, m, "memscope_container_growth_monotonic", PROMTEXT_GAUGE,
		      FIG_MONOTONIC, "1 when the container's memory grew over the whole window "
		      "without falling back by more than noise.");
	per_container(&p, m, "memscope_container_oom_kills_total", PROMTEXT_COUNTER, FIG_OOM,
		      "Processes the OOM killer killed in the cgroup and those below it "
		      "(memory.events oom_kill).");
	per_container(&p, m, "memscope_container_processes", PROMTEXT_GAUGE, FIG_PROCS,
		      "Processes in the container's cgroups.");
	if (m->per_process)
		processes(&p, m);
	tracer_figures(&p, m);
	bpf_programs(&p, m);
	budgets(&p, m->budgets);
	own_figures(&p, m);
	return promtext__finish(&p);
}

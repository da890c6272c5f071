#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "ctrnames.h"
#include "feature_state.h"
#include "hmap.h"
#include "json.h"
#include "jsheap_run.h"
#include "memsplit.h"
#include "oom_print.h"
#include "oom_report.h"
#include "proc_exits.h"
#include "procname.h"
#include "record_totals.h"
#include "recorder.h"
#include "recording.h"

#define LABEL_LEN REC_LABEL_LEN

struct proc_row {
	struct ms_proc_key key;
	struct ms_proc_info info;
	struct ms_proc_stats st;
	uint32_t ncgroups;	/* cgroups it allocated in (it moved), counted in st */
	char label[LABEL_LEN];
	char name[DOCKER_NAME_MAX];	/* the engine's name of its container; "" */
};

struct container_row {
	char label[LABEL_LEN];
	char name[DOCKER_NAME_MAX];	/* the engine's name; "" unknown */
	uint64_t cgid;		/* of the first process seen; containers may span cgroups */
	uint64_t alloc, freed;
	uint32_t procs;
	uint64_t exited;	/* of them, recycled: in the totals, not in "processes" */
};

struct record_totals {
	const struct recording *r;
	struct proc_row *procs;
	size_t nprocs, cap;
	struct container_row *containers;
	size_t ncontainers;
	struct ms_proc_stats overflow;
	struct proc_exit_totals exited;
	struct tracer_drops drops;
	struct recorder_stats rs;
	struct budget_counts budgets;	/* at collection */
	uint64_t alloc_events, free_events;
	struct oom_report *const *kills;
	size_t n_kills;
};

/* qsort, also for an empty table whose pointer is NULL (a recording that saw
 * no process), which qsort must not be given. */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n)
		qsort(base, n, size, cmp);
}

static int64_t resident(uint64_t alloc, uint64_t freed)
{
	return (int64_t)(alloc - freed);
}

/* The BPF table holds the comm of the thread that first allocated (before
 * an exec, the shell's): the table names the process (procname.h). */
static void process_name(const struct ms_proc_key *key, struct ms_proc_info *info)
{
	char thread[MS_COMM_LEN + 1], name[PROCNAME_LEN];

	snprintf(thread, sizeof(thread), "%.*s", MS_COMM_LEN, info->comm);
	procname__read("/proc", key->tgid, key->start_ns, thread, name);
	memset(info->comm, 0, sizeof(info->comm));
	memcpy(info->comm, name, strnlen(name, MS_COMM_LEN));
}

/* A cgroup's label as the session named it when the window closed; one it
 * did not name by its id, as container__cgroup_label names an unknown one. */
static void cgroup_label(const struct recording *r, uint64_t cgid, char *buf, size_t len)
{
	const struct rec_cgroup *c = recording__cgroup(r, cgid);

	if (c)
		snprintf(buf, len, "%s", c->label);
	else
		snprintf(buf, len, "[cgroup %" PRIu64 "]", cgid);
}

static const char *cgroup_path(const struct recording *r, uint64_t cgid)
{
	const struct rec_cgroup *c = recording__cgroup(r, cgid);

	return c ? c->path : NULL;
}

static void collect_proc(struct record_totals *t, const struct rec_proc *p)
{
	struct proc_row *row;

	if (t->nprocs == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		void *grown = realloc(t->procs, cap * sizeof(*t->procs));

		if (!grown)
			return;
		t->procs = grown;
		t->cap = cap;
	}
	row = &t->procs[t->nprocs];
	row->key = p->key;
	row->info = p->info;
	row->name[0] = '\0';	/* until record_totals__name_containers, if ever */
	process_name(&p->key, &row->info);
	if (!p->have_stats)
		return;
	row->st = p->st;
	cgroup_label(t->r, p->key.cgid, row->label, sizeof(row->label));
	t->alloc_events += row->st.alloc_events;
	t->free_events += row->st.free_events;
	t->nprocs++;
}

static int by_proc_resident(const void *a, const void *b)
{
	const struct ms_proc_stats *x = &((const struct proc_row *)a)->st;
	const struct ms_proc_stats *y = &((const struct proc_row *)b)->st;
	int64_t rx = resident(x->alloc_bytes, x->free_bytes), ry = resident(y->alloc_bytes, y->free_bytes);

	if (rx != ry)
		return rx < ry ? 1 : -1;
	return x->alloc_bytes < y->alloc_bytes ? 1 : x->alloc_bytes > y->alloc_bytes ? -1 : 0;
}

static int by_container_resident(const void *a, const void *b)
{
	const struct container_row *x = a, *y = b;
	int64_t rx = resident(x->alloc, x->freed), ry = resident(y->alloc, y->freed);

	if (rx != ry)
		return rx < ry ? 1 : -1;
	return strcmp(x->label, y->label);
}

struct grouping {
	struct record_totals *t;
	struct hmap *idx;	/* label -> index in t->containers */
};

/* The container row of label, made on first use (cgid of the first). */
static struct container_row *container_of(struct grouping *g, const char *label, uint64_t cgid)
{
	bool created;
	size_t *at = hmap__upsert(g->idx, label, strlen(label), &created);
	struct container_row *row;

	if (!at)
		return NULL;
	if (created) {
		*at = g->t->ncontainers++;
		row = &g->t->containers[*at];
		snprintf(row->label, sizeof(row->label), "%s", label);
		row->cgid = cgid;
	}
	return &g->t->containers[*at];
}

static void group_exited(void *ctx, uint64_t cgid, const struct proc_exit_totals *e)
{
	struct grouping *g = ctx;
	char label[LABEL_LEN];
	struct container_row *row;

	if (cgid == PROC_EXITS_OTHER)
		snprintf(label, sizeof(label), "[other cgroups]");
	else
		cgroup_label(g->t->r, cgid, label, sizeof(label));
	row = container_of(g, label, cgid == PROC_EXITS_OTHER ? 0 : cgid);
	if (!row)
		return;
	row->alloc += e->st.alloc_bytes;
	row->freed += e->st.free_bytes;
	row->procs += e->procs;
	row->exited += e->procs;
}

static int group_containers(struct record_totals *t)
{
	struct grouping g = { t, hmap__new(sizeof(size_t)) };

	if (!g.idx)
		return -ENOMEM;
	t->containers = calloc(t->nprocs + proc_exits__cgroups(t->r->exits) + 1,
			       sizeof(*t->containers));
	if (!t->containers) {
		hmap__free(g.idx);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->nprocs; i++) {
		const struct proc_row *p = &t->procs[i];
		struct container_row *row = container_of(&g, p->label, p->key.cgid);

		if (!row)
			continue;
		row->alloc += p->st.alloc_bytes;
		row->freed += p->st.free_bytes;
		row->procs++;
	}
	proc_exits__each(t->r->exits, group_exited, &g);
	hmap__free(g.idx);
	sort(t->containers, t->ncontainers, sizeof(*t->containers), by_container_resident);
	return 0;
}

static int by_process(const void *a, const void *b)
{
	const struct ms_proc_key *x = &((const struct proc_row *)a)->key;
	const struct ms_proc_key *y = &((const struct proc_row *)b)->key;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

/* A process that changed cgroups has a row in each (the kernel charges its
 * pages where they were allocated): the container table keeps them apart,
 * the process table shows the process once, under the cgroup where it holds
 * the most, with its bytes from all of them. Runs after the containers are
 * grouped; t->procs is sorted by resident again after. */
static void one_row_per_process(struct record_totals *t)
{
	size_t out = 0;

	sort(t->procs, t->nprocs, sizeof(*t->procs), by_process);
	for (size_t i = 0; i < t->nprocs; i++) {
		struct proc_row *row = &t->procs[i], *keep = out ? &t->procs[out - 1] : NULL;

		if (keep && keep->key.tgid == row->key.tgid && keep->key.start_ns == row->key.start_ns) {
			struct ms_proc_stats sum = keep->st;
			uint32_t ncgroups = keep->ncgroups + 1;

			sum.alloc_bytes += row->st.alloc_bytes;
			sum.free_bytes += row->st.free_bytes;
			sum.alloc_events += row->st.alloc_events;
			sum.free_events += row->st.free_events;
			if (resident(row->st.alloc_bytes, row->st.free_bytes) >
			    resident(keep->st.alloc_bytes, keep->st.free_bytes))
				*keep = *row;
			keep->st = sum;
			keep->ncgroups = ncgroups;
			continue;
		}
		t->procs[out] = *row;
		t->procs[out].ncgroups = 1;
		out++;
	}
	t->nprocs = out;
	sort(t->procs, t->nprocs, sizeof(*t->procs), by_proc_resident);
}

struct record_totals *record_totals__collect(const struct recording *r)
{
	struct record_totals *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->r = r;
	for (size_t i = 0; i < r->nprocs; i++)
		collect_proc(t, &r->procs[i]);
	sort(t->procs, t->nprocs, sizeof(*t->procs), by_proc_resident);
	if (group_containers(t)) {
		record_totals__free(t);
		return NULL;
	}
	one_row_per_process(t);
	t->overflow = r->overflow;
	proc_exits__total(r->exits, &t->exited);
	t->alloc_events += t->overflow.alloc_events + t->exited.st.alloc_events;
	t->free_events += t->overflow.free_events + t->exited.st.free_events;
	t->drops = r->drops;
	t->rs = r->rs;
	t->budgets = budget_counts;
	return t;
}

/* Printable ASCII: the engine's names are its users' to choose. */
static void copy_name(char *dst, size_t cap, const char *src)
{
	size_t o = 0;

	for (; src && *src && o + 1 < cap; src++)
		dst[o++] = *src >= 0x20 && *src < 0x7f ? *src : '?';
	dst[o] = '\0';
}

void record_totals__name_containers(struct record_totals *t, struct ctrnames *nm, double now)
{
	for (size_t i = 0; i < t->ncontainers; i++)
		copy_name(t->containers[i].name, sizeof(t->containers[i].name),
			  ctrnames__name(nm, cgroup_path(t->r, t->containers[i].cgid), now));
	for (size_t i = 0; i < t->nprocs; i++)
		copy_name(t->procs[i].name, sizeof(t->procs[i].name),
			  ctrnames__name(nm, cgroup_path(t->r, t->procs[i].key.cgid), now));
}

void record_totals__set_kills(struct record_totals *t, struct oom_report *const *kills, size_t n)
{
	t->kills = kills;
	t->n_kills = n;
}

static const char *mib(char *buf, size_t len, int64_t bytes)
{
	snprintf(buf, len, "%.1f", bytes / 1048576.0);
	return buf;
}

static uint64_t per_unwind(const struct record_totals *t, uint64_t total)
{
	return t->rs.unwinds ? total / t->rs.unwinds : 0;
}

void record_totals__print(const struct record_totals *t, FILE *out)
{
	bool res = t->r->outstanding;
	size_t shown = t->nprocs < 20 ? t->nprocs : 20;
	char a[32], f[32], r[32];

	fprintf(out, "memscope: %.1f s, %s; exact totals:\n", t->r->seconds,
		res ? "pages allocated in the window and still resident at its end"
		    : "pages allocated in the window");
	fprintf(out, "%-40s %6s %12s %12s %13s\n", "CONTAINER", "PROCS", "ALLOC_MIB",
		res ? "FREED_MIB" : "", res ? "RESIDENT_MIB" : "");
	for (size_t i = 0; i < t->ncontainers; i++) {
		const struct container_row *c = &t->containers[i];

		fprintf(out, "%-40s %6u %12s %12s %13s\n", c->name[0] ? c->name : c->label, c->procs,
			mib(a, sizeof(a), c->alloc), res ? mib(f, sizeof(f), c->freed) : "",
			res ? mib(r, sizeof(r), resident(c->alloc, c->freed)) : "");
	}
	fprintf(out, "%-8s %-16s %-24s %12s %13s\n", "PID", "COMM", "CONTAINER", "ALLOC_MIB",
		res ? "RESIDENT_MIB" : "");
	for (size_t i = 0; i < shown; i++) {
		const struct proc_row *p = &t->procs[i];

		fprintf(out, "%-8u %-16.*s %-24.24s %12s %13s\n", p->key.tgid, MS_COMM_LEN,
			p->info.comm, p->name[0] ? p->name : p->label,
			mib(a, sizeof(a), p->st.alloc_bytes),
			res ? mib(r, sizeof(r), resident(p->st.alloc_bytes, p->st.free_bytes)) : "");
	}
	if (t->nprocs > shown)
		fprintf(out, "(%zu more processes)\n", t->nprocs - shown);
	if (t->exited.procs)
		fprintf(out, "(%" PRIu64 " exited processes, %s MiB allocated, counted in their "
			"containers only)\n", t->exited.procs,
			mib(a, sizeof(a), t->exited.st.alloc_bytes));
	if (t->overflow.alloc_bytes)
		fprintf(out, "[overflow] processes past --max-procs: %s MiB allocated\n",
			mib(a, sizeof(a), t->overflow.alloc_bytes));

	fprintf(out, "events: %" PRIu64 " allocations, %" PRIu64 " frees, %" PRIu64
		" samples (user stacks unwound whole: %" PRIu64 ", finished by frame pointers: %"
		PRIu64 ", %" PRIu64 " stack bytes and %" PRIu64 " ns each; kernel stacks from the "
		"cache: %" PRIu64 ", rechecked %" PRIu64 ", differed %" PRIu64 ")\n",
		t->alloc_events, t->free_events, t->rs.samples,
		t->rs.unwind_stops[UNWIND_COMPLETE], t->rs.unwinds_spliced,
		per_unwind(t, t->rs.stack_bytes), per_unwind(t, t->rs.unwind_ns),
		t->drops.kcache_hits, t->drops.kcache_checks, t->drops.kcache_mismatches);
	fprintf(out, "losses:");
	for (int i = 0; i < MS_NR_DROPS; i++)
		fprintf(out, "%s %s=%" PRIu64, i ? "," : "", drops__text(i), t->drops.kernel[i]);
	fprintf(out, ", program runs missed by the kernel (recursion)=%" PRIu64
		", missed frees settled when the page was reused=%" PRIu64
		", unwinds stopped without CFI=%" PRIu64 ", at an unreadable stack=%" PRIu64
		", at the depth limit=%" PRIu64 ", frames unresolved=%" PRIu64
		", samples dropped (no memory)=%" PRIu64
		", page record scans failed=%" PRIu64
		", moved pages whose owner was lost=%" PRIu64 "\n",
		t->drops.recursion_misses, t->drops.healed_frees,
		t->rs.unwind_stops[UNWIND_NO_CFI], t->rs.unwind_stops[UNWIND_UNREADABLE],
		t->rs.unwind_stops[UNWIND_DEPTH], t->rs.frames_unresolved,
		t->rs.samples_dropped_nomem, t->rs.record_scans_failed, t->drops.moves.unattributed);
	if (t->drops.moves.collapsed || t->drops.moves.migrated || t->drops.moves.split)
		fprintf(out, "moved pages (owner kept): %" PRIu64 " collapsed into huge pages, %" PRIu64
			" migrated or compacted, %" PRIu64 " freed in pieces after a split\n",
			t->drops.moves.collapsed, t->drops.moves.migrated, t->drops.moves.split);
	if (memcmp(&t->budgets, &(struct budget_counts){ 0 }, sizeof(t->budgets)))
		fprintf(out, "budgets: ELF data evicted=%" PRIu64 ", ELF reads refused=%" PRIu64
			", perf maps evicted=%" PRIu64 ", refused=%" PRIu64 ", shared=%" PRIu64
			", V8 pagemap pages skipped=%" PRIu64 ", chunk probes skipped=%" PRIu64
			", V8 ranges refused=%" PRIu64 ", pending V8 processes evicted=%" PRIu64 "\n",
			t->budgets.elf_evicted, t->budgets.elf_refused, t->budgets.perfmap_evicted,
			t->budgets.perfmap_refused, t->budgets.perfmap_shared,
			t->budgets.v8_pages_skipped, t->budgets.v8_probes_skipped,
			t->budgets.v8_ranges_refused, t->budgets.v8_procs_evicted);
}

static void json_bytes(struct json *j, uint64_t alloc, uint64_t freed, bool res)
{
	json_u64(j, "alloc_bytes", alloc);
	if (res) {
		json_u64(j, "free_bytes", freed);
		json_i64(j, "resident_bytes", resident(alloc, freed));
	}
}

void record_totals__json(const struct record_totals *t, FILE *out)
{
	bool res = t->r->outstanding;
	struct json j;

	json_init(&j, out, true);
	json_obj(&j, NULL);
	json_double(&j, "duration_s", t->r->seconds);
	json_str(&j, "mode", res ? "outstanding" : "allocated");
	json_u64(&j, "sample_every", t->r->sample_every);
	json_str(&j, "hook", t->r->hook);

	/* What the kernel let this run load: a feature it refused is off, with why. */
	json_obj(&j, "features");
	for (int f = 0; f < FEATURE_COUNT; f++) {
		if (features__state(f) == FEATURE_UNSET)
			continue;
		json_obj(&j, features__name(f));
		json_bool(&j, "on", features__state(f) == FEATURE_ON);
		json_str(&j, "why", features__why(f));
		json_end(&j);
	}
	json_end(&j);

	json_obj(&j, "events");
	json_u64(&j, "alloc_events", t->alloc_events);
	json_u64(&j, "free_events", t->free_events);
	json_u64(&j, "samples", t->rs.samples);
	/* The user stack unwinder (unwind.h): its work per sample, and how
	 * its walks ended (the stops short of the outermost frame are losses). */
	json_u64(&j, "unwinds", t->rs.unwinds);
	json_u64(&j, "unwinds_complete", t->rs.unwind_stops[UNWIND_COMPLETE]);
	json_u64(&j, "unwinds_spliced", t->rs.unwinds_spliced);
	json_u64(&j, "stack_bytes_per_sample", per_unwind(t, t->rs.stack_bytes));
	json_u64(&j, "unwind_ns_per_sample", per_unwind(t, t->rs.unwind_ns));
	json_u64(&j, "kstack_cache_hits", t->drops.kcache_hits);
	json_u64(&j, "kstack_cache_checks", t->drops.kcache_checks);
	json_u64(&j, "kstack_cache_mismatches", t->drops.kcache_mismatches);
	json_end(&j);

	json_obj(&j, "losses");
	for (int i = 0; i < MS_NR_DROPS; i++)
		json_u64(&j, drops__key(i), t->drops.kernel[i]);
	json_u64(&j, "recursion_misses", t->drops.recursion_misses);
	json_u64(&j, "missed_frees_settled", t->drops.healed_frees);
	json_u64(&j, "unwind_no_cfi", t->rs.unwind_stops[UNWIND_NO_CFI]);
	json_u64(&j, "unwind_unreadable_stack", t->rs.unwind_stops[UNWIND_UNREADABLE]);
	json_u64(&j, "unwind_depth_limit", t->rs.unwind_stops[UNWIND_DEPTH]);
	json_u64(&j, "frames_unresolved", t->rs.frames_unresolved);
	json_u64(&j, "samples_dropped_nomem", t->rs.samples_dropped_nomem);
	json_u64(&j, "page_record_scans_failed", t->rs.record_scans_failed);
	json_u64(&j, "overflow_alloc_bytes", t->overflow.alloc_bytes);
	json_u64(&j, "pages_moved_unattributed", t->drops.moves.unattributed);
	json_end(&j);

	/* Pages that changed frame and kept their owner. */
	json_obj(&j, "moved_pages");
	json_u64(&j, "collapsed", t->drops.moves.collapsed);
	json_u64(&j, "migrated", t->drops.moves.migrated);
	json_u64(&j, "split", t->drops.moves.split);
	json_u64(&j, "unattributed", t->drops.moves.unattributed);
	json_end(&j);

	/* What the global budgets (budget.h) dropped, refused or shared. */
	json_obj(&j, "budgets");
	json_u64(&j, "elf_evicted", t->budgets.elf_evicted);
	json_u64(&j, "elf_refused", t->budgets.elf_refused);
	json_u64(&j, "perfmap_evicted", t->budgets.perfmap_evicted);
	json_u64(&j, "perfmap_refused", t->budgets.perfmap_refused);
	json_u64(&j, "perfmap_shared", t->budgets.perfmap_shared);
	json_u64(&j, "v8_pages_skipped", t->budgets.v8_pages_skipped);
	json_u64(&j, "v8_probes_skipped", t->budgets.v8_probes_skipped);
	json_u64(&j, "v8_ranges_refused", t->budgets.v8_ranges_refused);
	json_u64(&j, "v8_procs_evicted", t->budgets.v8_procs_evicted);
	json_end(&j);

	json_arr(&j, "containers");
	for (size_t i = 0; i < t->ncontainers; i++) {
		const struct container_row *c = &t->containers[i];
		const char *path = cgroup_path(t->r, c->cgid);

		json_obj(&j, NULL);
		json_str(&j, "label", c->label);
		json_str(&j, "name", c->name[0] ? c->name : NULL);
		json_str(&j, "cgroup", path);
		json_u64(&j, "cgroup_id", c->cgid);
		json_u64(&j, "processes", c->procs);
		json_u64(&j, "exited_processes", c->exited);
		json_bytes(&j, c->alloc, c->freed, res);
		json_end(&j);
	}
	json_end(&j);

	/* Processes whose slots were recycled: in "containers", not below. */
	json_obj(&j, "exited");
	json_u64(&j, "processes", t->exited.procs);
	json_bytes(&j, t->exited.st.alloc_bytes, t->exited.st.free_bytes, res);
	json_end(&j);

	json_arr(&j, "processes");
	for (size_t i = 0; i < t->nprocs; i++) {
		const struct proc_row *p = &t->procs[i];

		json_obj(&j, NULL);
		json_u64(&j, "pid", p->key.tgid);
		json_strn(&j, "comm", p->info.comm, strnlen(p->info.comm, MS_COMM_LEN));
		json_str(&j, "container", p->label);
		json_str(&j, "container_name", p->name[0] ? p->name : NULL);
		json_u64(&j, "cgroup_id", p->key.cgid);
		if (p->ncgroups > 1)	/* it moved: bytes from every cgroup it used */
			json_u64(&j, "cgroups", p->ncgroups);
		json_bytes(&j, p->st.alloc_bytes, p->st.free_bytes, res);
		json_end(&j);
	}
	json_end(&j);

	json_arr(&j, "oom_kills");
	for (size_t i = 0; i < t->n_kills; i++)
		oom_print__json(&j, NULL, t->kills[i]);
	json_end(&j);
	if (t->r->split)
		memsplit__json(t->r->split, &j);
	if (t->r->js)
		jsheap_run__json(t->r->js, &j);
	json_end(&j);
}

void record_totals__free(struct record_totals *t)
{
	if (!t)
		return;
	free(t->procs);
	free(t->containers);
	free(t);
}

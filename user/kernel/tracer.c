#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "feature_state.h"
#include "kfeatures.h"
#include "load_plan.h"
#include "log.h"
#include "memscope.h"
#include "memscope.skel.h"
#include "pfn.h"
#include "privs.h"
#include "tracer.h"

struct tracer {
	struct memscope_bpf *skel;
	struct ring_buffer *rb;
	enum tracer_hook hook;
	struct tracer_handlers h;
	struct load_plan plan;		/* what is loaded */
	char off_why[FEATURE_COUNT][256];	/* why the plan gave a part up */
	struct page_records *records;	/* NULL without free tracking */
	size_t max_pfn;
	uint32_t max_links;		/* sample ids a page record can hold */
	uint64_t page_size;
	uint64_t page_struct;		/* sizeof(struct page) */
	bool track_frees;
	int ncpus;
	struct ms_proc_stats *percpu;	/* scratch for one slot's per-CPU values */
	bool attached;
	uint32_t consumed;		/* samples read by the current poll */
};

/* What the last refused load said: which program, and the verifier's own
 * reason (the last line of its log), so the one notice names the cause. */
static struct {
	char prog[64];
	char reason[160];
} refusal;

static void note_refusal(const char *msg)
{
	const char *p = strstr(msg, "prog '"), *end, *last = NULL, *last_end = NULL;
	char name[64];

	/* "libbpf: prog 'NAME': BPF program load failed: ..." */
	if (p && sscanf(p, "prog '%63[^']'", name) == 1 && strstr(p, "load failed")) {
		snprintf(refusal.prog, sizeof(refusal.prog), "%s", name);
		return;
	}
	if (!strstr(msg, "-- BEGIN PROG LOAD LOG --"))
		return;
	/* The verifier's verdict is its last line but the statistics. */
	for (p = strstr(msg, "-- BEGIN PROG LOAD LOG --"); (p = strchr(p, '\n')); p = end) {
		end = strchrnul(++p, '\n');
		if (end == p || !strncmp(p, "-- END", 6) || !strncmp(p, "processed ", 10) ||
		    !strncmp(p, "verification time", 17) || !strncmp(p, "stack depth", 11))
			continue;
		last = p;
		last_end = end;
		if (!*end)
			break;
	}
	if (last)
		snprintf(refusal.reason, sizeof(refusal.reason), "%.*s", (int)(last_end - last), last);
}

/* libbpf's own chatter (and the verifier log) only with -v: without it the
 * one line we print on failure says what to do. Warnings are read either
 * way, for what a refused load says. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static char buf[64 << 10];
	va_list copy;

	if (level == LIBBPF_WARN) {
		va_copy(copy, ap);
		vsnprintf(buf, sizeof(buf), fmt, copy);
		va_end(copy);
		note_refusal(buf);
	}
	if (!log_verbose() || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int check_privileges(void)
{
	int may = privs__may_trace();

	if (may < 0)
		return may;
	if (may)
		return 0;
	log_error("memscope needs root (CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON): run it with sudo");
	return -EPERM;
}

static int fill_filters(struct tracer *t, const struct tracer_opts *o)
{
	uint8_t one = 1;

	for (size_t i = 0; i < o->n_tgids; i++)
		if (bpf_map__update_elem(t->skel->maps.filter_tgids, &o->tgids[i], sizeof(uint32_t),
					 &one, 1, BPF_ANY))
			return -errno;
	for (size_t i = 0; i < o->n_cgids; i++)
		if (bpf_map__update_elem(t->skel->maps.filter_cgroups, &o->cgids[i], sizeof(uint64_t),
					 &one, 1, BPF_ANY))
			return -errno;
	return 0;
}

/* oom:mark_victim passes the victim task since Linux 6.8 (and in stable
 * kernels that took the change back, 6.1 among them), only its pid before:
 * the raw tracepoint needs the task, the classic one works with either. */
static enum oom_hook best_oom_hook(void)
{
	const struct btf_type *t;
	const struct btf_param *p;
	enum oom_hook hook = OOM_HOOK_NONE;
	struct btf *btf;
	int id;

	if (kfeatures__disabled("oom") || kfeatures__disabled("raw_tp"))
		return OOM_HOOK_NONE;
	btf = btf__load_vmlinux_btf();
	id = btf ? btf__find_by_name_kind(btf, "btf_trace_mark_victim", BTF_KIND_TYPEDEF) : -1;
	if (id > 0) {
		t = btf__type_by_id(btf, btf__resolve_type(btf, id));
		if (t && btf_is_ptr(t))
			t = btf__type_by_id(btf, t->type);
		if (t && btf_is_func_proto(t) && btf_vlen(t) >= 2) {
			p = btf_params(t);
			t = btf__type_by_id(btf, btf__resolve_type(btf, p[1].type));
			if (t && btf_is_ptr(t))
				hook = OOM_HOOK_RAW_TP;
		}
	}
	btf__free(btf);
	return hook;
}

static void choose_programs(struct tracer *t)
{
	struct memscope_bpf *skel = t->skel;
	bool btf = t->hook == HOOK_RAW_TP;
	/* Without free tracking the free hooks would only cost. */
	bool frees = t->track_frees;

	bpf_program__set_autoload(skel->progs.page_alloc_raw, btf);
	bpf_program__set_autoload(skel->progs.page_free_raw, btf && frees);
	bpf_program__set_autoload(skel->progs.page_free_batched_raw, btf && frees);
	bpf_program__set_autoload(skel->progs.page_alloc_tp, !btf);
	bpf_program__set_autoload(skel->progs.page_free_tp, !btf && frees);
	bpf_program__set_autoload(skel->progs.page_free_batched_tp, !btf && frees);
	bpf_program__set_autoload(skel->progs.oom_victim_raw, t->plan.oom == OOM_HOOK_RAW_TP);
	bpf_program__set_autoload(skel->progs.oom_victim_tp, t->plan.oom == OOM_HOOK_TRACEPOINT);
	bpf_program__set_autoload(skel->progs.move_set_pte, t->plan.moved_pages);
	bpf_program__set_autoload(skel->progs.move_remove_pte, t->plan.moved_pages);
	bpf_program__set_autoload(skel->progs.move_set_pmd, t->plan.moved_pages);
	bpf_program__set_autoload(skel->progs.move_remove_pmd, t->plan.moved_pages);
	bpf_program__set_autoload(skel->progs.move_collapse_done, t->plan.moved_pages);
	bpf_program__set_autoload(skel->progs.exec_rename, t->plan.exec_names);
}

/* MEMSCOPE_REFUSE's names as the BPF side's feature bits. */
static uint32_t refused_for_test(void)
{
	static const struct {
		enum feature f;
		uint32_t bit;
	} bits[] = {
		{ FEATURE_PAGE_ACCOUNTING, MS_FEAT_PAGE_ACCOUNTING },
		{ FEATURE_KERNEL_STACKS, MS_FEAT_KERNEL_STACKS },
		{ FEATURE_KSTACK_CACHE, MS_FEAT_KSTACK_CACHE },
		{ FEATURE_USER_STACKS, MS_FEAT_USER_STACKS },
		{ FEATURE_STACK_COPY, MS_FEAT_STACK_COPY },
		{ FEATURE_OOM, MS_FEAT_OOM },
		{ FEATURE_OOM_SNAPSHOT, MS_FEAT_OOM_SNAPSHOT },
		{ FEATURE_SPLIT_PAGES, MS_FEAT_SPLIT_PAGES },
		{ FEATURE_MOVED_PAGES, MS_FEAT_MOVED_PAGES },
		{ FEATURE_EXEC_NAMES, MS_FEAT_EXEC_NAMES },
	};
	uint32_t mask = 0;

	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (kfeatures__refused_for_test(features__name(bits[i].f)))
			mask |= bits[i].bit;
	return mask;
}

/* sizeof(struct page) on this kernel, from its BTF; 0 if unknown. */
static uint64_t page_struct_size(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	uint64_t size = 0;
	int id;

	if (!btf)
		return 0;
	id = btf__find_by_name_kind(btf, "page", BTF_KIND_STRUCT);
	if (id > 0) {
		long sz = btf__resolve_size(btf, id);

		size = sz > 0 ? sz : 0;
	}
	btf__free(btf);
	return size;
}

/* A sample is under 1 KiB: at the default rate a page-fault storm fills
 * 4 MiB in seconds, far longer than the reader takes; every page sampled
 * needs the room to ride out the reader's pauses. Mapped twice by the reader,
 * so it counts double in its RSS. */
static uint32_t ringbuf_mb(const struct tracer_opts *o)
{
	if (o->ringbuf_mb)
		return o->ringbuf_mb;
	return o->sample_every && o->sample_every < 16 ? 32 : 4;
}

static int configure(struct tracer *t, const struct tracer_opts *o)
{
	struct memscope_bpf *skel = t->skel;
	uint32_t slots = o->max_procs + MS_FIRST_SLOT;
	int err;

	skel->rodata->max_pfn = t->max_pfn;
	skel->rodata->page_shift = __builtin_ctzll(t->page_size);
	if (t->page_struct && !(t->page_struct & (t->page_struct - 1)))
		skel->rodata->page_struct_shift = __builtin_ctzll(t->page_struct);
	skel->rodata->max_slots = slots;
	skel->rodata->max_links = t->max_links;
	skel->rodata->track_frees = o->track_frees;
	skel->rodata->kernel_stacks = t->plan.kernel_stacks;
	skel->rodata->kstack_cache = t->plan.kstack_cache;
	skel->rodata->user_stacks = t->plan.user_stacks;
	skel->rodata->stack_copy = t->plan.stack_copy;
	skel->rodata->oom_snapshot = t->plan.oom_snapshot;
	skel->rodata->split_pages = t->plan.split_pages;
	skel->rodata->track_collapse = t->plan.moved_pages;
	skel->rodata->refuse = refused_for_test();
	skel->rodata->filter_tgids_on = o->n_tgids > 0;
	skel->rodata->filter_cgroups_on = o->n_cgids > 0;
	skel->rodata->sample_every = o->sample_every ? o->sample_every : 1;
	choose_programs(t);

	if ((err = bpf_map__set_max_entries(skel->maps.pages,
					    o->track_frees ? ms_pg_values(t->max_pfn) : 1)) ||
	    (err = bpf_map__set_max_entries(skel->maps.link_slot, ms_pg_values(t->max_links))) ||
	    (err = bpf_map__set_max_entries(skel->maps.free_links, t->max_links)) ||
	    (err = bpf_map__set_max_entries(skel->maps.procs, o->max_procs)) ||
	    (err = bpf_map__set_max_entries(skel->maps.proc_stats, slots)) ||
	    (err = bpf_map__set_max_entries(skel->maps.slot_flags, slots)) ||
	    (err = bpf_map__set_max_entries(skel->maps.free_slots, slots)) ||
	    (err = bpf_map__set_max_entries(skel->maps.samples, ringbuf_mb(o) << 20)) ||
	    (err = bpf_map__set_max_entries(skel->maps.kstacks, o->kstack_entries)))
		return err;
	return 0;
}

/* Copies n (capped at max) pointers out of the mmapped .bss. */
static size_t calib_copy(uint64_t *dst, const volatile __u64 *src, uint32_t n, uint32_t max)
{
	if (n > max)
		n = max;
	for (uint32_t i = 0; i < n; i++)
		dst[i] = src[i];
	return n;
}

/* Pages unmapped together: more than the per-CPU LRU batch holds back, so
 * most reach the allocator's batched free path while we watch. */
#define PROBE_PAGES	64

/* Linux frees most user pages in batches, firing mm_page_free_batched after
 * mm_page_free for each page (since 4.x both come from the same path), so the
 * batched hook then only costs a program run per page. Unmap pages of our own
 * and drop the hook if every batched free was also seen as a plain one. Runs
 * while the programs are still in calibration mode. */
static void drop_redundant_batched_hook(struct tracer *t)
{
	struct memscope_bpf *skel = t->skel;
	uint64_t freed[MS_CALIB_FREES], batched[MS_CALIB_FREES];
	size_t len = PROBE_PAGES * t->page_size, nf, nb;
	char *p;

	if (!skel->links.page_free_batched_raw)
		return;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	madvise(p, len, MADV_NOHUGEPAGE);
	skel->bss->calib_free_n = skel->bss->calib_batched_n = 0;
	__atomic_store_n(&skel->bss->calib_tid, (uint32_t)gettid(), __ATOMIC_SEQ_CST);
	for (size_t off = 0; off < len; off += t->page_size)
		((volatile char *)p)[off] = 1;
	munmap(p, len);
	__atomic_store_n(&skel->bss->calib_tid, 0, __ATOMIC_SEQ_CST);
	nf = calib_copy(freed, skel->bss->calib_free_ptrs, skel->bss->calib_free_n, MS_CALIB_FREES);
	nb = calib_copy(batched, skel->bss->calib_batched_ptrs, skel->bss->calib_batched_n,
			MS_CALIB_FREES);
	if (!pfn__all_seen(batched, nb, freed, nf)) {
		log_debug("mm_page_free_batched kept: %zu batched frees, %zu frees seen", nb, nf);
		return;
	}
	bpf_link__destroy(skel->links.page_free_batched_raw);
	skel->links.page_free_batched_raw = NULL;
	log_debug("mm_page_free_batched hook dropped: mm_page_free saw all %zu batched frees", nb);
}

/* Touch two fresh pages in this thread while the BPF side records every
 * struct page it sees allocated (and then freed) for us, then solve for the
 * vmemmap base. */
static int calibrate(struct tracer *t)
{
	struct memscope_bpf *skel = t->skel;
	uint64_t pfn[2], ptrs[MS_CALIB_SLOTS], size = t->page_struct, base;
	long psz = t->page_size;
	char *p[2] = {};
	size_t n;
	int err = 0;

	if (!size)
		return -ENOENT;

	skel->bss->calib_n = 0;
	__atomic_store_n(&skel->bss->calib_tid, (uint32_t)gettid(), __ATOMIC_SEQ_CST);
	for (int i = 0; i < 2 && !err; i++) {
		p[i] = mmap(NULL, psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p[i] == MAP_FAILED) {
			p[i] = NULL;
			err = -errno;
			break;
		}
		madvise(p[i], psz, MADV_NOHUGEPAGE);
		*(volatile char *)p[i] = 1;
		err = pfn__of_vaddr((uint64_t)(uintptr_t)p[i], &pfn[i]);
	}
	__atomic_store_n(&skel->bss->calib_tid, 0, __ATOMIC_SEQ_CST);
	n = calib_copy(ptrs, skel->bss->calib_ptrs,
		       __atomic_load_n(&skel->bss->calib_n, __ATOMIC_SEQ_CST), MS_CALIB_SLOTS);
	for (int i = 0; i < 2; i++)
		if (p[i])
			munmap(p[i], psz);
	if (!err)
		err = pfn__solve_base(ptrs, n, pfn[0], pfn[1], size, &base);
	if (err)
		return err;
	log_debug("vmemmap base %#llx, struct page %llu bytes (from %zu allocations)",
		  (unsigned long long)base, (unsigned long long)size, n);
	if (t->track_frees && !kfeatures__disabled("batched_drop"))
		drop_redundant_batched_hook(t);
	__atomic_store_n(&skel->bss->vmemmap_base, base, __ATOMIC_SEQ_CST);
	return 0;
}

static int sample_cb(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;

	/* A sample ends after the stack bytes it carries. */
	if (size >= offsetof(struct ms_sample, snap) &&
	    ((const struct ms_sample *)data)->snap_len <= size - offsetof(struct ms_sample, snap))
		t->h.sample(t->h.ctx, data);
	/* This sample is consumed either way: a negative return only stops. */
	if (++t->consumed % TRACER_TICK_SAMPLES == 0 && t->h.tick && t->h.tick(t->h.ctx))
		return -EINTR;
	return 0;
}

static int oom_cb(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;

	if (size >= sizeof(struct ms_oom_event) && t->h.oom)
		t->h.oom(t->h.ctx, data);
	return 0;
}

static void destroy_bpf(struct tracer *t)
{
	ring_buffer__free(t->rb);
	t->rb = NULL;
	page_records__free(t->records);
	t->records = NULL;
	memscope_bpf__destroy(t->skel);
	t->skel = NULL;
	t->attached = false;
}

/* Keeps the verifier's reason for each part the last fallback gave up. */
static void note_given_up(struct tracer *t, const struct load_plan *before)
{
	const struct load_plan *p = &t->plan;
	const struct {
		enum feature f;
		bool dropped;
	} parts[] = {
		{ FEATURE_KERNEL_STACKS, before->kernel_stacks && !p->kernel_stacks },
		{ FEATURE_KSTACK_CACHE, before->kstack_cache && !p->kstack_cache },
		{ FEATURE_USER_STACKS, before->user_stacks && !p->user_stacks },
		{ FEATURE_STACK_COPY, before->stack_copy && !p->stack_copy && p->user_stacks },
		{ FEATURE_OOM, before->oom != OOM_HOOK_NONE && p->oom == OOM_HOOK_NONE },
		{ FEATURE_OOM_SNAPSHOT, before->oom_snapshot && !p->oom_snapshot },
		{ FEATURE_PAGE_ACCOUNTING, before->raw_tp && !p->raw_tp },
		{ FEATURE_SPLIT_PAGES, before->split_pages && !p->split_pages },
		{ FEATURE_MOVED_PAGES, before->moved_pages && !p->moved_pages },
		{ FEATURE_EXEC_NAMES, before->exec_names && !p->exec_names },
	};

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (parts[i].dropped)
			snprintf(t->off_why[parts[i].f], sizeof(t->off_why[0]),
				 "refused by this kernel's verifier (%.63s%s%.150s)", refusal.prog,
				 refusal.reason[0] ? ": " : "", refusal.reason);
}

/* Loads the plan's programs, giving up optional parts one at a time while
 * the kernel refuses them. -errno with one message when the core itself is
 * refused. */
static int load_degrading(struct tracer *t, const struct tracer_opts *o)
{
	struct load_plan before;
	enum load_culprit culprit;
	int err;

	for (;;) {
		t->skel = memscope_bpf__open();
		if (!t->skel)
			return -errno;
		if ((err = configure(t, o)))
			return err;
		memset(&refusal, 0, sizeof(refusal));
		if (!(err = memscope_bpf__load(t->skel))) {
			if (!load_plan__loaded(&t->plan))
				return 0;
			/* Loaded without some parts: try one of them back. */
			memscope_bpf__destroy(t->skel);
			t->skel = NULL;
			continue;
		}
		culprit = load_plan__culprit(refusal.prog[0] ? refusal.prog : NULL);
		log_debug("BPF program %s refused (%s): %s", refusal.prog[0] ? refusal.prog : "?",
			  strerror(-err), refusal.reason);
		memscope_bpf__destroy(t->skel);
		t->skel = NULL;
		before = t->plan;
		if (!load_plan__degrade(&t->plan, culprit)) {
			log_error("the kernel refused memscope's BPF programs (%s%s%s)%s",
				  strerror(-err), refusal.reason[0] ? ": " : "", refusal.reason,
				  log_verbose() ? "" : "; rerun with -v for the verifier log");
			return err;
		}
		note_given_up(t, &before);
		t->hook = t->plan.raw_tp ? HOOK_RAW_TP : HOOK_TRACEPOINT;
	}
}

/* A part that is on; refused (the verifier's reason); not asked for (a
 * MEMSCOPE_DISABLE name, or --mode allocated, which tracks no frees: no
 * notice); or impossible on this kernel (absent says why). */
static void optional(const struct tracer *t, enum feature f, bool wanted, bool on,
		     const char *absent)
{
	if (on)
		features__on(f, NULL);
	else if (wanted && t->off_why[f][0])
		features__off(f, t->off_why[f]);
	else if (!t->track_frees || kfeatures__disabled(features__name(f)))
		features__not_requested(f);
	else
		features__off(f, absent);
}

/* A part that lives inside another (the kernel stack cache in the kernel
 * stack walk, the stack copy in the user stack walk): off with the outer
 * part, or refused on its own. */
static void inner_part(const struct tracer *t, enum feature f, bool wanted, bool on,
		       bool outer_on, const char *needs)
{
	if (!wanted)
		features__not_requested(f);
	else if (!on)
		features__off(f, outer_on ? t->off_why[f] : needs);
	else
		features__on(f, NULL);
}

/* After a load, what the plan gave up compared with what was wanted. */
static void report_features(const struct tracer *t, const struct load_wants *w)
{
	const struct load_plan *p = &t->plan;
	char hook[260];

	snprintf(hook, sizeof(hook), "%s%s", t->hook == HOOK_RAW_TP ? "raw_tp" : "tracepoint",
		 t->off_why[FEATURE_PAGE_ACCOUNTING][0] ? "; raw_tp " : "");
	if (t->off_why[FEATURE_PAGE_ACCOUNTING][0])
		snprintf(hook + strlen(hook), sizeof(hook) - strlen(hook), "%s",
			 t->off_why[FEATURE_PAGE_ACCOUNTING]);
	features__on(FEATURE_PAGE_ACCOUNTING, hook);
	if (!w->kernel_stacks)
		features__not_requested(FEATURE_KERNEL_STACKS);
	else if (!p->kernel_stacks)
		features__off(FEATURE_KERNEL_STACKS, t->off_why[FEATURE_KERNEL_STACKS]);
	else
		features__on(FEATURE_KERNEL_STACKS, NULL);
	inner_part(t, FEATURE_KSTACK_CACHE, w->kernel_stacks && w->kstack_cache, p->kstack_cache,
		   p->kernel_stacks, "needs kernel_stacks");
	optional(t, FEATURE_USER_STACKS, w->user_stacks, p->user_stacks, "");
	inner_part(t, FEATURE_STACK_COPY, w->user_stacks && w->stack_copy, p->stack_copy,
		   p->user_stacks, "needs user_stacks");
	if (p->oom != OOM_HOOK_NONE)
		features__on(FEATURE_OOM, p->oom == OOM_HOOK_RAW_TP ? "raw_tp" : "tracepoint");
	else if (kfeatures__disabled("oom"))
		features__not_requested(FEATURE_OOM);
	else
		features__off(FEATURE_OOM, t->off_why[FEATURE_OOM][0] ? t->off_why[FEATURE_OOM]
			      : "no oom:mark_victim tracepoint: OOM kills will not be reported");
	optional(t, FEATURE_SPLIT_PAGES, w->split_pages, p->split_pages, "");
	optional(t, FEATURE_MOVED_PAGES, w->moved_pages, p->moved_pages,
		 "no migration or collapse tracepoints: pages that migration, compaction or "
		 "khugepaged move leave their owner");
	optional(t, FEATURE_EXEC_NAMES, w->exec_names, p->exec_names,
		 "no sched_process_exec tracepoint: processes keep their pre-exec name");
	if (p->oom_snapshot)
		features__on(FEATURE_OOM_SNAPSHOT, NULL);
	else if (p->oom == OOM_HOOK_NONE)
		features__off(FEATURE_OOM_SNAPSHOT, "needs oom");
	else
		features__off(FEATURE_OOM_SNAPSHOT, t->off_why[FEATURE_OOM_SNAPSHOT][0]
			      ? t->off_why[FEATURE_OOM_SNAPSHOT]
			      : "mark_victim passes only the victim's pid before Linux 6.8");
}

static int load_and_attach(struct tracer *t, const struct tracer_opts *o)
{
	int err;

	if ((err = load_degrading(t, o)))
		return err;
	if ((err = fill_filters(t, o)))
		return err;
	if (o->track_frees &&
	    !(t->records = page_records__open(bpf_map__fd(t->skel->maps.pages), t->max_pfn,
					      bpf_map__fd(t->skel->maps.link_slot), t->max_links)))
		return -errno;
	if ((err = memscope_bpf__attach(t->skel))) {
		log_error("cannot attach to the page allocator tracepoints (%s)", strerror(-err));
		return err;
	}
	t->attached = true;
	/* OOM events first: each poll reads them before the samples, which may
	 * keep coming for as long as the poll lets them. */
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.oom_events), oom_cb, t, NULL);
	if (!t->rb)
		return -errno;
	if (ring_buffer__add(t->rb, bpf_map__fd(t->skel->maps.samples), sample_cb, t))
		return -errno;
	if (t->hook == HOOK_RAW_TP && (err = calibrate(t)))
		return err;
	return 0;
}

int tracer__start(const struct tracer_opts *o, const struct tracer_handlers *h, struct tracer **out)
{
	struct load_wants wants;
	struct tracer *t;
	uint64_t max_pfn;
	int err;

	if ((err = check_privileges()))
		return err;
	if ((err = kfeatures__require_btf()))
		return err;
	libbpf_set_print(libbpf_print);
	if ((err = pfn__max_from_zoneinfo("/proc/zoneinfo", &max_pfn))) {
		log_error("cannot size the page table from /proc/zoneinfo (%s)", strerror(-err));
		return err;
	}
	if (o->max_procs + MS_FIRST_SLOT > MS_PG_MAX_SLOTS) {
		log_error("%u processes: more than a page record can name (at most %u)",
			  o->max_procs, MS_PG_MAX_SLOTS - MS_FIRST_SLOT);
		return -E2BIG;
	}
	if (max_pfn > UINT32_MAX) {
		log_error("%llu page frames: more than memscope's pfn array can index",
			  (unsigned long long)max_pfn);
		return -E2BIG;
	}

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->h = *h;
	t->max_pfn = max_pfn;
	t->max_links = o->track_frees ? page_records__links_for(max_pfn, o->sample_every) : 2;
	t->page_size = sysconf(_SC_PAGESIZE);
	t->page_struct = page_struct_size();
	t->track_frees = o->track_frees;
	t->ncpus = libbpf_num_possible_cpus();
	t->percpu = calloc(t->ncpus > 0 ? t->ncpus : 1, sizeof(*t->percpu));
	if (t->ncpus <= 0 || !t->percpu) {
		err = t->ncpus <= 0 ? t->ncpus : -ENOMEM;
		goto fail;
	}

	wants = (struct load_wants){
		.raw_tp = kfeatures__has_raw_tp(),
		.classic_tp = kfeatures__tracepoint_exists("kmem", "mm_page_alloc"),
		.kernel_stacks = o->kernel_stacks,
		.kstack_cache = !kfeatures__disabled("kstack_cache"),
		.user_stacks = !kfeatures__disabled("user_stacks"),
		.stack_copy = !kfeatures__disabled("stack_copy"),
		.oom = best_oom_hook(),
		.oom_tracepoint = !kfeatures__disabled("oom") &&
				  kfeatures__tracepoint_exists("oom", "mark_victim"),
		.split_pages = o->track_frees && !kfeatures__disabled("split_pages"),
		.moved_pages = o->track_frees && !kfeatures__disabled("moved_pages") &&
			     kfeatures__has_raw_tracepoint("set_migration_pte") &&
			     kfeatures__has_raw_tracepoint("remove_migration_pte") &&
			     kfeatures__has_raw_tracepoint("set_migration_pmd") &&
			     kfeatures__has_raw_tracepoint("remove_migration_pmd") &&
			     kfeatures__has_raw_tracepoint("mm_collapse_huge_page"),
		.exec_names = !kfeatures__disabled("exec_names") &&
			      kfeatures__has_raw_tracepoint("sched_process_exec"),
	};
	load_plan__init(&t->plan, &wants);
	t->hook = t->plan.raw_tp ? HOOK_RAW_TP : HOOK_TRACEPOINT;
	if (t->hook == HOOK_RAW_TP) {
		err = load_and_attach(t, o);
		if (!err)
			goto done;
		if (err != -ENOENT && err != -EPERM)
			goto fail;
		log_notice("cannot map struct page to pfn here (%s): using the classic kmem "
			   "tracepoints, which cost more per page", strerror(-err));
		destroy_bpf(t);
		wants.raw_tp = false;
		load_plan__init(&t->plan, &wants);
		t->hook = HOOK_TRACEPOINT;
	} else {
		log_notice("raw tracepoints unavailable: using the classic kmem tracepoints, "
			   "which cost more per page");
	}
	if ((err = kfeatures__require_tracepoint("kmem", "mm_page_alloc")))
		goto fail;
	if ((err = load_and_attach(t, o)))
		goto fail;
done:
	report_features(t, &wants);
	*out = t;
	return 0;
fail:
	tracer__free(t);
	return err;
}

enum tracer_hook tracer__hook(const struct tracer *t) { return t->hook; }
const char *tracer__oom_hook(const struct tracer *t)
{
	switch (t->plan.oom) {
	case OOM_HOOK_RAW_TP:
		return "raw_tp";
	case OOM_HOOK_TRACEPOINT:
		return "tracepoint";
	default:
		return NULL;
	}
}

void tracer__thaw_slot(struct tracer *t, uint32_t slot)
{
	uint32_t zero = 0;

	bpf_map__update_elem(t->skel->maps.slot_flags, &slot, sizeof(slot), &zero, sizeof(zero),
			     BPF_ANY);
}
uint64_t tracer__page_size(const struct tracer *t) { return t->page_size; }

int tracer__poll(struct tracer *t, int timeout_ms)
{
	int n;

	if (!t->rb)
		return 0;
	t->consumed = 0;
	n = ring_buffer__consume(t->rb);
	/* Samples are submitted without wakeups; sleeping here is what batches them. */
	if (n == 0 && timeout_ms > 0)
		n = ring_buffer__poll(t->rb, timeout_ms);
	/* Cut short by a tick (or a signal): more may be waiting. */
	return n == -EINTR ? (int)t->consumed : n;
}

void tracer__stop(struct tracer *t)
{
	if (!t->attached)
		return;
	memscope_bpf__detach(t->skel);
	t->attached = false;
	/* Nothing more comes in: read all of it, whatever the tick says. */
	t->h.tick = NULL;
	if (t->rb)
		ring_buffer__consume(t->rb);
}

int tracer__recycle_slot(struct tracer *t, const struct ms_proc_key *key, uint32_t slot)
{
	uint32_t zero = 0;

	if (slot < MS_FIRST_SLOT)
		return -EINVAL;
	/* Gone from procs first, so no new allocation can find the slot while
	 * its counters are cleared. */
	if (bpf_map__delete_elem(t->skel->maps.procs, key, sizeof(*key), 0))
		return -errno;
	memset(t->percpu, 0, t->ncpus * sizeof(*t->percpu));
	if (bpf_map__update_elem(t->skel->maps.proc_stats, &slot, sizeof(slot), t->percpu,
				 t->ncpus * sizeof(*t->percpu), BPF_ANY) ||
	    bpf_map__update_elem(t->skel->maps.slot_flags, &slot, sizeof(slot), &zero,
				 sizeof(zero), BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(t->skel->maps.free_slots), NULL, &slot, BPF_ANY))
		return -errno;
	return 0;
}

int tracer__for_each_proc(struct tracer *t, tracer_proc_fn fn, void *ctx)
{
	int fd = bpf_map__fd(t->skel->maps.procs);
	struct ms_proc_key key, next;
	struct ms_proc_info info;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (bpf_map_lookup_elem(fd, &next, &info) == 0)
			fn(ctx, &next, &info);
		key = next;
		prev = &key;
	}
	return errno == ENOENT ? 0 : -errno;
}

int tracer__proc_stats(struct tracer *t, uint32_t slot, struct ms_proc_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.proc_stats), &slot, t->percpu))
		return -errno;
	for (int c = 0; c < t->ncpus; c++) {
		out->alloc_bytes += t->percpu[c].alloc_bytes;
		out->free_bytes += t->percpu[c].free_bytes;
		out->alloc_events += t->percpu[c].alloc_events;
		out->free_events += t->percpu[c].free_events;
	}
	return 0;
}

uint32_t tracer__slots_used(const struct tracer *t)
{
	uint32_t next = __atomic_load_n(&t->skel->data->next_slot, __ATOMIC_RELAXED);
	uint32_t max = t->skel->rodata->max_slots;

	return next < max ? next : max;
}

struct page_records *tracer__page_records(const struct tracer *t)
{
	return t->records;
}

int tracer__kstack(struct tracer *t, int32_t id, uint64_t *ips, size_t max, size_t *n)
{
	uint64_t buf[127] = {};
	size_t i;

	*n = 0;
	if (id < 0)
		return -ENOENT;
	if (bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.kstacks), &id, buf))
		return -errno;
	for (i = 0; i < 127 && i < max && buf[i]; i++)
		ips[i] = buf[i];
	*n = i;
	return 0;
}

uint64_t tracer__pages_moved(const struct tracer *t)
{
	/* A split moves a sample too: from the freed head to a piece. */
	return __atomic_load_n(&t->skel->bss->moves.migrated, __ATOMIC_RELAXED) +
	       __atomic_load_n(&t->skel->bss->moves.collapsed, __ATOMIC_RELAXED) +
	       __atomic_load_n(&t->skel->bss->moves.split, __ATOMIC_RELAXED);
}

void tracer__drops(struct tracer *t, struct tracer_drops *out)
{
	struct bpf_program *prog;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < MS_NR_DROPS; i++)
		out->kernel[i] = __atomic_load_n(&t->skel->bss->drops[i], __ATOMIC_RELAXED);
	bpf_object__for_each_program(prog, t->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			out->recursion_misses += info.recursion_misses;
	}
	out->healed_frees = __atomic_load_n(&t->skel->bss->healed_frees, __ATOMIC_RELAXED);
	out->kcache_hits = __atomic_load_n(&t->skel->bss->kcache_hits, __ATOMIC_RELAXED);
	out->kcache_checks = __atomic_load_n(&t->skel->bss->kcache_checks, __ATOMIC_RELAXED);
	out->kcache_mismatches = __atomic_load_n(&t->skel->bss->kcache_mismatches,
						 __ATOMIC_RELAXED);
	out->moves.collapsed = __atomic_load_n(&t->skel->bss->moves.collapsed, __ATOMIC_RELAXED);
	out->moves.migrated = __atomic_load_n(&t->skel->bss->moves.migrated, __ATOMIC_RELAXED);
	out->moves.split = __atomic_load_n(&t->skel->bss->moves.split, __ATOMIC_RELAXED);
	out->moves.unattributed = __atomic_load_n(&t->skel->bss->moves.unattributed,
						  __ATOMIC_RELAXED);
}

void tracer__free(struct tracer *t)
{
	if (!t)
		return;
	destroy_bpf(t);
	free(t->percpu);
	free(t);
}

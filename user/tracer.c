#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/capability.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kfeatures.h"
#include "log.h"
#include "memscope.skel.h"
#include "pfn.h"
#include "tracer.h"

struct tracer {
	struct memscope_bpf *skel;
	struct ring_buffer *rb;
	enum tracer_hook hook;
	struct tracer_handlers h;
	const char *oom_hook;
	struct page_records *records;	/* NULL without free tracking */
	size_t max_pfn;
	uint64_t page_size;
	uint64_t page_struct;		/* sizeof(struct page) */
	bool track_frees;
	int ncpus;
	struct ms_proc_stats *percpu;	/* scratch for one slot's per-CPU values */
	bool attached;
	uint32_t consumed;		/* samples read by the current poll */
};

/* libbpf's own chatter (and the verifier log) only with -v: without it the
 * one line we print on failure says what to do. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!log_verbose() || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int check_privileges(void)
{
	cap_flag_value_t admin = CAP_CLEAR, bpf = CAP_CLEAR, perfmon = CAP_CLEAR;
	cap_t caps = cap_get_proc();

	if (!caps)
		return -errno;
	cap_get_flag(caps, CAP_SYS_ADMIN, CAP_EFFECTIVE, &admin);
#ifdef CAP_BPF
	cap_get_flag(caps, CAP_BPF, CAP_EFFECTIVE, &bpf);
	cap_get_flag(caps, CAP_PERFMON, CAP_EFFECTIVE, &perfmon);
#endif
	cap_free(caps);
	/* CAP_SYS_ADMIN also covers reading other processes' pagemap and map_files. */
	if (admin == CAP_SET || (bpf == CAP_SET && perfmon == CAP_SET))
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

/* oom:mark_victim passes the victim task since Linux 6.8, only its pid before:
 * the raw tracepoint needs the task, the classic one works with either. */
static const char *choose_oom_program(void)
{
	const struct btf_type *t;
	const struct btf_param *p;
	struct btf *btf;
	const char *hook = NULL;
	int id;

	if (kfeatures__disabled("oom"))
		return NULL;
	btf = btf__load_vmlinux_btf();
	id = btf ? btf__find_by_name_kind(btf, "btf_trace_mark_victim", BTF_KIND_TYPEDEF) : -1;
	if (id > 0) {
		t = btf__type_by_id(btf, btf__resolve_type(btf, id));
		if (t && btf_is_ptr(t))
			t = btf__type_by_id(btf, t->type);
		if (t && btf_is_func_proto(t) && btf_vlen(t) >= 2) {
			p = btf_params(t);
			t = btf__type_by_id(btf, btf__resolve_type(btf, p[1].type));
			if (t && btf_is_ptr(t) && !kfeatures__disabled("raw_tp"))
				hook = "raw_tp";
		}
	}
	btf__free(btf);
	if (!hook && kfeatures__tracepoint_exists("oom", "mark_victim"))
		hook = "tracepoint";
	return hook;
}

static void choose_programs(struct tracer *t)
{
	struct memscope_bpf *skel = t->skel;
	bool btf = t->hook == HOOK_RAW_TP;

	bpf_program__set_autoload(skel->progs.page_alloc_raw, btf);
	bpf_program__set_autoload(skel->progs.page_free_raw, btf);
	bpf_program__set_autoload(skel->progs.page_free_batched_raw, btf);
	bpf_program__set_autoload(skel->progs.page_alloc_tp, !btf);
	bpf_program__set_autoload(skel->progs.page_free_tp, !btf);
	bpf_program__set_autoload(skel->progs.page_free_batched_tp, !btf);
	/* Without free tracking the free hooks would only cost. */
	if (!t->track_frees) {
		bpf_program__set_autoload(skel->progs.page_free_raw, false);
		bpf_program__set_autoload(skel->progs.page_free_batched_raw, false);
		bpf_program__set_autoload(skel->progs.page_free_tp, false);
		bpf_program__set_autoload(skel->progs.page_free_batched_tp, false);
	}
	bpf_program__set_autoload(skel->progs.oom_victim_raw, t->oom_hook && !strcmp(t->oom_hook, "raw_tp"));
	bpf_program__set_autoload(skel->progs.oom_victim_tp,
				  t->oom_hook && !strcmp(t->oom_hook, "tracepoint"));
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
	skel->rodata->track_frees = o->track_frees;
	skel->rodata->kernel_stacks = o->kernel_stacks;
	skel->rodata->kstack_cache = !kfeatures__disabled("kstack_cache");
	skel->rodata->filter_tgids_on = o->n_tgids > 0;
	skel->rodata->filter_cgroups_on = o->n_cgids > 0;
	skel->rodata->sample_every = o->sample_every ? o->sample_every : 1;
	choose_programs(t);

	if ((err = bpf_map__set_max_entries(skel->maps.pages, o->track_frees ? t->max_pfn : 1)) ||
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

	if (size >= sizeof(struct ms_sample))
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

static int load_and_attach(struct tracer *t, const struct tracer_opts *o)
{
	int err;

	t->skel = memscope_bpf__open();
	if (!t->skel)
		return -errno;
	if ((err = configure(t, o)))
		return err;
	if ((err = memscope_bpf__load(t->skel))) {
		log_error("the kernel refused memscope's BPF programs (%s)%s", strerror(-err),
			  log_verbose() ? "" : ": rerun with -v for the verifier log");
		return err;
	}
	if ((err = fill_filters(t, o)))
		return err;
	if (o->track_frees &&
	    !(t->records = page_records__open(bpf_map__fd(t->skel->maps.pages), t->max_pfn)))
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
	t->page_size = sysconf(_SC_PAGESIZE);
	t->page_struct = page_struct_size();
	t->track_frees = o->track_frees;
	t->ncpus = libbpf_num_possible_cpus();
	t->percpu = calloc(t->ncpus > 0 ? t->ncpus : 1, sizeof(*t->percpu));
	if (t->ncpus <= 0 || !t->percpu) {
		err = t->ncpus <= 0 ? t->ncpus : -ENOMEM;
		goto fail;
	}

	t->oom_hook = choose_oom_program();
	if (!t->oom_hook)
		log_notice("no usable oom:mark_victim tracepoint: OOM kills will not be reported");
	t->hook = kfeatures__has_raw_tp() ? HOOK_RAW_TP : HOOK_TRACEPOINT;
	if (t->hook == HOOK_RAW_TP) {
		err = load_and_attach(t, o);
		if (!err)
			goto done;
		if (err != -ENOENT && err != -EPERM)
			goto fail;
		log_notice("cannot map struct page to pfn here (%s): using the classic kmem "
			   "tracepoints, which cost more per page", strerror(-err));
		destroy_bpf(t);
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
	*out = t;
	return 0;
fail:
	tracer__free(t);
	return err;
}

enum tracer_hook tracer__hook(const struct tracer *t) { return t->hook; }
const char *tracer__oom_hook(const struct tracer *t) { return t->oom_hook; }

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

static const struct {
	const char *key;
	const char *text;
} drop_names[MS_NR_DROPS] = {
	[MS_DROP_PROCS_FULL] = { "procs_full", "process table full (counted in [overflow])" },
	[MS_DROP_PFN_RANGE] = { "pfn_out_of_range", "pfn out of range (hot-added memory)" },
	[MS_DROP_RINGBUF] = { "ringbuf_full", "samples lost, ring buffer full (raise --ringbuf)" },
	[MS_DROP_USTACK] = { "ustack_missing", "user stacks not walkable" },
	[MS_DROP_KSTACK] = { "kstack_missing", "kernel stacks not stored (raise --kstacks)" },
	[MS_DROP_SNAP] = { "stack_snapshot_missing", "user stack bytes unreadable" },
};

const char *tracer__drop_key(int drop)
{
	return drop >= 0 && drop < MS_NR_DROPS ? drop_names[drop].key : NULL;
}

const char *tracer__drop_text(int drop)
{
	return drop >= 0 && drop < MS_NR_DROPS ? drop_names[drop].text : NULL;
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
}

void tracer__free(struct tracer *t)
{
	if (!t)
		return;
	destroy_bpf(t);
	free(t->percpu);
	free(t);
}

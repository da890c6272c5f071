// SPDX-License-Identifier: GPL-2.0
/* Page allocator tracing: every page allocated while memscope runs is charged
 * exactly to its (memory cgroup, process); one allocation in N (by bytes) also
 * carries its stacks to user space. A free is subtracted from whoever allocated
 * the page, found through a flat array indexed by pfn, so the free path does
 * no hashing and no stack walk. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "memscope.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by user space before load. */
const volatile __u64 max_pfn = 1;
const volatile __u32 page_shift = 12;
/* log2(sizeof(struct page)) when a power of two (64 on every mainstream
 * config), so the hot paths shift instead of dividing; 0 = divide. */
const volatile __u32 page_struct_shift = 0;
const volatile __u32 max_slots = 2;
/* Sample ids a page record can hold at once: the size of link_slot. */
const volatile __u32 max_links = 2;
const volatile bool track_frees = true;
const volatile bool kernel_stacks = true;
const volatile bool kstack_cache = true;
const volatile bool filter_tgids_on = false;
const volatile bool filter_cgroups_on = false;
/* One page in sample_every carries stacks, chosen by a per-CPU countdown of
 * pages: an allocation of 2^order pages is sampled with probability
 * 2^order / sample_every (always from sample_every pages up), and only the
 * sampled ones draw a random number. */
const volatile __u32 sample_every = 256;
/* Optional parts, each switched off by user space when this kernel's
 * verifier refuses it (the verifier then drops the dead code): the core,
 * page accounting, loads without them. */
const volatile bool user_stacks = true;
/* The user stack copy for the CFI unwind: without it (a kernel refusing the
 * copy) user stacks are the frame-pointer walk alone. */
const volatile bool stack_copy = true;
const volatile bool oom_snapshot = true;
const volatile bool split_pages = true;
/* khugepaged's huge pages go to the process whose pages they replace (the
 * collapse program tells whose); off with that program. */
const volatile bool track_collapse = true;
/* Test-only (MEMSCOPE_REFUSE): parts that must look refused by the verifier,
 * so the loader's fallbacks run on a kernel that accepts everything. */
const volatile __u32 refuse = 0;

/* Written by user space at run time (the .bss is mmapped). */
__u64 vmemmap_base;		/* 0 until calibrated; unused by the classic tracepoints (they pass the pfn) */
__u32 calib_tid;
__u32 calib_n;
__u64 calib_ptrs[MS_CALIB_SLOTS];
/* What the free hooks saw of the calibration pages being unmapped: tells user
 * space whether mm_page_free already covers the batched frees. */
__u32 calib_free_n, calib_batched_n;
__u64 calib_free_ptrs[MS_CALIB_FREES];
__u64 calib_batched_ptrs[MS_CALIB_FREES];
/* Set for good by the first OOM freeze: until then frees skip the slot flags. */
__u32 any_frozen;
/* Pages found still live when allocated again: their free was missed (the
 * kernel skipped a nested run of the free program), and is settled here. */
__u64 healed_frees;
__u32 next_slot = MS_FIRST_SLOT;
__u64 next_sample_id = 1;	/* without page records (track_frees off) */
__u32 next_link = 1;		/* sample ids never handed out start here; 0 is none */
__u64 drops[MS_NR_DROPS];
struct ms_moves moves;
/* khugepaged, once it has allocated, and the huge page it allocated last:
 * when the collapse ends (mm_collapse_huge_page), the page goes to the
 * owner of the mm it collapsed. */
__u64 khugepaged_task;
struct {
	__u64 pfn;
	__u32 order;
	__u32 slot;		/* khugepaged's own */
	__u32 owner;		/* who it went to; 0 while pending */
	__u32 pending;
	__u32 seen_slot;	/* a sample among the pages khugepaged freed meanwhile */
	__u32 seen_sample;
} collapse;
/* The last huge pages handed over: the small pages they replace may be
 * freed well after (a batch drained later), and one that carries a sample
 * gives it to a huge page of the same owner still without one. */
#define MS_COLLAPSE_RING 8
struct {
	__u64 pfn;
	__u32 order;
	__u32 owner;
} collapse_given[MS_COLLAPSE_RING];
__u32 collapse_given_n;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct ms_pg_group);
	__uint(max_entries, 1);		/* resized to ms_pg_values(max_pfn) */
} pages SEC(".maps");

/* The owner's slot of each sampled page (see MS_PG_LINK), by sample id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct ms_pg_group);
	__uint(max_entries, 1);		/* resized to ms_pg_values(max_links) */
} link_slot SEC(".maps");

/* Sample ids given back by the pages that held them. */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__type(value, __u32);
	__uint(max_entries, 1);		/* resized to max_links */
} free_links SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct ms_proc_key);
	__type(value, struct ms_proc_info);
	__uint(max_entries, 1);		/* resized to max_slots */
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct ms_proc_stats);
	__uint(max_entries, 1);		/* resized to max_slots */
} proc_stats SEC(".maps");

/* Last task seen on this CPU: consecutive allocations nearly always come
 * from the same task, and a hit costs two compares instead of a hash lookup
 * and the pointer chase to the memory cgroup. */
struct cpu_cache {
	__s64 countdown;	/* pages to allocate on this CPU before the next sample */
	__u64 task;
	__u64 css_set;		/* changes when the task moves to another cgroup */
	__u64 cgid;
	__u64 start_ns;
	__u32 tgid;
	__u32 slot;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct cpu_cache);
	__uint(max_entries, 1);
} cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);	/* resized by --ringbuf */
} samples SEC(".maps");

/* A sample is built here and sent with only the stack bytes copied: a ring
 * buffer reservation has a fixed size, and most samples copy less than
 * MS_STACK_SNAP. busy: a program that interrupted one building its sample
 * on this CPU (an allocation in an interrupt) must not reuse the buffer. */
struct sample_buf {
	__u32 busy;
	__u32 pad;
	struct ms_sample s;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct sample_buf);
	__uint(max_entries, 1);
} sample_bufs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
	__uint(max_entries, 16384);
} kstacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);		/* resized to max_slots */
} slot_flags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__type(value, __u32);
	__uint(max_entries, 1);		/* resized to max_slots */
} free_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 10);
} oom_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u8);
	__uint(max_entries, 1024);
} filter_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, __u8);
	__uint(max_entries, 1024);
} filter_cgroups SEC(".maps");

/* An instruction every verifier rejects (a read above the frame): placed
 * behind a `refuse` bit, it makes one feature's code fail to load exactly as
 * a kernel that cannot verify it would. Dead, and removed, when the bit is 0. */
static __always_inline void refused_if(__u32 feature)
{
	if (refuse & feature)
		asm volatile("r0 = *(u64 *)(r10 + 8)" ::: "r0");
}

static __always_inline void count_drop(enum ms_drop d)
{
	__sync_fetch_and_add(&drops[d], 1);
}

static __always_inline struct cgroup_subsys_state *task_memcg_css(struct task_struct *task)
{
	int id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);

	return BPF_CORE_READ(task, cgroups, subsys[id]);
}

/* The memory cgroup that will be charged for the task's pages: on cgroup v1
 * the memory hierarchy's cgroup, on v2 the unified one. kn->id is the
 * cgroup directory's inode number, which user space maps back to a path. */
static __always_inline struct cgroup *task_memcg(struct task_struct *task)
{
	return BPF_CORE_READ(task_memcg_css(task), cgroup);
}

/* Linux 6.15 renamed kernfs_node::parent to __parent (it became RCU-protected). */
struct kernfs_node___pre615 {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(kn->__parent))
		return BPF_CORE_READ(kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___pre615 *)kn, parent);
}

static __always_inline bool cgroup_selected(struct cgroup *cg)
{
	struct kernfs_node *kn = BPF_CORE_READ(cg, kn);

	/* A container's processes may sit in child cgroups of the one asked for. */
	for (int i = 0; i < 16 && kn; i++) {
		__u64 id = BPF_CORE_READ(kn, id);

		if (bpf_map_lookup_elem(&filter_cgroups, &id))
			return true;
		kn = kn_parent(kn);
	}
	return false;
}

/* Notes khugepaged's task the first time it allocates, whatever the
 * filters: the huge pages it allocates are for processes it collapses. */
static __always_inline void spot_khugepaged(struct task_struct *task)
{
	static const char name[] = "khugepaged";
	char comm[MS_COMM_LEN];

	if (!track_collapse || khugepaged_task || !(task->flags & 0x00200000 /* PF_KTHREAD */))
		return;
	bpf_get_current_comm(comm, sizeof(comm));
	for (int i = 0; i < sizeof(name); i++)
		if (comm[i] != name[i])
			return;
	khugepaged_task = (__u64)task;
}

static __always_inline __u32 new_slot(struct ms_proc_key *key)
{
	struct ms_proc_info info = {}, *old;
	__u32 slot;

	/* Slots of processes that exited with nothing left, zeroed by user
	 * space, come first: a long run on a host that forks all day stays
	 * within the table. */
	if (bpf_map_pop_elem(&free_slots, &slot))
		slot = __sync_fetch_and_add(&next_slot, 1);
	if (slot >= max_slots) {
		count_drop(MS_DROP_PROCS_FULL);
		return MS_SLOT_OVERFLOW;
	}
	info.slot = slot;
	bpf_get_current_comm(info.comm, sizeof(info.comm));
	if (bpf_map_update_elem(&procs, key, &info, BPF_NOEXIST) == 0)
		return slot;
	/* Another CPU registered the same process first: use its slot. */
	old = bpf_map_lookup_elem(&procs, key);
	return old ? old->slot : MS_SLOT_OVERFLOW;
}

/* Slot of the current process, MS_SLOT_NONE when filtered out; c is this
 * CPU's cache entry. */
static __always_inline __u32 current_slot(struct cpu_cache *c, struct ms_proc_key *key)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 css_set = (__u64)task->cgroups;	/* a direct load: no helper call */
	struct ms_proc_info *info;
	struct cgroup *cg;

	/* The tgid too: a new process may get a dead one's task_struct memory. */
	if (c->task == (__u64)task && c->css_set == css_set && c->tgid == task->tgid) {
		key->cgid = c->cgid;
		key->tgid = c->tgid;
		key->start_ns = c->start_ns;
		return c->slot;
	}

	cg = task_memcg(task);
	key->tgid = task->tgid;
	key->start_ns = BPF_CORE_READ(task, group_leader, start_time);
	key->cgid = BPF_CORE_READ(cg, kn, id);
	key->pad = 0;
	c->task = (__u64)task;
	c->css_set = css_set;
	c->cgid = key->cgid;
	c->tgid = key->tgid;
	c->start_ns = key->start_ns;
	spot_khugepaged(task);

	if ((filter_tgids_on && !bpf_map_lookup_elem(&filter_tgids, &key->tgid)) ||
	    (filter_cgroups_on && !cgroup_selected(cg))) {
		c->slot = MS_SLOT_NONE;
		return MS_SLOT_NONE;
	}
	info = bpf_map_lookup_elem(&procs, key);
	c->slot = info ? info->slot : new_slot(key);
	return c->slot;
}

/* The gap to the next sample, uniform in [1, 2 * sample_every - 1] pages:
 * its mean keeps the rate, its spread keeps a periodic allocation pattern
 * from always landing on (or always missing) the sample. */
static __always_inline __s64 sample_gap(void)
{
	return sample_every > 1 ? 1 + bpf_get_prandom_u32() % (2 * sample_every - 1) : 1;
}

static __always_inline bool want_sample(struct cpu_cache *c, __u32 order)
{
	if (order >= MS_MAX_ORDER || (1u << order) >= sample_every)
		return true;
	c->countdown -= 1 << order;
	if (c->countdown > 0)
		return false;
	/* A debt left by a big allocation carries over, so the long-run rate
	 * stays one page in sample_every. */
	c->countdown += sample_gap();
	return true;
}

/* Walking a kernel stack costs microseconds, and an allocation's kernel
 * stack is nearly always one of a few paths (the page fault, a syscall's).
 * A sample reuses the stack walked last from the same spot: the same user
 * instruction that entered the kernel, the same depth of the kernel stack at
 * the tracepoint, the same gfp flags and order. One use in MS_KCACHE_CHECK
 * walks again and compares; a mismatch is counted and replaces the entry. */
struct kcache_ent {
	__u64 uip;
	__u64 where;		/* depth << 32 | gfp << 8 | order */
	__s32 stack_id;
	__u32 uses;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct kcache_ent);
	__uint(max_entries, MS_KCACHE_SLOTS);
} kcache SEC(".maps");

__u64 kcache_hits, kcache_checks, kcache_mismatches;

/* How deep the kernel stack is here: the tracepoint's argument array (ctx)
 * lives in the caller's frame on the task's stack. */
static __always_inline __u64 kstack_depth(void *ctx, struct task_struct *task)
{
	__u64 here = 0, base = 0;
	void *p = ctx;

	/* Both read back through the helper, so both are plain numbers: the
	 * verifier lets no pointer become one otherwise, and some 6.18 builds
	 * type task->stack as untrusted memory, where a difference of two such
	 * pointers stays a pointer and its 32-bit spill is refused. */
	bpf_probe_read_kernel(&here, sizeof(here), &p);
	bpf_probe_read_kernel(&base, sizeof(base), &task->stack);
	return here - base;
}

static __always_inline __s32 walk_kstack(void *ctx)
{
	__s32 id;

	refused_if(MS_FEAT_KERNEL_STACKS);
	id = bpf_get_stackid(ctx, &kstacks, 0);

	if (id < 0)
		count_drop(MS_DROP_KSTACK);
	return id;
}

static __always_inline __s32 kernel_stack_id(void *ctx, struct task_struct *task, __u64 uip,
					     __u32 order, __u32 gfp)
{
	__u64 depth = kstack_depth(ctx, task), where;
	struct kcache_ent *e;
	bool cached;
	__u32 idx;
	__s32 id;

	/* Off the task's stack (an interrupt stack): no stable depth. */
	if (!kstack_cache || depth >= MS_KSTACK_MAX_DEPTH)
		return walk_kstack(ctx);
	refused_if(MS_FEAT_KSTACK_CACHE);
	where = depth << 32 | (__u64)gfp << 8 | (order & 0xff);
	idx = ((uip ^ where) * 0x9E3779B97F4A7C15ULL) >> (64 - MS_KCACHE_BITS);
	e = bpf_map_lookup_elem(&kcache, &idx);
	if (!e)
		return walk_kstack(ctx);
	cached = e->uip == uip && e->where == where && e->stack_id >= 0;
	if (cached && ++e->uses % MS_KCACHE_CHECK) {
		__sync_fetch_and_add(&kcache_hits, 1);
		return e->stack_id;
	}
	id = walk_kstack(ctx);
	if (cached) {
		__sync_fetch_and_add(&kcache_checks, 1);
		if (id != e->stack_id)
			__sync_fetch_and_add(&kcache_mismatches, 1);
	}
	e->uip = uip;
	e->where = where;
	e->stack_id = id;
	return id;
}

/* The user stack by frame pointers, walked here rather than by
 * bpf_get_stack: the kernel's walk follows the chain until a read faults, and
 * nearly every chain ends in one (the outermost frame pointer is 0, and
 * frameless code leaves garbage in rbp), at about 1 µs of exception handling
 * a sample. This walk reads only what can be a frame: above sp, above the
 * frame before it, 8-byte aligned, within MS_USTACK_MAX_SPAN of sp. Returns
 * the frames stored, the ip first; -1 when bp looked like a frame and could
 * not be read. */
static __always_inline int walk_ustack(struct ms_sample *s)
{
	__u64 fp = s->bp, frame[2];
	int n = 1;

	s->ustack[0] = s->ip;
	for (int i = 1; i < MS_MAX_USTACK; i++) {
		if (fp < s->sp || fp - s->sp >= MS_USTACK_MAX_SPAN || (fp & 7))
			break;
		if (bpf_probe_read_user(frame, sizeof(frame), (void *)fp))
			return i == 1 ? -1 : n;
		if (!frame[1])
			break;
		s->ustack[i] = frame[1];
		n = i + 1;
		if (frame[0] <= fp)
			break;
		fp = frame[0];
	}
	return n;
}

/* Copies the user stack from sp into s->snap: MS_STACK_SNAP bytes, or, when
 * that crosses the end of the stack mapping, what lies before it (to the
 * end of sp's page and whole pages after). On the main thread nothing above
 * start_stack (argc, where _start began: the outermost frame) is needed, and
 * a shallow stack copies only its few hundred bytes. Returns the bytes copied. */
static __always_inline __u32 copy_ustack(struct ms_sample *s, __u64 start_stack)
{
	__u32 rem = 4096 - (s->sp & 4095), len;

	if (start_stack > s->sp && start_stack - s->sp < MS_STACK_SNAP - 64) {
		len = ((start_stack - s->sp) & ~7ULL) + 64;
		barrier_var(len);
		if (len <= MS_STACK_SNAP && bpf_probe_read_user(s->snap, len, (void *)s->sp) == 0)
			return len;
	}
	if (bpf_probe_read_user(s->snap, MS_STACK_SNAP, (void *)s->sp) == 0)
		return MS_STACK_SNAP;
	for (int pages = MS_STACK_SNAP / 4096 - 1; pages >= 0; pages--) {
		len = rem + pages * 4096;
		barrier_var(len);
		if (len > MS_STACK_SNAP)
			continue;
		if (bpf_probe_read_user(s->snap, len, (void *)s->sp) == 0)
			return len;
	}
	count_drop(MS_DROP_SNAP);
	return 0;
}

/* Element i of an array of ms_pg_group values. */
static __always_inline __u32 *group_elem(void *map, __u64 i)
{
	__u32 key = i / MS_PG_PER_VALUE;
	struct ms_pg_group *g = bpf_map_lookup_elem(map, &key);

	return g ? &g->r[i % MS_PG_PER_VALUE] : NULL;
}

/* A sample id for a page of slot's, 0 when every id is held by a page.
 * Ids never handed out go first, then the oldest given back: the longer
 * before an id comes again, the less often user space meets a page under
 * an id whose new sample it has not read yet. */
static __always_inline __u32 take_link(__u32 slot)
{
	__u32 id = max_links, *owner;

	if (next_link < max_links)
		id = __sync_fetch_and_add(&next_link, 1);
	if (id >= max_links && bpf_map_pop_elem(&free_links, &id)) {
		count_drop(MS_DROP_LINKS_FULL);
		return 0;
	}
	owner = group_elem(&link_slot, id);
	if (!owner)
		return 0;
	*owner = slot;
	return id;
}

/* The record that held sample id is gone: the id can be handed out again.
 * Each id is given back once, by the one record that holds it. */
static __always_inline void put_link(__u32 id)
{
	if (id)
		bpf_map_push_elem(&free_links, &id, 0);
}

/* The owner's slot of a record. */
static __always_inline __u32 rec_slot(__u32 r)
{
	__u32 id, *owner;

	if (ms_pg_tail(r))
		return ms_pg_tail_slot(r);
	if (!ms_pg_linked(r))
		return ms_pg_low(r);
	id = ms_pg_low(r);
	owner = group_elem(&link_slot, id);
	return owner ? *owner : MS_SLOT_NONE;
}

/* The same head with another order, SPLIT and FREED cleared: a piece of a
 * split page, standing for itself. */
static __always_inline __u32 rec_with_order(__u32 r, __u32 order)
{
	return (r & (MS_PG_LINK | MS_PG_LOW_MASK)) | ((order & MS_PG_ORDER_MASK) << MS_PG_ORDER_SHIFT);
}

/* The same head, its sample given to another record. */
static __always_inline __u32 rec_unlinked(__u32 r, __u32 slot)
{
	return (r & ~(MS_PG_LINK | MS_PG_LOW_MASK)) | (slot & MS_PG_LOW_MASK);
}

static __always_inline __u32 emit_sample(void *ctx, struct ms_proc_key *key, __u32 slot,
					 __u64 pfn, __u32 order, __u32 gfp)
{
	struct task_struct *task = bpf_get_current_task_btf();
	bool user = user_stacks && !(task->flags & 0x00200000 /* PF_KTHREAD */) && task->mm;
	struct sample_buf *buf;
	struct ms_sample *s;
	struct pt_regs *regs;
	__u32 id, zero = 0, len;
	__u64 flags;
	int n;

	buf = bpf_map_lookup_elem(&sample_bufs, &zero);
	if (!buf || buf->busy) {
		count_drop(MS_DROP_RINGBUF);
		return 0;
	}
	s = &buf->s;
	if (track_frees) {
		/* The id goes in the page's record: one that is free. */
		id = take_link(slot);
		if (!id)
			return 0;
		s->id = id;
	} else {
		s->id = __sync_fetch_and_add(&next_sample_id, 1);
		id = 0;
	}
	buf->busy = 1;
	s->cgid = key->cgid;
	s->start_ns = key->start_ns;
	s->pfn = pfn;
	s->tgid = key->tgid;
	s->tid = (__u32)bpf_get_current_pid_tgid();
	s->slot = slot;
	s->order = order;
	s->gfp = gfp;
	bpf_get_current_comm(s->comm, sizeof(s->comm));

	s->ip = s->sp = s->bp = 0;
	if (user) {
		refused_if(MS_FEAT_USER_STACKS);
		regs = (struct pt_regs *)bpf_task_pt_regs(task);
		s->ip = BPF_CORE_READ(regs, ip);
		s->sp = BPF_CORE_READ(regs, sp);
		s->bp = BPF_CORE_READ(regs, bp);
	}
	s->kstack_id = kernel_stacks ? kernel_stack_id(ctx, task, s->ip, order, gfp) : -1;

	s->ustack_len = 0;
	s->snap_len = 0;
	if (user) {
		n = walk_ustack(s);
		if (n < 0) {
			count_drop(MS_DROP_USTACK);
			n = 1;
		}
		s->ustack_len = n;
		if (stack_copy) {
			refused_if(MS_FEAT_STACK_COPY);
			s->snap_len = copy_ustack(s, BPF_CORE_READ(task, mm, start_stack));
		}
	}

	/* Wake the reader only when the buffer fills up: it polls on its own
	 * clock, and a wakeup per sample would cost more than the sample. */
	if (bpf_ringbuf_query(&samples, BPF_RB_AVAIL_DATA) > bpf_ringbuf_query(&samples, BPF_RB_RING_SIZE) / 2)
		flags = BPF_RB_FORCE_WAKEUP;
	else
		flags = BPF_RB_NO_WAKEUP;
	len = s->snap_len;
	barrier_var(len);
	if (len > MS_STACK_SNAP)
		len = MS_STACK_SNAP;
	if (bpf_ringbuf_output(&samples, s, offsetof(struct ms_sample, snap) + len, flags)) {
		count_drop(MS_DROP_RINGBUF);
		put_link(id);
		id = 0;
	}
	buf->busy = 0;
	return id;
}

static __always_inline struct ms_proc_stats *slot_stats(__u32 slot)
{
	return bpf_map_lookup_elem(&proc_stats, &slot);
}

/* 2^order pages of slot's are gone. */
static __always_inline void uncharge_pages(__u32 slot, __u32 order)
{
	struct ms_proc_stats *st = slot_stats(slot);

	if (!st)
		return;
	st->free_bytes += (__u64)1 << (page_shift + order);
	st->free_events++;
}

/* What a head record stands for: 2^order pages, or one for a split head. */
static __always_inline __u32 rec_pages_order(__u32 r)
{
	return ms_pg_split(r) ? 0 : ms_pg_order(r);
}

static __always_inline void uncharge(__u32 r)
{
	uncharge_pages(rec_slot(r), rec_pages_order(r));
}

static __always_inline __u32 *rec_of(__u64 pfn)
{
	if (pfn >= max_pfn)
		return NULL;
	return group_elem(&pages, pfn);
}

struct tails_ctx {
	__u64 head;
	__u32 rec;		/* written to each tail (0 clears) */
};

static long write_tail(__u64 i, struct tails_ctx *t)
{
	__u32 *rec = rec_of(t->head + 1 + i);

	if (rec)
		*rec = t->rec;
	return 0;
}

/* Marks (or clears) the tail pages of a 2^order allocation at head. */
static __always_inline void set_tails(__u64 head, __u32 order, __u32 slot, bool clear)
{
	struct tails_ctx t = { .head = head };

	if (!split_pages || !order || order >= MS_PG_TAIL)
		return;
	refused_if(MS_FEAT_SPLIT_PAGES);
	t.rec = clear ? 0 : ms_pg_tail_of(slot, order);
	bpf_loop((1u << order) - 1, write_tail, &t, 0);
}

/* khugepaged allocated a huge page: the target of the collapse whose frees
 * come next. Recorded here when its slot is filtered out. */
static __always_inline void note_collapse_target(__u64 pfn, __u32 order, __u32 slot)
{
	__u32 *rec;

	if (slot == MS_SLOT_NONE) {
		rec = rec_of(pfn);
		if (!rec)
			return;
		put_link(ms_pg_sample(*rec));
		*rec = ms_pg_head(slot, order);
		set_tails(pfn, order, slot, false);
	}
	/* A sample kept for the collapse before: that one did not take it. */
	put_link(collapse.seen_sample);
	collapse.pfn = pfn;
	collapse.order = order;
	collapse.slot = slot;
	collapse.owner = 0;
	collapse.pending = 1;
	collapse.seen_slot = 0;
	collapse.seen_sample = 0;
}

static __always_inline void on_alloc(void *ctx, __u64 pfn, __u32 order, __u32 gfp)
{
	struct ms_proc_key key = {};
	struct ms_proc_stats *st;
	struct cpu_cache *c;
	__u32 slot, sample = 0, zero = 0;
	__u32 *rec, old;

	refused_if(MS_FEAT_PAGE_ACCOUNTING);
	c = bpf_map_lookup_elem(&cache, &zero);
	if (!c)
		return;
	slot = current_slot(c, &key);
	if (slot == MS_SLOT_NONE) {
		/* Filtered out, but khugepaged's huge pages may be about to
		 * hold a traced process's memory: kept under slot 0, which no
		 * process has, until a collapse hands them over. */
		if (track_collapse && track_frees && order && c->task == khugepaged_task)
			note_collapse_target(pfn, order, MS_SLOT_NONE);
		return;
	}
	st = bpf_map_lookup_elem(&proc_stats, &slot);
	if (!st)
		return;
	st->alloc_bytes += (__u64)1 << (page_shift + order);
	st->alloc_events++;

	if (want_sample(c, order))
		sample = emit_sample(ctx, &key, slot, pfn, order, gfp);
	if (!track_frees)
		return;
	if (pfn >= max_pfn) {
		count_drop(MS_DROP_PFN_RANGE);
		put_link(sample);
		return;
	}
	rec = group_elem(&pages, pfn);
	if (!rec) {
		put_link(sample);
		return;
	}
	old = *rec;
	*rec = sample ? ms_pg_linked_head(sample, order) : ms_pg_head(slot, order);
	/* A live record here means its free was missed: settle it now. The
	 * tails of a whole page go with it; a split head's are pieces of
	 * their own and stay. */
	if (ms_pg_live(old)) {
		__sync_fetch_and_add(&healed_frees, 1);
		if (ms_pg_tail(old)) {
			uncharge_pages(ms_pg_tail_slot(old), 0);
		} else {
			uncharge(old);
			if (!ms_pg_split(old))
				set_tails(pfn, ms_pg_order(old), 0, true);
		}
	}
	/* Live or kept as OOM evidence, the old record is gone. */
	put_link(ms_pg_sample(old));
	set_tails(pfn, order, slot, false);
	if (track_collapse && order && c->task == khugepaged_task)
		note_collapse_target(pfn, order, slot);
}

/* The huge page khugepaged allocated for a collapse becomes owner's. Its
 * bytes leave khugepaged's count and are credited back to the owner's
 * frees, so the owner's resident total stays the same across the frees of
 * the small pages it replaces, whichever task frees them. */
static __always_inline bool hand_over_collapse(__u32 owner, __u32 sample)
{
	__u32 order = collapse.order, i;
	struct ms_proc_stats *st;
	__u32 *hrec = rec_of(collapse.pfn), h;
	__u64 bytes;

	collapse.pending = 0;
	if (!hrec)
		return false;
	h = *hrec;
	if (!ms_pg_live(h) || ms_pg_tail(h) || rec_slot(h) != collapse.slot ||
	    ms_pg_order(h) != order) {
		__sync_fetch_and_add(&moves.unattributed, 1);
		return false;
	}
	/* khugepaged's own sample of the page goes: the stack that counts
	 * is the owner's. */
	put_link(ms_pg_sample(h));
	*hrec = sample ? ms_pg_linked_head(sample, order) : ms_pg_head(owner, order);
	if (sample)
		collapse.seen_sample = 0;	/* the page holds it now */
	set_tails(collapse.pfn, order, owner, false);
	bytes = (__u64)1 << (page_shift + order);
	if ((st = slot_stats(collapse.slot)))
		st->alloc_bytes -= bytes;
	if ((st = slot_stats(owner)))
		st->free_bytes -= bytes;
	collapse.owner = owner;
	collapse.pending = 1;
	i = collapse_given_n++ % MS_COLLAPSE_RING;
	collapse_given[i].pfn = collapse.pfn;
	collapse_given[i].order = order;
	collapse_given[i].owner = owner;
	__sync_fetch_and_add(&moves.collapsed, 1ULL << order);
	return true;
}

/* A sampled page freed while a collapse is under way, or after: most likely
 * one of the small pages a huge page replaces (freed by khugepaged, or by
 * whichever task drains the batch they went to). Before the hand-over its
 * sample is kept for the huge page, used only if the collapse's owner turns
 * out to be the page's; after, the newest huge page of the same owner still
 * without a stack takes it. True when the sample id was taken: the freed
 * page must not give it back. */
static __always_inline bool note_collapse_free(__u32 r)
{
	__u32 owner, sample = ms_pg_sample(r), n = collapse_given_n;
	__u32 *hrec;

	if (!sample)
		return false;
	owner = rec_slot(r);
	if (owner == collapse.slot)
		return false;
	if (collapse.pending && !collapse.owner && !collapse.seen_sample) {
		collapse.seen_slot = owner;
		collapse.seen_sample = sample;
		return true;
	}
	for (__u32 k = 0; k < MS_COLLAPSE_RING && k < n; k++) {
		__u32 i = (n - 1 - k) % MS_COLLAPSE_RING;

		if (collapse_given[i].owner != owner)
			continue;
		hrec = rec_of(collapse_given[i].pfn);
		if (hrec && ms_pg_live(*hrec) && !ms_pg_tail(*hrec) && !ms_pg_sample(*hrec) &&
		    ms_pg_low(*hrec) == owner && ms_pg_order(*hrec) == collapse_given[i].order) {
			*hrec = ms_pg_linked_head(sample, collapse_given[i].order) |
				(*hrec & MS_PG_SPLIT);
			return true;
		}
	}
	return false;
}

struct heir_ctx {
	__u64 head;
	__u32 last;		/* tails: head + 1 .. head + last */
	__u32 sample;
	__u32 slot;
	__u32 passed;
};

/* From the group's end, the first tail still held takes the sample. */
static long pass_sample(__u64 i, struct heir_ctx *h)
{
	__u32 *rec = rec_of(h->head + h->last - i), r;

	if (!rec)
		return 1;
	r = *rec;
	if (!ms_pg_live(r) || !ms_pg_tail(r) || ms_pg_tail_slot(r) != h->slot)
		return 0;
	*rec = ms_pg_linked_head(h->sample, 0);
	h->passed = 1;
	return 1;
}

/* The head of a split page freed before its tails: the sample it carries
 * (the stack of the whole allocation) goes to a piece still held, so the
 * stack stays with the bytes. True when a piece took it. */
static __always_inline bool pass_sample_on(__u64 head, __u32 r, __u32 slot)
{
	struct heir_ctx h = { .head = head, .last = (1u << ms_pg_order(r)) - 1,
			      .sample = ms_pg_sample(r), .slot = slot };

	if (h.sample && ms_pg_order(r) < MS_PG_TAIL)
		bpf_loop(h.last, pass_sample, &h, 0);
	return h.passed;
}

/* A piece of a higher-order page freed on its own: the page was split.
 * The head now stands for itself only, and this piece is uncharged. */
static __always_inline void free_tail(__u64 pfn, __u32 *rec, __u32 r, __u32 order)
{
	__u32 horder = ms_pg_head_order(r), *hrec = rec_of(pfn & ~((1ULL << horder) - 1)), h;

	if (hrec) {
		h = *hrec;
		if (ms_pg_live(h) && !ms_pg_tail(h) && ms_pg_order(h) == horder &&
		    rec_slot(h) == ms_pg_tail_slot(r))
			*hrec = h | MS_PG_SPLIT;
	}
	*rec = 0;
	set_tails(pfn, order, 0, true);
	uncharge_pages(ms_pg_tail_slot(r), order);
	__sync_fetch_and_add(&moves.split, 1ULL << order);
}

static __always_inline void on_free(__u64 pfn, __u32 order)
{
	__u32 slot, *flags, *rec, r;

	rec = rec_of(pfn);
	if (!rec)
		return;
	r = *rec;
	if (!ms_pg_live(r))
		return;	/* allocated before we started, or already freed */
	if (ms_pg_tail(r)) {
		if (split_pages)
			free_tail(pfn, rec, r, order);
		return;
	}
	slot = rec_slot(r);
	if (track_collapse && (collapse.pending || collapse_given_n) && note_collapse_free(r))
		r = rec_unlinked(r, slot);
	/* Less than the page was allocated as: the head of a split page,
	 * freed alone; its tails are uncharged as they go. Without tail
	 * records (split_pages off) the whole page goes now, as it did. */
	if (split_pages && (order < ms_pg_order(r) || ms_pg_split(r))) {
		if (pass_sample_on(pfn, r, slot))
			r = rec_unlinked(r, slot);
		r = rec_with_order(r, order);
	} else {
		set_tails(pfn, ms_pg_order(r), 0, true);
	}
	if (any_frozen && (flags = bpf_map_lookup_elem(&slot_flags, &slot)) &&
	    (*flags & MS_SLOT_FROZEN)) {
		*rec = r | MS_PG_FREED;
	} else {
		*rec = 0;
		put_link(ms_pg_sample(r));
	}
	uncharge_pages(slot, rec_pages_order(r));
}

/* struct page * to pfn: vmemmap is one virtually contiguous array of struct
 * page, whose base user space measured (see calibrate.c). */
static __always_inline __u64 page_pfn(struct page *page)
{
	__u64 off = (__u64)page - vmemmap_base;

	if (page_struct_shift)
		return off >> page_struct_shift;
	return off / bpf_core_type_size(struct page);
}

/* Notes a page of user space's calibration thread in ptrs[]. */
static __always_inline void calibrate(struct page *page, unsigned int order, __u32 *n,
				      __u64 *ptrs, __u32 max)
{
	__u32 i;

	if (order || (__u32)bpf_get_current_pid_tgid() != calib_tid)
		return;
	i = __sync_fetch_and_add(n, 1);
	if (i < max)
		ptrs[i] = (__u64)page;
}

/* Raw tracepoints, not tp_btf: tp_btf types `page` as a trusted BTF pointer
 * and the verifier forbids the arithmetic that turns it into a pfn. A raw
 * tracepoint passes the same pointer as a number, at the same cost. */
SEC("raw_tp/mm_page_alloc")
int BPF_PROG(page_alloc_raw, struct page *page, unsigned int order, gfp_t gfp, int migratetype)
{
	if (!vmemmap_base) {
		calibrate(page, order, &calib_n, calib_ptrs, MS_CALIB_SLOTS);
		return 0;
	}
	on_alloc(ctx, page_pfn(page), order, gfp);
	return 0;
}

/* The kernel skips a program entered again on the same CPU (an interrupt
 * freeing pages while this one runs): such a free is missed, counted in the
 * program's recursion misses, and settled when the page is allocated again
 * (see on_alloc). Catching it with a second program would cost a program
 * run on every free, for about one free in ten thousand (under a storm). */
SEC("raw_tp/mm_page_free")
int BPF_PROG(page_free_raw, struct page *page, unsigned int order)
{
	if (!vmemmap_base)
		calibrate(page, order, &calib_free_n, calib_free_ptrs, MS_CALIB_FREES);
	else
		on_free(page_pfn(page), order);
	return 0;
}

SEC("raw_tp/mm_page_free_batched")
int BPF_PROG(page_free_batched_raw, struct page *page)
{
	if (!vmemmap_base)
		calibrate(page, 0, &calib_batched_n, calib_batched_ptrs, MS_CALIB_FREES);
	else if (track_frees)
		on_free(page_pfn(page), 0);
	return 0;
}

/* Classic tracepoints: slower (the kernel formats a record first) but they
 * carry the pfn themselves and exist on kernels without BTF tracepoints. */
SEC("tracepoint/kmem/mm_page_alloc")
int page_alloc_tp(struct trace_event_raw_mm_page_alloc *ctx)
{
	on_alloc(ctx, ctx->pfn, ctx->order, ctx->gfp_flags);
	return 0;
}

SEC("tracepoint/kmem/mm_page_free")
int page_free_tp(struct trace_event_raw_mm_page_free *ctx)
{
	if (track_frees)
		on_free(ctx->pfn, ctx->order);
	return 0;
}

SEC("tracepoint/kmem/mm_page_free_batched")
int page_free_batched_tp(struct trace_event_raw_mm_page_free_batched *ctx)
{
	if (track_frees)
		on_free(ctx->pfn, 0);
	return 0;
}

/* ---- pages that migration and compaction move ----------------------------
 * Migration replaces each pte of the old page by a migration entry
 * (set_migration_pte: the old pfn, in swap-entry form), copies, and puts
 * the new page in the same pte (remove_migration_pte: the new pfn), all in
 * the migrating task, before the old page is freed. Paired by (task,
 * address), the record moves from the old frame to the new one, so the old
 * page's free takes nothing from its owner and the new page keeps it.
 * Compaction's target pages never pass mm_page_alloc, so this is the only
 * way their owner is known. */
struct move_key {
	__u64 addr;
	__u32 tid;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct move_key);
	__type(value, __u64);		/* old pfn */
	__uint(max_entries, 16384);
} moving SEC(".maps");

/* x86-64 pte layouts (arch/x86/include/asm/pgtable_64.h): a swap entry
 * keeps its offset inverted above 5 type bits and below bit 9, and a
 * migration entry's offset is the pfn (with young/dirty bits above the pfn
 * bits, which the mask drops); a present pte has the pfn in bits 12-51,
 * inverted when the pte is PROT_NONE (the L1TF mitigation). */
#define X86_SWP_TYPE_BITS	5
#define X86_SWP_OFFSET_SHIFT	(9 + X86_SWP_TYPE_BITS)
#define X86_PTE_PFN_MASK	0x000ffffffffff000ULL
#define X86_PAGE_PRESENT	0x1ULL
#define X86_PAGE_PROTNONE	0x100ULL
#define MS_SWP_PFN_BITS		34	/* 64 TiB of RAM */

static __always_inline __u64 migration_entry_pfn(__u64 pte)
{
	__u64 offset = (~pte << X86_SWP_TYPE_BITS) >> X86_SWP_OFFSET_SHIFT;

	return offset & ((1ULL << MS_SWP_PFN_BITS) - 1);
}

static __always_inline __u64 present_pte_pfn(__u64 pte)
{
	if ((pte & (X86_PAGE_PRESENT | X86_PAGE_PROTNONE)) == X86_PAGE_PROTNONE)
		pte = ~pte;
	return (pte & X86_PTE_PFN_MASK) >> 12;
}

static __always_inline void migration_start(__u64 addr, __u64 entry)
{
	struct move_key key = { .addr = addr, .tid = (__u32)bpf_get_current_pid_tgid() };
	__u64 pfn = migration_entry_pfn(entry);

	refused_if(MS_FEAT_MOVED_PAGES);
	bpf_map_update_elem(&moving, &key, &pfn, BPF_ANY);
}

static __always_inline void migration_done(__u64 addr, __u64 pte, __u32 order)
{
	struct move_key key = { .addr = addr, .tid = (__u32)bpf_get_current_pid_tgid() };
	__u64 *oldp = bpf_map_lookup_elem(&moving, &key), old_pfn, new_pfn;
	__u32 moved, *orec, *nrec, o, n, slot;

	if (!oldp)
		return;
	old_pfn = *oldp;
	bpf_map_delete_elem(&moving, &key);
	new_pfn = present_pte_pfn(pte);
	if (old_pfn == new_pfn)
		return;		/* failed: the old page is back in place */
	orec = rec_of(old_pfn);
	nrec = rec_of(new_pfn);
	if (!orec || !nrec) {
		__sync_fetch_and_add(&moves.unattributed, 1);
		return;
	}
	o = *orec;
	if (!ms_pg_live(o))
		return;		/* not ours, or moved already through another mapping */
	n = *nrec;
	/* A target the migrating task allocated through mm_page_alloc was
	 * charged to it: that charge goes, the page is the owner's. */
	if (ms_pg_live(n) && !ms_pg_tail(n)) {
		uncharge(n);
		if (!ms_pg_split(n))
			set_tails(new_pfn, ms_pg_order(n), 0, true);
	}
	put_link(ms_pg_sample(n));
	slot = rec_slot(o);
	if (ms_pg_tail(o) || ms_pg_split(o) || order < ms_pg_order(o)) {
		/* A piece of a split page moves alone and stands for itself
		 * there (its group's alignment means nothing at the new frame),
		 * with the head's sample if it is the head. */
		*nrec = ms_pg_tail(o) ? ms_pg_head(slot, order) : rec_with_order(o, order);
		moved = 1u << order;
	} else {
		*nrec = o;
		set_tails(new_pfn, ms_pg_order(o), slot, false);
		set_tails(old_pfn, ms_pg_order(o), 0, true);
		moved = 1u << ms_pg_order(o);
	}
	*orec = 0;
	__sync_fetch_and_add(&moves.migrated, moved);
}

SEC("raw_tp/set_migration_pte")
int BPF_PROG(move_set_pte, unsigned long addr, unsigned long pte, int order)
{
	migration_start(addr, pte);
	return 0;
}

SEC("raw_tp/remove_migration_pte")
int BPF_PROG(move_remove_pte, unsigned long addr, unsigned long pte, int order)
{
	migration_done(addr, pte, order > 0 && order < MS_PG_TAIL ? order : 0);
	return 0;
}

SEC("raw_tp/set_migration_pmd")
int BPF_PROG(move_set_pmd, unsigned long addr, unsigned long pmd)
{
	migration_start(addr, pmd);
	return 0;
}

SEC("raw_tp/remove_migration_pmd")
int BPF_PROG(move_remove_pmd, unsigned long addr, unsigned long pmd)
{
	migration_done(addr, pmd, 9 /* HPAGE_PMD_ORDER */);
	return 0;
}

/* khugepaged finished a collapse in mm: the huge page is the mm owner's
 * (the small pages it replaces are freed before or after this, by
 * khugepaged or a task draining a batch: each uncharges their owner, which
 * the hand-over credited in advance). An owner memscope does not trace
 * (filtered out, or nothing allocated since the start) takes it from
 * khugepaged all the same: it is not khugepaged's memory. */
SEC("raw_tp/mm_collapse_huge_page")
int BPF_PROG(move_collapse_done, struct mm_struct *mm, int isolated, int status)
{
	struct ms_proc_key key = {};
	struct ms_proc_info *info;
	struct task_struct *owner;

	refused_if(MS_FEAT_MOVED_PAGES);
	if (!collapse.pending || collapse.owner || (__u64)bpf_get_current_task_btf() != khugepaged_task)
		return 0;
	if (status != 1 /* SCAN_SUCCEED */)
		return 0;	/* the huge page goes back; its free uncharges khugepaged */
	owner = bpf_core_field_exists(mm->owner) ? BPF_CORE_READ(mm, owner) : NULL;
	if (owner) {
		key.tgid = BPF_CORE_READ(owner, tgid);
		key.start_ns = BPF_CORE_READ(owner, group_leader, start_time);
		key.cgid = BPF_CORE_READ(task_memcg(owner), kn, id);
		info = bpf_map_lookup_elem(&procs, &key);
		if (info && hand_over_collapse(info->slot, collapse.seen_slot == info->slot ?
						   collapse.seen_sample : 0))
			goto out;
	}
	/* Untraced owner: out of khugepaged's count, and out of the records. */
	if (collapse.pending && !collapse.owner) {
		__u32 *hrec = rec_of(collapse.pfn), h = hrec ? *hrec : 0;

		collapse.pending = 0;
		if (ms_pg_live(h) && rec_slot(h) == collapse.slot) {
			uncharge(h);
			set_tails(collapse.pfn, ms_pg_order(h), 0, true);
			put_link(ms_pg_sample(h));
			*hrec = 0;
		}
		__sync_fetch_and_add(&moves.unattributed, 1);
	}
out:
	/* A sample kept for this collapse and not given to its page. */
	put_link(collapse.seen_sample);
	collapse.seen_sample = 0;
	return 0;
}

/* ---- the process name follows exec ----------------------------------------
 * A slot takes the comm of the first allocation it sees, often the shell's
 * before it execs the program: exec renames it. */
SEC("raw_tp/sched_process_exec")
int BPF_PROG(exec_rename, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct ms_proc_key key = {};
	struct ms_proc_info *info;

	refused_if(MS_FEAT_EXEC_NAMES);
	key.tgid = BPF_CORE_READ(p, tgid);
	key.start_ns = BPF_CORE_READ(p, group_leader, start_time);
	key.cgid = BPF_CORE_READ(task_memcg(p), kn, id);
	info = bpf_map_lookup_elem(&procs, &key);
	if (info)
		bpf_probe_read_kernel_str(info->comm, sizeof(info->comm), &p->comm);
	return 0;
}

/* Before Linux 6.2 (f1a7941243c1, "mm: convert mm's rss stats into
 * percpu_counter") the counters were one struct of atomics; since, an array
 * of per-CPU counters whose `count` is the folded value. mark_victim passes
 * the task since 6.8, and stable kernels took that back to 6.1, so both
 * layouts reach this program. */
struct mm_rss_stat___pre62 {
	atomic_long_t count[MS_NR_RSS];
} __attribute__((preserve_access_index));

struct mm_struct___pre62 {
	struct mm_rss_stat___pre62 rss_stat;
} __attribute__((preserve_access_index));

/* One layout per function, not inlined: in one body clang computes both
 * layouts' offsets before the branch, and the one this kernel lacks is a
 * failed relocation the verifier then meets on the live path. */
static __noinline long mm_counter_pre62(struct mm_struct *mm, int i)
{
	return BPF_CORE_READ((struct mm_struct___pre62 *)mm, rss_stat.count[i].counter);
}

static __noinline long mm_counter_percpu(struct mm_struct *mm, int i)
{
	return BPF_CORE_READ(mm, rss_stat[i].count);
}

static __always_inline __u64 mm_counter(struct mm_struct *mm, int i)
{
	long v;

	if (bpf_core_type_exists(struct mm_rss_stat___pre62))
		v = mm_counter_pre62(mm, i);
	else
		v = mm_counter_percpu(mm, i);
	return v > 0 ? v : 0;
}

/* Usage and limit of each memory cgroup from the victim's up: read here, they
 * are what the OOM killer saw; read from cgroupfs later, the victim's pages
 * may already be gone. The css is the first member of struct mem_cgroup. */
static __always_inline void read_memcg_chain(struct ms_oom_event *e,
					     struct cgroup_subsys_state *css)
{
	e->nchain = 0;
	for (int i = 0; i < MS_OOM_CHAIN && css; i++) {
		struct mem_cgroup *memcg = (struct mem_cgroup *)css;

		e->chain_cgid[i] = BPF_CORE_READ(css, cgroup, kn, id);
		e->chain_usage[i] = BPF_CORE_READ(memcg, memory.usage.counter);
		e->chain_max[i] = BPF_CORE_READ(memcg, memory.max);
		e->nchain = i + 1;
		css = BPF_CORE_READ(css, parent);
	}
}

/* The victim's pages are reaped within milliseconds of this point: freeze
 * its page records so what it held can still be read afterwards. */
static __always_inline void on_oom_victim(struct task_struct *victim)
{
	struct task_struct *cur = (struct task_struct *)bpf_get_current_task();
	struct ms_proc_key key = {};
	struct ms_proc_info *info;
	struct ms_oom_event *e;
	struct mm_struct *mm;

	refused_if(MS_FEAT_OOM);
	e = bpf_ringbuf_reserve(&oom_events, sizeof(*e), 0);
	if (!e) {
		count_drop(MS_DROP_RINGBUF);
		return;
	}
	key.tgid = BPF_CORE_READ(victim, tgid);
	key.start_ns = BPF_CORE_READ(victim, group_leader, start_time);
	key.cgid = BPF_CORE_READ(task_memcg(victim), kn, id);
	e->boot_ns = bpf_ktime_get_boot_ns();
	e->victim_tgid = key.tgid;
	e->victim_start_ns = key.start_ns;
	e->victim_cgid = key.cgid;
	e->trigger_tgid = BPF_CORE_READ(cur, tgid);
	e->trigger_cgid = BPF_CORE_READ(task_memcg(cur), kn, id);
	e->oom_score_adj = BPF_CORE_READ(victim, signal, oom_score_adj);
	BPF_CORE_READ_STR_INTO(&e->victim_comm, victim, comm);
	bpf_get_current_comm(e->trigger_comm, sizeof(e->trigger_comm));
	__builtin_memset(e->rss_pages, 0, sizeof(e->rss_pages));
	e->nchain = 0;
	if (oom_snapshot) {
		refused_if(MS_FEAT_OOM_SNAPSHOT);
		mm = BPF_CORE_READ(victim, mm);
		for (int i = 0; i < MS_NR_RSS; i++)
			e->rss_pages[i] = mm ? mm_counter(mm, i) : 0;
		read_memcg_chain(e, task_memcg_css(victim));
	}

	e->victim_slot = MS_SLOT_NONE;
	e->frozen = 0;
	info = bpf_map_lookup_elem(&procs, &key);
	if (info) {
		__u32 slot = info->slot, *flags = bpf_map_lookup_elem(&slot_flags, &slot);

		e->victim_slot = slot;
		if (flags) {
			/* The kernel marks every thread of a dying process: report
			 * the process once. */
			any_frozen = 1;
			if (__sync_fetch_and_or(flags, MS_SLOT_FROZEN) & MS_SLOT_FROZEN) {
				bpf_ringbuf_discard(e, 0);
				return;
			}
			e->frozen = 1;
		}
	}
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
}

SEC("raw_tp/mark_victim")
int BPF_PROG(oom_victim_raw, struct task_struct *victim)
{
	on_oom_victim(victim);
	return 0;
}

/* Before Linux 6.8 the tracepoint passed only the victim's pid. */
SEC("tracepoint/oom/mark_victim")
int oom_victim_tp(struct trace_event_raw_mark_victim *ctx)
{
	struct ms_oom_event *e;

	refused_if(MS_FEAT_OOM);
	e = bpf_ringbuf_reserve(&oom_events, sizeof(*e), 0);
	if (!e) {
		count_drop(MS_DROP_RINGBUF);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->boot_ns = bpf_ktime_get_boot_ns();
	e->victim_tgid = ctx->pid;
	e->trigger_cgid = BPF_CORE_READ(task_memcg(bpf_get_current_task_btf()), kn, id);
	e->trigger_tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->trigger_comm, sizeof(e->trigger_comm));
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

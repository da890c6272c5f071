/* The one contract between memscope's BPF programs and user space.
 * Fixed-size types only: this header is compiled by clang -target bpf and by gcc. */
#ifndef MEMSCOPE_H
#define MEMSCOPE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define MS_COMM_LEN	16
#define MS_MAX_USTACK	64	/* user frames captured per sample */
/* Bytes of user stack copied from sp per sample, for the CFI unwind in user
 * space (unwind.h); a multiple of 4096. Samples carry only what was copied. */
#define MS_STACK_SNAP	8192
#define MS_MAX_ORDER	16	/* allocations of this order and up are always sampled */
#define MS_CALIB_SLOTS	32
#define MS_CALIB_FREES	128	/* frees seen while probing the batched-free path */
#define MS_KCACHE_BITS	8	/* kernel stack cache: 2^bits entries per CPU */
#define MS_KCACHE_SLOTS	(1u << MS_KCACHE_BITS)
#define MS_KCACHE_CHECK	32	/* one use in this many walks the stack again */
#define MS_KSTACK_MAX_DEPTH	(32ULL << 10)	/* task stacks: 16 KiB, 32 KiB with KASAN */
#define MS_USTACK_MAX_SPAN	(8ULL << 20)	/* a frame pointer this far above sp is no frame */

/* Slot 0 means "not tracked" (filtered out); slot 1 collects processes that found
 * the process table full, so host-wide totals stay exact even then. */
#define MS_SLOT_NONE	 0
#define MS_SLOT_OVERFLOW 1
#define MS_FIRST_SLOT	 2

/* One u64 per pfn in the `pages` array: who owns the page and, when the
 * allocation was sampled, which sample carries its stack. 0 = not tracked. */
#define MS_REC_SAMPLE_BITS	32
#define MS_REC_ORDER_SHIFT	32
#define MS_REC_ORDER_MASK	0xfULL
#define MS_REC_SLOT_SHIFT	36
#define MS_REC_SLOT_MASK	0x3ffffffULL
/* A head whose tails the kernel split off: it stands for itself only now,
 * and keeps its order so its sample can be handed to a piece still held. */
#define MS_REC_SPLIT		(1ULL << 62)
/* Set instead of clearing the record when an OOM victim's page is freed, so
 * the evidence of what it held survives until user space has read it. */
#define MS_REC_FREED		(1ULL << 63)
#define ms_rec_make(slot, order, sample) \
	((((__u64)(slot) & MS_REC_SLOT_MASK) << MS_REC_SLOT_SHIFT) | \
	 (((__u64)(order) & MS_REC_ORDER_MASK) << MS_REC_ORDER_SHIFT) | (__u64)(__u32)(sample))
#define ms_rec_slot(r)	 ((__u32)(((r) >> MS_REC_SLOT_SHIFT) & MS_REC_SLOT_MASK))
#define ms_rec_split(r)	 (((r) & MS_REC_SPLIT) != 0)
#define ms_rec_live(r)	 ((r) && !((r) & MS_REC_FREED))
#define ms_rec_order(r)	 ((__u32)(((r) >> MS_REC_ORDER_SHIFT) & MS_REC_ORDER_MASK))
/* The pages after the first of a higher-order allocation carry a tail
 * record: the owner's slot, this order, and the head's order in place of a
 * sample. When the kernel splits the page (a THP partly unmapped, a
 * split_page()), each piece is uncharged as it is freed. */
#define MS_REC_TAIL	 MS_REC_ORDER_MASK
#define ms_rec_tail(r)	 (ms_rec_order(r) == MS_REC_TAIL)
#define ms_rec_head_order(r) ((__u32)(r) & MS_REC_ORDER_MASK)
#define ms_rec_sample(r) (ms_rec_tail(r) ? 0 : (__u32)(r))

/* Key of the `procs` hash: a process in a memory cgroup. start_ns tells a
 * recycled pid from the process that had it before. */
struct ms_proc_key {
	__u64 cgid;
	__u64 start_ns;
	__u32 tgid;
	__u32 pad;
};

struct ms_proc_info {
	__u32 slot;
	__u32 pad;
	char comm[MS_COMM_LEN];
};

/* Per-CPU, indexed by slot: exact byte counts for every page of the process. */
struct ms_proc_stats {
	__u64 alloc_bytes;
	__u64 free_bytes;
	__u64 alloc_events;
	__u64 free_events;
};

/* One sampled allocation, sent through the ring buffer. */
struct ms_sample {
	__u64 id;		/* also stored in the page's record, 32 low bits */
	__u64 cgid;
	__u64 pfn;
	__u64 start_ns;
	__u32 tgid;
	__u32 tid;
	__u32 slot;
	__s32 kstack_id;	/* in the kstacks map, < 0: not captured */
	__u32 order;
	__u32 gfp;
	__u32 ustack_len;	/* frames in ustack */
	__u32 snap_len;		/* bytes in snap */
	__u64 ip, sp, bp;	/* user registers at the allocation (page fault or syscall) */
	char comm[MS_COMM_LEN];
	__u64 ustack[MS_MAX_USTACK];
	__u8 snap[MS_STACK_SNAP];	/* last: the record ends after snap_len bytes of it */
};

/* The parts of memscope.bpf.c the loader can switch off one by one when a
 * kernel refuses them (bits of the `refuse` test switch). Page accounting is
 * the core: without it nothing loads. */
enum ms_feature {
	MS_FEAT_PAGE_ACCOUNTING	= 1u << 0,
	MS_FEAT_KERNEL_STACKS	= 1u << 1,
	MS_FEAT_KSTACK_CACHE	= 1u << 2,
	MS_FEAT_USER_STACKS	= 1u << 3,
	MS_FEAT_OOM		= 1u << 4,
	MS_FEAT_OOM_SNAPSHOT	= 1u << 5,
	MS_FEAT_SPLIT_PAGES	= 1u << 6,	/* pieces of split higher-order pages */
	MS_FEAT_MOVED_PAGES	= 1u << 7,	/* migration, compaction, khugepaged's collapses */
	MS_FEAT_EXEC_NAMES	= 1u << 8,	/* the process name follows exec */
	MS_FEAT_STACK_COPY	= 1u << 9,	/* user stack bytes for the CFI unwind */
};

/* Pages that changed frame and kept (or lost) their owner, in .bss. */
struct ms_moves {
	__u64 collapsed;	/* pages khugepaged collapsed, handed to their owner */
	__u64 migrated;		/* pages migration or compaction moved, owner kept */
	__u64 split;		/* pieces of split higher-order pages freed alone */
	__u64 unattributed;	/* moves seen whose owner could not be carried over */
};

/* slot_flags bits */
#define MS_SLOT_FROZEN	1u	/* an OOM victim: keep its page records as evidence */

/* mm counters, in the kernel's order (enum NR_MM_COUNTERS) */
enum ms_rss { MS_RSS_FILE, MS_RSS_ANON, MS_RSS_SWAP, MS_RSS_SHMEM, MS_NR_RSS };

#define MS_OOM_CHAIN	8	/* memory cgroups recorded, victim's first, then ancestors */

/* The OOM killer chose a victim (oom:mark_victim), sent through oom_events. */
struct ms_oom_event {
	__u64 boot_ns;			/* CLOCK_BOOTTIME */
	__u64 victim_cgid;
	__u64 victim_start_ns;
	__u64 trigger_cgid;
	__u64 rss_pages[MS_NR_RSS];
	__u32 victim_tgid;
	__u32 victim_slot;		/* MS_SLOT_NONE when memscope never saw it allocate */
	__u32 trigger_tgid;
	__u32 frozen;			/* its page records are kept as evidence */
	__s32 oom_score_adj;
	__u32 pad;
	char victim_comm[MS_COMM_LEN];
	char trigger_comm[MS_COMM_LEN];
	/* The page counters of the victim's memory cgroup and its ancestors at
	 * the moment of the kill, before its pages are reaped (in pages). */
	__u32 nchain;
	__u32 pad2;
	__u64 chain_cgid[MS_OOM_CHAIN];
	__u64 chain_usage[MS_OOM_CHAIN];
	__u64 chain_max[MS_OOM_CHAIN];
};

/* Losses counted where they happen, reported in every output. */
enum ms_drop {
	MS_DROP_PROCS_FULL,	/* process table full: totals went to the overflow slot */
	MS_DROP_PFN_RANGE,	/* pfn beyond the pages array (memory hot-added after start) */
	MS_DROP_RINGBUF,	/* sample lost: ring buffer full */
	MS_DROP_USTACK,		/* user stack could not be walked */
	MS_DROP_KSTACK,		/* kernel stack not stored (stack map full or collision) */
	MS_DROP_SNAP,		/* user stack bytes not readable: leaf caller not recoverable */
	MS_NR_DROPS,
};

#endif

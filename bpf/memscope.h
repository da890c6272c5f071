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

/* One u32 per pfn in the `pages` array, 4 bytes per page of RAM: who owns
 * the page. 0 = not tracked.
 *   bit 31     FREED: set instead of clearing the record when an OOM victim's
 *              page is freed, so the evidence of what it held survives until
 *              user space has read it
 *   bit 30     SPLIT: a head whose tails the kernel split off; it stands for
 *              itself only now, and keeps its order so its sample can be
 *              handed to a piece still held
 *   bit 29     LINK: the allocation was sampled. The low bits are the sample's
 *              id, an index into `link_slot`, which holds the owner's slot.
 *              Ids are recycled through the `free_links` queue when the page
 *              goes, so they stay below the table's size: a sample costs
 *              8 bytes there, a page nothing more than its record.
 *   bits 25-28 order, or MS_PG_TAIL for the pages after the head of a
 *              higher-order allocation
 *   bits 0-24  the owner's slot; the sample id (LINK); for a tail the owner's
 *              slot in bits 0-20 and the head's order in bits 21-24.
 * When the kernel splits a higher-order page (a THP partly unmapped, a
 * split_page()), each piece is uncharged as it is freed. */
#define MS_PG_FREED		(1u << 31)
#define MS_PG_SPLIT		(1u << 30)
#define MS_PG_LINK		(1u << 29)
#define MS_PG_ORDER_SHIFT	25
#define MS_PG_ORDER_MASK	0xfu
#define MS_PG_TAIL		MS_PG_ORDER_MASK
#define MS_PG_LOW_MASK		((1u << MS_PG_ORDER_SHIFT) - 1)
#define MS_PG_TAIL_SLOT_BITS	21
#define MS_PG_TAIL_SLOT_MASK	((1u << MS_PG_TAIL_SLOT_BITS) - 1)
/* Slots and sample ids must fit their fields. */
#define MS_PG_MAX_SLOTS		(1u << MS_PG_TAIL_SLOT_BITS)
#define MS_PG_MAX_LINKS		(1u << MS_PG_ORDER_SHIFT)
/* The kernel's array maps round a value up to 8 bytes, so records are
 * stored 16 to a value: a flat u32 array to the mmap, 4 bytes a page. */
#define MS_PG_PER_VALUE		16
struct ms_pg_group {
	__u32 r[MS_PG_PER_VALUE];
};
#define ms_pg_values(n)		(((n) + MS_PG_PER_VALUE - 1) / MS_PG_PER_VALUE)
#define ms_pg_order(r)		(((r) >> MS_PG_ORDER_SHIFT) & MS_PG_ORDER_MASK)
#define ms_pg_low(r)		((r) & MS_PG_LOW_MASK)
#define ms_pg_tail(r)		(ms_pg_order(r) == MS_PG_TAIL)
#define ms_pg_linked(r)		(((r) & MS_PG_LINK) != 0)
#define ms_pg_split(r)		(((r) & MS_PG_SPLIT) != 0)
#define ms_pg_live(r)		((r) && !((r) & MS_PG_FREED))
#define ms_pg_head(slot, order) \
	((((__u32)(order) & MS_PG_ORDER_MASK) << MS_PG_ORDER_SHIFT) | ((__u32)(slot) & MS_PG_LOW_MASK))
#define ms_pg_linked_head(id, order)	(ms_pg_head(id, order) | MS_PG_LINK)
#define ms_pg_tail_of(slot, head_order) \
	((MS_PG_TAIL << MS_PG_ORDER_SHIFT) | (((__u32)(head_order) & MS_PG_ORDER_MASK) << MS_PG_TAIL_SLOT_BITS) | \
	 ((__u32)(slot) & MS_PG_TAIL_SLOT_MASK))
#define ms_pg_tail_slot(r)	((r) & MS_PG_TAIL_SLOT_MASK)
#define ms_pg_head_order(r)	(((r) >> MS_PG_TAIL_SLOT_BITS) & MS_PG_ORDER_MASK)
/* The sample id of a record, 0 for none. */
#define ms_pg_sample(r)		(ms_pg_linked(r) && !ms_pg_tail(r) ? ms_pg_low(r) : 0)

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
	__u64 id;		/* also in the page's record (LINK): recycled once the page goes */
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
	MS_DROP_LINKS_FULL,	/* sample not taken: every sample id is held by a page */
	MS_NR_DROPS,
};

#endif

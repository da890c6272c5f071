/* Turns the stream of sampled allocations into weighted stack buckets.
 *
 * Each sample stands for `weight` bytes (its own size, or N pages when
 * sampling one page in N by bytes). A sample's user stack is unwound at
 * arrival (unwind.h: CFI over the copied stack, then frame pointers) and resolved to
 * (module, address) pairs while the process still lives; symbol names come
 * later, from the modules usyms keeps open. In outstanding mode, which samples
 * still hold their pages is read at the end from the kernel's pfn array, and
 * each such page can be given a class (enum mem_class: v8-heap, native...)
 * then: its weight moves to the bucket of the same stack and that class. */
#ifndef MEMSCOPE_RECORDER_H
#define MEMSCOPE_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memscope.h"
#include "page_records.h"
#include "unwind.h"
#include "usyms.h"

struct rec_bucket {
	uint64_t cgid;
	uint32_t slot;
	int32_t kstack_id;
	uint8_t cls;			/* enum mem_class; MEM_CLASS_NONE until settled */
	char comm[MS_COMM_LEN];		/* the process's name (procname.h) */
	char thread[MS_COMM_LEN];	/* the allocating thread's, as BPF saw it */
	uint32_t nframes;
	struct uframe *frames;		/* leaf first; frames[i > 0] are return addresses */
	uint64_t alloc_bytes;		/* weighted estimate */
	uint64_t outstanding_bytes;	/* weighted estimate, set by recorder__settle */
	uint64_t samples;
	uint32_t live;			/* outstanding mode: samples whose pages may be held */
	bool dead;			/* collected: no frames, no bytes, index free for reuse */
};

struct recorder_stats {
	uint64_t samples;
	uint64_t unwinds;		/* samples whose user stack was unwound */
	uint64_t stack_bytes;		/* user stack bytes copied, over all unwinds */
	uint64_t unwind_ns;		/* time spent unwinding, over all unwinds */
	/* How each CFI walk ended (enum unwind_stop): whole, or why not. */
	uint64_t unwind_stops[UNWIND_NR_STOPS];
	uint64_t unwinds_spliced;	/* finished from BPF's frame-pointer chain */
	uint64_t frames_unresolved;	/* ip in no known mapping */
	uint64_t samples_dropped_nomem;
	uint64_t record_scans_failed;	/* page records unreadable: nothing pruned,
					 * outstanding bytes incomplete */
};

struct recorder;

struct recorder *recorder__new(uint32_t sample_every, uint64_t page_size, bool outstanding,
			       struct usyms *usyms);
void recorder__on_sample(struct recorder *r, const struct ms_sample *s);
/* Where process names are read ("/proc", the default; tests use fixtures). */
void recorder__set_proc_root(struct recorder *r, const char *proc_root);
/* Forget samples whose pages are all freed, so a long recording stays small.
 * In outstanding mode a bucket left with no such sample adds nothing to the
 * output: it is collected (marked dead, its index reused by a later bucket). */
/* moves (may be NULL: pages never move) counts the pages the kernel has
 * moved so far; read around the scan, it tells whether a sample missing
 * from this scan may just have moved from a frame not yet scanned to one
 * already passed: such a sample is freed only when a second scan misses it. */
void recorder__prune(struct recorder *r, struct page_records *pr, uint64_t (*moves)(void *ctx),
		     void *ctx);
/* Outstanding mode, but the stacks whose pages are all freed are kept too,
 * for an output that also shows what was allocated (pprof's alloc_space):
 * memory then grows with the stacks of every process seen. */
void recorder__keep_freed(struct recorder *r);
/* Samples whose pages may still be held (as of the last prune, plus those
 * that arrived since). */
size_t recorder__nlive(const struct recorder *r);
/* Samples of slot whose pages may still be held (as of the last prune): a
 * slot is handed back only at 0, so no bucket outlives its slot. */
uint32_t recorder__slot_live(const struct recorder *r, uint32_t slot);
/* The slot was handed back: forget what is kept about it. */
void recorder__forget_slot(struct recorder *r, uint32_t slot);
/* Weighted alloc_bytes of the slot's collected buckets, so that scaling the
 * remaining buckets to the process's exact total leaves them their share. */
uint64_t recorder__slot_collected(const struct recorder *r, uint32_t slot);
/* Drop what the symbolizer keeps for processes that are gone (gone() says
 * so): their stacks were resolved when their samples arrived, and a host
 * that forks all day must not grow memscope. Returns how many. */
size_t recorder__forget_exited(struct recorder *r, bool (*gone)(uint32_t tgid, uint64_t start_ns));
/* Outstanding mode: attribute what is still allocated to the buckets. */
void recorder__settle(struct recorder *r, struct page_records *pr);
/* Same, giving each sampled page still held the class fn returns for its
 * pfn: buckets with cls == MEM_CLASS_NONE keep alloc_bytes and samples, the
 * classified ones get outstanding_bytes. A page fn cannot classify
 * (MEM_CLASS_NONE) stays in its unclassified bucket. */
typedef uint8_t (*recorder_class_fn)(void *ctx, uint64_t pfn);
void recorder__settle_classified(struct recorder *r, struct page_records *pr,
				 recorder_class_fn fn, void *ctx);
/* What one process (slot) held: its buckets weighted by the pages its samples
 * still hold in the records, counting pages freed after the slot was frozen
 * by the OOM killer's mark. Returns the number of buckets reported. */
typedef void (*recorder_bucket_fn)(void *ctx, const struct rec_bucket *b, uint64_t bytes);
int recorder__slot_evidence(struct recorder *r, struct page_records *pr,
			    uint32_t slot, recorder_bucket_fn fn, void *ctx);
/* Buckets are indexed 0..nbuckets-1; skip the ones with dead set. */
size_t recorder__nbuckets(const struct recorder *r);
const struct rec_bucket *recorder__bucket(const struct recorder *r, size_t i);
/* Buckets not collected (nbuckets counts the collected ones too). */
size_t recorder__nlive_buckets(const struct recorder *r);
void recorder__stats(const struct recorder *r, struct recorder_stats *out);
/* Bytes one sample of 2^order pages stands for. */
uint64_t recorder__weight(uint32_t sample_every, uint64_t page_size, uint32_t order);
void recorder__free(struct recorder *r);

#endif

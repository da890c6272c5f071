/* The BPF side of memscope as one object: open, configure, load, attach,
 * drain samples, read the kernel's tables, detach. Nothing here knows about
 * symbols or output formats. */
#ifndef MEMSCOPE_TRACER_H
#define MEMSCOPE_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memscope.h"
#include "drops.h"
#include "page_records.h"

struct tracer_opts {
	uint32_t sample_every;		/* one page in N carries a stack (by bytes); 1 = every page */
	bool track_frees;		/* outstanding mode; off for --mode allocated */
	bool kernel_stacks;
	uint32_t max_procs;		/* (cgroup, process) pairs kept exactly */
	uint32_t ringbuf_mb;		/* 0: sized for sample_every */
	uint32_t kstack_entries;
	const uint32_t *tgids;		/* -p filter, may be empty */
	size_t n_tgids;
	const uint64_t *cgids;		/* -c filter (descendants match too), may be empty */
	size_t n_cgids;
};

/* How the page allocator is hooked, chosen by probing. */
enum tracer_hook { HOOK_RAW_TP, HOOK_TRACEPOINT };


struct tracer;

#define TRACER_TICK_SAMPLES	4096

struct tracer_handlers {
	void (*sample)(void *ctx, const struct ms_sample *s);
	void (*oom)(void *ctx, const struct ms_oom_event *e);	/* may be NULL */
	/* May be NULL. Called every TRACER_TICK_SAMPLES samples within one
	 * poll: when samples come faster than they are read, the poll would
	 * never return. Returning true ends the poll there. */
	bool (*tick)(void *ctx);
	void *ctx;
};

/* Checks privileges and kernel support, loads and attaches. -errno with one
 * message printed: this is the top of the failure. */
int tracer__start(const struct tracer_opts *opts, const struct tracer_handlers *h,
		  struct tracer **out);
/* How OOM kills are seen: "raw_tp", "tracepoint" (victim pid only) or NULL. */
const char *tracer__oom_hook(const struct tracer *t);
/* Stop keeping an OOM victim's freed pages as evidence. */
void tracer__thaw_slot(struct tracer *t, uint32_t slot);
/* Hand a process's slot back to the kernel side for reuse: only for a
 * process that is gone and whose pages are all freed (its counters are
 * zeroed here, so what it did stops showing). */
int tracer__recycle_slot(struct tracer *t, const struct ms_proc_key *key, uint32_t slot);
enum tracer_hook tracer__hook(const struct tracer *t);
/* Deliver queued samples to fn; waits up to timeout_ms when there are none. */
int tracer__poll(struct tracer *t, int timeout_ms);
/* Detach so nothing changes while the tables are read; drains the ring. */
void tracer__stop(struct tracer *t);

typedef void (*tracer_proc_fn)(void *ctx, const struct ms_proc_key *key,
			       const struct ms_proc_info *info);
int tracer__for_each_proc(struct tracer *t, tracer_proc_fn fn, void *ctx);
/* Exact counters of one slot, summed over CPUs. */
int tracer__proc_stats(struct tracer *t, uint32_t slot, struct ms_proc_stats *out);
uint32_t tracer__slots_used(const struct tracer *t);
/* The per-pfn records (max_pfn of them); NULL without free tracking. */
struct page_records *tracer__page_records(const struct tracer *t);
int tracer__kstack(struct tracer *t, int32_t id, uint64_t *ips, size_t max, size_t *n);
void tracer__drops(struct tracer *t, struct tracer_drops *out);
/* Pages migrated, collapsed or split so far (each may move a sample's
 * record to another frame). */
uint64_t tracer__pages_moved(const struct tracer *t);
uint64_t tracer__page_size(const struct tracer *t);
void tracer__free(struct tracer *t);

#endif

/* The folded stacks `memscope record` writes once the window closes:
 *
 *   CONTAINER;COMM;[CLASS];user frames root->leaf;kernel frames_[k] BYTES
 *   4f2a9c1d7e3b;leaker;[native];_start;__libc_start_main;main;leak_fn;memset;asm_exc_page_fault_[k];... 268435456
 *
 * With --js-heap, V8's sampled live allocations follow, by JS frame
 * (jsheap_run.h): CONTAINER;COMM;[v8-heap];[js-heap];JS frames BYTES.
 *
 * CLASS (memclass.h: v8-heap, native, file, shmem, kernel) is there when the
 * recorder settled with a classifier (outstanding mode).
 */
#ifndef MEMSCOPE_RECORD_OUTPUT_H
#define MEMSCOPE_RECORD_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "memscope.h"

struct recorder;
struct tracer;
struct usyms;
struct cgroups;
struct ksyms;
struct folded;
struct rec_bucket;
struct memsplit;
struct proc_exits;
struct jsheap_run;

#define FRAME_LEN	256
#define MAX_KFRAMES	127
#define MAX_FRAMES	(3 + MS_MAX_USTACK + 1 + MAX_KFRAMES)

struct record_ctx {
	uint32_t sample_every;
	struct tracer *tracer;
	struct recorder *recorder;
	struct usyms *usyms;
	struct cgroups *cgroups;	/* may be NULL: labels fall back to cgroup ids */
	struct ksyms *ksyms;		/* may be NULL: kernel frames print as addresses */
	bool outstanding;
	double seconds;
	struct memsplit *split;		/* may be NULL: no growth by class, no verdict */
	struct proc_exits *exits;	/* processes whose slots were recycled; may be NULL */
	struct jsheap_run *js;		/* --js-heap's JS stacks; may be NULL */
};

/* Label of a memory cgroup for output: container id, cgroup path or "/". */
void record_output__label(struct cgroups *cg, uint64_t cgid, char *buf, size_t len);
int record_output__folded(const struct record_ctx *c, struct folded *out);

/* A bucket's weighted estimates scaled so that each process's buckets add up
 * to its exact totals from the kernel's counters: bytes allocated in the
 * window, and bytes still resident at its end (0 in allocated mode). */
struct record_values {
	uint64_t alloc;
	uint64_t outstanding;
};
typedef int (*record_bucket_fn)(void *ctx, const struct rec_bucket *b,
				const struct record_values *v);
/* Calls fn for each bucket with a non-zero value, stopping at the first
 * non-zero return of fn, which it returns. 0, -ENOMEM. */
int record_output__each(const struct record_ctx *c, record_bucket_fn fn, void *ctx);
/* The frames of one bucket, root first: label, comm, [class] when it has
 * one, user frames, kernel frames (_[k]). names must hold MAX_FRAMES.
 * Returns how many. */
size_t record_output__frames(const struct record_ctx *c, const struct rec_bucket *b,
			     char (*names)[FRAME_LEN]);

#endif

/* Names a recorder bucket's stack, once, into a stack of the recording
 * (recording.h): user frames through usyms, kernel frames through ksyms
 * (the ips as BPF recorded them, innermost first; the tracing machinery
 * that ran the program is left out), the container label through cgroups.
 * The session calls it when the window closes, and `oom` at each kill. */
#ifndef MEMSCOPE_STACK_NAMES_H
#define MEMSCOPE_STACK_NAMES_H

#include <stddef.h>
#include <stdint.h>

struct recording;
struct rec_stack;
struct rec_bucket;
struct record_ctx;
struct cgroups;

/* Appends b's stack to r: frames, container, comm, thread, class, slot;
 * bytes and pid are the caller's. *out (may be NULL) is the new stack.
 * 0 or -ENOMEM. */
int stack_names__bucket(struct recording *r, const struct record_ctx *c,
			const struct rec_bucket *b, const uint64_t *kips, size_t nk,
			struct rec_stack **out);

/* The type stack_names__bucket has, for callers handed a way to name
 * stacks (oom_report.h) rather than the tracer that holds kernel stacks. */
typedef int (*stack_names_fn)(const struct record_ctx *c, struct recording *r,
			      const struct rec_bucket *b, struct rec_stack **out);

#endif

/* Settled recordings (recording.h) built by hand, so that every output can
 * be tested without a tracer: stacks from frame tables, processes from
 * their counters, and whatever a FILE got written back as one string. */
#ifndef MEMSCOPE_TEST_MODEL_BUILD_H
#define MEMSCOPE_TEST_MODEL_BUILD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "recording.h"

/* Frames of a table, root first; names are interned by mb_stack. */
#define MB_USER(n, a, m)	{ .name = (n), .addr = (a), .mapping = (m), .kind = FRAME_USER }
#define MB_CALL(n, a, m)	{ .name = (n), .addr = (a), .mapping = (m), .kind = FRAME_USER, \
				  .call = true }
#define MB_JIT(n)		{ .name = (n), .mapping = REC_MAPPING_JIT, .kind = FRAME_JIT }
#define MB_KERNEL(n, a)		{ .name = (n), .addr = (a), .kind = FRAME_KERNEL }
#define MB_LABEL(n)		{ .name = (n), .kind = FRAME_LABEL }

/* A recording of 8 s in the given mode, one page in 64 of 4096 bytes. */
struct recording *mb_new(bool outstanding);
/* A native stack of pid with the given bytes and class; frames copied. */
struct rec_stack *mb_stack(struct recording *r, const char *container, const char *comm,
			   uint32_t pid, uint8_t cls, uint64_t alloc, uint64_t outstanding,
			   const struct frame *frames, size_t n);
/* A process of the kernel's table with its exact counters. */
struct rec_proc *mb_proc(struct recording *r, uint32_t tgid, uint32_t slot, uint64_t cgid,
			 const char *comm, uint64_t alloc, uint64_t freed);
/* Everything written to f since it was opened (tmpfile()), as a string to
 * free; f is closed. */
char *mb_slurp(FILE *f);

#endif

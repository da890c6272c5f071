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
 *
 * This is the one place frames become decorated text: `[class]`, `[label]`,
 * `name_[j]` (JIT) and `name_[k]` (kernel). Everything else reads the frame
 * structs of the recording (recording.h).
 */
#ifndef MEMSCOPE_RECORD_OUTPUT_H
#define MEMSCOPE_RECORD_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "recording.h"

struct folded;

/* A stack's decorated frames, root first, in a buffer reused from one
 * stack to the next: { 0 } to start, record_output__text_free at the end. */
struct stack_text {
	const char **frames;
	size_t n, frames_cap;
	char *buf;
	size_t buf_cap;
};

/* One frame with its mark: "[x]" a label, "x_[j]" JIT code, "x_[k]" the
 * kernel (cut to FRAME_LEN - 1 bytes), a user frame as it is. Returns the
 * length written (snprintf's, so at most room - 1). */
size_t record_output__frame_text(const struct frame *f, char *out, size_t room);

/* s as text: container, comm, [class] when it has one, then its frames
 * with their marks. 0 or -ENOMEM. */
int record_output__frames(const struct rec_stack *s, struct stack_text *out);
void record_output__text_free(struct stack_text *t);

/* The bytes a stack shows in r's mode: live for JS stacks. */
uint64_t record_output__value(const struct recording *r, const struct rec_stack *s);

/* Every stack with bytes in r's mode into out. 0 or -ENOMEM. */
int record_output__folded(const struct recording *r, struct folded *out);

#endif

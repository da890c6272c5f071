/* How a recorded stack is written as text, in one place: the folded writer
 * (record_output.h), the class split's top stacks and the OOM report all
 * take their frames from here, so a mark means the same everywhere:
 *
 *   [class] and [label]   a frame memscope adds, not the program's
 *   name_[j]              JIT code (a perf map named it)
 *   name_[k]              the kernel
 *
 * Everything else reads the frame structs of the recording (recording.h).
 */
#ifndef MEMSCOPE_STACK_TEXT_H
#define MEMSCOPE_STACK_TEXT_H

#include <stddef.h>

#include "recording.h"

/* A stack's decorated frames, root first, in a buffer reused from one
 * stack to the next: { 0 } to start, stack_text__free at the end. */
struct stack_text {
	const char **frames;
	size_t n, frames_cap;
	char *buf;
	size_t buf_cap;
};

/* One frame with its mark: "[x]" a label, "x_[j]" JIT code, "x_[k]" the
 * kernel (cut to FRAME_LEN - 1 bytes), a user frame as it is. Returns the
 * length written (snprintf's, so at most room - 1). */
size_t stack_text__frame(const struct frame *f, char *out, size_t room);

/* s as text: container, comm, [class] when it has one, then its frames
 * with their marks. 0 or -ENOMEM. */
int stack_text__stack(const struct rec_stack *s, struct stack_text *out);
void stack_text__free(struct stack_text *t);

#endif

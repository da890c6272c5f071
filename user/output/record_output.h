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
 * The marks (`[class]`, `[label]`, `name_[j]`, `name_[k]`) come from
 * stack_text.h, the one place frames become text; everything else reads
 * the frame structs of the recording (recording.h).
 */
#ifndef MEMSCOPE_RECORD_OUTPUT_H
#define MEMSCOPE_RECORD_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "recording.h"

struct folded;

/* The bytes a stack shows in r's mode: live for JS stacks. */
uint64_t record_output__value(const struct recording *r, const struct rec_stack *s);

/* Every stack with bytes in r's mode into out. 0 or -ENOMEM. */
int record_output__folded(const struct recording *r, struct folded *out);

#endif

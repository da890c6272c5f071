/* Whole user stacks from a copy of the stack and each frame's CFI (x86_64),
 * the way perf --call-graph dwarf does it: the BPF program copies the bytes
 * above the user sp with the registers, and each frame is stepped with the
 * rule of the code it executes (CFA = sp or bp + offset, return address and
 * caller's rbp saved at CFA + offset). Where no rule applies (JIT code, a
 * file not read) a frame is stepped by its frame pointer if that points into
 * the copy; once the copy ends, the frame-pointer chain BPF walked takes over
 * from the return address both walks share.
 *
 * Pure logic: rules come from a callback (usyms in memscope, tables in tests).
 * Time per stack is bounded by the frame limit: each step is one rule lookup
 * and two reads from the copy. */
#ifndef MEMSCOPE_UNWIND_H
#define MEMSCOPE_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum unwind_cfa { UNWIND_CFA_SP, UNWIND_CFA_BP };

enum unwind_bp {
	UNWIND_BP_SAME,		/* the frame left rbp alone */
	UNWIND_BP_SAVED,	/* caller's rbp saved at CFA + bp_off */
	UNWIND_BP_LOST,		/* clobbered in a way we do not follow */
};

/* One code address's rule. outermost: the return address is undefined, the
 * stack starts here (_start, a thread's entry). */
struct unwind_rule {
	enum unwind_cfa cfa_base;
	enum unwind_bp bp;
	bool outermost;
	int64_t cfa_off;
	int64_t ra_off;
	int64_t bp_off;
};

/* The rule for code at addr, an address in the process (a return address
 * minus 1, so the call instruction's rule). 0, or a negative errno when
 * there is none: -ENOENT no CFI there, -ENOTSUP a rule we do not evaluate. */
typedef int (*unwind_rule_fn)(void *ctx, uint64_t addr, struct unwind_rule *rule);

/* Why an unwind ended before the outermost frame. */
enum unwind_stop {
	UNWIND_COMPLETE,	/* reached a frame whose return address is undefined, or 0 */
	UNWIND_NO_CFI,		/* a frame without (usable) CFI nor frame pointer */
	UNWIND_UNREADABLE,	/* a saved slot outside the copied stack */
	UNWIND_DEPTH,		/* more frames than the caller's array */
	UNWIND_NR_STOPS,
};

struct unwind_input {
	uint64_t ip, sp, bp;		/* user registers at the sample */
	const uint8_t *stack;		/* bytes copied from sp */
	size_t stack_len;
	const uint64_t *fp_chain;	/* BPF's frame-pointer walk: ip, then return addresses */
	size_t fp_len;
};

struct unwind_result {
	enum unwind_stop stop;		/* why the CFI walk stopped */
	size_t cfi_frames;		/* frames found by CFI or in-copy frame pointers */
	bool spliced;			/* frames after the CFI walk came from fp_chain */
};

/* Frames into ips[0..max): ips[0] = ip, then return addresses, outermost
 * last. Returns how many. res says how the walk ended; when the CFI walk
 * stopped early the frames still come from fp_chain where it shares a return
 * address with the walk (or, at the leaf, from fp_chain whole). */
size_t unwind__stack(const struct unwind_input *in, unwind_rule_fn rule, void *ctx,
		     uint64_t *ips, size_t max, struct unwind_result *res);

#endif

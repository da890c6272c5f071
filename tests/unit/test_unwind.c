/* The unwinder's logic on hand-built stacks: a table of code ranges and
 * their CFI rules stands for the files, an array of words for the copied
 * stack (at SP). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "unwind.h"

#define SP 0x7ffd0000ULL

/* Code ranges: [start, start + 0x100). */
#define LEAF	0x1100ULL	/* frameless: CFA = sp + 8 */
#define MID	0x1200ULL	/* frameless with 24 bytes of locals: CFA = sp + 32 */
#define FPFN	0x1300ULL	/* keeps a frame pointer: CFA = bp + 16, rbp at CFA - 16 */
#define START	0x1400ULL	/* _start: return address undefined */
#define JIT	0x1600ULL	/* no CFI (JIT code keeping a frame pointer) */
#define LOOPY	0x1700ULL	/* a wrong rule: CFA below sp */
#define SAVER	0x1800ULL	/* saves rbp far above: CFA = sp + 16, rbp at CFA + 0x1000 */

static uint64_t looked_up[32];
static size_t nlooked;

static int rules(void *ctx, uint64_t addr, struct unwind_rule *r)
{
	(void)ctx;
	if (nlooked < 32)
		looked_up[nlooked++] = addr;
	memset(r, 0, sizeof(*r));
	r->ra_off = -8;
	switch (addr & ~0xffULL) {
	case LEAF: r->cfa_off = 8; return 0;
	case MID: r->cfa_off = 32; return 0;
	case FPFN:
		r->cfa_base = UNWIND_CFA_BP;
		r->cfa_off = 16;
		r->bp = UNWIND_BP_SAVED;
		r->bp_off = -16;
		return 0;
	case START: r->outermost = true; return 0;
	case LOOPY: r->cfa_off = -8; return 0;
	case SAVER:
		r->cfa_off = 16;
		r->bp = UNWIND_BP_SAVED;
		r->bp_off = 0x1000;
		return 0;
	default: return -ENOENT;
	}
}

static void init(void)
{
	nlooked = 0;
}

TestSuite(unwind, .init = init);

static uint64_t at(size_t word)
{
	return SP + 8 * word;
}

/* leaf (frameless) <- mid (frameless, garbage in rbp would not matter) <-
 * fpfn (rbp frame) <- _start: every frame, though only fpfn keeps rbp. */
static uint64_t whole[10] = {
	[0] = MID + 0x50,		/* leaf's return address, at CFA - 8 = sp */
	[4] = FPFN + 0x50,		/* mid's: CFA = sp + 8 + 32, saved at CFA - 8 */
	[6] = 0,			/* fpfn's saved rbp (at its rbp) */
	[7] = START + 0x20,		/* fpfn's return address */
};

static struct unwind_input input(const uint64_t *words, size_t nwords)
{
	return (struct unwind_input){
		.ip = LEAF + 0x10, .sp = SP, .bp = at(6),
		.stack = (const uint8_t *)words, .stack_len = nwords * 8,
	};
}

Test(unwind, frameless_frames_by_cfi)
{
	struct unwind_input in = input(whole, 10);
	struct unwind_result res;
	uint64_t ips[8];
	size_t n = unwind__stack(&in, rules, NULL, ips, 8, &res);

	cr_assert_eq(n, 4);
	cr_assert_eq(ips[0], LEAF + 0x10);
	cr_assert_eq(ips[1], MID + 0x50);
	cr_assert_eq(ips[2], FPFN + 0x50);
	cr_assert_eq(ips[3], START + 0x20);
	cr_assert_eq(res.stop, UNWIND_COMPLETE);
	cr_assert_not(res.spliced);
	cr_assert_eq(res.cfi_frames, 4);
	/* The leaf's rule at its ip, the callers' at their call instruction. */
	cr_assert_eq(looked_up[0], LEAF + 0x10);
	cr_assert_eq(looked_up[1], MID + 0x4f);
}

/* A call as a function's last instruction returns to the next function:
 * the caller's rule is the call's. */
Test(unwind, return_address_looked_up_at_the_call)
{
	uint64_t words[10];
	struct unwind_input in;
	struct unwind_result res;
	uint64_t ips[8];

	memcpy(words, whole, sizeof(words));
	words[0] = MID + 0x100;	/* == FPFN: mid ends in a noreturn call */
	in = input(words, 10);
	cr_assert_eq(unwind__stack(&in, rules, NULL, ips, 8, &res), 4);
	cr_assert_eq(ips[2], FPFN + 0x50, "mid's frame stepped with fpfn's rule");
}

/* JIT code has no CFI but a frame pointer: stepped by it, and CFI resumes. */
Test(unwind, jit_frame_by_frame_pointer)
{
	uint64_t words[12] = {
		[0] = JIT + 0x40,	/* leaf returns into JIT code */
		[2] = at(6),		/* JIT frame: saved rbp (fpfn's frame) */
		[3] = FPFN + 0x50,	/* JIT frame's return address */
		[6] = 0,
		[7] = START + 0x20,
	};
	struct unwind_input in = input(words, 12);
	struct unwind_result res;
	uint64_t ips[8];

	in.bp = at(2);
	cr_assert_eq(unwind__stack(&in, rules, NULL, ips, 8, &res), 4);
	cr_assert_eq(ips[1], JIT + 0x40);
	cr_assert_eq(ips[2], FPFN + 0x50);
	cr_assert_eq(ips[3], START + 0x20);
	cr_assert_eq(res.stop, UNWIND_COMPLETE);
}

/* The copy ends before mid's return address: BPF's frame-pointer chain
 * goes on from the return address both walks share. */
Test(unwind, spliced_onto_the_frame_pointer_chain)
{
	const uint64_t chain[] = { LEAF + 0x10, 0xbad, MID + 0x50, FPFN + 0x50, START + 0x20 };
	struct unwind_input in = input(whole, 3);
	struct unwind_result res;
	uint64_t ips[8];

	in.fp_chain = chain;
	in.fp_len = 5;
	cr_assert_eq(unwind__stack(&in, rules, NULL, ips, 8, &res), 4);
	cr_assert_eq(ips[1], MID + 0x50);
	cr_assert_eq(ips[2], FPFN + 0x50);
	cr_assert_eq(ips[3], START + 0x20);
	cr_assert_eq(res.stop, UNWIND_UNREADABLE);
	cr_assert(res.spliced);
	cr_assert_eq(res.cfi_frames, 2);

	/* No shared return address: what CFI found, nothing made up. */
	in.fp_len = 2;
	cr_assert_eq(unwind__stack(&in, rules, NULL, ips, 8, &res), 2);
	cr_assert_not(res.spliced);
}

/* No CFI at the leaf and rbp outside the copy: the chain BPF walked, whole. */
Test(unwind, leaf_without_cfi_keeps_the_chain)
{
	const uint64_t chain[] = { 0x9000, FPFN + 0x50, START + 0x20 };
	struct unwind_input in = input(whole, 10);
	struct unwind_result res;
	uint64_t ips[8];

	in.ip = 0x9000;
	in.bp = 0x10;
	in.fp_chain = chain;
	in.fp_len = 3;
	cr_assert_eq(unwind__stack(&in, rules, NULL, ips, 8, &res), 3);
	cr_assert_eq(ips[0], 0x9000);
	cr_assert_eq(ips[2], START + 0x20);
	cr_assert_eq(res.stop, UNWIND_NO_CFI);
	cr_assert(res.spliced);
}

Test(unwind, depth_limit)
{
	struct unwind_input in = input(whole, 10);
	struct unwind_result res;
	uint64_t ips[2];

	cr_assert_eq(unwind__stack(&in, rules, NULL, ips, 2, &res), 2);
	cr_assert_eq(res.stop, UNWIND_DEPTH);
	cr_assert_eq(ips[1], MID + 0x50);
}

/* A rule that would not move up the stack ends the walk instead of looping. */
Test(unwind, no_progress_stops)
{
	struct unwind_input in = input(whole, 10);
	struct unwind_result res;
	uint64_t ips[8];

	in.ip = LOOPY;
	cr_assert_eq(unwind__stack(&in, rules, NULL, ips, 8, &res), 1);
	cr_assert_eq(res.stop, UNWIND_UNREADABLE);
}

/* A frame saved the caller's rbp outside the copy: the next rbp-based CFA
 * is not computed from the stale rbp (which here would walk on). */
Test(unwind, lost_rbp_is_not_used)
{
	uint64_t words[10];
	struct unwind_input in;
	struct unwind_result res;
	uint64_t ips[8];

	memcpy(words, whole, sizeof(words));
	words[1] = FPFN + 0x50;
	in = input(words, 10);
	in.ip = SAVER;
	cr_assert_eq(unwind__stack(&in, rules, NULL, ips, 8, &res), 2);
	cr_assert_eq(ips[1], FPFN + 0x50);
	cr_assert_eq(res.stop, UNWIND_UNREADABLE);
}

#include <errno.h>
#include <string.h>

#include "unwind.h"

struct regs {
	uint64_t ip, sp, bp;
	bool bp_known;		/* false once a frame clobbered rbp untraceably */
};

static bool read_u64(const struct unwind_input *in, uint64_t addr, uint64_t *val)
{
	if (!in->stack || in->stack_len < sizeof(*val) || addr < in->sp ||
	    addr - in->sp > in->stack_len - sizeof(*val))
		return false;
	memcpy(val, in->stack + (addr - in->sp), sizeof(*val));
	return true;
}

/* One step by the frame's CFI. 0, or the reason it could not be taken. */
static enum unwind_stop cfi_step(const struct unwind_input *in, const struct unwind_rule *r,
				 struct regs *g)
{
	uint64_t cfa, ra, bp = g->bp;

	if (r->cfa_base == UNWIND_CFA_BP && !g->bp_known)
		return UNWIND_UNREADABLE;
	cfa = (r->cfa_base == UNWIND_CFA_SP ? g->sp : g->bp) + (uint64_t)r->cfa_off;
	/* The caller's frame lies above this one: anything else is a wrong
	 * rule or a stack we misread, and would loop. */
	if (cfa <= g->sp || !read_u64(in, cfa + (uint64_t)r->ra_off, &ra))
		return UNWIND_UNREADABLE;
	if (r->bp == UNWIND_BP_SAVED && !read_u64(in, cfa + (uint64_t)r->bp_off, &bp))
		g->bp_known = false;
	else if (r->bp == UNWIND_BP_LOST)
		g->bp_known = false;
	g->bp = bp;
	g->sp = cfa;
	g->ip = ra;
	return UNWIND_COMPLETE;
}

/* One step by the frame pointer, for code without CFI that keeps one (V8's
 * JIT code does): [bp] is the caller's rbp, [bp + 8] the return address. */
static bool fp_step(const struct unwind_input *in, struct regs *g)
{
	uint64_t next, ra;

	if (!g->bp_known || g->bp < g->sp || (g->bp & 7) || !read_u64(in, g->bp, &next) ||
	    !read_u64(in, g->bp + 8, &ra))
		return false;
	g->sp = g->bp + 16;
	g->bp = next;
	g->ip = ra;
	return true;
}

/* Appends what fp_chain holds above ips[n - 1], when the chain has that
 * frame too. Returns the new count. */
static size_t splice(const struct unwind_input *in, uint64_t *ips, size_t n, size_t max,
		     bool *spliced)
{
	size_t k;

	if (!in->fp_chain || !in->fp_len)
		return n;
	if (n == 1) {
		if (in->fp_chain[0] != ips[0])
			return n;
		k = 0;
	} else {
		for (k = 1; k < in->fp_len && in->fp_chain[k] != ips[n - 1]; k++)
			;
		if (k == in->fp_len)
			return n;
	}
	for (k++; k < in->fp_len && n < max; k++) {
		ips[n++] = in->fp_chain[k];
		*spliced = true;
	}
	return n;
}

size_t unwind__stack(const struct unwind_input *in, unwind_rule_fn rule, void *ctx,
		     uint64_t *ips, size_t max, struct unwind_result *res)
{
	struct regs g = { .ip = in->ip, .sp = in->sp, .bp = in->bp, .bp_known = true };
	struct unwind_rule r;
	size_t n = 0;

	memset(res, 0, sizeof(*res));
	if (!max)
		return 0;
	ips[n++] = g.ip;
	res->cfi_frames = 1;
	for (;;) {
		/* A return address points after its call: the call's rule is
		 * the frame's, and may differ (a noreturn call ends a function). */
		uint64_t at = n == 1 ? g.ip : g.ip - 1;
		enum unwind_stop stop;

		if (rule(ctx, at, &r) == 0) {
			if (r.outermost)
				break;
			stop = cfi_step(in, &r, &g);
		} else {
			stop = fp_step(in, &g) ? UNWIND_COMPLETE : UNWIND_NO_CFI;
		}
		if (stop != UNWIND_COMPLETE) {
			res->stop = stop;
			break;
		}
		if (!g.ip)
			break;
		if (n == max) {
			res->stop = UNWIND_DEPTH;
			return n;
		}
		ips[n++] = g.ip;
		res->cfi_frames = n;
	}
	if (res->stop != UNWIND_COMPLETE)
		n = splice(in, ips, n, max, &res->spliced);
	return n;
}

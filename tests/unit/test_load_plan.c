/* The loader's fallbacks against a simulated kernel that refuses a chosen
 * set of parts: whatever it refuses, the plan must end with exactly those
 * parts off (and the core on when any hook can carry it). */
#include <criterion/criterion.h>

#include "load_plan.h"

enum { R_CACHE = 1, R_USER = 2, R_KSTACK = 4, R_CORE_RAW = 8, R_CORE_TP = 16,
       R_OOM_SNAP = 32, R_OOM_RAW = 64, R_OOM_TP = 128, R_MOVED = 256, R_MOVES = 512,
       R_EXEC = 1024, R_COPY = 2048 };

/* Which program a kernel with these refusals rejects first (libbpf loads
 * the page programs before the OOM ones), CULPRIT_OTHER when all load. */
static enum load_culprit refuses(const struct load_plan *p, unsigned r)
{
	if ((p->kstack_cache && (r & R_CACHE)) || (p->user_stacks && (r & R_USER)) ||
	    (p->user_stacks && p->stack_copy && (r & R_COPY)) ||
	    (p->kernel_stacks && (r & R_KSTACK)) || (p->split_pages && (r & R_MOVED)) ||
	    (p->raw_tp && (r & R_CORE_RAW)) ||
	    (!p->raw_tp && (r & R_CORE_TP)))
		return CULPRIT_PAGE;
	if (p->oom == OOM_HOOK_RAW_TP && ((r & R_OOM_RAW) || (p->oom_snapshot && (r & R_OOM_SNAP))))
		return CULPRIT_OOM_RAW_TP;
	if (p->oom == OOM_HOOK_TRACEPOINT && (r & R_OOM_TP))
		return CULPRIT_OOM_TRACEPOINT;
	if (p->moved_pages && (r & R_MOVES))
		return CULPRIT_MOVED_PAGES;
	if (p->exec_names && (r & R_EXEC))
		return CULPRIT_EXEC;
	return CULPRIT_OTHER;
}

/* The tracer's loop. Returns the loads it took, -1 when it gave up. */
static int settle(struct load_plan *p, const struct load_wants *w, unsigned r)
{
	int loads = 0;

	load_plan__init(p, w);
	while (loads < 50) {
		enum load_culprit c = refuses(p, r);

		loads++;
		if (c == CULPRIT_OTHER) {
			if (!load_plan__loaded(p))
				return loads;
			continue;
		}
		if (!load_plan__degrade(p, c))
			return -1;
	}
	return -2;
}

static const struct load_wants all = {
	.raw_tp = true, .classic_tp = true, .kernel_stacks = true, .kstack_cache = true,
	.user_stacks = true, .stack_copy = true, .oom = OOM_HOOK_RAW_TP, .oom_tracepoint = true, .split_pages = true,
	.moved_pages = true, .exec_names = true,
};

struct page_case {
	unsigned refused;
	bool raw_tp, kernel_stacks, kstack_cache, user_stacks, split_pages, stack_copy;
	int max_loads;
};

Test(load_plan, each_refusal_costs_only_itself)
{
	/* A refused stack copy is given up before the user stacks it lives in. */
	static const struct page_case cases[] = {
		{ 0, true, true, true, true, true, true, 1 },
		{ R_CACHE, true, true, false, true, true, true, 2 },
		{ R_COPY, true, true, true, true, true, false, 3 },
		{ R_USER, true, true, true, false, true, false, 4 },
		{ R_MOVED, true, true, true, true, false, true, 5 },
		{ R_KSTACK, true, false, false, true, true, true, 6 },
		{ R_CACHE | R_USER, true, true, false, false, true, false, 14 },
		{ R_CACHE | R_COPY, true, true, false, true, true, false, 14 },
		{ R_KSTACK | R_USER, true, false, false, false, true, false, 14 },
		{ R_CACHE | R_USER | R_KSTACK | R_MOVED, true, false, false, false, false, false, 14 },
		/* Raw hooks refused whatever is off: the classic ones, all on. */
		{ R_CORE_RAW, false, true, true, true, true, true, 10 },
		{ R_CORE_RAW | R_USER, false, true, true, false, true, false, 14 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct page_case *c = &cases[i];
		struct load_plan p;
		int loads = settle(&p, &all, c->refused);

		cr_expect_gt(loads, 0, "case %zu: gave up", i);
		cr_expect_leq(loads, c->max_loads, "case %zu: %d loads", i, loads);
		cr_expect_eq(p.raw_tp, c->raw_tp, "case %zu: raw_tp", i);
		cr_expect_eq(p.kernel_stacks, c->kernel_stacks, "case %zu: kernel_stacks", i);
		cr_expect_eq(p.kstack_cache, c->kstack_cache, "case %zu: kstack_cache", i);
		cr_expect_eq(p.user_stacks, c->user_stacks, "case %zu: user_stacks", i);
		cr_expect_eq(p.split_pages, c->split_pages, "case %zu: split_pages", i);
		cr_expect_eq(p.stack_copy, c->stack_copy, "case %zu: stack_copy", i);
		cr_expect_eq(p.oom, OOM_HOOK_RAW_TP, "case %zu: the OOM hook went with it", i);
		cr_expect(p.oom_snapshot, "case %zu", i);
	}
}

Test(load_plan, core_refused_everywhere_gives_up)
{
	struct load_plan p;

	cr_expect_eq(settle(&p, &all, R_CORE_RAW | R_CORE_TP), -1);
	/* No classic tracepoints to fall back to. */
	struct load_wants w = all;

	w.classic_tp = false;
	cr_expect_eq(settle(&p, &w, R_CORE_RAW), -1);
}

Test(load_plan, refused_parts_that_were_not_wanted_cost_nothing)
{
	struct load_wants w = all;
	struct load_plan p;

	/* record --no-kstacks: the kernel walk is off already. */
	w.kernel_stacks = false;
	cr_expect_eq(settle(&p, &w, R_KSTACK | R_CACHE), 1);
	cr_expect(!p.kernel_stacks && !p.kstack_cache && p.user_stacks);
	cr_expect_gt(settle(&p, &w, R_USER), 0);
	cr_expect(!p.kernel_stacks && !p.user_stacks);
}

Test(load_plan, oom_hook_falls_back_step_by_step)
{
	struct load_wants w = all;
	struct load_plan p;

	cr_expect_eq(settle(&p, &all, R_OOM_SNAP), 2);
	cr_expect(p.oom == OOM_HOOK_RAW_TP && !p.oom_snapshot);
	cr_expect_eq(settle(&p, &all, R_OOM_RAW), 3);
	cr_expect(p.oom == OOM_HOOK_TRACEPOINT && !p.oom_snapshot);
	cr_expect_gt(settle(&p, &all, R_OOM_RAW | R_OOM_TP), 0);
	cr_expect_eq(p.oom, OOM_HOOK_NONE);
	/* The page programs are untouched by an OOM refusal. */
	cr_expect(p.raw_tp && p.kernel_stacks && p.kstack_cache && p.user_stacks);

	w.oom_tracepoint = false;
	cr_expect_gt(settle(&p, &w, R_OOM_RAW), 0);
	cr_expect_eq(p.oom, OOM_HOOK_NONE);
	/* A kernel whose mark_victim passes only the pid: the classic hook. */
	w = all;
	w.oom = OOM_HOOK_NONE;
	cr_expect_eq(settle(&p, &w, 0), 1);
	cr_expect(p.oom == OOM_HOOK_TRACEPOINT && !p.oom_snapshot);
}

Test(load_plan, page_and_oom_refusals_together)
{
	struct load_plan p;

	cr_expect_gt(settle(&p, &all, R_USER | R_OOM_SNAP), 0);
	cr_expect(p.kernel_stacks && p.kstack_cache && !p.user_stacks);
	cr_expect(p.oom == OOM_HOOK_RAW_TP && !p.oom_snapshot);
}

Test(load_plan, separate_programs_go_alone)
{
	struct load_plan p;

	cr_expect_eq(settle(&p, &all, R_MOVES | R_EXEC), 3);
	cr_expect(!p.moved_pages && !p.exec_names);
	cr_expect(p.raw_tp && p.kernel_stacks && p.kstack_cache && p.user_stacks && p.split_pages);
	cr_expect(p.oom == OOM_HOOK_RAW_TP && p.oom_snapshot);
}

Test(load_plan, culprit_from_program_name)
{
	cr_expect_eq(load_plan__culprit("page_alloc_raw"), CULPRIT_PAGE);
	cr_expect_eq(load_plan__culprit("page_free_batched_tp"), CULPRIT_PAGE);
	cr_expect_eq(load_plan__culprit("oom_victim_raw"), CULPRIT_OOM_RAW_TP);
	cr_expect_eq(load_plan__culprit("oom_victim_tp"), CULPRIT_OOM_TRACEPOINT);
	cr_expect_eq(load_plan__culprit("move_set_pte"), CULPRIT_MOVED_PAGES);
	cr_expect_eq(load_plan__culprit("exec_rename"), CULPRIT_EXEC);
	cr_expect_eq(load_plan__culprit("something_else"), CULPRIT_OTHER);
	cr_expect_eq(load_plan__culprit(NULL), CULPRIT_OTHER);
}

#include <string.h>

#include "load_plan.h"

/* The optional parts inside the page programs, as the plan switches them,
 * in the order they are given up alone: the stack copy before the user
 * stacks it lives in, or a refused copy would cost the frame-pointer walk. */
enum part {
	PART_KSTACK_CACHE,
	PART_STACK_COPY,
	PART_USER_STACKS,
	PART_SPLIT_PAGES,
	PART_KERNEL_STACKS,
	NR_PARTS
};

static bool wanted(const struct load_plan *p, enum part part)
{
	switch (part) {
	case PART_KSTACK_CACHE:
		return p->w.kernel_stacks && p->w.kstack_cache;
	case PART_USER_STACKS:
		return p->w.user_stacks;
	case PART_STACK_COPY:
		return p->w.user_stacks && p->w.stack_copy;
	case PART_SPLIT_PAGES:
		return p->w.split_pages;
	default:
		return p->w.kernel_stacks;
	}
}

static void set_part(struct load_plan *p, enum part part, bool on)
{
	switch (part) {
	case PART_KSTACK_CACHE:
		p->kstack_cache = on;
		break;
	case PART_USER_STACKS:
		p->user_stacks = on;
		/* The copy lives inside the user stack walk. */
		if (!on)
			p->stack_copy = false;
		break;
	case PART_STACK_COPY:
		p->stack_copy = on;
		break;
	case PART_SPLIT_PAGES:
		p->split_pages = on;
		break;
	default:
		p->kernel_stacks = on;
		/* The cache lives inside the kernel stack walk. */
		if (!on)
			p->kstack_cache = false;
	}
}

static void all_wanted(struct load_plan *p)
{
	for (int part = 0; part < NR_PARTS; part++)
		set_part(p, part, wanted(p, part));
}

void load_plan__init(struct load_plan *p, const struct load_wants *w)
{
	memset(p, 0, sizeof(*p));
	p->w = *w;
	p->raw_tp = w->raw_tp || !w->classic_tp;
	all_wanted(p);
	p->oom = w->oom;
	if (p->oom == OOM_HOOK_NONE && w->oom_tracepoint)
		p->oom = OOM_HOOK_TRACEPOINT;
	p->oom_snapshot = p->oom == OOM_HOOK_RAW_TP;
	p->moved_pages = w->moved_pages;
	p->exec_names = w->exec_names;
}

/* A refused page program: first each wanted part alone (one culprit costs
 * only itself, in two loads), then all of them; once that loads, the parts
 * are tried back one at a time (load_plan__loaded), so two culprits cost
 * exactly those two. Last, the classic tracepoints, which verify
 * differently (the pfn comes as a number), with everything wanted again. */
static bool degrade_page(struct load_plan *p)
{
	if (p->phase == PLAN_RESTORING) {
		/* The part just tried back is refused: off for good. */
		set_part(p, p->trying, false);
		p->refused |= 1u << p->trying;
		return true;
	}
	while (p->phase == PLAN_SINGLES && p->next < NR_PARTS) {
		enum part part = p->next++;

		if (!wanted(p, part))
			continue;
		all_wanted(p);
		set_part(p, part, false);
		return true;
	}
	if (p->phase == PLAN_SINGLES) {
		bool any = false;

		for (int part = 0; part < NR_PARTS; part++)
			any |= wanted(p, part);
		p->phase = PLAN_ALL_OFF;
		if (any) {
			for (int part = 0; part < NR_PARTS; part++)
				set_part(p, part, false);
			return true;
		}
	}
	if (p->raw_tp && p->w.classic_tp) {
		p->raw_tp = false;
		p->phase = PLAN_SINGLES;
		p->next = 0;
		p->refused = 0;
		all_wanted(p);
		return true;
	}
	return false;
}

bool load_plan__loaded(struct load_plan *p)
{
	/* Kernel stacks first (the cache needs them), the cache last; the
	 * stack copy after the user stacks it needs. */
	static const enum part order[] = { PART_KERNEL_STACKS, PART_USER_STACKS, PART_STACK_COPY,
					   PART_SPLIT_PAGES, PART_KSTACK_CACHE };

	if (p->phase == PLAN_ALL_OFF) {
		p->phase = PLAN_RESTORING;
		p->next = 0;
	}
	if (p->phase != PLAN_RESTORING)
		return false;
	while (p->next < (int)(sizeof(order) / sizeof(order[0]))) {
		enum part part = order[p->next++];

		if (!wanted(p, part) || (p->refused & (1u << part)))
			continue;
		if (part == PART_KSTACK_CACHE && !p->kernel_stacks)
			continue;
		if (part == PART_STACK_COPY && !p->user_stacks)
			continue;
		p->trying = part;
		set_part(p, part, true);
		return true;
	}
	p->phase = PLAN_DONE;
	return false;
}

static bool degrade_oom(struct load_plan *p)
{
	if (p->oom == OOM_HOOK_RAW_TP && p->oom_snapshot) {
		p->oom_snapshot = false;
		return true;
	}
	p->oom_snapshot = false;
	if (p->oom == OOM_HOOK_RAW_TP && p->w.oom_tracepoint) {
		p->oom = OOM_HOOK_TRACEPOINT;
		return true;
	}
	if (p->oom != OOM_HOOK_NONE) {
		p->oom = OOM_HOOK_NONE;
		return true;
	}
	return false;
}

bool load_plan__degrade(struct load_plan *p, enum load_culprit culprit)
{
	switch (culprit) {
	case CULPRIT_PAGE:
		return degrade_page(p);
	case CULPRIT_OOM_RAW_TP:
	case CULPRIT_OOM_TRACEPOINT:
		return degrade_oom(p);
	case CULPRIT_MOVED_PAGES:
		if (!p->moved_pages)
			return false;
		p->moved_pages = false;
		return true;
	case CULPRIT_EXEC:
		if (!p->exec_names)
			return false;
		p->exec_names = false;
		return true;
	default:
		return false;
	}
}

enum load_culprit load_plan__culprit(const char *prog)
{
	if (!prog)
		return CULPRIT_OTHER;
	if (!strncmp(prog, "page_", 5))
		return CULPRIT_PAGE;
	if (!strcmp(prog, "oom_victim_raw"))
		return CULPRIT_OOM_RAW_TP;
	if (!strcmp(prog, "oom_victim_tp"))
		return CULPRIT_OOM_TRACEPOINT;
	if (!strncmp(prog, "move_", 5))
		return CULPRIT_MOVED_PAGES;
	if (!strncmp(prog, "exec_", 5))
		return CULPRIT_EXEC;
	return CULPRIT_OTHER;
}

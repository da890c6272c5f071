/* Which of memscope.bpf.c's parts to load, and what to give up next when the
 * kernel refuses them: the core (page accounting) is kept to the last, the
 * optional parts go one at a time, cheapest loss first. Pure logic, so the
 * order of fallbacks is unit-tested without a kernel. */
#ifndef MEMSCOPE_LOAD_PLAN_H
#define MEMSCOPE_LOAD_PLAN_H

#include <stdbool.h>

enum oom_hook { OOM_HOOK_NONE, OOM_HOOK_RAW_TP, OOM_HOOK_TRACEPOINT };

/* What the kernel offers and the user asked for, before anything loads. */
struct load_wants {
	bool raw_tp;			/* raw tracepoints usable for the page hooks */
	bool classic_tp;		/* kmem tracepoints exist (the fallback hook) */
	bool kernel_stacks;		/* asked for (record --no-kstacks turns off) */
	bool kstack_cache;
	bool user_stacks;
	bool stack_copy;		/* user stack bytes for the CFI unwind */
	enum oom_hook oom;		/* best hook the kernel's BTF allows */
	bool oom_tracepoint;		/* the classic oom:mark_victim exists */
	bool split_pages;		/* pieces of split pages (free tracking) */
	bool moved_pages;		/* migration and collapse tracepoints exist */
	bool exec_names;		/* sched_process_exec exists */
};

/* Which program the kernel refused. */
enum load_culprit {
	CULPRIT_PAGE,
	CULPRIT_OOM_RAW_TP,
	CULPRIT_OOM_TRACEPOINT,
	CULPRIT_MOVED_PAGES,
	CULPRIT_EXEC,
	CULPRIT_OTHER,
};

struct load_plan {
	bool raw_tp;
	bool kernel_stacks, kstack_cache, user_stacks, stack_copy, split_pages;
	enum oom_hook oom;
	bool oom_snapshot;
	bool moved_pages, exec_names;
	/* private: where the page programs' fallbacks stand */
	struct load_wants w;
	enum { PLAN_SINGLES, PLAN_ALL_OFF, PLAN_RESTORING, PLAN_DONE } phase;
	int next;		/* next part to give up (singles) or try back */
	int trying;		/* the part being tried back */
	unsigned refused;	/* parts found refused while trying them back */
};

void load_plan__init(struct load_plan *p, const struct load_wants *w);
/* Moves p to the next plan after culprit was refused. false: nothing
 * optional left to give up (the core itself was refused, or culprit is
 * CULPRIT_OTHER): the caller fails with the kernel's error. */
bool load_plan__degrade(struct load_plan *p, enum load_culprit culprit);
/* After a load that worked: true when the plan wants to try a part it gave
 * up back on (the caller loads again; a refusal then comes back through
 * load_plan__degrade, which gives that part up for good). */
bool load_plan__loaded(struct load_plan *p);
/* The culprit for a refused program's name (libbpf's prog name). */
enum load_culprit load_plan__culprit(const char *prog);

#endif

/* What this run of memscope has on and off, and why: the loaders (tracer,
 * memcg events, V8 probes) say what the kernel let them load, and every
 * output (stderr, --report, /metrics) reads the same answer. One process
 * runs one set of loaders, so the state is process-wide. */
#ifndef MEMSCOPE_FEATURE_STATE_H
#define MEMSCOPE_FEATURE_STATE_H

#include <stdbool.h>
#include <stddef.h>

enum feature {
	FEATURE_PAGE_ACCOUNTING,	/* the core: exact totals per cgroup and process */
	FEATURE_KERNEL_STACKS,
	FEATURE_KSTACK_CACHE,
	FEATURE_USER_STACKS,
	FEATURE_STACK_COPY,		/* user stack bytes for the CFI unwind */
	FEATURE_OOM,			/* kills seen by oom:mark_victim */
	FEATURE_OOM_SNAPSHOT,		/* victim's RSS and memcg counters at the kill */
	FEATURE_SPLIT_PAGES,		/* pieces of split higher-order pages */
	FEATURE_MOVED_PAGES,		/* migration, compaction, khugepaged's collapses */
	FEATURE_EXEC_NAMES,		/* a process is named after exec */
	FEATURE_MEMCG_EVENTS,		/* memcg state tracepoints for the timeline */
	FEATURE_V8,			/* uprobes on V8's page layer */
	FEATURE_COUNT,
};

enum feature_state {
	FEATURE_UNSET,	/* this command did not try it: not reported */
	FEATURE_ON,
	FEATURE_OFF,
};

/* Stable key for JSON and metric labels ("kstack_cache"). */
const char *features__name(enum feature f);
/* Marks f on; `detail` (may be NULL) says how, e.g. which hook. */
void features__on(enum feature f, const char *detail);
/* Marks f off and prints one notice line saying why, once per change. */
void features__off(enum feature f, const char *why);
/* Marks f off because the user asked for it: no notice. */
void features__not_requested(enum feature f);
enum feature_state features__state(enum feature f);
/* The reason it is off, or how it is on; "" when none was given. */
const char *features__why(enum feature f);
/* Features switched off by the kernel (not by request). */
size_t features__refused(void);
/* Forgets every state (tests, and a command that reloads). */
void features__reset(void);

#endif

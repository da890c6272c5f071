/* The tracers the overhead suite puts next to a workload: memscope at its
 * default settings and at --sample 1; the floor, counting programs on the
 * same two tracepoints (raw_tp as memscope attaches, and tp_btf), which is
 * what any page tracer pays before doing work; and as yardsticks bpftrace
 * one-liners doing what peers do (count kernel+user stacks of every page
 * allocation; track outstanding pages by pfn). Each runs in the background: started and
 * awaited until it traces ("recording" from memscope, "ready" printed by
 * bpftrace's BEGIN, which runs once every probe is attached) and has gone
 * idle after its start-up, then stopped with SIGINT after the workload, as a
 * user would. */
#ifndef MEMSCOPE_BENCH_TRACERS_H
#define MEMSCOPE_BENCH_TRACERS_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "child.h"

/* TRACER_BASELINE: another memscope build (--baseline), to A/B two
 * versions in the same sandwiched run. */
enum tracer_kind { TRACER_MEMSCOPE, TRACER_BASELINE, TRACER_BPFTRACE, TRACER_FLOOR };

/* bench/floor, built by `make bench-tools`; the suite runs from the
 * repository root. */
#define FLOOR_BIN "build/bench/floor"

struct tracer_def {
	const char *name;
	const char *what;
	enum tracer_kind kind;
	const char *args[4];	/* memscope: extra options; bpftrace: the program;
				 * floor: the attach type */
	const char *only;	/* comma-separated workloads it runs on; NULL: all */
};

static inline bool tracer__is_memscope(const struct tracer_def *d)
{
	return d->kind == TRACER_MEMSCOPE || d->kind == TRACER_BASELINE;
}

extern const struct tracer_def tracer_defs[];
extern const size_t n_tracer_defs;
/* The floor memscope's figures are measured against: its own attach type. */
#define FLOOR_TRACER "floor-raw_tp"

struct tracer {
	const struct tracer_def *def;
	pid_t pid;
	char out[PATH_MAX];
	char err[PATH_MAX];
	char report[PATH_MAX];	/* memscope --report file; empty when not asked */
};

/* Whether the tracer can run here; why says what is missing. memscope is the
 * binary a memscope tracer runs (NULL: none given). memscope_has_report
 * tells whether this memscope knows --report. */
bool tracer__usable(const struct tracer_def *d, const char *memscope, char *why, size_t len);
bool tracer__memscope_has_report(const char *memscope);
/* Starts d with its files under dir (names prefixed by tag) and waits until
 * it traces. 0, or -errno with why filled (its first line of stderr). */
int tracer__start(const struct tracer_def *d, const char *memscope, bool with_report,
		  const char *dir, const char *tag, struct tracer *t, char *why, size_t len);
/* SIGINT, then waits (SIGKILL after the grace period). 0, or -ETIMEDOUT. */
int tracer__stop(struct tracer *t, struct child_result *r);
const struct tracer_def *tracer__find(const char *name);

#endif

/* How a recording window's memory growth splits into classes, per process
 * and per container (memory cgroup), and the verdict on it: `V8 heap
 * growth`, `native growth`, `page cache`, `stable` (growth.h's verdicts).
 *
 * Figures, read every MEMSPLIT_TICK_S (bytes):
 *   process	v8-heap  resident pages in its V8 ranges (v8.h, from pagemap)
 *		native   RssAnon - v8-heap		(/proc/PID/status)
 *		file     RssFile, shmem RssShmem
 *		kernel   not per process: the kernel charges it to the cgroup
 *   container	native   anon - v8-heap of its processes	(memory.stat, cgstat.h)
 *		file, shmem, kernel (kernel + sock): what the cgroup is charged
 * Growth over the window is the last reading minus the first; processes and
 * cgroups first seen after the window opened start from zero (everything
 * they hold was allocated in it).
 *
 * The verdict on each row's readings is verdict.h's rule: the class whose
 * floor rose the most, by far more than it swings, names it, with the time
 * it stopped growing when it did; a garbage collector's sawtooth is not
 * growth, a heap that keeps its garbage collected at a higher level is. A
 * process or cgroup first seen after the window opened is judged from
 * MEMSPLIT_SETTLE_S later: its startup is not growth of the service.
 *
 * The files: memsplit.c (the window, and the rows of the report with their
 * top native stacks), memsplit_procs.c (which processes and cgroups are
 * followed, and reading them), memsplit_series.c (readings over time),
 * memsplit_print.c (the table and the JSON object).
 *
 * Like session.c, this sits where a command would print: it warns about a
 * process whose V8 it cannot see into, and notes what a missing piece (no
 * uprobes, no kpageflags) costs.
 */
#ifndef MEMSCOPE_MEMSPLIT_H
#define MEMSCOPE_MEMSPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "growth.h"
#include "memclass.h"
#include "page_records.h"

#define MEMSPLIT_TICK_S		0.5
#define MEMSPLIT_DISCOVER_S	1.0		/* new processes are looked for this often */
#define MEMSPLIT_PROCS_MAX	65536
#define MEMSPLIT_SAMPLES_MAX	1024		/* per series; older ones are thinned out */
#define MEMSPLIT_SETTLE_S	2.0		/* a new process's startup, not judged */
#define MEMSPLIT_TOP_STACKS	3
#define MEMSPLIT_SHOWN		20		/* processes printed to stderr */

struct cg_hier;
struct cgroups;
struct json;
struct recorder;
struct recording;

/* ---- the recording's split ---------------------------------------------------- */

struct memsplit_opts {
	const char *proc_root;		/* "/proc" */
	const struct cg_hier *hier;	/* NULL: no container figures */
	struct cgroups *cgroups;	/* labels; may be NULL */
	const uint32_t *pids;		/* -p: only these processes */
	size_t n_pids;
	/* -c: only processes in these cgroups (ids) or below them, as the
	 * tracer's filter: a process elsewhere costs no V8 probing or scan. */
	const uint64_t *cgids;
	size_t n_cgids;
	bool v8;			/* find V8 heaps (needs root: uprobes) */
};

struct memsplit;

/* Opens the window: first readings of every process (and its cgroup), V8
 * found and probed. NULL + errno (ENOMEM). Not finding V8 support is not
 * an error: the split then has no v8-heap. */
struct memsplit *memsplit__start(const struct memsplit_opts *o, double now);
/* Call often (every poll): applies V8 events; reads when a tick is due. */
void memsplit__tick(struct memsplit *s, double now);
/* The last readings. */
void memsplit__finish(struct memsplit *s, double now);
/* Outstanding mode: classifies the recorder's sampled pages (v8-heap from
 * the V8 ranges' pfns, the rest from /proc/kpageflags) while settling it. */
void memsplit__settle(struct memsplit *s, struct recorder *r, struct page_records *pr);

/* Rows for the processes the tracer saw allocate (and their containers),
 * with their top native stacks. 0 or -ENOMEM. */
int memsplit__report(struct memsplit *s, const struct recording *rec);
void memsplit__print(const struct memsplit *s, FILE *out);
/* A "growth" object: {"window_s":..,"containers":[..],"processes":[..]}. */
void memsplit__json(const struct memsplit *s, struct json *j);
/* V8 heap bytes committed by pid (0 when not V8 or unknown); still known for
 * a while after the process died, for OOM reports. */
uint64_t memsplit__v8_bytes(struct memsplit *s, int pid);
/* Containers followed now; *entries (may be NULL): entries allocated, the
 * ones of removed cgroups waiting for reuse included. */
size_t memsplit__containers(const struct memsplit *s, size_t *entries);
void memsplit__free(struct memsplit *s);

#endif

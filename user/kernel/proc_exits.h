/* The exact totals of processes whose slots in the kernel's process table
 * were handed back (the process exited, and in outstanding mode every page
 * it allocated was freed), summed per memory cgroup. A long recording
 * recycles slots so the table does not fill up; what the recycled processes
 * did must still count in their container's totals.
 *
 * Bounded by the memory cgroups that had a process exit, not by the
 * processes (about 100 bytes each), and those by PROC_EXITS_MAX_CGROUPS: on
 * a host where containers come and go all day, the cgroups past it share
 * one aggregate, PROC_EXITS_OTHER, so the totals still add up.
 */
#ifndef MEMSCOPE_PROC_EXITS_H
#define MEMSCOPE_PROC_EXITS_H

#include <stddef.h>
#include <stdint.h>

#include "memscope.h"

#define PROC_EXITS_MAX_CGROUPS	4096
#define PROC_EXITS_OTHER	UINT64_MAX	/* cgid of the cgroups past the limit */

struct proc_exit_totals {
	struct ms_proc_stats st;	/* summed over the cgroup's exited processes */
	uint64_t procs;
};

struct proc_exits;

struct proc_exits *proc_exits__new(void);
/* Folds one exited process's totals into its cgroup's. 0 or -ENOMEM. */
int proc_exits__add(struct proc_exits *x, uint64_t cgid, const struct ms_proc_stats *st);
typedef void (*proc_exits_fn)(void *ctx, uint64_t cgid, const struct proc_exit_totals *t);
/* Each cgroup, then PROC_EXITS_OTHER when some went there. x may be NULL. */
void proc_exits__each(const struct proc_exits *x, proc_exits_fn fn, void *ctx);
/* How many times proc_exits__each calls fn. */
size_t proc_exits__cgroups(const struct proc_exits *x);
/* Everything summed over every cgroup. */
void proc_exits__total(const struct proc_exits *x, struct proc_exit_totals *out);
void proc_exits__free(struct proc_exits *x);

#endif

/* What one benchmark invocation borrows from the machine, given back however
 * it ends (normal exit, error, first Ctrl-C): its private scratch directory,
 * the kernel.bpf_stats_enabled sysctl, a tracefs mount it made, the memory
 * cgroups it created and the children still running. */
#ifndef MEMSCOPE_BENCH_LEASE_H
#define MEMSCOPE_BENCH_LEASE_H

#include <stdbool.h>
#include <stdio.h>

struct test_cgroup;
struct sysinfo_machine;

#define BPF_STATS_SYSCTL "/proc/sys/kernel/bpf_stats_enabled"

/* Creates the scratch directory under parent (not /tmp: the page-cache
 * workload needs a filesystem with a page cache, and /tmp may be tmpfs),
 * installs the stop signals and the exit-time cleanup. */
int lease__init(const char *parent);
const char *lease__dir(void);
/* A path in the scratch directory (static buffer, one of 8 in rotation). */
const char *lease__path(const char *name);

/* Copies a binary under test into the scratch directory as name: every run then
 * measures the same build, even if the tree is rebuilt meanwhile. */
int lease__snapshot(const char *bin, const char *name, char *copy, size_t len);

int lease__bpf_stats(bool on);	/* the original value is restored at exit */
int lease__tracefs(bool *mounted_now);
/* Creates a uniquely named memory cgroup, removed at exit. */
int lease__cgroup(struct test_cgroup *cg, const char *tag);
/* Removes one made by lease__cgroup now (killing what is left in it). */
void lease__cgroup_remove(struct test_cgroup *cg);

/* results_dir/<date>-<host><suffix>.json, written atomically by fn. */
int lease__write_results(const char *results_dir, const char *suffix,
			   void (*fn)(FILE *f, void *ctx), void *ctx, char *path, size_t len);
void lease__cleanup(void);

#endif

/* The benchmark's child processes: spawned with stdout/stderr in files and,
 * when asked, moved into a memory cgroup before exec (so every page the
 * program allocates is charged there), then reaped with wait4 so their CPU
 * time and peak RSS come from the kernel's own accounting. While a child
 * runs, its RSS and CPU time are read from /proc:
 *
 *   /proc/PID/status:            VmRSS:	   10240 kB
 *   /proc/PID/task/TID/schedstat: 1834061 20871 12   (ns on CPU, ns waiting, slices)
 */
#ifndef MEMSCOPE_BENCH_CHILD_H
#define MEMSCOPE_BENCH_CHILD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define CHILD_MAX 1024	/* children alive at once */

struct child_opts {
	const char *out;		/* stdout to this file (NULL: /dev/null) */
	const char *err;		/* stderr to this file (NULL: /dev/null) */
	const char *cgroup_procs;	/* join this cgroup.procs before exec (NULL: stay) */
	const char *const *env;		/* extra NAME=VALUE entries, NULL-terminated */
};

struct child_result {
	int status;		/* as from wait4 */
	double wall_s;		/* from fork to reaping */
	double user_s, sys_s;
	long maxrss_kib;	/* peak RSS of the child (ru_maxrss) */
};

/* pid, or -errno (EMFILE when CHILD_MAX children are alive). A child that
 * cannot join its cgroup or exec exits with status 126 or 127. */
pid_t child__spawn(char *const argv[], const struct child_opts *o);
/* Waits up to timeout_s. 0; -ETIMEDOUT (the child is left running);
 * -EINTR when a signal arrived (the child is left running); -ECHILD. */
int child__wait(pid_t pid, double timeout_s, struct child_result *r);
/* SIGKILL after the grace period if SIGTERM/SIGINT did not end it, then reap. */
int child__stop(pid_t pid, int sig, double grace_s, struct child_result *r);
/* Signal every child not reaped yet (cleanup after an interrupted run). */
void child__kill_all(int sig);
bool child__exited_ok(const struct child_result *r);

/* Resident set size of a live process, in KiB. */
int child__rss_kib(const char *proc_root, pid_t pid, long *kib);
int child__parse_rss(FILE *status, long *kib);
/* RSS of a live process and how much of it is BPF maps it mmapped (kernel
 * memory that shows in the RSS of whoever maps it), from /proc/PID/smaps:
 *
 *   7fede2c9b000-7fede5e9b000 rw-s 00000000 00:10 1051   anon_inode:bpf-map
 *   Size:              51200 kB
 *   Rss:               51200 kB
 */
int child__parse_smaps(FILE *smaps, long *rss_kib, long *bpf_map_kib);
int child__rss_split(const char *proc_root, pid_t pid, long *rss_kib, long *bpf_map_kib);
/* CPU time of every thread of a live process, in ns (schedstat; falls back
 * to /proc/PID/stat in clock ticks when schedstat is missing). */
int child__cpu_ns(const char *proc_root, pid_t pid, uint64_t *ns);
/* Whether a child has exited, without reaping it. */
bool child__exited(pid_t pid);

#endif

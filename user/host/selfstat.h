/* What memscope itself costs the host it watches: its CPU time, its resident
 * memory, and the run time of the BPF programs it holds, for `memscope serve`
 * to export next to what it measures.
 *
 * BPF programs are found from the process's own descriptors: an fd whose
 * link reads "anon_inode:bpf-prog" is a program, asked for its name and
 * counters with BPF_OBJ_GET_INFO_BY_FD. The kernel counts run time only while
 * BPF statistics are on (sysctl kernel.bpf_stats_enabled, or a holder of
 * BPF_ENABLE_STATS): otherwise the counters stay 0.
 */
#ifndef MEMSCOPE_SELFSTAT_H
#define MEMSCOPE_SELFSTAT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SELFSTAT_PROG_NAME_LEN	16	/* BPF_OBJ_NAME_LEN */
#define SELFSTAT_PROGS_MAX	256
#define SELFSTAT_FDS_MAX	(1u << 20)	/* descriptors looked at */

struct selfstat {
	double cpu_seconds;	/* user + system, all threads */
	uint64_t rss_bytes;
};

/* getrusage and proc_root/<own pid>/status. 0 or -errno. */
int selfstat__read(const char *proc_root, struct selfstat *out);

struct selfstat_prog {
	char name[SELFSTAT_PROG_NAME_LEN + 1];	/* "" for unnamed programs */
	uint64_t run_time_ns;
	uint64_t run_cnt;
	uint64_t recursion_misses;
};

/* The programs behind the descriptors listed in fd_dir ("/proc/self/fd"),
 * one entry per name (a program held through two fds counts once; programs
 * sharing a name are added up), sorted by name. Returns how many (at most
 * max), or -errno of opening fd_dir. */
ssize_t selfstat__bpf_progs(const char *fd_dir, struct selfstat_prog *out, size_t max);

/* Adds p to the entries out[0..*n) (max of them) under its name, keeping
 * them sorted; -ENOSPC when a new name does not fit. */
int selfstat__merge_prog(struct selfstat_prog *out, size_t *n, size_t max,
			 const struct selfstat_prog *p);

/* Whether the kernel counts BPF run time: 1, 0, or -errno of reading path
 * ("/proc/sys/kernel/bpf_stats_enabled"). */
int selfstat__bpf_stats_enabled(const char *path);

#endif

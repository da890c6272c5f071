/* Where a tracer's time goes. In the kernel: the run time and run count the
 * kernel keeps per BPF program while kernel.bpf_stats_enabled is 1, for the
 * programs a given process holds (found through its fd table):
 *
 *   /proc/PID/fdinfo/17:  prog_type:	17
 *                         prog_id:	370
 *
 * In user space and the rest of the kernel: a flat system-wide profile of
 * the same window, `perf report --stdio --sort comm,dso,symbol -t '|'`,
 * whose rows look like
 *
 *   12.34% |memscope       |memscope          |[.] hmap__upsert    |-      -
 *    3.10% |pagestorm      |[kernel.kallsyms] |[k] bpf_prog_6deef7357e7b4530_page_alloc_raw
 */
#ifndef MEMSCOPE_BENCH_PROF_H
#define MEMSCOPE_BENCH_PROF_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define PROF_MAX_PROGS	64
#define PROF_NAME_LEN	16	/* BPF_OBJ_NAME_LEN */

struct prof_prog {
	uint32_t id;
	char name[PROF_NAME_LEN];
	uint64_t run_ns, run_cnt, recursion_misses;
};

/* Sets the sysctl file (normally /proc/sys/kernel/bpf_stats_enabled) to
 * on, returning its previous value in *old. 0 or -errno. */
int prof__set_bpf_stats(const char *sysctl, int on, int *old);
/* Distinct BPF program ids held open by pid, ascending; at most max. */
int prof__prog_ids(const char *proc_root, pid_t pid, uint32_t *ids, size_t max, size_t *n);
/* The kernel's counters for one program (needs CAP_SYS_ADMIN). */
int prof__prog_stats(uint32_t id, struct prof_prog *p);
/* How many loaded BPF programs, anyone's, have part in their name: another
 * tracer on the page allocator makes every run, untraced ones included, pay
 * for it. */
int prof__count_progs(const char *part);

#define PROF_SYM_LEN 128
#define PROF_COMM_LEN 32
#define PROF_DSO_LEN 64

struct prof_row {
	double pct;
	char comm[PROF_COMM_LEN];
	char dso[PROF_DSO_LEN];
	char kind;		/* 'k' kernel, '.' user */
	char sym[PROF_SYM_LEN];
};

/* Rows of a `perf report --stdio --sort comm,dso,symbol -t '|'`, in file
 * order (perf sorts by share), at most max; comment and garbage lines are
 * skipped, long names truncated. */
int prof__parse_perf_report(FILE *f, struct prof_row *rows, size_t max, size_t *n);

#endif

/* Inside the class split (memsplit.h), shared by its files: memsplit.c
 * (the window and the report rows), memsplit_series.c (readings over time),
 * memsplit_procs.c (what is followed, and reading it) and memsplit_print.c
 * (the table and JSON). No other module includes this. */
#ifndef MEMSCOPE_MEMSPLIT_INT_H
#define MEMSCOPE_MEMSPLIT_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memscope.h"
#include "memsplit.h"
#include "v8.h"
#include "verdict.h"

#define LABEL_LEN	256
#define STACK_TEXT	512

/* Readings of one process or cgroup over the window, thinned out (every
 * other one dropped, interval doubled) when full, so a long window keeps
 * its whole shape in bounded memory. */
struct series {
	double *t;
	double *v[MEM_NR_CLASSES];	/* NULL for classes not measured */
	size_t n;
	double every, last_t;
	double judge_from;	/* readings before are not judged (startup) */
};

struct sproc {
	int pid;
	uint64_t starttime;	/* /proc/PID/stat, tells a recycled pid */
	char comm[MS_COMM_LEN + 1];
	bool alive, seen;
	enum v8_runtime rt;
	uint64_t exe_dev, exe_ino;	/* of its executable: an exec changes them */
	size_t cont;		/* index in containers, SIZE_MAX: none */
	double base[MEM_NR_CLASSES], last[MEM_NR_CLASSES];
	bool have_base;
	struct series s;
};

struct scont {
	char path[PATH_MAX];	/* as /proc/PID/cgroup prints it */
	char label[LABEL_LEN];
	uint64_t cgid;
	double base[MEM_NR_CLASSES], last[MEM_NR_CLASSES];
	bool have_base, readable;
	bool gone;		/* the cgroup was removed: entry free for the next one */
	struct series s;
};

struct stack_row {
	uint64_t bytes;
	double share;
	char text[STACK_TEXT];
};

struct row {
	bool container;
	size_t idx;		/* into procs or conts */
	double growth[MEM_NR_CLASSES];
	struct verdict j;
	size_t n_stacks;
	struct stack_row stacks[MEMSPLIT_TOP_STACKS];
};

struct memsplit {
	struct memsplit_opts o;
	struct v8 *v8;
	struct hmap *pid_idx;		/* int pid -> size_t index in procs */
	size_t *free_idx;		/* entries of gone processes, for reuse */
	size_t nfree, cap_free;
	struct sproc *procs;
	size_t nprocs, cap_procs;
	struct scont *conts;
	size_t nconts, cap_conts;
	double start, end, last_tick, last_discover;
	struct row *rows;
	size_t nrows;
};

/* ---- memsplit_series.c ---- */

/* Rings for every class (kernel: cgroups only). 0 or -ENOMEM. */
int memsplit_series__init(struct series *s, bool kernel);
void memsplit_series__free(struct series *s);
/* A reading at now, unless the last one is closer than the series' interval. */
void memsplit_series__add(struct series *s, double now, const double *vals);
/* verdict.h's rule on the readings from judge_from on. */
void memsplit_series__judge(const struct series *s, struct verdict *v);
void memsplit_series__first_reading(const struct memsplit *s, struct series *se, double now);

/* ---- memsplit_procs.c ---- */

/* Walks proc_root for new processes (in_window: started after the window
 * opened); marks the ones gone. */
void memsplit_procs__discover(struct memsplit *s, bool in_window);
/* One reading of everything; the first one of each is its base. */
void memsplit_procs__read_all(struct memsplit *s, double now);

#endif

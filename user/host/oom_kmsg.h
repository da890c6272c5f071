/* The kernel's own account of each OOM kill, from its log: which limit was
 * hit (a memory cgroup's, or none), which cgroup held the victim, and the
 * figures of the limiting cgroup's counters at the kill. Written by
 * mm/oom_kill.c and mm/memcontrol.c before the victim is marked, so the
 * records are in the log by the time memscope hears of the kill:
 *
 *	memory: usage 262144kB, limit 262144kB, failcnt 4711
 *	memory+swap: usage 262144kB, limit 262144kB, failcnt 12	(cgroup v1)
 *	swap: usage 0kB, limit 9007199254740988kB, failcnt 0		(cgroup v2)
 *	oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,
 *	    mems_allowed=0,oom_memcg=/docker/3f4e..,task_memcg=/docker/3f4e..,
 *	    task=node,pid=4242,uid=0
 *
 * (the last is one line; `global_oom` stands for `oom_memcg=` when no cgroup
 * limit was hit). The counter lines only come with a memory cgroup OOM and
 * belong to the summary that follows them. The kernel rate-limits these
 * records (10 OOMs in 5 s): a kill without one falls back to other sources.
 *
 * Cgroup names and the comm are the container's to choose and the kernel
 * does not escape commas: the summary is parsed by its fixed order, the comm
 * bounded by its length, and what it says is checked by the caller against
 * what memscope knows (the victim's pid, and oom_memcg holding task_memcg).
 */
#ifndef MEMSCOPE_OOM_KMSG_H
#define MEMSCOPE_OOM_KMSG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kmsg.h"

#define OOM_KMSG_KEEP		32	/* summaries kept for kills not yet reported */
#define OOM_KMSG_COMM_MAX	64	/* 15 bytes, each up to \xNN */

enum oom_kmsg_constraint {
	OOM_KMSG_NONE,		/* CONSTRAINT_NONE: the whole machine */
	OOM_KMSG_CPUSET,
	OOM_KMSG_MEMORY_POLICY,
	OOM_KMSG_MEMCG,
};

/* One "memory:" style line, in bytes. */
struct oom_kmsg_counter {
	bool have;
	uint64_t usage, limit, failcnt;
};

struct oom_kmsg_kill {
	uint64_t seq;			/* the summary's record number */
	uint64_t usec;			/* its time since boot */
	enum oom_kmsg_constraint constraint;
	char oom_memcg[PATH_MAX];	/* "" for global_oom */
	char task_memcg[PATH_MAX];	/* "" when the kernel gave none */
	char task[OOM_KMSG_COMM_MAX];	/* as logged: printable ASCII */
	uint32_t pid, uid;
	/* The limiting cgroup's counters (memcg OOMs only). */
	struct oom_kmsg_counter memory, memsw, swap;
};

/* ---- pure ---------------------------------------------------------------------- */

/* A summary message ("oom-kill:..."). 0; -ENOENT, not one; -EPROTO, one that
 * does not parse. Paths and comm printable ASCII, bounded. */
int oom_kmsg__parse_summary(const char *msg, size_t len, struct oom_kmsg_kill *out);

/* A counter line. Which one it is goes to *which: "memory", "memory+swap",
 * "swap" (or "kmem", parsed and not kept). 0; -ENOENT, not such a line. */
int oom_kmsg__parse_counter(const char *msg, size_t len, const char **which,
			    struct oom_kmsg_counter *out);

/* "none", "cpuset", "mempolicy", "memcg". */
const char *oom_kmsg__constraint_name(enum oom_kmsg_constraint c);

/* ---- collecting ------------------------------------------------------------------ */

/* The recent kills of the log, the counters attached to their summaries. */
struct oom_kmsg {
	struct kmsg *log;		/* NULL: fed by the caller only (tests) */
	struct oom_kmsg_counter memory, memsw, swap;	/* of the OOM being logged */
	struct oom_kmsg_kill kills[OOM_KMSG_KEEP];	/* a ring */
	struct oom_kmsg_kill parsing;			/* the summary being read */
	size_t n, next;
	uint64_t records;		/* read from the log */
	uint64_t forged;		/* OOM-shaped records not written by the kernel */
};

/* Starts reading /dev/kmsg at its end (path NULL). NULL + errno. */
struct oom_kmsg *oom_kmsg__open(const char *path);
/* One without a log, fed by oom_kmsg__feed. NULL + errno. */
struct oom_kmsg *oom_kmsg__new(void);
void oom_kmsg__free(struct oom_kmsg *k);

/* One record, as the log gave it. */
void oom_kmsg__feed(struct oom_kmsg *k, const struct kmsg_record *r);

/* Reads what the log has now (at most max records, so a flood of other
 * messages cannot hold the caller). Records read. */
size_t oom_kmsg__drain(struct oom_kmsg *k, size_t max);

/* The newest kept summary about pid, or NULL. */
const struct oom_kmsg_kill *oom_kmsg__find(const struct oom_kmsg *k, uint32_t pid);

/* As find, reading the log for up to wait_ms until it shows up. */
const struct oom_kmsg_kill *oom_kmsg__await(struct oom_kmsg *k, uint32_t pid, int wait_ms);

#endif

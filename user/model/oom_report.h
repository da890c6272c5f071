/* One OOM kill, explained: who was killed, in which container, against which
 * limit (a memory cgroup's, or the whole machine's memory), what it held,
 * from which stacks, and what had been growing before. Built the moment
 * memscope sees the kill (the victim's memory is gone milliseconds later),
 * printed for people or as one JSON object on one line for log shippers:
 *
 *   OOM kill at 2026-12-07 02:53:42.169 UTC: pid 31126 (node) in leaky-api
 *     victim       pid 31126 (node), container leaky-api (752b5be03b01), cgroup /docker/752b..
 *     constraint   memory cgroup /docker/752b..: limit 256.0 MiB of memory+swap, usage
 *                  256.0 MiB, peak 256.0 MiB; the kernel's log (record 3132)
 *     ...
 *   {"time":"2026-12-07T02:53:42.169Z",...,"constraint":"memcg","constraint_source":"kmsg",...}
 *
 * Which limit: the kernel says so itself. Its log's summary of the kill
 * (oom_kmsg.h) names the constraint, the cgroup whose limit was hit
 * (oom_memcg) and the victim's (task_memcg), with that cgroup's counters at
 * the kill; it is believed when it is about this victim's pid and oom_memcg
 * holds task_memcg, the victim's cgroup as memscope knows it
 * (constraint_source "kmsg"). Only without it (no /dev/kmsg, or the kernel's
 * rate limit dropped the record) is the limit inferred (constraint_source
 * "inferred"): the victim's memory cgroup and its ancestors (up to
 * OOM_CHAIN_MAX of them, the root excluded) that have a limit and hold the
 * task whose allocation triggered the kill are candidates; the deepest whose
 * usage (right after the kill, or at the timeline's last point) is within
 * OOM_SLACK of its limit is it. The victim may already have freed its pages
 * when the files are read: then the deepest candidate whose usage plus the
 * victim's RSS reaches its limit, and whose peak usage did, is it
 * (estimated). None: a global OOM (the machine, or a cpuset/mempolicy).
 */
#ifndef MEMSCOPE_OOM_REPORT_H
#define MEMSCOPE_OOM_REPORT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cgroups.h"
#include "growth.h"
#include "memscope.h"
#include "oom_kmsg.h"
#include "recording.h"
#include "timeline.h"

#define OOM_TOP_STACKS	5
#define OOM_STACK_MAX	8192		/* bytes of one folded stack at most */
#define OOM_CHAIN_MAX	16		/* cgroups looked at, the victim's first */
/* Usage this close to the limit is at it: a charge fails by up to a huge
 * page, and per-CPU charge batches blur the counter. */
#define OOM_SLACK_MIN	(2ULL << 20)
#define OOM_SLACK_DIV	64		/* or limit/64, when larger */

enum oom_constraint {
	OOM_GLOBAL,		/* no memory cgroup limit was hit */
	OOM_MEMCG,		/* a memory cgroup's limit */
	OOM_CPUSET,		/* the nodes of the victim's cpuset (kernel's word only) */
	OOM_MEMPOLICY,		/* the nodes of a memory policy (kernel's word only) */
};

/* Where the constraint and the limiting cgroup come from. */
enum oom_source {
	OOM_SOURCE_INFERRED,	/* usage against limit (oom_report__limiting) */
	OOM_SOURCE_KMSG,	/* the kernel's oom-kill summary in its log */
};

/* Which of a cgroup's limits was hit. */
enum oom_limit_kind {
	OOM_LIMIT_UNKNOWN,
	OOM_LIMIT_MEMORY,	/* v1 memory.limit_in_bytes, v2 memory.max */
	OOM_LIMIT_MEMSW,	/* v1 memory.memsw.limit_in_bytes: memory + swap */
};

struct oom_task {
	uint32_t pid;
	char comm[MS_COMM_LEN + 1];	/* printable ASCII; "" when unknown */
	uint64_t cgid;			/* 0 when unknown */
	char cgroup[PATH_MAX];		/* "" when unknown */
	char container[PATH_MAX];	/* short container id, else the cgroup path */
	char name[128];			/* the engine's name for it; "" unknown */
};

/* A kept stack as structs, so that the printers tell kernel from user frames
 * by frame.kind and not by a name's "_[k]" (which a container's own symbol
 * may end with). Its names are printable ASCII, each at most FRAME_LEN - 1
 * bytes, and only the frames whose folded text fits OOM_STACK_MAX are kept. */
struct oom_stack {
	uint64_t bytes;		/* what its sampled pages stood for at the kill; first */
	/* container, comm, cls, frames root first; the strings live in the
	 * block frames points to (one free) */
	struct rec_stack stack;
};

struct oom_report {
	int64_t time_ns;		/* wall clock, ns since the epoch */
	char hook[16];			/* how the kill was seen: raw_tp, tracepoint */
	struct oom_task victim, trigger;
	int32_t oom_score_adj;

	enum oom_constraint constraint;
	enum oom_source source;
	bool estimated;			/* decided from peak + RSS: pages already freed */
	char cgroup[PATH_MAX];		/* the limiting cgroup; global: the victim's, or "" */
	enum oom_limit_kind limit_kind;
	uint64_t limit;			/* CGSTAT_UNLIMITED when none */
	uint64_t usage;			/* at the kill (kmsg), or read right after; 0 unknown */
	uint64_t peak;			/* the cgroup's high watermark; 0 unknown */
	uint64_t charged[TIMELINE_KINDS];	/* that cgroup's charge by kind */
	bool have_charged;

	uint64_t rss[MS_NR_RSS];	/* the victim's, bytes (enum ms_rss) */
	uint64_t v8_heap;		/* bytes of anon that are V8 heap; 0 while unknown */

	bool evidence;			/* memscope had seen the victim allocate */
	uint32_t sample_every;
	uint64_t evidence_bytes;	/* all of its sampled pages, not only the top stacks */
	size_t n_stacks;
	struct oom_stack stacks[OOM_TOP_STACKS];	/* largest first */

	bool have_kernel;
	struct oom_kmsg_kill kernel;	/* the kernel's summary, as logged */

	bool have_growth;
	struct timeline_growth growth;	/* the container's, before the kill */
	char growth_source[32];
};

/* One cgroup of the chain the limit is looked for in. */
struct oom_cgroup {
	char path[PATH_MAX];
	uint64_t limit;		/* CGSTAT_UNLIMITED when none */
	uint64_t usage;		/* now */
	uint64_t recent;	/* usage at the timeline's last point, 0 unknown */
	uint64_t peak;		/* 0 unknown */
	bool trigger_inside;	/* the trigger's cgroup is this one or below (or unknown) */
	struct cgstat st;
};

/* NULL + errno. */
struct oom_report *oom_report__new(void);
void oom_report__free(struct oom_report *r);

/* ---- pure parts ------------------------------------------------------------ */

/* Wall clock of a CLOCK_BOOTTIME instant, given both clocks read now. */
int64_t oom_report__wall_ns(uint64_t boot_ns, int64_t realtime_now_ns, int64_t boottime_now_ns);

/* What the kernel event says: pids, comms, cgroup ids, RSS, oom_score_adj,
 * whether evidence was kept. */
void oom_report__set_event(struct oom_report *r, const struct ms_oom_event *e,
			   uint64_t page_size, int64_t wall_ns);

/* Offers a copy of stack s (its container, comm, class and frames); the
 * OOM_TOP_STACKS largest are kept, equal stacks adding up. 0, -EINVAL, -ENOMEM. */
int oom_report__add_stack(struct oom_report *r, const struct rec_stack *s, uint64_t bytes);

/* s as one folded line, "container;comm;[class];frames with their marks"
 * (stack_text.h), whole frames only and shorter than OOM_STACK_MAX: what the
 * JSON writes. malloc'd; NULL when out of memory. */
char *oom_report__folded(const struct oom_stack *s);

/* Index in chain (the victim's cgroup first, then its ancestors) of the
 * cgroup whose limit was hit, or -1 for a global OOM. victim_bytes: the
 * victim's RSS. *estimated as in the header comment. */
int oom_report__limiting(const struct oom_cgroup *chain, size_t n, uint64_t victim_bytes,
			 bool *estimated);

/* Fills constraint, cgroup, limit, usage, peak and charge from the chain. */
void oom_report__set_limit(struct oom_report *r, const struct oom_cgroup *chain, size_t n);

/* The same from the kernel's summary k of this kill: 0, or -ESRCH (about
 * another pid), -EINVAL (it contradicts what memscope knows: task_memcg is not
 * the victim's cgroup, or oom_memcg does not hold it), and r is untouched.
 * chain (may be empty) gives peak and charge of the limiting cgroup. */
int oom_report__set_kernel(struct oom_report *r, const struct oom_kmsg_kill *k,
			   const struct oom_cgroup *chain, size_t n);

/* The report's growth verdict: the one place it is decided, which the text
 * and the JSON both print. Meaningful when r->have_growth. */
enum growth_verdict oom_report__verdict(const struct oom_report *r);

/* Is the victim in (or below) one of these cgroup paths? n == 0: yes. */
bool oom_report__in_cgroups(const struct oom_report *r, const char *const *paths, size_t n);

/* The anon the victim held that no known managed heap explains. */
uint64_t oom_report__native_bytes(const struct oom_report *r);

/* ---- collecting ------------------------------------------------------------ */

struct recorder;
struct memsplit;
struct recording;
struct rec_bucket;
struct rec_stack;
struct ctrnames;
struct page_records;

/* Names a recorder bucket's stack into r (the session hands its own namer,
 * which reads kernel stacks from the tracer; tests hand theirs). ctx is the
 * sources' name_ctx. 0 or -errno. */
typedef int (*oom_name_fn)(const void *ctx, struct recording *r, const struct rec_bucket *b,
			   struct rec_stack **out);

struct oom_sources {
	struct recorder *recorder;	/* NULL: no evidence */
	uint32_t sample_every;		/* the recording's 1-in-N, for the report */
	struct memsplit *split;		/* NULL: no V8 heap figure */
	struct cgroups *cgroups;	/* NULL: victims' cgroups by path only */
	/* What the session reads from the tracer for a kill (session__oom_sources):
	 * the per-page records (NULL: no evidence), the page size (0: the
	 * system's), how kills are seen ("raw_tp", "tracepoint", NULL), and how
	 * a bucket's stack is named (NULL: no stacks). */
	struct page_records *pages;
	uint64_t page_size;
	const char *oom_hook;
	oom_name_fn name_stack;
	const void *name_ctx;
	const struct cg_hier *hier;	/* NULL: no cgroup figures */
	const struct timeline *tl;	/* NULL: no growth; its clock is cli_now() */
	const char *proc_root;		/* "/proc": names of victims the event left unnamed */
	struct oom_kmsg *kmsg;		/* NULL: the limit is inferred */
	struct ctrnames *names;		/* NULL: containers by id only */
};

/* Reads the cgroup at path (relative to the hierarchy) and its ancestors
 * below the root, the deepest first, into chain[0..*n). trigger_path (may be
 * NULL: unknown) sets trigger_inside. 0 or -errno (ENOENT: gone). */
int oom_report__read_chain(const struct cg_hier *h, const char *path, const char *trigger_path,
			   struct oom_cgroup *chain, size_t max, size_t *n);

/* Everything about the kill, read now: call it as soon as the event arrives,
 * before the victim's slot is thawed. NULL + errno (ENOMEM). */
struct oom_report *oom_report__collect(const struct oom_sources *src,
				       const struct ms_oom_event *e);

#endif

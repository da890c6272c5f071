/* What `memscope record` and `memscope oom` share around one tracer: the
 * memory cgroup hierarchy, the symbolizers and the recorder, pruning, and a
 * poll that hands each OOM kill over only once the samples queued before it
 * have reached the recorder (an OOM event wakes the poll up, samples do not),
 * then stops keeping the victim's freed pages as evidence.
 *
 *	struct session s;
 *	session__open(&s, &(struct session_opts){ .sample_every = 64, .outstanding = true });
 *	session__start(&s, on_oom, ctx);
 *	while (!cli_stop_requested())
 *		session__poll(&s, 100);
 *	session__stop(&s);
 *	session__settle(&s);
 *	... render s.model ...
 *	session__close(&s);
 *
 * Unlike library modules, these print the one message a failure deserves
 * (they sit where cmd_*.c would print it) and the notices about what a
 * missing piece costs.
 */
#ifndef MEMSCOPE_SESSION_H
#define MEMSCOPE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroups.h"
#include "memscope.h"
#include "record_ctx.h"

/* Kills waiting for their samples; more within one poll are dropped (counted). */
#define SESSION_OOM_QUEUE	64
/* Kills remembered to tell a new kill from the same one seen again: each
 * thread of a dying victim that still allocates is marked a victim too. */
#define SESSION_KILLS_SEEN	64
/* Forget samples whose pages are all freed this often (seconds); with
 * recycle_slots, look for exited processes to recycle right after: a slot
 * comes back once a prune has dropped its samples. */
#define SESSION_PRUNE_S		5.0
/* Sooner (but not more often than this) when the samples waiting to be
 * pruned grow past SESSION_PRUNE_GROWTH more than the last prune left: at
 * one page in a few, most samples' pages are freed within milliseconds. */
#define SESSION_PRUNE_MIN_S	0.5
#define SESSION_PRUNE_GROWTH	65536
/* A poll that samples keep feeding returns after this long (seconds). */
#define SESSION_POLL_MAX_S	0.2

typedef void (*session_oom_fn)(void *ctx, const struct ms_oom_event *e);

/* -c options resolved to at most this many cgroups. */
#define SESSION_MAX_CGROUPS	64

/* Everything a command chooses about its pipeline; the tracer's options are
 * derived from it. Copied by session__open, but not the pids and cgroups
 * arrays, which must outlive the session. */
struct session_opts {
	uint32_t sample_every;		/* one page in N carries a stack (by bytes) */
	bool outstanding;		/* track frees: bytes still held; else allocated */
	const uint32_t *pids;		/* -p: only these processes; may be empty */
	size_t n_pids;
	const char *const *cgroups;	/* -c: only these cgroups and below; may be empty */
	size_t n_cgroups;
	size_t max_cgroup_ids;		/* ids they may resolve to; 0: SESSION_MAX_CGROUPS */
	/* The tracer's tables (tracer.h); 0 ringbuf_mb sizes it for the rate. */
	bool kernel_stacks;
	uint32_t max_procs;
	uint32_t ringbuf_mb;
	uint32_t kstack_entries;
	bool class_split;		/* growth by class and V8 heaps (memsplit.h) */
	/* Long-running commands (oom, serve, record in outstanding mode) hand
	 * exited processes' slots back, so the process table stays bounded:
	 * their exact totals go to rc.exits first. Not for check, nor for record
	 * in allocated mode or writing pprof: every stack there refers to its
	 * slot until the output is written. */
	bool recycle_slots;
	bool keep_freed;		/* pprof's alloc_space: recorder__keep_freed */
};

struct recording;

struct session {
	struct session_opts o;
	uint64_t cgids[SESSION_MAX_CGROUPS];	/* the -c cgroups */
	char *cgroup_paths[SESSION_MAX_CGROUPS];	/* and their paths */
	size_t n_cgids;
	struct record_ctx rc;	/* tracer, recorder, usyms, ksyms, cgroups (may be NULL) */
	struct recording *model;	/* what the outputs read, made by session__settle */
	struct cg_hier hier;	/* valid when have_hier */
	bool have_hier;
	session_oom_fn oom;
	void *oom_ctx;
	struct ms_oom_event queue[SESSION_OOM_QUEUE];
	size_t queued;
	uint64_t oom_dropped;
	struct ms_oom_event seen[SESSION_KILLS_SEEN];	/* ring of kills handed over */
	size_t n_seen;
	double poll_start;
	double last_prune;		/* any prune */
	double last_sweep;		/* the SESSION_PRUNE_S prune, and forgetting exits */
	size_t live_after_prune;	/* recorder__nlive after the last prune */
	uint64_t recycled;
	uint64_t exits_lost;	/* recycled processes whose totals found no memory */
};

/* Finds the memory hierarchy, loads kernel symbols, makes the symbolizer and
 * the recorder, resolves the -c cgroups (s->cgids, s->cgroup_paths). 0, or
 * -errno with the one line printed. session__close in any case. */
int session__open(struct session *s, const struct session_opts *o);

/* Starts the tracer, reads the -p processes' mappings, opens the class split
 * (with o->class_split; none is only a notice). oom (may be NULL) is called
 * from session__poll and session__stop once for each kill (a process is
 * killed once, however many of its threads the kernel marks), with every
 * sample queued before it already in the recorder; the victim's slot is
 * thawed after it returns. */
int session__start(struct session *s, session_oom_fn oom, void *ctx);

/* Delivers samples and kills (waiting up to timeout_ms for them), prunes when
 * due, takes the class split's readings when due. Returns what tracer__poll
 * returned. */
int session__poll(struct session *s, int timeout_ms);

/* Detaches the programs, then delivers what they left queued. */
void session__stop(struct session *s);

/* After session__stop: works out what each sample's pages still hold (and,
 * with rc.split, of which class), then reads the recording out of the
 * tracer and the recorder into s->model, the one value the outputs read.
 * 0, or -ENOMEM (printed). */
int session__settle(struct session *s);

/* The model part of session__settle (session_model.c): s->model replaced. */
int session__model(struct session *s);

/* Names b's stack into r, its kernel frames read from the tracer now
 * (stack_names.h's stack_names_fn). 0 or -ENOMEM. */
struct rec_bucket;
struct rec_stack;
int session__name_stack(const struct record_ctx *c, struct recording *r,
			const struct rec_bucket *b, struct rec_stack **out);

/* What an OOM report reads from this session while it runs: record ctx,
 * hierarchy, page records, page size, OOM hook, stack naming. The rest of
 * src (timeline, kmsg, names, proc_root) is the caller's. */
struct oom_sources;
void session__oom_sources(struct session *s, struct oom_sources *src);

/* Frees everything session__open and session__start made (the class split
 * too). */
void session__close(struct session *s);

#endif

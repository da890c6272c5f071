/* A settled recording as a value: what every output of `record`, `check`
 * and `oom` renders, made once by the session when the window closes
 * (session__settle), so that no output reads the live tracer.
 *
 *   recording
 *     how it was made     sample_every, outstanding, seconds, page_size, hooks
 *     exact totals        procs[] (the kernel's per-process counters), overflow,
 *                         drops, recorder stats, exits (recycled processes)
 *     sampled stacks      stacks[]: container, comm, class, scaled bytes, and
 *                         frames[] root first, each { kind, name, addr, mapping }
 *
 * Frames are structs, not text: names are undecorated ("leak_fn", not
 * "leak_fn_[k]"); only the folded writer (record_output.h) adds the marks
 * (`[class]`, `_[k]`, `_[j]`, `[label]`).
 */
#ifndef MEMSCOPE_RECORDING_H
#define MEMSCOPE_RECORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drops.h"
#include "memscope.h"
#include "recorder.h"

struct memsplit;
struct proc_exits;
struct jsheap_run;
struct hmap;

/* A frame's text as usyms and the outputs size it; kernel frames kept per
 * stack; frames of a native stack with its container, comm and class. */
#define FRAME_LEN	256
#define MAX_KFRAMES	127
#define MAX_FRAMES	(3 + MS_MAX_USTACK + 1 + MAX_KFRAMES)

enum frame_kind {
	FRAME_USER,	/* a symbol of a mapped file, or a placeholder like "[unknown]" */
	FRAME_JIT,	/* code a runtime generated, named by its perf map or V8 */
	FRAME_KERNEL,
	FRAME_LABEL,	/* not code: a mark such as "js-heap" */
};

/* recording.mappings[] index of JIT code; 0 is no mapping. */
#define REC_MAPPING_JIT		UINT32_MAX
#define REC_MAPPINGS		(USYMS_MODULES_MAX + 1)

struct frame {
	const char *name;	/* interned in the recording; never NULL */
	uint64_t addr;		/* user: ELF vaddr in its mapping (the ip when unmapped);
				 * kernel: the ip; JIT and labels: 0 */
	uint32_t mapping;	/* index in recording.mappings, 0, or REC_MAPPING_JIT */
	uint8_t kind;		/* enum frame_kind */
	bool call;		/* addr is a return address: the call sits just before */
};

struct rec_mapping {
	const char *file;	/* NULL: never used */
	const char *build_id;	/* hex, or NULL */
};

struct rec_stack {
	const char *container;	/* label (record_output.h), interned */
	const char *comm;	/* the process's name, interned */
	const char *thread;	/* the allocating thread's, interned; "" unknown */
	uint32_t pid;		/* when have_pid */
	bool have_pid;
	bool js;		/* V8's own sampled heap (--js-heap): bytes live only */
	uint8_t cls;		/* enum mem_class; MEM_CLASS_NONE when not classified */
	uint32_t slot;		/* the process's slot in the kernel table (native stacks) */
	/* Bytes scaled to the process's exact totals (0 when nothing left to
	 * show), and the recorder's unscaled outstanding estimate. */
	uint64_t alloc, outstanding, sampled_outstanding;
	struct frame *frames;	/* root first: user frames, then kernel frames */
	size_t nframes;
};

/* The longest cgroup label kept, with its NUL (the totals' column). */
#define REC_LABEL_LEN	256

struct rec_cgroup {
	const char *path;	/* interned; NULL when the cgroup was not known */
	const char *label;	/* interned: its container's, or "[cgroup ID]" */
};

struct rec_proc {
	struct ms_proc_key key;
	struct ms_proc_info info;	/* comm as BPF saw it */
	struct ms_proc_stats st;	/* valid when have_stats */
	bool have_stats;
};

struct recording {
	uint32_t sample_every;
	bool outstanding;	/* mode: bytes still held, else bytes allocated */
	double seconds;
	uint64_t page_size;
	const char *hook;	/* how the page allocator was hooked: "raw_tp", "tracepoint" */
	const char *oom_hook;	/* how OOM kills were seen; NULL: not at all */

	struct rec_proc *procs;	/* every slot of the kernel's process table */
	size_t nprocs;
	struct ms_proc_stats overflow;	/* processes the table had no room for */
	struct tracer_drops drops;
	struct recorder_stats rs;

	struct rec_stack *stacks;	/* native buckets in recorder order, then JS */
	size_t nstacks, cap;
	struct rec_mapping *mappings;	/* REC_MAPPINGS of them, or NULL */

	/* The cgroups procs[] and exits were charged in, named when the window
	 * closed (struct rec_cgroup by cgid): the outputs read these, not the
	 * session's live cgroup table, which may have rescanned since. */
	struct hmap *cgroups;
	/* Settled parts kept by the session, read here (each may be NULL). */
	const struct proc_exits *exits;
	struct memsplit *split;
	const struct jsheap_run *js;

	struct hmap *strings;	/* interned names */
};

/* NULL + errno ENOMEM. */
struct recording *recording__new(void);
void recording__free(struct recording *r);
/* r's own copy of s, shared by every equal string. NULL when out of memory. */
const char *recording__intern(struct recording *r, const char *s);
/* A new zeroed stack at the end with room for nframes frames; the pointer
 * lasts until the next add. NULL when out of memory. */
struct rec_stack *recording__add_stack(struct recording *r, size_t nframes);
/* Names mapping id (1..USYMS_MODULES_MAX) once. 0 or -ENOMEM / -EINVAL. */
int recording__set_mapping(struct recording *r, uint32_t id, const char *file,
			   const char *build_id);
/* Names cgroup cgid: path (NULL: unknown) and label, copied. 0 or -ENOMEM. */
int recording__set_cgroup(struct recording *r, uint64_t cgid, const char *path,
			  const char *label);
/* What the recording knows of cgroup cgid, or NULL. */
const struct rec_cgroup *recording__cgroup(const struct recording *r, uint64_t cgid);
/* The proc of slot, or NULL. Linear: for tests and one-off lookups. */
const struct rec_proc *recording__proc(const struct recording *r, uint32_t slot);

#endif

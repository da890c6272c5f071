/* The live parts of a recording, which the session owns while the window is
 * open: the tracer, the recorder and the symbolizers. Only the session and
 * the commands that start it read the tracer from here; everything after the
 * window reads the settled model (recording.h) instead. */
#ifndef MEMSCOPE_RECORD_CTX_H
#define MEMSCOPE_RECORD_CTX_H

#include <stdbool.h>
#include <stdint.h>

#include "memscope.h"

struct tracer;
struct recorder;
struct usyms;
struct cgroups;
struct ksyms;
struct memsplit;
struct proc_exits;
struct jsheap_run;

struct record_ctx {
	uint32_t sample_every;
	struct tracer *tracer;
	struct recorder *recorder;
	struct usyms *usyms;
	struct cgroups *cgroups;	/* may be NULL: labels fall back to cgroup ids */
	struct ksyms *ksyms;		/* may be NULL: kernel frames print as addresses */
	bool outstanding;
	double seconds;
	struct memsplit *split;		/* may be NULL: no growth by class, no verdict */
	struct proc_exits *exits;	/* processes whose slots were recycled; may be NULL */
	struct jsheap_run *js;		/* --js-heap's JS stacks; may be NULL */
};

#endif

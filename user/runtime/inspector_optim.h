/* V8's optimizer around the sampling window, inside the inspector's child
 * (inspector.c): V8's sampling heap profiler names only the frames on the
 * machine stack, so a function TurboFan inlined into its caller has no frame
 * and its bytes show under the caller. For the window, inlining is turned off
 * and the code already optimized dropped; at close, inlining is turned back
 * on and the code optimized without it dropped again. */
#ifndef MEMSCOPE_INSPECTOR_OPTIM_H
#define MEMSCOPE_INSPECTOR_OPTIM_H

#include <stdbool.h>
#include <stdint.h>

struct ws;

/* MSG_STARTED's body: what was done to V8's optimizer before sampling. */
struct optim_msg {
	int32_t inlining;	/* enum inspector_step */
	int32_t deopt;
	uint32_t pause_us;	/* startPreciseCoverage's round trip: the deopt */
	char why[200];
};

/* What closing did to the optimizer, for MSG_CLOSED. */
struct optim_restore {
	bool restore;		/* turn inlining back on */
	bool redrop;		/* and drop the code optimized without it */
	bool restored;
	int end_deopt;		/* enum inspector_step */
	uint32_t pause_us;
};

/* Before sampling: inlining off and the optimized code dropped, unless keep;
 * coverage_busy (NODE_V8_COVERAGE) keeps the code. A step refused is said in
 * m, not fatal. *id is the next call id. */
void inspector_optim__off(struct ws *w, int *id, bool keep, bool coverage_busy,
			  struct optim_msg *m);
/* At close: inlining back on and, with r->redrop, the code dropped again. */
void inspector_optim__restore(struct ws *w, int *id, struct optim_restore *r);

#endif

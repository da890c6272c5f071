/* What the kernel side lost or repaired, as counters read once: in the
 * totals, the --report JSON and the metrics page. Pure data and names, so
 * the outputs read them without the tracer. */
#ifndef MEMSCOPE_DROPS_H
#define MEMSCOPE_DROPS_H

#include <stdint.h>

#include "memscope.h"

struct tracer_drops {
	uint64_t kernel[MS_NR_DROPS];	/* enum ms_drop */
	uint64_t recursion_misses;	/* program runs the kernel skipped (nested) */
	uint64_t healed_frees;		/* missed frees settled when the page was
					 * allocated again */
	/* Kernel stacks taken from the per-CPU cache instead of walked, the
	 * uses that walked again to check, and how many of those differed. */
	uint64_t kcache_hits, kcache_checks, kcache_mismatches;
	/* Pages that changed frame: collapsed by khugepaged, moved by
	 * migration or compaction, freed in pieces after a split, and moves
	 * whose owner could not be carried over. */
	struct {
		uint64_t collapsed, migrated, split, unattributed;
	} moves;
};

/* Names of an enum ms_drop: a key for JSON and metrics labels, and what it
 * means for people. NULL when out of range. */
const char *drops__key(int drop);
const char *drops__text(int drop);

#endif

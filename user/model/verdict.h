/* The growth verdict, one rule for every command (record, check, top, oom):
 * which class of memory grew over a window of readings, and whether it still
 * grows at the window's end.
 *
 *	memscope: ... V8 heap growth (stopped growing at t=29 s)
 *
 * A class's readings are cut into VERDICT_SEGMENTS runs of consecutive
 * readings (one reading each when there are fewer). The floor of a segment is its minimum (where a garbage
 * collector's sawtooth bottoms out); the class's rise is the last segment's
 * floor minus the first's, so growth that ends early, or starts late, and
 * then holds still counts in full. Its swing is the lower median of the
 * segments' ranges (max - min), or of the moves from one reading to the next
 * when that is more: what it moves by when it does not trend, a sawtooth's
 * height. A class grew when its rise is at least
 * VERDICT_MIN_RISE_BYTES and GROWTH_STABLE_MIB_MIN over the window, and
 *   - more than twice its swing, or
 *   - more than its swing with the floors and the ceilings of the segments
 *     both rising (growth.h's monotonic test): a leak under a sawtooth.
 * Of the classes that grew, the one that rose by the most bytes names the
 * verdict, however fast a smaller one rose at the end. When the total's
 * ceiling fell (the same test on -total) by more than that rise, it is
 * shrinking; when no class grew, stable.
 *
 * A class that grew stopped growing at the first reading after which it
 * never fell below its last floor (less noise): when that leaves at least
 * VERDICT_HELD_FRAC of the window and VERDICT_HELD_READINGS readings after
 * it, the verdict says when it stopped. Growth that stopped is still growth:
 * the load ended, or the cache filled, and what it kept is still held.
 */
#ifndef MEMSCOPE_VERDICT_H
#define MEMSCOPE_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "growth.h"
#include "memclass.h"

#define VERDICT_SEGMENTS	8
#define VERDICT_MIN_RISE_BYTES	(1024.0 * 1024)
#define VERDICT_HELD_FRAC	0.2
#define VERDICT_HELD_READINGS	3

/* One class over the window. */
struct verdict_class {
	bool known;		/* two readings or more */
	double rise;		/* bytes, last floor - first floor */
	double swing;		/* bytes */
	bool grew;
	double stopped_at;	/* when it reached its final level (NaN: still growing,
				 * or did not grow): the readings' clock */
};

struct verdict {
	struct verdict_class cls[MEM_NR_CLASSES];
	struct verdict_class fall;	/* the total, upside down: rise is how far it fell */
	enum growth_verdict verdict;
	double stopped_at;	/* of the verdict's class; NaN when it still grows */
	double first, last;	/* times of the first and last reading */
};

/* v[c] (NULL: class not measured) holds n readings at times t (ascending);
 * NaN readings are skipped. n may be 0. */
void verdict__judge(const double *t, const double *const v[MEM_NR_CLASSES], size_t n,
		    struct verdict *out);

/* How a stop time is written. */
enum verdict_clock {
	VERDICT_SINCE,		/* "t=29 s" into a window that began at origin */
	VERDICT_AGO,		/* "11 s ago", origin being now (top's rolling window) */
	VERDICT_BEFORE,		/* "11 s before the kill", origin the kill */
};

/* "V8 heap growth", "V8 heap growth (stopped growing at t=29 s)", "stable"...
 * into buf; returns buf. */
const char *verdict__text(const struct verdict *v, enum verdict_clock clock, double origin,
			  char *buf, size_t len);

/* A verdict is a class growing (still or having stopped): not stable, not
 * shrinking. */
bool verdict__is_growth(const struct verdict *v);

/* Class series for a window where only anon is known over time (memory.stat,
 * the OOM timeline) but native is known at the end: native(t) =
 * min(anon(t), native_end), the V8 heap the rest. The V8 heap did not hold
 * more native memory before, so what anon gained beyond native_end is V8's.
 * native_end NaN: all of anon is native and v8 stays NaN. */
void verdict__split_anon(const double *anon, size_t n, double native_end, double *native,
			 double *v8);

#endif

/* The rule `memscope check` applies to a soak test: did a memory cgroup's
 * usage plateau over a window, or grow faster than a bound?
 *
 * Readings (seconds into the window, bytes) taken before the warm-up ends
 * are ignored: a service filling its caches after a restart is not a leak.
 * The slope of the rest is fitted by least squares (growth.h), and the
 * target grew when that slope is above the bound. A least-squares fit uses
 * every reading, so one spike or one garbage collection moves it little,
 * where the difference between the first and last reading would swing.
 *
 *	struct soak *s = soak__new(300, 1000);	warm-up 300 s, readings kept
 *	soak__add(s, t, usage);			every interval
 *	soak__judge(s, rate, &result);		rate from soak__parse_rate
 */
#ifndef MEMSCOPE_SOAK_H
#define MEMSCOPE_SOAK_H

#include <stdbool.h>
#include <stddef.h>

#define SOAK_MIN_READINGS	3	/* after the warm-up, to judge at all */

struct soak;

/* A bound on growth: a size and a time unit, "5MiB/min", "512KiB/s",
 * "1.5GiB/h", "0B/min", "1048576/min" (bytes). Sizes: B, KiB, MiB, GiB,
 * TiB (powers of 1024); times: s, sec, m, min, h, hour. No sign, no spaces.
 * 0 and *bytes_per_s, or -EINVAL. */
int soak__parse_rate(const char *text, double *bytes_per_s);

/* Readings before warmup_s are not judged; at most max_readings after it
 * are kept (2..GROWTH_CAP_MAX; the oldest go first). NULL + errno (EINVAL,
 * ENOMEM). */
struct soak *soak__new(double warmup_s, size_t max_readings);
void soak__free(struct soak *s);

/* A reading; time must not go back (such readings, and non-finite ones, are
 * ignored). */
void soak__add(struct soak *s, double t, double bytes);

struct soak_result {
	double slope;			/* MiB/min over the judged readings */
	double bound;			/* MiB/min */
	double from, to;		/* seconds into the window judged */
	size_t judged;			/* readings judged */
	double first, last;		/* bytes: first and last reading of the window */
	bool grew;			/* slope > bound */
};

/* Judges the readings against bound (bytes per second). 0, or -ENODATA with
 * fewer than SOAK_MIN_READINGS readings after the warm-up (out->judged says
 * how many). */
int soak__judge(const struct soak *s, double bound_bytes_per_s, struct soak_result *out);

#endif

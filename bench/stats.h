/* Small statistics for benchmark samples: the median and spread of a handful
 * of timed runs (robust to the one run a noisy neighbour slowed down),
 * and the confidence interval of a mean (paired traced/untraced ratios). */
#ifndef MEMSCOPE_BENCH_STATS_H
#define MEMSCOPE_BENCH_STATS_H

#include <stddef.h>

#define STATS_MAX_SAMPLES 1024

/* NaN when n is 0 or above STATS_MAX_SAMPLES; NaN samples are skipped. */
double stats__median(const double *v, size_t n);
/* Median absolute deviation from the median: the spread, same unit. */
double stats__mad(const double *v, size_t n);
/* The mean of v and the half-width of its 95% confidence interval (Student's
 * t, so honest for the handful of rounds a benchmark affords); NaN samples
 * are skipped. -EINVAL with fewer than two samples. */
int stats__mean_ci95(const double *v, size_t n, double *mean, double *half);

#endif

/* Small statistics for benchmark samples: the median and spread of a handful
 * of timed runs (robust to the one run a noisy neighbour slowed down), and
 * the least-squares slope of a time series (memscope's RSS over a soak). */
#ifndef MEMSCOPE_BENCH_STATS_H
#define MEMSCOPE_BENCH_STATS_H

#include <stddef.h>

#define STATS_MAX_SAMPLES 1024

/* NaN when n is 0 or above STATS_MAX_SAMPLES; NaN samples are skipped. */
double stats__median(const double *v, size_t n);
/* Median absolute deviation from the median: the spread, same unit. */
double stats__mad(const double *v, size_t n);
/* y = slope * x + intercept by least squares. -EINVAL when fewer than two
 * points or every x is the same. */
int stats__slope(const double *x, const double *y, size_t n, double *slope, double *intercept);

#endif

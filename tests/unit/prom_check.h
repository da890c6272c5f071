/* An independent, strict reader of the Prometheus text format for the tests
 * of promtext and metrics: what a scraper would reject, it rejects. */
#ifndef MEMSCOPE_TEST_PROM_CHECK_H
#define MEMSCOPE_TEST_PROM_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/* Checks the whole page: every line a HELP, TYPE or sample line; each family
 * once, HELP then TYPE then its samples together; names and label names
 * valid; label values properly escaped UTF-8; values numbers, NaN or +-Inf;
 * no series twice; counters named *_total and never negative. Returns the
 * number of samples, or -1 with the reason (and line) in err. */
int prom_check(const char *page, char *err, size_t errlen);

/* The value of the sample line that starts with series (name and labels
 * exactly as written, e.g. "m{a=\"b\"}"); false when there is none. */
bool prom_value(const char *page, const char *series, double *out);

#endif

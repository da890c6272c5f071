#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "stats.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double stats__median(const double *v, size_t n)
{
	double s[STATS_MAX_SAMPLES];
	size_t m = 0;

	if (n > STATS_MAX_SAMPLES)
		return NAN;
	for (size_t i = 0; i < n; i++)
		if (!isnan(v[i]))
			s[m++] = v[i];
	if (!m)
		return NAN;
	qsort(s, m, sizeof(*s), cmp_double);
	return m % 2 ? s[m / 2] : (s[m / 2 - 1] + s[m / 2]) / 2;
}

double stats__mad(const double *v, size_t n)
{
	double dev[STATS_MAX_SAMPLES], med = stats__median(v, n);

	if (isnan(med))
		return NAN;
	for (size_t i = 0; i < n; i++)
		dev[i] = isnan(v[i]) ? NAN : fabs(v[i] - med);
	return stats__median(dev, n);
}

/* Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom; past
 * that the normal's 1.96 is within 2% of the truth. */
static const double t95[] = {
	12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
	2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
	2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
};

int stats__mean_ci95(const double *v, size_t n, double *mean, double *half)
{
	double m = 0, ss = 0;
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (!isnan(v[i])) {
			m += v[i];
			k++;
		}
	if (k < 2)
		return -EINVAL;
	m /= k;
	for (size_t i = 0; i < n; i++)
		if (!isnan(v[i]))
			ss += (v[i] - m) * (v[i] - m);
	*mean = m;
	*half = (k - 1 <= sizeof(t95) / sizeof(t95[0]) ? t95[k - 2] : 1.96) *
		sqrt(ss / (k - 1) / k);
	return 0;
}

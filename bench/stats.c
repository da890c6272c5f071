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

int stats__slope(const double *x, const double *y, size_t n, double *slope, double *intercept)
{
	double mx = 0, my = 0, sxx = 0, sxy = 0;

	if (n < 2)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		mx += x[i];
		my += y[i];
	}
	mx /= n;
	my /= n;
	for (size_t i = 0; i < n; i++) {
		sxx += (x[i] - mx) * (x[i] - mx);
		sxy += (x[i] - mx) * (y[i] - my);
	}
	if (sxx == 0 || !isfinite(sxx) || !isfinite(sxy))
		return -EINVAL;
	*slope = sxy / sxx;
	if (intercept)
		*intercept = my - *slope * mx;
	return 0;
}

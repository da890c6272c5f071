#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include <criterion/criterion.h>

#include "growth.h"

#define MIB (1024.0 * 1024.0)

/* bytes = base + rate_mib_s * t (plus noise in [-noise, noise] bytes). */
static void series(double *t, double *v, size_t n, double t0, double base, double rate_mib_s,
		   double noise, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		double jitter = noise * (2.0 * rand_r(&seed) / RAND_MAX - 1);

		t[i] = t0 + 0.5 * (double)i;
		v[i] = base + rate_mib_s * MIB * (t[i] - t0) + jitter;
	}
}

Test(growth, fit_exact_line)
{
	double t[21], v[21];

	series(t, v, 21, 0, 64 * MIB, 20, 0, 1);
	cr_assert_float_eq(growth__fit(t, v, 21), 1200.0, 1e-9);
}

Test(growth, fit_is_exact_far_from_zero)
{
	double t[21], v[21];

	/* Days of uptime, a terabyte host: the centred sums keep the precision. */
	series(t, v, 21, 864000.25, 1e12, 0.5, 0, 1);
	cr_assert_float_eq(growth__fit(t, v, 21), 30.0, 1e-6);
}

Test(growth, fit_with_noise)
{
	double t[21], v[21];

	/* +-1 MiB of noise over a 10 s window of 20 MiB/s. */
	series(t, v, 21, 100, 500 * MIB, 20, MIB, 7);
	cr_assert_float_eq(growth__fit(t, v, 21), 1200.0, 1200 * 0.02);
}

Test(growth, fit_degenerate)
{
	double t[3] = { 5, 5, 5 }, v[3] = { 1, 2, 3 };

	cr_assert(isnan(growth__fit(t, v, 3)), "no time span");
	cr_assert(isnan(growth__fit(t, v, 1)));
	cr_assert(isnan(growth__fit(NULL, v, 3)));
}

Test(growth, ring_keeps_the_newest)
{
	struct growth *g = growth__new(8);

	cr_assert_not_null(g);
	cr_assert(isnan(growth__slope(g)));
	cr_assert(isnan(growth__last(g)));
	/* Flat for 12 samples, then 10 MiB/s for 8: only the growth stays. */
	for (int i = 0; i < 20; i++)
		growth__add(g, i, i < 12 ? 0 : (i - 11) * 10 * MIB);
	cr_assert_eq(growth__count(g), 8);
	cr_assert_float_eq(growth__slope(g), 600.0, 1e-9);
	cr_assert_float_eq(growth__span(g), 7.0, 1e-12);
	cr_assert_float_eq(growth__last(g), 80 * MIB, 1e-3);
	cr_assert(growth__monotonic(g));
	growth__clear(g);
	cr_assert_eq(growth__count(g), 0);
	growth__free(g);
}

Test(growth, trim_and_bad_samples)
{
	struct growth *g = growth__new(100);

	for (int i = 0; i < 10; i++)
		growth__add(g, i, i * MIB);
	growth__add(g, 3, 0);		/* time went back */
	growth__add(g, NAN, 0);
	growth__add(g, 11, INFINITY);
	cr_assert_eq(growth__count(g), 10);
	growth__trim(g, 6.5);
	cr_assert_eq(growth__count(g), 3);
	cr_assert_float_eq(growth__slope(g), 60.0, 1e-9);
	growth__trim(g, 100);
	cr_assert_eq(growth__count(g), 0);
	growth__free(g);
}

Test(growth, new_bounds)
{
	cr_assert_null(growth__new(0));
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(growth__new(GROWTH_CAP_MAX + 1));
	growth__free(NULL);
	cr_assert_eq(growth__count(NULL), 0);
	cr_assert(isnan(growth__slope(NULL)));
}

/* ---- monotonic -------------------------------------------------------------- */

Test(growth, monotonic_steady_and_noisy)
{
	double t[21], v[21];

	series(t, v, 21, 0, 0, 20, 0, 1);
	cr_assert(growth__is_monotonic(v, 21));
	/* Per-cpu charge batches: drops of a few hundred KiB are noise. */
	series(t, v, 21, 0, 0, 20, 200 * 1024, 3);
	cr_assert(growth__is_monotonic(v, 21));
}

Test(growth, not_monotonic)
{
	double t[21], v[21];
	double sawtooth[] = { 100, 130, 160, 190, 110, 140, 170, 200, 120, 150, 180, 210 };

	/* A garbage-collected heap: rises overall, falls back by 30% at each GC. */
	for (size_t i = 0; i < 12; i++)
		sawtooth[i] *= MIB;
	cr_assert_not(growth__is_monotonic(sawtooth, 12));
	series(t, v, 21, 0, 64 * MIB, 0, 100 * 1024, 5);
	cr_assert_not(growth__is_monotonic(v, 21), "flat with noise");
	series(t, v, 21, 0, 640 * MIB, -20, 0, 1);
	cr_assert_not(growth__is_monotonic(v, 21), "shrinking");
	series(t, v, 21, 0, 0, 0.02, 0, 1);
	cr_assert_not(growth__is_monotonic(v, 21), "a rise within the noise");
	cr_assert_not(growth__is_monotonic(v, 1));
}

/* ---- verdict names (verdict.h judges) ----------------------------------------- */

Test(growth, verdict_names)
{
	cr_assert_str_eq(growth__verdict_name(GROWTH_NATIVE), "native growth");
	cr_assert_str_eq(growth__verdict_name(GROWTH_V8), "V8 heap growth");
	cr_assert_str_eq(growth__verdict_name(GROWTH_PAGE_CACHE), "page cache");
	cr_assert_str_eq(growth__verdict_name(GROWTH_STABLE), "stable");
	cr_assert_str_eq(growth__verdict_name((enum growth_verdict)99), "unknown");
}

Test(growth, copy_oldest_first)
{
	struct growth *g = growth__new(4);
	double t[8], v[8];

	for (int i = 0; i < 6; i++)
		growth__add(g, i, i * 10);
	cr_assert_eq(growth__copy(g, t, v, 8), 4, "the ring keeps 4");
	cr_assert(t[0] == 2 && v[0] == 20 && t[3] == 5 && v[3] == 50);
	cr_assert_eq(growth__copy(g, t, v, 2), 2, "bounded by max");
	cr_assert_eq(growth__copy(NULL, t, v, 2), 0);
	growth__free(g);
}

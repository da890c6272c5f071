#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>

#include "stats.h"

Test(stats, median_odd_even_and_unsorted)
{
	double odd[] = { 5, 1, 3 }, even[] = { 4, 1, 3, 2 };

	cr_expect_float_eq(stats__median(odd, 3), 3, 1e-12);
	cr_expect_float_eq(stats__median(even, 4), 2.5, 1e-12);
	/* The input is left as it was. */
	cr_expect(odd[0] == 5 && odd[1] == 1 && odd[2] == 3);
}

Test(stats, median_ignores_one_outlier)
{
	double v[] = { 1.00, 1.01, 0.99, 9.0, 1.02 };

	cr_expect_float_eq(stats__median(v, 5), 1.01, 1e-12);
}

Test(stats, median_of_nothing_is_nan)
{
	double v[] = { NAN, NAN };

	cr_expect(isnan(stats__median(v, 0)));
	cr_expect(isnan(stats__median(v, 2)));
	cr_expect(isnan(stats__median(v, STATS_MAX_SAMPLES + 1)));
}

Test(stats, median_skips_nan)
{
	double v[] = { NAN, 2, 4, NAN };

	cr_expect_float_eq(stats__median(v, 4), 3, 1e-12);
}

Test(stats, mad)
{
	double v[] = { 1, 2, 3, 4, 100 };

	/* deviations from 3: 2 1 0 1 97 -> median 1 */
	cr_expect_float_eq(stats__mad(v, 5), 1, 1e-12);
	cr_expect(isnan(stats__mad(v, 0)));
}

Test(stats, ci95_of_a_known_sample)
{
	/* mean 1.1, sample sd 0.1, n 4: half = 3.182 * 0.1 / 2 */
	double w[] = { 1.0, 1.1, 1.2, 1.1 };
	double mean, half;

	cr_assert_eq(stats__mean_ci95(w, 4, &mean, &half), 0);
	cr_assert_float_eq(mean, 1.1, 1e-9);
	cr_assert_float_eq(half, 3.182 * sqrt(0.02 / 3) / 2, 1e-9);
}

Test(stats, ci95_narrows_with_more_samples_and_skips_nan)
{
	double few[] = { 1.0, 1.2, NAN, 1.0, 1.2 }, many[40];
	double m1, h1, m2, h2;

	for (size_t i = 0; i < 40; i++)
		many[i] = i % 2 ? 1.2 : 1.0;
	cr_assert_eq(stats__mean_ci95(few, 5, &m1, &h1), 0);
	cr_assert_eq(stats__mean_ci95(many, 40, &m2, &h2), 0);
	cr_assert_float_eq(m1, 1.1, 1e-9);
	cr_assert_float_eq(m2, 1.1, 1e-9);
	cr_assert_lt(h2, h1 / 3);
}

Test(stats, ci95_needs_two_samples)
{
	double one[] = { 1.0, NAN }, mean, half;

	cr_assert_eq(stats__mean_ci95(one, 2, &mean, &half), -EINVAL);
}

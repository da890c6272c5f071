#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "growth.h"
#include "soak.h"

#define MIB (1024.0 * 1024.0)

Test(soak, parse_rate)
{
	static const struct {
		const char *text;
		double want;	/* bytes per second; < 0: invalid */
	} cases[] = {
		{ "5MiB/min", 5 * MIB / 60 },
		{ "512KiB/s", 512 * 1024 },
		{ "1.5GiB/h", 1.5 * 1024 * MIB / 3600 },
		{ "0B/min", 0 },
		{ "1048576/min", MIB / 60 },
		{ "2TiB/hour", 2 * 1024 * 1024 * MIB / 3600 },
		{ ".5MiB/sec", 0.5 * MIB },
		{ "3MiB/m", 3 * MIB / 60 },
		{ "5MiB", -1 },			/* no time unit */
		{ "5MiB/", -1 },
		{ "5/", -1 },
		{ "MiB/min", -1 },
		{ "", -1 },
		{ "-5MiB/min", -1 },
		{ "+5MiB/min", -1 },
		{ "5 MiB/min", -1 },
		{ "5mib/min", -1 },		/* units are case-sensitive */
		{ "5MB/min", -1 },		/* not a power of 1024: ambiguous */
		{ "5MiB/day", -1 },
		{ "5MiB/min/s", -1 },
		{ "1e3MiB/min", -1 },
		{ "0x10MiB/min", -1 },
		{ "inf/s", -1 },
		{ "nan/s", -1 },
		{ "1.2.3MiB/min", -1 },
		{ ".MiB/min", -1 },
		{ "5ABCDEFGHIJKLMNOPQRSTUVWXYZ/min", -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double got = -7;
		int rc = soak__parse_rate(cases[i].text, &got);

		if (cases[i].want < 0) {
			cr_expect_eq(rc, -EINVAL, "'%s' accepted as %g", cases[i].text, got);
			cr_expect_eq(got, -7, "'%s': output written on error", cases[i].text);
		} else {
			cr_expect_eq(rc, 0, "'%s' rejected", cases[i].text);
			cr_expect_float_eq(got, cases[i].want, 1e-9 * (cases[i].want + 1),
					   "'%s': %g, want %g", cases[i].text, got, cases[i].want);
		}
	}
	cr_expect_eq(soak__parse_rate(NULL, &(double){ 0 }), -EINVAL);
	/* Finite digits can still overflow once scaled. */
	{
		char big[400];

		memset(big, '9', 320);
		strcpy(big + 320, "TiB/s");
		cr_expect_eq(soak__parse_rate(big, &(double){ 0 }), -EINVAL);
	}
}

/* Readings every second for secs seconds of f(t). */
static struct soak *readings(double warmup, double secs, double (*f)(double))
{
	struct soak *s = soak__new(warmup, 1024);

	cr_assert_not_null(s);
	for (double t = 0; t <= secs; t += 1)
		soak__add(s, t, f(t));
	return s;
}

static double steady(double t)
{
	return 100 * MIB + t * 2 * MIB;		/* 120 MiB/min */
}

/* Fills its caches for 30 s, then holds them with some jitter. */
static double warm_then_flat(double t)
{
	return (t < 30 ? t * 10 * MIB : 300 * MIB) + ((int)t % 3) * 256 * 1024;
}

static double sawtooth(double t)
{
	return 200 * MIB + fmod(t, 10) * 5 * MIB;	/* a collector every 10 s */
}

Test(soak, steady_growth_fails)
{
	struct soak *s = readings(30, 60, steady);
	struct soak_result r;

	cr_assert_eq(soak__judge(s, 5 * MIB / 60, &r), 0);
	cr_expect(r.grew);
	cr_expect_float_eq(r.slope, 120, 1e-6);
	cr_expect_float_eq(r.bound, 5, 1e-9);
	cr_expect_eq(r.judged, 31);
	cr_expect_float_eq(r.from, 30, 1e-9);
	cr_expect_float_eq(r.to, 60, 1e-9);
	cr_expect_float_eq(r.first, 100 * MIB, 1);
	cr_expect_float_eq(r.last, 220 * MIB, 1);
	/* The same growth under a looser bound passes. */
	cr_assert_eq(soak__judge(s, 200 * MIB / 60, &r), 0);
	cr_expect_not(r.grew);
	soak__free(s);
}

Test(soak, warm_up_is_ignored)
{
	struct soak *s = readings(40, 120, warm_then_flat);
	struct soak_result r;

	cr_assert_eq(soak__judge(s, 1 * MIB / 60, &r), 0);
	cr_expect_not(r.grew, "plateau after the warm-up judged %g MiB/min", r.slope);
	cr_expect_lt(fabs(r.slope), 0.5);
	soak__free(s);

	/* Judged from the start, the warm-up is growth. */
	s = readings(0, 120, warm_then_flat);
	cr_assert_eq(soak__judge(s, 1 * MIB / 60, &r), 0);
	cr_expect(r.grew);
	soak__free(s);
}

Test(soak, sawtooth_is_flat)
{
	struct soak *s = readings(0, 100, sawtooth);
	struct soak_result r;

	cr_assert_eq(soak__judge(s, 5 * MIB / 60, &r), 0);
	cr_expect_not(r.grew, "a collector's sawtooth judged %g MiB/min", r.slope);
	soak__free(s);
}

Test(soak, too_few_readings)
{
	struct soak *s = soak__new(10, 16);
	struct soak_result r;

	cr_assert_not_null(s);
	cr_expect_eq(soak__judge(s, 1, &r), -ENODATA);
	cr_expect(isnan(r.first));
	for (int t = 0; t <= 11; t++)
		soak__add(s, t, t * MIB);
	cr_expect_eq(soak__judge(s, 1, &r), -ENODATA, "two readings after the warm-up");
	cr_expect_eq(r.judged, 2);
	soak__add(s, 12, 12 * MIB);
	cr_expect_eq(soak__judge(s, 1, &r), 0);
	soak__free(s);

	/* Three readings at one instant have no slope. */
	s = soak__new(0, 16);
	for (int i = 0; i < 3; i++)
		soak__add(s, 5, i * MIB);
	cr_expect_eq(soak__judge(s, 1, &r), -ENODATA);
	soak__free(s);
}

Test(soak, bad_readings_ignored)
{
	struct soak *s = soak__new(0, 16);
	struct soak_result r;

	cr_assert_not_null(s);
	soak__add(s, 0, 0);
	soak__add(s, 1, MIB);
	soak__add(s, 0.5, 1000 * MIB);		/* time went back */
	soak__add(s, NAN, 1000 * MIB);
	soak__add(s, 1.5, INFINITY);
	soak__add(s, 2, 2 * MIB);
	cr_assert_eq(soak__judge(s, 0, &r), 0);
	cr_expect_eq(r.judged, 3);
	cr_expect_float_eq(r.slope, 60, 1e-9);
	cr_expect_float_eq(r.last, 2 * MIB, 1e-9);
	soak__free(s);
}

/* A long window keeps the newest readings. */
Test(soak, ring_keeps_the_newest)
{
	struct soak *s = soak__new(0, 8);
	struct soak_result r;

	cr_assert_not_null(s);
	for (int t = 0; t < 100; t++)
		soak__add(s, t, t < 50 ? t * 10 * MIB : 500 * MIB);
	cr_assert_eq(soak__judge(s, 1, &r), 0);
	cr_expect_eq(r.judged, 8);
	cr_expect_float_eq(r.from, 92, 1e-9);
	cr_expect_not(r.grew);
	cr_expect_float_eq(r.first, 0, 1e-9, "the first reading is the window's");
	soak__free(s);
}

Test(soak, bad_arguments)
{
	cr_expect_null(soak__new(-1, 16));
	cr_expect_null(soak__new(NAN, 16));
	cr_expect_null(soak__new(0, 1));
	cr_expect_null(soak__new(0, GROWTH_CAP_MAX + 1));
	cr_expect_eq(errno, EINVAL);
}

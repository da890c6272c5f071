/* The one verdict rule (verdict.h) on series shaped like real runs: two
 * recorded by `memscope record -v` (node 20, tests/workloads/v8_map_cache.js
 * and v8_lru_cache.js: the readings of the node process as printed), the
 * others built to the shapes of issue 16's runs (a load that ends early, one
 * that starts late, a slow leak under a GC sawtooth, a plateau, noise). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "verdict.h"

#define MIB	(1024.0 * 1024.0)
#define MAX	128

/* One series per class, in MiB as -v prints them; NaN-free unless a test
 * says otherwise. */
struct window {
	size_t n;
	double t[MAX];
	double v[MEM_NR_CLASSES][MAX];
	const double *p[MEM_NR_CLASSES];
};

/* n readings every `every` s from t=100, all classes measured at 0 MiB. */
static void window_init(struct window *w, size_t n, double every)
{
	memset(w, 0, sizeof(*w));
	w->n = n;
	for (size_t i = 0; i < n; i++)
		w->t[i] = 100 + i * every;
	for (int c = 1; c < MEM_NR_CLASSES; c++)
		w->p[c] = w->v[c];
}

static void set(struct window *w, enum mem_class c, size_t i, double mib)
{
	w->v[c][i] = mib * MIB;
}

static struct verdict judge(const struct window *w)
{
	struct verdict v;

	verdict__judge(w->t, w->p, w->n, &v);
	return v;
}

static const char *text(const struct verdict *v, double origin)
{
	static char buf[128];

	return verdict__text(v, VERDICT_SINCE, origin, buf, sizeof(buf));
}

/* A garbage collector's sawtooth: rises by amp over period readings, then
 * drops back. */
static double sawtooth(size_t i, size_t period, double amp)
{
	return amp * (double)(i % period) / (double)(period - 1);
}

/* Deterministic noise in [-amp, amp]. */
static double noise(unsigned *seed, double amp)
{
	return amp * (2.0 * rand_r(seed) / RAND_MAX - 1);
}

/* ---- recorded ------------------------------------------------------------------ */

/* t (s into the window), v8-heap, native (MiB). */
static const double map_cache_run[][3] = {
	{ 1.01, 65.48, 7.18 }, { 1.58, 97.79, 7.80 }, { 2.09, 127.99, 10.38 },
	{ 2.61, 160.50, 8.39 }, { 3.11, 181.44, 8.52 }, { 3.63, 224.04, 9.00 },
	{ 4.16, 255.80, 9.08 }, { 4.69, 287.80, 9.08 }, { 5.19, 317.54, 8.87 },
	{ 5.71, 329.05, 9.13 }, { 6.21, 329.05, 9.13 }, { 6.73, 329.05, 9.13 },
	{ 7.24, 329.05, 9.13 }, { 7.75, 329.05, 9.13 }, { 8.26, 329.05, 9.13 },
	{ 8.77, 329.05, 9.13 }, { 9.28, 329.05, 9.13 }, { 9.80, 329.05, 9.13 },
	{ 10.36, 329.05, 9.13 }, { 10.88, 329.05, 9.13 }, { 11.39, 329.05, 9.13 },
	{ 11.91, 329.05, 9.13 }, { 12.42, 329.05, 9.13 }, { 12.93, 329.05, 9.13 },
	{ 13.44, 329.05, 9.13 }, { 13.99, 329.05, 9.13 }, { 14.50, 329.05, 9.13 },
	{ 15.05, 329.05, 9.13 }, { 15.56, 329.05, 9.13 }, { 16.08, 329.05, 9.13 },
	{ 16.27, 329.05, 9.13 },
};

/* A bounded LRU cache under steady load: GC every second or so. */
static const double lru_run[][3] = {
	{ 1.02, 57.79, 17.86 }, { 1.62, 75.19, 10.34 }, { 2.14, 103.95, 8.95 },
	{ 2.66, 66.98, 8.20 }, { 3.18, 101.86, 8.10 }, { 3.72, 80.48, 6.85 },
	{ 4.24, 113.46, 6.78 }, { 4.75, 75.81, 6.61 }, { 5.26, 102.65, 6.60 },
	{ 5.77, 72.41, 6.60 }, { 6.29, 106.33, 7.30 }, { 6.81, 81.15, 7.50 },
	{ 7.32, 97.62, 7.30 }, { 7.83, 71.23, 7.34 }, { 8.34, 99.03, 7.49 },
	{ 8.91, 76.23, 8.55 }, { 9.43, 103.23, 7.55 }, { 9.94, 80.10, 7.33 },
	{ 10.49, 110.52, 7.34 }, { 11.00, 80.94, 7.23 }, { 11.51, 107.55, 7.33 },
	{ 12.04, 74.82, 7.33 }, { 12.55, 107.23, 7.24 }, { 13.06, 73.73, 7.27 },
	{ 13.57, 106.94, 7.33 }, { 14.08, 69.73, 7.33 }, { 14.59, 101.48, 7.11 },
	{ 15.17, 81.41, 7.20 }, { 15.67, 68.03, 7.33 }, { 16.18, 87.23, 7.32 },
	{ 16.29, 105.23, 9.91 },
};

#define ROWS(a)	(sizeof(a) / sizeof((a)[0]))

static void recorded(struct window *w, const double (*run)[3], size_t n)
{
	window_init(w, n, 0.5);
	for (size_t i = 0; i < n; i++) {
		w->t[i] = run[i][0];
		set(w, MEM_CLASS_V8_HEAP, i, run[i][1]);
		set(w, MEM_CLASS_NATIVE, i, run[i][2]);
		set(w, MEM_CLASS_FILE, i, 39.75);
	}
}

Test(verdict, recorded_load_that_ends_early_is_v8_growth_that_stopped)
{
	struct window w;
	struct verdict v;

	recorded(&w, map_cache_run, ROWS(map_cache_run));
	v = judge(&w);
	cr_assert_eq(v.verdict, GROWTH_V8, "got %s", text(&v, 0));
	cr_assert_float_eq(v.cls[MEM_CLASS_V8_HEAP].rise / MIB, 329.05 - 65.48, 1e-6);
	cr_assert_float_eq(v.stopped_at, 5.19, 0.6, "stopped at %.2f", v.stopped_at);
	cr_assert_str_eq(text(&v, 0), "V8 heap growth (stopped growing at t=5 s)");
}

Test(verdict, recorded_gc_sawtooth_of_a_bounded_cache_is_stable)
{
	struct window w;
	struct verdict v;

	recorded(&w, lru_run, ROWS(lru_run));
	v = judge(&w);
	cr_assert_eq(v.verdict, GROWTH_STABLE, "got %s (v8 rise %.1f swing %.1f MiB)",
		     text(&v, 0), v.cls[MEM_CLASS_V8_HEAP].rise / MIB,
		     v.cls[MEM_CLASS_V8_HEAP].swing / MIB);
	cr_assert_gt(v.cls[MEM_CLASS_V8_HEAP].swing, 20 * MIB, "the sawtooth is the swing");
}

Test(verdict, recorded_sawtooth_in_few_readings_is_stable)
{
	struct window w;
	struct verdict v;

	/* The LRU's readings from t=4.2 s on, as record judges a process that
	 * started in the window (2 s after it was first seen), but as few as a
	 * window of 6 s leaves: eight segments of one or two readings, each
	 * shorter than a GC cycle. */
	for (size_t from = 6; from <= 18; from += 4) {
		recorded(&w, lru_run + from, 12);
		v = judge(&w);
		cr_assert_eq(v.verdict, GROWTH_STABLE, "from reading %zu: %s (v8 rise %.1f swing %.1f,"
			     " fall %.1f)", from, text(&v, 0), v.cls[MEM_CLASS_V8_HEAP].rise / MIB,
			     v.cls[MEM_CLASS_V8_HEAP].swing / MIB, v.fall.rise / MIB);
	}
}

Test(verdict, recorded_sawtooth_with_a_leak_under_it_grows)
{
	struct window w;
	struct verdict v;

	/* The same GC cycle, keeping 4 MiB more each second. */
	recorded(&w, lru_run, ROWS(lru_run));
	for (size_t i = 0; i < w.n; i++)
		w.v[MEM_CLASS_V8_HEAP][i] += 4 * MIB * (w.t[i] - w.t[0]);
	v = judge(&w);
	cr_assert_eq(v.verdict, GROWTH_V8, "got %s", text(&v, 0));
	cr_assert(isnan(v.stopped_at), "still growing at the end");
	cr_assert_str_eq(text(&v, 0), "V8 heap growth");
}

/* ---- the shapes of issue 16's runs ---------------------------------------------- */

Test(verdict, load_of_25_s_in_a_40_s_window_then_the_heap_shrinks_a_little)
{
	struct window w;
	struct verdict v;
	unsigned seed = 16;

	/* node 22 behind autocannon: +549 MiB of V8 heap under a GC sawtooth
	 * while the load runs, then the memory reducer gives some back; native
	 * wanders up by 7 MiB and is still creeping at the end. */
	window_init(&w, 80, 0.5);
	for (size_t i = 0; i < w.n; i++) {
		double t = i * 0.5, v8 = t < 25 ? 60 + 22 * t + sawtooth(i, 6, 30) : 610;

		if (t >= 28)
			v8 = 570;
		set(&w, MEM_CLASS_V8_HEAP, i, v8);
		set(&w, MEM_CLASS_NATIVE, i, 40 + 7 * t / 40 + noise(&seed, 0.3));
		set(&w, MEM_CLASS_FILE, i, 30);
	}
	v = judge(&w);
	cr_assert_eq(v.verdict, GROWTH_V8, "got %s", text(&v, 100));
	cr_assert(isfinite(v.stopped_at), "stopped: %s", text(&v, 100));
	cr_assert_float_eq(v.stopped_at - 100, 24, 2.5, "%s", text(&v, 100));
	cr_assert(v.cls[MEM_CLASS_NATIVE].grew, "native did grow, 7 MiB");
}

Test(verdict, a_class_that_grew_7_mib_never_wins_over_one_that_grew_549)
{
	struct window w;
	struct verdict v;

	/* Native rises steadily to the very end, V8 stopped long before. */
	window_init(&w, 80, 0.5);
	for (size_t i = 0; i < w.n; i++) {
		set(&w, MEM_CLASS_V8_HEAP, i, i < 40 ? 20 + i * 549.0 / 40 : 569);
		set(&w, MEM_CLASS_NATIVE, i, 30 + i * 7.0 / 80);
	}
	v = judge(&w);
	cr_assert_eq(v.verdict, GROWTH_V8, "got %s", text(&v, 100));
	cr_assert(v.cls[MEM_CLASS_NATIVE].grew && isnan(v.cls[MEM_CLASS_NATIVE].stopped_at),
		  "native grows, and still does");
}

/* 100 MiB 3 s into a 14 s window, then held. */
static void late_step(struct window *w, enum mem_class c)
{
	window_init(w, 28, 0.5);
	for (size_t i = 0; i < w->n; i++) {
		double t = i * 0.5;
		double step = t < 3 ? 0 : t < 4.5 ? 100 * (t - 3) / 1.5 : 100;

		set(w, MEM_CLASS_V8_HEAP, i, 40 + sawtooth(i, 5, 3));
		set(w, MEM_CLASS_NATIVE, i, 20);
		set(w, MEM_CLASS_FILE, i, 35);
		w->v[c][i] += step * MIB;
	}
}

Test(verdict, load_that_starts_late_and_holds_is_growth)
{
	struct window w;
	struct verdict v;

	late_step(&w, MEM_CLASS_V8_HEAP);
	v = judge(&w);
	cr_assert_eq(v.verdict, GROWTH_V8, "got %s", text(&v, 100));
	cr_assert_str_eq(text(&v, 100), "V8 heap growth (stopped growing at t=4 s)");

	late_step(&w, MEM_CLASS_NATIVE);
	v = judge(&w);
	cr_assert_eq(v.verdict, GROWTH_NATIVE, "Buffers: got %s", text(&v, 100));
	cr_assert(isfinite(v.stopped_at));
}

Test(verdict, pure_plateau_is_stable)
{
	struct window w;
	struct verdict v;

	window_init(&w, 40, 0.5);
	for (size_t i = 0; i < w.n; i++) {
		set(&w, MEM_CLASS_V8_HEAP, i, 329.05);
		set(&w, MEM_CLASS_NATIVE, i, 9.13);
		set(&w, MEM_CLASS_FILE, i, 39.8);
	}
	v = judge(&w);
	cr_assert_eq(v.verdict, GROWTH_STABLE, "got %s", text(&v, 100));
	cr_assert_eq(v.cls[MEM_CLASS_V8_HEAP].rise, 0);
}

Test(verdict, noise_is_stable)
{
	unsigned seed = 7;

	/* Many draws: noise never reads as growth nor shrinking. */
	for (int run = 0; run < 200; run++) {
		struct window w;
		struct verdict v;

		window_init(&w, 40, 0.5);
		for (size_t i = 0; i < w.n; i++) {
			set(&w, MEM_CLASS_V8_HEAP, i, 100 + noise(&seed, 2));
			set(&w, MEM_CLASS_NATIVE, i, 50 + noise(&seed, 0.25));
			set(&w, MEM_CLASS_FILE, i, 30 + noise(&seed, 0.4));
			set(&w, MEM_CLASS_KERNEL, i, 5 + noise(&seed, 0.2));
		}
		v = judge(&w);
		cr_assert_eq(v.verdict, GROWTH_STABLE, "draw %d: %s", run, text(&v, 100));
	}
}

Test(verdict, sawtooth_whose_floor_creeps_by_chance_is_stable)
{
	struct window w;

	/* Minima 60, 61, 62, 63 MiB: monotonic, but far below the swing. */
	window_init(&w, 40, 0.5);
	for (size_t i = 0; i < w.n; i++)
		set(&w, MEM_CLASS_V8_HEAP, i, 60 + (double)(i / 10) + sawtooth(i, 5, 60));
	cr_assert_eq(judge(&w).verdict, GROWTH_STABLE);
}

/* ---- the rest of the rule ----------------------------------------------------------- */

Test(verdict, steady_growth_names_its_class_and_still_grows)
{
	static const struct {
		enum mem_class cls;
		enum growth_verdict want;
	} cases[] = {
		{ MEM_CLASS_V8_HEAP, GROWTH_V8 },   { MEM_CLASS_NATIVE, GROWTH_NATIVE },
		{ MEM_CLASS_FILE, GROWTH_PAGE_CACHE }, { MEM_CLASS_SHMEM, GROWTH_SHMEM },
		{ MEM_CLASS_KERNEL, GROWTH_KERNEL },
	};

	for (size_t k = 0; k < ROWS(cases); k++) {
		struct window w;
		struct verdict v;

		window_init(&w, 40, 0.5);
		for (size_t i = 0; i < w.n; i++)
			set(&w, cases[k].cls, i, 10 + i * 2.0);
		v = judge(&w);
		cr_assert_eq(v.verdict, cases[k].want, "class %d: got %s", cases[k].cls,
			     text(&v, 100));
		cr_assert(isnan(v.stopped_at));
	}
}

Test(verdict, anon_pushing_page_cache_out_is_growth)
{
	struct window w;

	/* Under a limit: the total stays flat, native grows, file gives way. */
	window_init(&w, 40, 0.5);
	for (size_t i = 0; i < w.n; i++) {
		set(&w, MEM_CLASS_NATIVE, i, 100 + i * 2.0);
		set(&w, MEM_CLASS_FILE, i, 200 - i * 2.0);
	}
	cr_assert_eq(judge(&w).verdict, GROWTH_NATIVE);
}

Test(verdict, everything_falling_is_shrinking)
{
	struct window w;

	window_init(&w, 40, 0.5);
	for (size_t i = 0; i < w.n; i++) {
		set(&w, MEM_CLASS_V8_HEAP, i, 400 - i * 5.0);
		set(&w, MEM_CLASS_NATIVE, i, 200 - i * 2.0);
	}
	cr_assert_eq(judge(&w).verdict, GROWTH_SHRINKING);
}

Test(verdict, cache_dropped_by_more_than_anon_grew_is_shrinking)
{
	struct window w;

	window_init(&w, 40, 0.5);
	for (size_t i = 0; i < w.n; i++) {
		set(&w, MEM_CLASS_NATIVE, i, 100 + i * 0.5);
		set(&w, MEM_CLASS_FILE, i, 500 - i * 10.0);
	}
	cr_assert_eq(judge(&w).verdict, GROWTH_SHRINKING);
}

Test(verdict, slow_growth_under_a_mib_per_minute_is_stable)
{
	struct window w;

	/* 0.6 MiB over 20 s: rising, but within what idle memory wanders by. */
	window_init(&w, 40, 0.5);
	for (size_t i = 0; i < w.n; i++)
		w.v[MEM_CLASS_NATIVE][i] = 100 * MIB + i * 16 * 1024.0;
	cr_assert_eq(judge(&w).verdict, GROWTH_STABLE);
}

Test(verdict, unknown_and_missing_readings)
{
	struct window w;
	struct verdict v;

	window_init(&w, 40, 0.5);
	w.p[MEM_CLASS_KERNEL] = NULL;		/* not measured for a process */
	for (size_t i = 0; i < w.n; i++)
		w.v[MEM_CLASS_V8_HEAP][i] = i % 3 ? NAN : i * 4 * MIB;
	v = judge(&w);
	cr_assert_not(v.cls[MEM_CLASS_KERNEL].known);
	cr_assert_eq(v.verdict, GROWTH_V8, "NaN readings are skipped, not zero");

	verdict__judge(w.t, w.p, 1, &v);
	cr_assert_eq(v.verdict, GROWTH_STABLE, "one reading: nothing to judge");
	cr_assert_not(v.cls[MEM_CLASS_V8_HEAP].known);
	verdict__judge(w.t, w.p, 0, &v);
	cr_assert_eq(v.verdict, GROWTH_STABLE);
	verdict__judge(NULL, w.p, 5, &v);
	cr_assert_eq(v.verdict, GROWTH_STABLE);
}

Test(verdict, few_readings)
{
	struct window w;
	struct verdict v;

	window_init(&w, 3, 0.5);
	set(&w, MEM_CLASS_V8_HEAP, 0, 10);
	set(&w, MEM_CLASS_V8_HEAP, 1, 50);
	set(&w, MEM_CLASS_V8_HEAP, 2, 90);
	v = judge(&w);
	cr_assert_eq(v.verdict, GROWTH_V8);
	cr_assert(isnan(v.stopped_at), "no readings after the rise: still growing");
	w.n = 2;
	cr_assert_eq(judge(&w).verdict, GROWTH_V8, "two readings are a rise");
	set(&w, MEM_CLASS_V8_HEAP, 1, 5);
	cr_assert_eq(judge(&w).verdict, GROWTH_SHRINKING);
}

Test(verdict, oom_timeline_of_a_fast_leak)
{
	struct window w;
	struct verdict v;

	/* One point a second; the leak filled the limit in the last one. */
	window_init(&w, 4, 1);
	set(&w, MEM_CLASS_NATIVE, 3, 27.2);
	v = judge(&w);
	cr_assert_eq(v.verdict, GROWTH_NATIVE, "got %s", text(&v, 100));
}

Test(verdict, text_per_clock)
{
	struct verdict v = { .verdict = GROWTH_NATIVE, .stopped_at = 130 };
	char buf[96];

	cr_assert_str_eq(verdict__text(&v, VERDICT_SINCE, 100, buf, sizeof(buf)),
			 "native growth (stopped growing at t=30 s)");
	cr_assert_str_eq(verdict__text(&v, VERDICT_AGO, 142, buf, sizeof(buf)),
			 "native growth (stopped growing 12 s ago)");
	cr_assert_str_eq(verdict__text(&v, VERDICT_BEFORE, 131, buf, sizeof(buf)),
			 "native growth (stopped growing 1 s before the kill)");
	v.stopped_at = NAN;
	cr_assert_str_eq(verdict__text(&v, VERDICT_SINCE, 100, buf, sizeof(buf)),
			 "native growth");
	v.verdict = GROWTH_STABLE;
	v.stopped_at = 130;
	cr_assert_str_eq(verdict__text(&v, VERDICT_SINCE, 100, buf, sizeof(buf)), "stable");
	cr_assert_str_eq(verdict__text(NULL, VERDICT_SINCE, 100, buf, sizeof(buf)), "stable");
	cr_assert(verdict__is_growth(&(struct verdict){ .verdict = GROWTH_V8 }));
	cr_assert_not(verdict__is_growth(&(struct verdict){ .verdict = GROWTH_SHRINKING }));
}

Test(verdict, anon_split_by_what_native_holds_at_the_end)
{
	/* The OOM case: anon 13 -> 246 MiB, 240 MiB of it V8 heap at the kill. */
	double anon[4] = { 13 * MIB, 90 * MIB, 170 * MIB, 246 * MIB }, native[4], v8[4];

	verdict__split_anon(anon, 4, 6 * MIB, native, v8);
	for (int i = 0; i < 4; i++) {
		cr_assert_float_eq(native[i], 6 * MIB, 1);
		cr_assert_float_eq(native[i] + v8[i], anon[i], 1);
	}
	/* Native that started below its end level. */
	anon[0] = 4 * MIB;
	verdict__split_anon(anon, 4, 6 * MIB, native, v8);
	cr_assert_float_eq(native[0], 4 * MIB, 1);
	cr_assert_float_eq(v8[0], 0, 1);
	verdict__split_anon(anon, 4, NAN, native, v8);
	cr_assert(native[3] == anon[3] && isnan(v8[3]), "unknown: all native");
}

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "units.h"
#include "verdict.h"

#define MAX_READINGS	GROWTH_CAP_MAX

/* The finite readings of one series, gathered once. */
struct readings {
	double *t, *v;
	size_t n;
	double *scratch;	/* n doubles for the rule's own use */
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Rise, swing and whether it grew; see verdict.h for the rule. */
static void judge_one(const struct readings *r, struct verdict_class *out)
{
	double floors[VERDICT_SEGMENTS], ceils[VERDICT_SEGMENTS], ranges[VERDICT_SEGMENTS];
	double span, tol, suffix, min_rise;
	size_t k, at, n = r->n;

	*out = (struct verdict_class){ .stopped_at = NAN };
	if (n < 2)
		return;
	out->known = true;
	/* Few readings (an OOM timeline of a fast leak, top's first seconds):
	 * one each per segment, so a rise in the last one is not hidden under
	 * the floor of a segment that began before it. */
	k = n < VERDICT_SEGMENTS ? n : VERDICT_SEGMENTS;
	for (size_t j = 0, i = 0; j < k; j++) {
		size_t end = (j + 1) * n / k;

		floors[j] = INFINITY;
		ceils[j] = -INFINITY;
		for (; i < end; i++) {
			floors[j] = fmin(floors[j], r->v[i]);
			ceils[j] = fmax(ceils[j], r->v[i]);
		}
		ranges[j] = ceils[j] - floors[j];
	}
	out->rise = floors[k - 1] - floors[0];
	qsort(ranges, k, sizeof(ranges[0]), cmp_double);
	/* The lower median: growth inside a few segments (a step, a load
	 * that ran for part of the window) does not count as swing. */
	out->swing = ranges[(k - 1) / 2];
	/* Segments of one or two readings miss a sawtooth that the readings
	 * themselves show: from one reading to the next it moves by about its
	 * height, where growth moves by its rate (and a step not at all but
	 * once). The lower median of those moves is swing too. */
	for (size_t i = 1; n > 2 && i < n; i++)
		r->scratch[i - 1] = fabs(r->v[i] - r->v[i - 1]);
	if (n > 2) {	/* two readings: their one move is the rise itself */
		qsort(r->scratch, n - 1, sizeof(double), cmp_double);
		out->swing = fmax(out->swing, r->scratch[(n - 2) / 2]);
	}
	span = r->t[n - 1] - r->t[0];
	min_rise = fmax(VERDICT_MIN_RISE_BYTES, GROWTH_STABLE_MIB_MIN * MIB * span / 60);
	out->grew = out->rise >= min_rise &&
		    (out->rise > 2 * out->swing ||
		     (out->rise > out->swing && growth__is_monotonic(floors, k) &&
		      growth__is_monotonic(ceils, k)));
	if (!out->grew)
		return;
	/* When it reached the level it holds: the earliest reading from which
	 * on it never falls below its last floor (less noise). */
	tol = fmax(GROWTH_NOISE_BYTES, GROWTH_NOISE_FRAC * out->rise);
	suffix = INFINITY;
	at = n;
	for (size_t i = n; i-- > 0;) {
		suffix = fmin(suffix, r->v[i]);
		if (suffix < floors[k - 1] - tol)
			break;
		at = i;
	}
	if (at < n && n - at >= VERDICT_HELD_READINGS &&
	    r->t[n - 1] - r->t[at] >= VERDICT_HELD_FRAC * span)
		out->stopped_at = r->t[at];
}

/* The finite readings of v into r (arrays of n). */
static void gather(const double *t, const double *v, size_t n, struct readings *r)
{
	r->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(v[i]) || !isfinite(t[i]))
			continue;
		r->t[r->n] = t[i];
		r->v[r->n++] = v[i];
	}
}

void verdict__judge(const double *t, const double *const v[MEM_NR_CLASSES], size_t n,
		    struct verdict *out)
{
	struct readings r = { 0 };
	double *total = NULL, best = 0;

	*out = (struct verdict){ .verdict = GROWTH_STABLE, .stopped_at = NAN, .first = NAN,
				 .last = NAN };
	for (int c = 0; c < MEM_NR_CLASSES; c++)
		out->cls[c].stopped_at = NAN;
	out->fall.stopped_at = NAN;
	if (!t || !n)
		return;
	n = n < MAX_READINGS ? n : MAX_READINGS;
	out->first = t[0];
	out->last = t[n - 1];
	r.t = malloc(n * sizeof(double));
	r.v = malloc(n * sizeof(double));
	r.scratch = malloc(n * sizeof(double));
	total = calloc(n, sizeof(double));
	if (!r.t || !r.v || !r.scratch || !total)
		goto out;	/* no memory: no verdict, which reads as stable */
	for (int c = MEM_CLASS_NONE + 1; c < MEM_NR_CLASSES; c++) {
		struct verdict_class *vc = &out->cls[c];

		if (!v[c])
			continue;
		gather(t, v[c], n, &r);
		judge_one(&r, vc);
		if (vc->grew && vc->rise > best) {
			best = vc->rise;
			out->verdict = (enum growth_verdict[]){
				[MEM_CLASS_V8_HEAP] = GROWTH_V8,
				[MEM_CLASS_NATIVE] = GROWTH_NATIVE,
				[MEM_CLASS_FILE] = GROWTH_PAGE_CACHE,
				[MEM_CLASS_SHMEM] = GROWTH_SHMEM,
				[MEM_CLASS_KERNEL] = GROWTH_KERNEL,
			}[c];
			out->stopped_at = vc->stopped_at;
		}
		for (size_t i = 0; i < n; i++)
			if (isfinite(v[c][i]))
				total[i] -= v[c][i];
	}
	/* Upside down, the total's falls are rises and its ceilings floors. */
	gather(t, total, n, &r);
	judge_one(&r, &out->fall);
	if (out->fall.grew && out->fall.rise > best) {
		out->verdict = GROWTH_SHRINKING;
		out->stopped_at = NAN;
	}
out:
	free(r.t);
	free(r.v);
	free(r.scratch);
	free(total);
}

bool verdict__is_growth(const struct verdict *v)
{
	return v && v->verdict != GROWTH_STABLE && v->verdict != GROWTH_SHRINKING;
}

const char *verdict__text(const struct verdict *v, enum verdict_clock clock, double origin,
			  char *buf, size_t len)
{
	const char *name = growth__verdict_name(v ? v->verdict : GROWTH_STABLE);

	if (!verdict__is_growth(v) || !isfinite(v->stopped_at))
		snprintf(buf, len, "%s", name);
	else if (clock == VERDICT_SINCE)
		snprintf(buf, len, "%s (stopped growing at t=%.0f s)", name,
			 v->stopped_at - origin);
	else
		snprintf(buf, len, "%s (stopped growing %.0f s %s)", name, origin - v->stopped_at,
			 clock == VERDICT_AGO ? "ago" : "before the kill");
	return buf;
}

void verdict__split_anon(const double *anon, size_t n, double native_end, double *native,
			 double *v8)
{
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(native_end)) {
			native[i] = anon[i];
			v8[i] = NAN;
		} else if (!isfinite(anon[i])) {
			native[i] = v8[i] = NAN;
		} else {
			native[i] = fmin(anon[i], fmax(native_end, 0));
			v8[i] = anon[i] - native[i];
		}
	}
}

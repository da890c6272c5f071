#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "growth.h"
#include "units.h"

struct growth {
	size_t cap, head, count;	/* head: index of the oldest sample */
	double *t, *v;
};

/* Samples in time order: element i of a ring, or of a plain array (head 0, cap n). */
struct series {
	const double *t, *v;
	size_t head, count, cap;
};

static size_t at(const struct series *s, size_t i)
{
	return (s->head + i) % s->cap;
}

struct growth *growth__new(size_t cap)
{
	struct growth *g;

	if (!cap || cap > GROWTH_CAP_MAX) {
		errno = EINVAL;
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->cap = cap;
	g->t = calloc(cap, sizeof(double));
	g->v = calloc(cap, sizeof(double));
	if (!g->t || !g->v) {
		growth__free(g);
		errno = ENOMEM;
		return NULL;
	}
	return g;
}

void growth__free(struct growth *g)
{
	if (!g)
		return;
	free(g->t);
	free(g->v);
	free(g);
}

static size_t slot(const struct growth *g, size_t i)
{
	return (g->head + i) % g->cap;
}

void growth__add(struct growth *g, double t, double bytes)
{
	size_t s;

	if (!g || !isfinite(t) || !isfinite(bytes))
		return;
	if (g->count && t < g->t[slot(g, g->count - 1)])
		return;
	if (g->count == g->cap) {
		g->head = slot(g, 1);
		g->count--;
	}
	s = slot(g, g->count);
	g->t[s] = t;
	g->v[s] = bytes;
	g->count++;
}

void growth__trim(struct growth *g, double t_min)
{
	while (g && g->count && g->t[g->head] < t_min) {
		g->head = slot(g, 1);
		g->count--;
	}
}

void growth__clear(struct growth *g)
{
	if (g)
		g->head = g->count = 0;
}

size_t growth__count(const struct growth *g)
{
	return g ? g->count : 0;
}

double growth__last(const struct growth *g)
{
	return g && g->count ? g->v[slot(g, g->count - 1)] : NAN;
}

double growth__span(const struct growth *g)
{
	if (!g || g->count < 2)
		return 0;
	return g->t[slot(g, g->count - 1)] - g->t[g->head];
}

static double fit(const struct series *s)
{
	double mt = 0, mv = 0, stt = 0, stv = 0, n = (double)s->count;

	if (s->count < 2)
		return NAN;
	/* Centred sums: absolute monotonic times and byte counts are large,
	 * and the textbook n*Σxy - ΣxΣy form cancels catastrophically. */
	for (size_t i = 0; i < s->count; i++) {
		mt += s->t[at(s, i)];
		mv += s->v[at(s, i)];
	}
	mt /= n;
	mv /= n;
	for (size_t i = 0; i < s->count; i++) {
		double dt = s->t[at(s, i)] - mt;

		stt += dt * dt;
		stv += dt * (s->v[at(s, i)] - mv);
	}
	if (!(stt > 0))
		return NAN;
	return stv / stt * 60.0 / MIB;
}

static bool monotonic(const struct series *s)
{
	double first, rise, tol, top;

	if (s->count < 2)
		return false;
	first = s->v[at(s, 0)];
	rise = s->v[at(s, s->count - 1)] - first;
	tol = fmax(GROWTH_NOISE_BYTES, GROWTH_NOISE_FRAC * fabs(rise));
	if (!(rise > tol))
		return false;
	top = first;
	for (size_t i = 1; i < s->count; i++) {
		double v = s->v[at(s, i)];

		if (v < top - tol)
			return false;
		top = fmax(top, v);
	}
	return true;
}

static struct series ring_series(const struct growth *g)
{
	return (struct series){ .t = g->t, .v = g->v, .head = g->head, .count = g->count,
				.cap = g->cap };
}

static struct series array_series(const double *t, const double *v, size_t n)
{
	return (struct series){ .t = t, .v = v, .count = n, .cap = n ? n : 1 };
}

double growth__fit(const double *t, const double *v, size_t n)
{
	struct series s = array_series(t, v, n);

	return t && v ? fit(&s) : NAN;
}

bool growth__is_monotonic(const double *v, size_t n)
{
	struct series s = array_series(v, v, n);

	return v && monotonic(&s);
}

double growth__slope(const struct growth *g)
{
	struct series s;

	if (!g)
		return NAN;
	s = ring_series(g);
	return fit(&s);
}

bool growth__monotonic(const struct growth *g)
{
	struct series s;

	if (!g)
		return false;
	s = ring_series(g);
	return monotonic(&s);
}

size_t growth__copy(const struct growth *g, double *t, double *v, size_t max)
{
	size_t n = 0;

	for (; g && n < g->count && n < max; n++) {
		t[n] = g->t[slot(g, n)];
		v[n] = g->v[slot(g, n)];
	}
	return n;
}

const char *growth__verdict_name(enum growth_verdict v)
{
	static const char *const names[] = {
		[GROWTH_STABLE] = "stable",
		[GROWTH_NATIVE] = "native growth",
		[GROWTH_V8] = "V8 heap growth",
		[GROWTH_PAGE_CACHE] = "page cache",
		[GROWTH_SHMEM] = "shmem",
		[GROWTH_KERNEL] = "kernel",
		[GROWTH_SHRINKING] = "shrinking",
		[GROWTH_ANON] = "anon growth",
	};

	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "unknown";
}

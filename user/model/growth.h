/* Is a memory figure growing, how fast, how steadily, and which kind of
 * memory is it? A ring of the last (time, bytes) samples per figure, a
 * least-squares slope over them, a monotonic test, and the names of the
 * verdicts (verdict.h judges which one applies).
 *
 *	struct growth *g = growth__new(64);
 *	growth__add(g, now, usage);	every sample
 *	growth__trim(g, now - window);
 *	growth__slope(g)		-> MiB/min, NaN with fewer than 2 samples
 *	growth__monotonic(g)		-> rises, and never drops by more than noise
 */
#ifndef MEMSCOPE_GROWTH_H
#define MEMSCOPE_GROWTH_H

#include <stdbool.h>
#include <stddef.h>

#define GROWTH_CAP_MAX		65536
/* A slope under this (MiB/min) is noise: an idle process's page cache and
 * slab wander by a few hundred KiB within a window. */
#define GROWTH_STABLE_MIB_MIN	1.0
/* Drops smaller than this (bytes) or GROWTH_NOISE_FRAC of the rise do not
 * break monotonic growth: per-cpu charge batches, a freed buffer. */
#define GROWTH_NOISE_BYTES	(512.0 * 1024)
#define GROWTH_NOISE_FRAC	0.05

struct growth;

/* A ring of at most cap (1..GROWTH_CAP_MAX) samples. NULL + errno. */
struct growth *growth__new(size_t cap);
void growth__free(struct growth *g);

/* Appends a sample, evicting the oldest when full. Time must not go back:
 * such samples, and non-finite ones, are ignored. */
void growth__add(struct growth *g, double t, double bytes);
/* Forgets samples older than t_min. */
void growth__trim(struct growth *g, double t_min);
void growth__clear(struct growth *g);
size_t growth__count(const struct growth *g);
/* The newest sample's value (NaN when empty). */
double growth__last(const struct growth *g);
/* Time between the oldest and newest sample (0 when fewer than 2). */
double growth__span(const struct growth *g);

/* Least-squares slope in MiB/min; NaN with fewer than 2 samples or no span. */
double growth__slope(const struct growth *g);
/* Grew by more than the noise over the samples, never dropping more than
 * noise below its running maximum on the way. */
bool growth__monotonic(const struct growth *g);

/* The same two on plain arrays (t[i], v[i]), oldest first. */
double growth__fit(const double *t, const double *v, size_t n);
bool growth__is_monotonic(const double *v, size_t n);

/* Copies the samples oldest first into t and v (max each); returns how many. */
size_t growth__copy(const struct growth *g, double *t, double *v, size_t max);

/* Slopes (MiB/min) of the classes of one cgroup's memory, as `top` shows
 * them. v8 is NaN until the V8 heap is known; then it is part of anon. */
struct growth_split {
	double total;
	double anon, file, shmem, kernel;	/* kernel includes socket buffers */
	double v8;
};

enum growth_verdict {
	GROWTH_STABLE,
	GROWTH_NATIVE,		/* anon outside any known managed heap */
	GROWTH_V8,
	GROWTH_PAGE_CACHE,
	GROWTH_SHMEM,
	GROWTH_KERNEL,
	GROWTH_SHRINKING,
	GROWTH_ANON,		/* anon, not split: no V8 heap figures (top without root) */
};

/* "stable", "native growth", "V8 heap growth", "page cache", "shmem", "kernel",
 * "shrinking", "anon growth". */
const char *growth__verdict_name(enum growth_verdict v);

#endif

/* Malloc churn with a slowly leaking tail: a service handling requests,
 * each allocating buffers of mixed sizes that live a little while and are
 * freed, while one allocation in LEAK_EVERY is kept for good. glibc's malloc
 * is left at its defaults (heap reuse, mmap for big chunks, trimming), so the
 * page allocator sees what a real allocator sends it. Fixed work, seeded
 * sizes: every run does the same thing.
 *
 * usage: mallocchurn [-n ALLOCS] [-k LEAK_EVERY] [-x MAX_KIB]
 * prints: allocs N leaked_mib M seconds S allocs_per_sec R
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LIVE 64		/* buffers alive at once: a request's working set */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Mostly small, sometimes big: log-uniform between 64 bytes and max. */
static size_t pick_size(uint64_t *seed, size_t max)
{
	unsigned bits = 6 + next(seed) % 15;	/* 2^6 .. 2^20 */
	size_t sz = ((size_t)1 << bits) + next(seed) % ((size_t)1 << bits);

	return sz > max ? max : sz;
}

int main(int argc, char **argv)
{
	size_t n = 400000, leak_every = 1000, max = 1024 << 10, leaked = 0;
	void *live[LIVE] = { 0 };
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	volatile unsigned char sink = 0;
	double start;
	int opt;

	while ((opt = getopt(argc, argv, "n:k:x:")) != -1) {
		switch (opt) {
		case 'n': n = strtoul(optarg, NULL, 10); break;
		case 'k': leak_every = strtoul(optarg, NULL, 10); break;
		case 'x': max = strtoul(optarg, NULL, 10) << 10; break;
		default: return 2;
		}
	}
	if (!leak_every || max < 64)
		return 2;
	start = now();
	for (size_t i = 0; i < n; i++) {
		size_t sz = pick_size(&seed, max), slot = next(&seed) % LIVE;
		unsigned char *p = malloc(sz);

		if (!p)
			return 1;
		memset(p, (int)i, sz);
		sink ^= p[sz / 2];
		if (i % leak_every == 0) {
			leaked += sz;	/* kept for good, never freed */
			continue;
		}
		free(live[slot]);
		live[slot] = p;
	}
	printf("allocs %zu leaked_mib %.1f seconds %.3f allocs_per_sec %.0f\n", n,
	       leaked / 1048576.0, now() - start, n / (now() - start));
	return 0;
}

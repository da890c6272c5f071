/* Page-fault storm: map a region, touch every page, unmap, repeat. The
 * cheapest way to make the page allocator work as hard as it can, so a
 * tracer's cost per page shows. Prints pages/s on stdout.
 *
 * usage: pagestorm [-s SECONDS] [-m MIB_PER_ROUND] [-n ROUNDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double seconds = 5, start, elapsed;
	size_t mib = 16, rounds = 0, done = 0, pages = 0;
	long psz = sysconf(_SC_PAGESIZE);
	int opt;

	while ((opt = getopt(argc, argv, "s:m:n:")) != -1) {
		switch (opt) {
		case 's': seconds = strtod(optarg, NULL); break;
		case 'm': mib = strtoul(optarg, NULL, 10); break;
		case 'n': rounds = strtoul(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	start = now();
	while (rounds ? done < rounds : now() - start < seconds) {
		size_t len = mib << 20;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return 1;
		for (size_t off = 0; off < len; off += psz)
			p[off] = 1;
		munmap(p, len);
		pages += len / psz;
		done++;
	}
	elapsed = now() - start;
	printf("pages %zu seconds %.3f pages_per_sec %.0f\n", pages, elapsed, pages / elapsed);
	return 0;
}

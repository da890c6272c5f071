/* A process whose memory grows at a known, steady rate, for memscope top's
 * integration tests: it touches RATE MiB of fresh anonymous memory every
 * second for SECS seconds (paced against the clock, page by page, no huge
 * pages, so the charge rises smoothly), then holds it. With -r 0 it only
 * allocates INITIAL MiB and stays flat.
 *
 * usage: grower [-g CGROUP_PROCS_FILE] [-i INITIAL_MIB] [-r RATE_MIB_S]
 *               [-d SECS] [-h HOLD_SECS] [-R READY_FILE]
 * READY_FILE is created once the initial memory is touched.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MIB	(1024UL * 1024)
#define TICK_US	10000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void join_cgroup(const char *procs_file)
{
	char buf[32];
	int fd = open(procs_file, O_WRONLY | O_CLOEXEC);
	int n = snprintf(buf, sizeof(buf), "%d\n", getpid());

	if (fd < 0 || write(fd, buf, n) != n) {
		perror(procs_file);
		exit(2);
	}
	close(fd);
}

static void touch(volatile char *p, size_t from, size_t to, size_t page)
{
	for (size_t off = from; off < to; off += page)
		p[off] = 1;
}

int main(int argc, char **argv)
{
	const char *cgroup = NULL, *ready = NULL;
	double rate = 20, secs = 12, hold = 3600, start;
	size_t initial = 0, total, done, page = (size_t)sysconf(_SC_PAGESIZE);
	char *mem;
	int opt;

	while ((opt = getopt(argc, argv, "g:i:r:d:h:R:")) != -1) {
		switch (opt) {
		case 'g': cgroup = optarg; break;
		case 'i': initial = strtoul(optarg, NULL, 10) * MIB; break;
		case 'r': rate = strtod(optarg, NULL); break;
		case 'd': secs = strtod(optarg, NULL); break;
		case 'h': hold = strtod(optarg, NULL); break;
		case 'R': ready = optarg; break;
		default: return 2;
		}
	}
	if (rate < 0 || secs < 0)
		return 2;
	if (cgroup)
		join_cgroup(cgroup);
	total = initial + (size_t)(rate * secs * MIB);
	mem = mmap(NULL, total ? total : page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return 3;
	}
	/* One huge page would be a 2 MiB step where the test wants a slope. */
	madvise(mem, total ? total : page, MADV_NOHUGEPAGE);
	touch(mem, 0, initial, page);
	if (ready) {
		int fd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

		if (fd >= 0)
			close(fd);
	}
	start = now();
	for (done = initial; done < total;) {
		double due = initial + (now() - start) * rate * MIB;
		size_t to = due > (double)total ? total : (size_t)due;

		if (to > done) {
			touch(mem, done, to, page);
			done = to;
		}
		usleep(TICK_US);
	}
	for (start = now(); now() - start < hold;)
		usleep(100 * 1000);
	return mem[0] == 42;
}

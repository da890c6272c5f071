/* A process with a known leak and a known churn, for memscope's integration
 * tests: leak_fn keeps LEAK MiB that memset first touches (so the page fault
 * happens in a frameless libc leaf, the shape that hides leak_fn from a
 * frame-pointer walk), churn_fn allocates, touches and frees CHURN MiB.
 *
 * usage: leaker [-g CGROUP_PROCS_FILE] [-l LEAK_MIB] [-c CHURN_MIB] [-h HOLD_SECS]
 *               [-r READY_FILE] [-w START_FILE] [-f] [-i INTERVAL_MS]
 * -w: wait until START_FILE exists before allocating (so a tracer can attach to it first).
 * -f: after the churn, leak LEAK_MIB more every INTERVAL_MS (default 0) through leak_fn,
 *     forever: until a memory limit gets the process OOM-killed.
 */
#include <fcntl.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIB (1024UL * 1024)

static volatile unsigned char sink;

__attribute__((noinline)) static void *leak_fn(size_t bytes)
{
	char *p = malloc(bytes);

	if (!p)
		exit(3);
	memset(p, 0x5a, bytes);
	return p;
}

__attribute__((noinline)) static void churn_fn(size_t total, size_t chunk)
{
	for (size_t done = 0; done < total; done += chunk) {
		char *p = malloc(chunk);

		if (!p)
			exit(3);
		memset(p, 0xa5, chunk);
		sink = p[chunk / 2];
		free(p);
	}
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

int main(int argc, char **argv)
{
	const char *cgroup = NULL, *ready = NULL, *start = NULL;
	size_t leak = 64, churn = 256;
	double hold = 0, interval_ms = 0;
	bool forever = false;
	void *kept;
	int opt;

	while ((opt = getopt(argc, argv, "g:l:c:h:r:w:fi:")) != -1) {
		switch (opt) {
		case 'g': cgroup = optarg; break;
		case 'l': leak = strtoul(optarg, NULL, 10); break;
		case 'c': churn = strtoul(optarg, NULL, 10); break;
		case 'h': hold = strtod(optarg, NULL); break;
		case 'r': ready = optarg; break;
		case 'w': start = optarg; break;
		case 'f': forever = true; break;
		case 'i': interval_ms = strtod(optarg, NULL); break;
		default: return 2;
		}
	}
	if (cgroup)
		join_cgroup(cgroup);
	while (start && access(start, F_OK))
		usleep(10 * 1000);
	/* Every chunk its own mmap, so free() really returns the pages: without
	 * this glibc raises the threshold and recycles the heap. */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	kept = leak_fn(leak * MIB);
	churn_fn(churn * MIB, MIB);
	if (ready) {
		int fd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

		if (fd >= 0)
			close(fd);
	}
	while (forever) {
		if (interval_ms > 0)
			usleep((useconds_t)(interval_ms * 1e3));
		sink = ((unsigned char *)leak_fn(leak * MIB))[0];
	}
	if (hold > 0)
		usleep((useconds_t)(hold * 1e6));
	sink = ((unsigned char *)kept)[leak * MIB - 1];
	return 0;
}

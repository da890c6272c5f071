/* A leak held in transparent huge pages, for the moved-pages tests: the
 * kernel moves or splits these pages behind the process's back, and
 * memscope must keep them charged to leak_fn, its process and cgroup.
 *
 * usage: thpleak -m MODE [-g CGROUP_PROCS_FILE] [-l LEAK_MIB] [-r READY_FILE] [-h HOLD_SECS]
 * MODE collapse: leak_fn touches small pages (MADV_NOHUGEPAGE), then the
 *                range is marked MADV_HUGEPAGE so khugepaged collapses it;
 *                READY_FILE is written once AnonHugePages covers the leak.
 * MODE split:    leak_fn touches huge pages (MADV_HUGEPAGE), then the first
 *                half of every 2 MiB is unmapped (the kernel splits each huge
 *                page); READY_FILE says how many KiB are still mapped.
 * MODE small:    leak_fn touches small pages and holds them (compaction may
 *                move them); READY_FILE is written at once.
 * MODE migrate: leak_fn touches small pages, then move_pages(2) moves each to
 *                the other NUMA node (page migration, as NUMA balancing and
 *                memory offlining do); READY_FILE says how many moved. Needs
 *                two nodes (exit 4 otherwise).
 * MODE blocks:   LEAK_MIB of 64 KiB malloc blocks, each touched by leak_fn
 *                (malloc'd in leak_fn; the heap grows by brk: under THP
 *                "always" khugepaged collapses it in the background);
 *                READY_FILE at once.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MIB (1024UL * 1024)
#define HUGE (2 * MIB)

/* p NULL: a malloc block, so that the pages malloc first-touches itself
 * (a chunk header) are on leak_fn's behalf too. */
__attribute__((noinline)) static char *leak_fn(char *p, size_t bytes)
{
	if (!p)
		p = malloc(bytes);
	if (p)
		memset(p, 0x5a, bytes);
	return p;
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

/* kB of AnonHugePages in this process's mappings. */
static long anon_huge_kb(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "re");
	char line[256];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static void say(const char *file, long value)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	f = fopen(tmp, "we");
	if (!f || fprintf(f, "%ld\n", value) < 0 || fclose(f) || rename(tmp, file)) {
		perror(file);
		exit(2);
	}
}

/* Moves every page of [p, p + bytes) to the NUMA node it is not on. */
static long migrate_all(char *p, size_t bytes)
{
	size_t n = bytes / 4096;
	void **pages = calloc(n, sizeof(*pages));
	int *nodes = calloc(n, sizeof(*nodes)), *status = calloc(n, sizeof(*status));
	long moved = 0;

	if (!pages || !nodes || !status)
		exit(3);
	for (size_t i = 0; i < n; i++)
		pages[i] = p + i * 4096;
	/* Where each page is now (nodes NULL asks). */
	if (syscall(SYS_move_pages, 0, n, pages, NULL, status, 0)) {
		perror("move_pages (query)");
		exit(3);
	}
	for (size_t i = 0; i < n; i++)
		nodes[i] = status[i] == 0 ? 1 : 0;
	if (syscall(SYS_move_pages, 0, n, pages, nodes, status, 1 << 1 /* MPOL_MF_MOVE */) < 0) {
		perror("move_pages");
		exit(4);
	}
	for (size_t i = 0; i < n; i++)
		moved += status[i] == nodes[i];
	free(pages);
	free(nodes);
	free(status);
	return moved;
}

/* bytes of anonymous memory aligned to a huge page. */
static char *huge_aligned(size_t bytes)
{
	char *p = mmap(NULL, bytes + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(3);
	}
	return (char *)(((uintptr_t)p + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
}

int main(int argc, char **argv)
{
	const char *mode = "collapse", *procs = NULL, *ready = NULL;
	long leak_mib = 40, hold = 60, kb;
	size_t bytes;
	char *p;
	int c;

	while ((c = getopt(argc, argv, "m:g:l:r:h:")) != -1) {
		switch (c) {
		case 'm': mode = optarg; break;
		case 'g': procs = optarg; break;
		case 'l': leak_mib = atol(optarg); break;
		case 'r': ready = optarg; break;
		case 'h': hold = atol(optarg); break;
		default: return 1;
		}
	}
	if (procs)
		join_cgroup(procs);
	bytes = (size_t)leak_mib * MIB;
	p = strcmp(mode, "blocks") ? huge_aligned(bytes) : NULL;

	if (!strcmp(mode, "collapse")) {
		madvise(p, bytes, MADV_NOHUGEPAGE);
		leak_fn(p, bytes);
		madvise(p, bytes, MADV_HUGEPAGE);
		/* khugepaged does the rest; wait for it (bounded by hold). */
		for (long i = 0; i < hold * 10 && anon_huge_kb() < (long)(bytes / 1024) * 9 / 10; i++)
			usleep(100000);
		kb = anon_huge_kb();
		if (ready)
			say(ready, kb);
	} else if (!strcmp(mode, "split")) {
		madvise(p, bytes, MADV_HUGEPAGE);
		leak_fn(p, bytes);
		for (size_t off = 0; off < bytes; off += HUGE)
			munmap(p + off, HUGE / 2);
		if (ready)
			say(ready, (long)(bytes / 2 / 1024));
	} else if (!strcmp(mode, "migrate")) {
		long moved;

		madvise(p, bytes, MADV_NOHUGEPAGE);
		leak_fn(p, bytes);
		moved = migrate_all(p, bytes);
		if (moved == 0) {
			fprintf(stderr, "thpleak: no page moved (one NUMA node?)\n");
			return 4;
		}
		if (ready)
			say(ready, moved);
	} else if (!strcmp(mode, "blocks")) {
		for (size_t done = 0; done < bytes; done += 64 * 1024)
			if (!leak_fn(NULL, 64 * 1024))
				return 3;
		if (ready)
			say(ready, (long)(bytes / 1024));
	} else if (!strcmp(mode, "small")) {
		madvise(p, bytes, MADV_NOHUGEPAGE);
		leak_fn(p, bytes);
		if (ready)
			say(ready, (long)(bytes / 1024));
	} else {
		fprintf(stderr, "unknown mode %s\n", mode);
		return 1;
	}
	sleep(hold);
	return 0;
}

/* The machine a benchmark ran on and the system-wide counters it reads:
 * what goes into every result file (so numbers from different machines are
 * never compared blind), the load before a run (a busy machine makes timings
 * worthless), and the kernel's own count of pages allocated:
 *
 *   /proc/vmstat:  pgalloc_dma32 0
 *                  pgalloc_normal 39266482
 */
#ifndef MEMSCOPE_BENCH_SYSINFO_H
#define MEMSCOPE_BENCH_SYSINFO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct sysinfo_machine {
	char host[64];
	char kernel[128];
	char cpu_model[128];
	int cpus;
	uint64_t mem_bytes;
	char memscope_rev[64];	/* git describe of the tree, "-dirty" when edited */
};

void sysinfo__machine(struct sysinfo_machine *m);
/* Sum of the pgalloc_* lines: pages (not calls) the page allocator handed out. */
int sysinfo__parse_pgalloc(FILE *vmstat, uint64_t *pages);
int sysinfo__pgalloc(uint64_t *pages);
/* 1-minute load average, NAN when unreadable. */
double sysinfo__loadavg(void);

/* bpftrace finds tracepoints through tracefs, which minimal hosts do not
 * mount: mount it when missing (*mounted tells the caller to unmount). */
int sysinfo__ensure_tracefs(bool *mounted);
void sysinfo__release_tracefs(bool mounted);

#endif

/* Leaks LEAK_MIB of 64 KiB malloc blocks from leak_fn, for the unwinder's
 * tests: glibc's _int_malloc first-touches about one page in 16 (the top
 * chunk's header) in frameless libc code, memset the rest. The Makefile
 * builds it twice: with frame pointers (mallocleak) and with plain -O2
 * (mallocleak_o2, no frame pointer anywhere in the stack).
 *
 * usage: mallocleak [-g CGROUP_PROCS_FILE] [-l LEAK_MIB] [-w START_FILE]
 *                   [-r READY_FILE] [-h HOLD_SECS]
 * -w: wait until START_FILE exists before leaking, so that a tracer started
 *     in between sees the leak and nothing of the program's start. */
#include <stdlib.h>
#include <string.h>

#include "workload.h"

#define BLOCK (64 * 1024)

__attribute__((noinline)) static char *leak_fn(size_t bytes)
{
	char *p = malloc(bytes);

	if (p)
		memset(p, 0x5a, bytes);
	return p;
}

int main(int argc, char **argv)
{
	struct workload w = { .mib = 64 };

	workload_begin(&w, argc, argv);
	for (size_t done = 0; done < w.mib << 20; done += BLOCK)
		if (!leak_fn(BLOCK))
			return 3;
	workload_end(&w);
	return 0;
}

/* A snapshot of a process's mappings from /proc/PID/maps, so user stack
 * addresses can be tied to the file (and file offset) they were mapped from.
 *
 * Input lines (the path starts at a fixed column and may contain spaces):
 *	55d4a3c00000-55d4a3c21000 r-xp 00002000 fd:01 1835012     /usr/bin/cat
 *	7ffd1b0f3000-7ffd1b114000 rw-p 00000000 00:00 0           [stack]
 *	7f0c2a000000-7f0c2a001000 rw-s 00000000 00:01 2049        /memfd:foo (deleted)
 *
 * The maps are sorted by address and never overlap. Malformed lines are
 * skipped: the file may come from anywhere when parsed from a FILE.
 */
#ifndef MEMSCOPE_PROCMAPS_H
#define MEMSCOPE_PROCMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROCMAPS_MAX		262144	/* more mappings: E2BIG */
#define PROCMAPS_LINE_MAX	8192	/* longer lines: skipped */

struct procmap {
	uint64_t start, end, pgoff, inode;
	uint32_t dev_major, dev_minor;
	char perms[5];		/* "r-xp" */
	/* Owned. NULL unless the kernel printed an absolute path: anonymous
	 * memory and pseudo mappings ([stack], [heap], [vdso], [anon:name])
	 * have no file to open. A " (deleted)" suffix is removed. */
	char *path;
	bool deleted;		/* the file was unlinked; only set with a path */
};

struct procmaps {
	struct procmap *maps;
	size_t n;
};

/* 0 or -errno (-E2BIG, -ENOMEM, read errors); on error *out is empty. An
 * input without a single valid line gives 0 mappings, not an error. */
int procmaps__parse(FILE *f, struct procmaps *out);
/* -ESRCH when the process is gone. */
int procmaps__read_pid(int pid, struct procmaps *out);

/* The mapping containing addr, or NULL. */
const struct procmap *procmaps__find(const struct procmaps *m, uint64_t addr);
bool procmap__is_exec(const struct procmap *m);
/* Frees the maps and leaves *m empty; safe on an empty or zeroed *m. */
void procmaps__free(struct procmaps *m);

/* The file pid mapped at m: through /proc/PID/map_files, else by m->path
 * inside the process's root (RESOLVE_IN_ROOT, no magic links); in both cases
 * only if it is a regular file with the device and inode of m. fd, or
 * -errno: -ESTALE when the file there is no longer the one mapped. */
int procmaps__open(int pid, const struct procmap *m);

#endif

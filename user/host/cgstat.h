/* A memory cgroup's state read from its own files, cgroup v1 or v2, in one
 * normalized struct, so top, the OOM report and the metrics never care which
 * hierarchy the host runs. All figures are bytes and hierarchical (the cgroup
 * and everything below it), as the kernel reports them.
 *
 * Files read, and what becomes what:
 *	v2 memory.current        12582912		usage
 *	v1 memory.usage_in_bytes 12582912
 *	v2 memory.max            max			limit (CGSTAT_UNLIMITED)
 *	v1 memory.limit_in_bytes 9223372036854771712	(huge: unlimited)
 *	v2 memory.stat           anon 4096 / file 8192 / shmem 0 / kernel 512 /
 *	                         sock 0 / file_mapped 4096 ...
 *	v1 memory.stat           total_rss 4096 / total_cache 8192 / total_shmem 0 /
 *	                         total_mapped_file 4096 / total_swap 0 ...
 *	v1 memory.kmem.usage_in_bytes, memory.kmem.tcp.usage_in_bytes	kernel, sock
 *	v2 memory.swap.current						swap
 *	v2 memory.events "oom_kill 3", v1 memory.oom_control "oom_kill 3"
 *	cgroup.procs (one pid a line; this cgroup's own processes only)
 *
 * anon, file, shmem and kernel do not overlap: the kernel counts shmem in
 * both v1 `cache` and v2 `file`, and it is taken out of file here. Older v2
 * kernels without `kernel` get slab + kernel_stack + pagetables + percpu
 * (+ vmalloc, sec_pagetables where present); sock stays its own figure.
 */
#ifndef MEMSCOPE_CGSTAT_H
#define MEMSCOPE_CGSTAT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CGSTAT_UNLIMITED	UINT64_MAX
/* v1 writes "no limit" as the page counter maximum, LONG_MAX rounded down to
 * a page; anything this large is no limit on any real machine. */
#define CGSTAT_LIMIT_HUGE	(1ULL << 62)
#define CGSTAT_FILE_MAX		65536		/* memory.stat & co: read at most this */
#define CGSTAT_PROCS_MAX	(4u << 20)	/* cgroup.procs: read at most this */

/* Which figures a read or parse filled in (struct cgstat.have). */
enum cgstat_field {
	CGSTAT_USAGE	= 1u << 0,
	CGSTAT_LIMIT	= 1u << 1,
	CGSTAT_ANON	= 1u << 2,
	CGSTAT_FILE	= 1u << 3,
	CGSTAT_SHMEM	= 1u << 4,
	CGSTAT_KERNEL	= 1u << 5,
	CGSTAT_SOCK	= 1u << 6,
	CGSTAT_MAPPED	= 1u << 7,
	CGSTAT_SWAP	= 1u << 8,
	CGSTAT_OOM	= 1u << 9,
	CGSTAT_ALL	= (1u << 10) - 1,
};

struct cgstat {
	uint64_t usage;		/* charged to the cgroup */
	uint64_t limit;		/* CGSTAT_UNLIMITED when none */
	uint64_t anon;		/* anonymous memory, without shmem */
	uint64_t file;		/* page cache, without shmem */
	uint64_t shmem;		/* tmpfs, shared anonymous, SysV shm */
	uint64_t kernel;	/* slab, stacks, page tables... */
	uint64_t sock;		/* network buffers */
	uint64_t mapped;	/* page cache mapped by processes (part of file + shmem) */
	uint64_t swap;
	uint64_t oom_kills;	/* processes the OOM killer killed in it */
	unsigned have;		/* enum cgstat_field bits */
};

/* ---- pure parsers: text need not be NUL-terminated ------------------------ */

/* A file holding one number ("12345\n"). 0, or -EINVAL. */
int cgstat__parse_u64(const char *text, size_t len, uint64_t *out);

/* A limit: a number, or v2's "max"; huge numbers (v1's "none") become
 * CGSTAT_UNLIMITED. 0, or -EINVAL. */
int cgstat__parse_limit(const char *text, size_t len, uint64_t *out);

/* The value of key in a flat keyed file ("key value" lines: memory.stat,
 * memory.events, memory.oom_control). 0, -ENOENT (no such line). Lines that
 * are not "key number" are skipped. */
int cgstat__parse_key(const char *text, size_t len, const char *key, uint64_t *out);

/* memory.stat of a v1 or v2 (version) hierarchy into out's anon, file,
 * shmem, mapped (both), swap (v1), kernel and sock (v2); sets their have bits,
 * leaves other fields alone. 0, -ENOENT (none of them found), -EINVAL. */
int cgstat__parse_stat(const char *text, size_t len, int version, struct cgstat *out);

/* cgroup.procs text: pids stored up to max, garbage lines skipped. Returns the
 * number of pids in the text (may exceed max), or -EINVAL. */
ssize_t cgstat__parse_pids(const char *text, size_t len, pid_t *pids, size_t max);

/* ---- readers: dir is the cgroup's directory ------------------------------- */

/* The figures asked for in `what` (enum cgstat_field bits) that the cgroup's
 * files give; out is zeroed first and out->have says what was found (the
 * root cgroup has no usage nor limit on v2; v1 and old kernels lack some).
 * 0 when anything was found; else -errno of the first file (ENOENT: the
 * cgroup is gone, or not a memory cgroup). */
int cgstat__read(const char *dir, int version, unsigned what, struct cgstat *out);

/* The cgroup's own processes (not those of its children): the first max of
 * them in a malloc'ed array in *pids (NULL when none are stored). Returns
 * how many there are (may exceed max), or -errno. */
ssize_t cgstat__read_pids(const char *dir, size_t max, pid_t **pids);

#endif

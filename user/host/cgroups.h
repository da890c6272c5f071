/* Memory cgroups: where the memory controller's hierarchy is mounted, and the
 * path of a memory cgroup given the id BPF records for it.
 *
 * BPF keys pages by the memcg's kernfs node id (kn->id). On 64-bit kernels
 * that id is also the st_ino of the cgroup's directory, but only inside the
 * hierarchy the memory controller is bound to: every hierarchy numbers its
 * own directories from 1 (each root's st_ino is 1), so the walk must cover
 * the v1 `memory` hierarchy on hybrid hosts and the v2 one elsewhere.
 *
 * Mountinfo lines looked at (fields 4, 5 and those after " - "):
 *	35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
 *	30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
 * /proc/PID/cgroup lines (v1: "N:controllers:/path", v2: "0::/path"):
 *	4:memory:/docker/3f4e...
 *	0::/system.slice/nginx.service
 *
 * Paths are relative to the hierarchy root, "/" for the root itself, the way
 * /proc/PID/cgroup prints them from the host's cgroup namespace.
 */
#ifndef MEMSCOPE_CGROUPS_H
#define MEMSCOPE_CGROUPS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CGROUPS_MAX_DEPTH	64		/* deeper cgroups: not indexed */
#define CGROUPS_MAX_DIRS	(1u << 20)	/* per walk; the rest: not indexed */
#define CGROUPS_MAX_ENTRIES	(2u << 20)	/* live + removed cgroups remembered */
#define CGROUPS_LINE_MAX	16384		/* longer mountinfo lines: skipped */
#define CGROUPS_FILE_MAX	65536		/* /proc/PID/cgroup read at most this much */

struct cg_hier {
	char mount[PATH_MAX];
	int version;	/* 1 or 2 */
};

/* Preference: a v1 `cgroup` mount with the memory option; else a `cgroup2`
 * mount whose cgroup.controllers lists memory; else any cgroup2 mount (memcg
 * disabled or not delegated). Among equals a mount of the hierarchy root
 * ("/") beats a bind mount of a subtree, then the first one wins.
 * 0, -ENOENT when there is no cgroup mount, or the errno of opening the file. */
int cgroups__find_memory_hierarchy(const char *mountinfo_path, struct cg_hier *out);
int cgroups__parse_mountinfo(FILE *f, struct cg_hier *out);

/* The memory cgroup path in /proc/PID/cgroup content (NUL-terminated) for a
 * hierarchy of the given version, " (deleted)" dropped. 0, -ENOENT (no such
 * line), -ENAMETOOLONG (does not fit len), -EINVAL (bad version). */
int cgroups__parse_proc_cgroup(const char *text, int version, char *buf, size_t len);

/* Same, read from /proc/PID/cgroup; also -errno of reading it (ENOENT: gone). */
int cgroups__pid_path(int pid, const struct cg_hier *h, char *buf, size_t len);

struct cgroups;

/* Walks the hierarchy once. NULL + errno: EINVAL, ENOMEM, or the errno of
 * opening its root. */
struct cgroups *cgroups__open(const struct cg_hier *h);

/* Path of id, NULL if unknown. A miss rescans the tree, at most once a second;
 * paths of removed cgroups stay known. Valid until the next call on cg. */
const char *cgroups__path(struct cgroups *cg, uint64_t id);

/* Rescan now, whatever the time since the last one. 0 or -errno. */
int cgroups__refresh(struct cgroups *cg);

/* Cgroups known (live or removed). */
size_t cgroups__count(const struct cgroups *cg);

/* The user's -c argument to cgroup ids:
 *   "/docker/3f4e..."		a cgroup path as /proc/PID/cgroup prints it, or
 *				that path under the mount point (one cgroup)
 *   "4242"			a cgroup id
 *   "3f4e5a6b"			a container id prefix, >= 4 hex digits: the
 *				container's outermost cgroup(s)
 * On success 0, ids[0..*n) set. On failure a message for the user in err
 * (may be NULL) and: -ENOENT nothing matches; -EINVAL not a valid spec, or
 * ambiguous (err names up to 3 candidates); -ENOSPC more than max cgroups. */
int cgroups__resolve(struct cgroups *cg, const char *spec, uint64_t *ids, size_t max, size_t *n,
		     char *err, size_t errlen);

void cgroups__free(struct cgroups *cg);

#endif

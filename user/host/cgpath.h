/* Cgroup paths as /proc/PID/cgroup prints them ("/system.slice/x.service",
 * "/docker/<id>"), compared and cut without touching the hierarchy: what
 * top, the timeline, the memcg events, the JS heap runs, the OOM report and
 * the metrics agree on as "the same container". */
#ifndef MEMSCOPE_CGPATH_H
#define MEMSCOPE_CGPATH_H

#include <stdbool.h>
#include <stddef.h>

/* Is path equal to or below ancestor, component-wise ("/a" is not under "/ab")? */
bool cgpath__is_under(const char *path, const char *ancestor);
/* The row a cgroup belongs to: its container's outermost cgroup, or itself.
 * 0, -EINVAL (no path or buffer), -ENAMETOOLONG. */
int cgpath__row_path(const char *cgroup_path, char *buf, size_t len);

#endif

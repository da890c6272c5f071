#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cgpath.h"
#include "container.h"

bool cgpath__is_under(const char *path, const char *ancestor)
{
	size_t n;

	if (!path || !ancestor)
		return false;
	n = strlen(ancestor);
	while (n > 1 && ancestor[n - 1] == '/')
		n--;
	if (n == 1 && ancestor[0] == '/')
		return path[0] == '/';
	return !strncmp(path, ancestor, n) && (path[n] == '\0' || path[n] == '/');
}

/* Copies path[0..n) into buf. */
static int copy_prefix(const char *path, size_t n, char *buf, size_t len)
{
	int w = snprintf(buf, len, "%.*s", (int)n, path);

	if (w < 0 || (size_t)w >= len)
		return -ENAMETOOLONG;
	if (!buf[0])
		snprintf(buf, len, "/");
	return 0;
}

int cgpath__row_path(const char *cgroup_path, char *buf, size_t len)
{
	struct container_info info;
	size_t n;
	int err;

	if (!cgroup_path || !buf || !len)
		return -EINVAL;
	n = strlen(cgroup_path);
	if (container__info(cgroup_path, &info) || info.runtime == CONTAINER_PLAIN)
		return copy_prefix(cgroup_path, n, buf, len);
	/* The shortest prefix that already names the container: its outermost cgroup. */
	for (const char *p = cgroup_path + 1; p <= cgroup_path + n; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		err = copy_prefix(cgroup_path, (size_t)(p - cgroup_path), buf, len);
		if (err)
			return err;
		if (!container__info(buf, &info) && info.runtime != CONTAINER_PLAIN)
			return 0;
	}
	return copy_prefix(cgroup_path, n, buf, len);
}

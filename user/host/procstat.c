#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procstat.h"
#include "readfile.h"

#define STAT_MAX	4096	/* one line: ~52 numbers and a 16-byte comm */

int procstat__start_ticks(const char *proc_root, int pid, uint64_t *ticks)
{
	char path[PATH_MAX], buf[STAT_MAX], *end;
	const char *p;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%d/stat", proc_root, pid);
	n = readfile__at(AT_FDCWD, path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	/* The comm (field 2) may hold spaces and parentheses: fields are
	 * counted from its last ')', each behind the space before it. */
	p = strrchr(buf, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -EINVAL;
	*ticks = strtoull(p + 1, &end, 10);
	return end == p + 1 ? -EINVAL : 0;
}

bool procstat__same_start(uint64_t ticks, uint64_t start_ns)
{
	long hz = sysconf(_SC_CLK_TCK);

	if (hz <= 0)
		return false;
	return llabs((long long)(ticks * (1000000000ULL / (unsigned long)hz)) -
		     (long long)start_ns) <= 2 * 1000000000LL / hz;
}

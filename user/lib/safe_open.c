#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "safe_open.h"

void safe_open__fd_path(int fd, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

int safe_open__reopen_regular(int pathfd)
{
	char self[32];
	struct stat st;
	int fd;

	if (fstat(pathfd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	/* Our own fd's magic link: the inode just checked, whatever the
	 * path that led to it has become since. */
	safe_open__fd_path(pathfd, self, sizeof(self));
	fd = open(self, SAFE_OPEN_READ_FLAGS);
	return fd < 0 ? -errno : fd;
}

int safe_open__regular_at(int dirfd, const char *path)
{
	int pfd = openat(dirfd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC), fd;
	struct stat st;

	if (pfd < 0)
		return -errno;
	/* O_PATH|O_NOFOLLOW opens a symlink itself: say so rather than EINVAL. */
	if (!fstat(pfd, &st) && S_ISLNK(st.st_mode))
		fd = -ELOOP;
	else
		fd = safe_open__reopen_regular(pfd);
	close(pfd);
	return fd;
}

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

#include "procmaps.h"
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

/* fd is the file of mapping m. The device can differ on overlayfs: kernels
 * before 6.x print the underlying inode in /proc/PID/maps, while fstat sees
 * the overlay's device with the same inode number. */
static bool same_file(int fd, const struct procmap *m)
{
	struct statfs sfs;
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_ino != m->inode)
		return false;
	if (major(st.st_dev) == m->dev_major && minor(st.st_dev) == m->dev_minor)
		return true;
	return fstatfs(fd, &sfs) == 0 && sfs.f_type == OVERLAYFS_SUPER_MAGIC;
}

static int reopen_if_mapped(int pfd, const struct procmap *m)
{
	int fd = same_file(pfd, m) ? safe_open__reopen_regular(pfd) : -ESTALE;

	close(pfd);
	return fd;
}

int safe_open__mapped(int pid, const struct procmap *m)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		/* In the container's root, and no /proc magic links that
		 * would lead back out of it. */
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char path[64];
	int pfd, root;

	/* The very file mapped: works for deleted files and in containers.
	 * O_PATH follows the magic link without opening the object. */
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd >= 0) {
		int fd = reopen_if_mapped(pfd, m);

		if (fd != -ESTALE)
			return fd;
	}
	if (!m->path || m->deleted)
		return -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/root", pid);
	root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return -errno;
	pfd = (int)syscall(SYS_openat2, root, m->path, &how, sizeof(how));
	if (pfd < 0)
		pfd = -errno;
	close(root);
	return pfd < 0 ? pfd : reopen_if_mapped(pfd, m);
}

/* Opening files a container controls without letting it choose what host
 * root opens: a path a process names or maps can be swapped (a symlinked
 * component, a rename, a MAP_FIXED remap) between our look and our use, and
 * can be a FIFO (open blocks forever) or a device node (open has effects,
 * outside the container's device cgroup).
 *
 * So a file is first opened O_PATH (no open of the object itself), checked
 * (a regular file; for a mapping, the very inode /proc/PID/maps names), and
 * only then reopened for reading through our own /proc/self/fd/N, which
 * reaches that inode and no other. Whoever needs the path of the checked
 * file later (a uprobe) uses safe_open__fd_path() of the fd they hold. */
#ifndef MEMSCOPE_SAFE_OPEN_H
#define MEMSCOPE_SAFE_OPEN_H

#include <stddef.h>


/* Flags of every read-only open of a file memscope does not own. */
#define SAFE_OPEN_READ_FLAGS	(O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

/* pathfd (O_PATH or not; not consumed) reopened for reading if it is a
 * regular file. fd, or -errno: -EINVAL when it is not a regular file. */
int safe_open__reopen_regular(int pathfd);

/* path (relative to dirfd, or absolute) opened for reading only if it is a
 * regular file: no symlink followed in the last component, FIFOs and device
 * nodes never opened. fd or -errno (-ELOOP for a symlink, -EINVAL). */
int safe_open__regular_at(int dirfd, const char *path);

/* "/proc/self/fd/N": a path the kernel resolves to fd's own file. */
void safe_open__fd_path(int fd, char *buf, size_t len);

#endif

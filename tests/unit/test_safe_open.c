/* user/lib/safe_open.c against what a container can put where memscope looks:
 * symlinks, FIFOs, device nodes, a file swapped since it was mapped, and a
 * symlinked middle component that leads out of the process's root. "Never
 * opened" is checked with inotify: O_PATH opens do not report IN_OPEN,
 * real opens do, so a FIFO or device opened for reading would show. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fixture_tree.h"
#include "procmaps.h"
#include "safe_open.h"

static struct fixture_tree tree;

static void setup(void)
{
	ftree_init(&tree);
}

static void teardown(void)
{
	ftree_remove(&tree);
}

TestSuite(safe_open, .init = setup, .fini = teardown, .timeout = 10);

/* An inotify instance watching path for opens. */
static int watch_opens(const char *path)
{
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	cr_assert_geq(in, 0);
	cr_assert_geq(inotify_add_watch(in, path, IN_OPEN | IN_ACCESS), 0, "watch %s", path);
	return in;
}

static int opens_seen(int in)
{
	char buf[4096];
	ssize_t n = read(in, buf, sizeof(buf));

	close(in);
	return n > 0 ? (int)(n / sizeof(struct inotify_event)) : 0;
}

static void expect_inode(int fd, const char *path)
{
	struct stat a, b;

	cr_assert_geq(fd, 0, "%s: %s", path, strerror(-fd));
	cr_assert_eq(fstat(fd, &a), 0);
	cr_assert_eq(stat(path, &b), 0);
	cr_expect(a.st_ino == b.st_ino && a.st_dev == b.st_dev, "%s: another file opened", path);
	cr_expect(fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

Test(safe_open, regular_file_opens)
{
	int fd;

	ftree_write(&tree, "/f", "x", 1);
	fd = safe_open__regular_at(AT_FDCWD, ftree_path(&tree, "/f"));
	expect_inode(fd, ftree_path(&tree, "/f"));
	close(fd);
}

Test(safe_open, symlink_is_refused)
{
	ftree_write(&tree, "/f", "x", 1);
	cr_assert_eq(symlink(ftree_path(&tree, "/f"), ftree_path(&tree, "/link")), 0);
	cr_expect_eq(safe_open__regular_at(AT_FDCWD, ftree_path(&tree, "/link")), -ELOOP);
}

/* A FIFO opened for reading would block memscope until a writer came. */
Test(safe_open, fifo_is_neither_waited_on_nor_opened)
{
	const char *fifo = ftree_path(&tree, "/fifo");
	int in;

	cr_assert_eq(mkfifo(fifo, 0600), 0);
	in = watch_opens(fifo);
	cr_expect_eq(safe_open__regular_at(AT_FDCWD, fifo), -EINVAL);
	cr_expect_eq(opens_seen(in), 0, "the FIFO was opened");
}

/* Docker grants CAP_MKNOD: a container can make any device node. */
Test(safe_open, device_node_is_not_opened)
{
	const char *dev = ftree_path(&tree, "/null");
	int in;

	if (geteuid() != 0)
		cr_skip_test("mknod needs root");
	cr_assert_eq(mknod(dev, S_IFCHR | 0600, makedev(1, 3)), 0);
	in = watch_opens(dev);
	cr_expect_eq(safe_open__regular_at(AT_FDCWD, dev), -EINVAL);
	cr_expect_eq(opens_seen(in), 0, "the device node was opened");
}

static struct procmap mapping_of(const char *path, uint64_t start, uint64_t end)
{
	struct procmap m = { .start = start, .end = end, .path = (char *)path };
	struct stat st;

	cr_assert_eq(stat(path, &st), 0);
	m.inode = st.st_ino;
	m.dev_major = major(st.st_dev);
	m.dev_minor = minor(st.st_dev);
	return m;
}

Test(safe_open, mapped_file_opens_through_map_files)
{
	const char *f = ftree_path(&tree, "/lib.so");
	struct procmap m;
	int fd, mfd;
	void *p;

	ftree_write(&tree, "/lib.so", "0123456789", 10);
	mfd = open(f, O_RDONLY);
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, mfd, 0);
	cr_assert_neq(p, MAP_FAILED);
	m = mapping_of(f, (uintptr_t)p, (uintptr_t)p + 4096);
	/* The path now names another file: map_files still reaches the mapped one. */
	cr_assert_eq(rename(f, ftree_path(&tree, "/old.so")), 0);
	ftree_write(&tree, "/lib.so", "other", 5);
	fd = procmaps__open(getpid(), &m);
	expect_inode(fd, ftree_path(&tree, "/old.so"));
	close(fd);
	munmap(p, 4096);
	close(mfd);
}

/* No map_files entry (the range is not mapped): the path is tried, and a
 * FIFO put there since is refused without being opened. */
Test(safe_open, mapped_path_swapped_for_a_fifo)
{
	const char *f = ftree_path(&tree, "/lib.so");
	struct procmap m;
	int in;

	ftree_write(&tree, "/lib.so", "x", 1);
	m = mapping_of(f, 0x1000, 0x2000);
	cr_assert_eq(unlink(f), 0);
	cr_assert_eq(mkfifo(f, 0600), 0);
	in = watch_opens(f);
	cr_expect_eq(procmaps__open(getpid(), &m), -ESTALE);
	cr_expect_eq(opens_seen(in), 0, "the FIFO was opened");
}

/* A process in its own root whose path has a middle component symlinked to
 * an absolute path: resolved from the host's root that would reach a host
 * file, here one with the very inode the mapping claims. */
Test(safe_open, symlinked_component_stays_in_the_process_root)
{
	const char *host = ftree_path(&tree, "/host/secret.so");
	struct procmap m;
	pid_t child;
	int fd;

	if (geteuid() != 0)
		cr_skip_test("chroot needs root");
	ftree_write(&tree, "/host/secret.so", "host", 4);
	ftree_mkdir(&tree, "/root");
	cr_assert_eq(symlink(ftree_path(&tree, "/host"), ftree_path(&tree, "/root/lib")), 0);
	m = mapping_of(host, 0x1000, 0x2000);
	m.path = "/lib/secret.so";
	child = fork();
	cr_assert_geq(child, 0);
	if (!child) {
		if (chroot(ftree_path(&tree, "/root")) || chdir("/"))
			_exit(1);
		pause();
		_exit(0);
	}
	/* Until the child is in its root, /proc/PID/root is ours. */
	for (int i = 0; i < 500; i++) {
		char link[64], target[256];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/%d/root", (int)child);
		n = readlink(link, target, sizeof(target) - 1);
		if (n > 1)
			break;
		usleep(10000);
	}
	fd = procmaps__open(child, &m);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	if (fd >= 0)
		close(fd);
	cr_expect_lt(fd, 0, "a host file was opened through a symlink in the process's root");
}

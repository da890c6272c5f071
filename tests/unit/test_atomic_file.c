#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "atomic_file.h"

static char dir[] = "/tmp/memscope-atomic-XXXXXX";

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
}

/* The test dir only ever holds files and, in one test, an empty directory. */
static void teardown(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			if (unlinkat(dirfd(d), e->d_name, 0))
				unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
	closedir(d);
	rmdir(dir);
}

TestSuite(atomic_file, .init = setup, .fini = teardown);

static char *in_dir(const char *name)
{
	static char path[PATH_MAX];

	cr_assert_lt((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name), sizeof(path));
	return path;
}

/* Number of entries in the test dir; *only gets the name of the last one. */
static int dir_entries(char *only, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n++;
		if (only)
			snprintf(only, len, "%s", e->d_name);
	}
	closedir(d);
	return n;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

static void assert_content(const char *path, const char *want)
{
	char buf[256] = "";
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	cr_assert_str_eq(buf, want);
}

static mode_t current_umask(void)
{
	mode_t m = umask(0);

	umask(m);
	return m;
}

Test(atomic_file, commit_creates_file)
{
	struct atomic_file af;
	char *path = strdup(in_dir("out.folded"));
	char name[NAME_MAX + 1];
	struct stat st;

	cr_assert_eq(atomic_file__open(&af, path), 0);
	cr_assert_not_null(af.f);
	fputs("a;b 1\n", af.f);

	/* While writing: one hidden, unpredictable temp file, no target yet. */
	cr_assert_eq(dir_entries(name, sizeof(name)), 1);
	cr_assert_eq(strncmp(name, ".out.folded.", 12), 0, "temp file %s", name);
	cr_assert_eq(strlen(name), strlen(".out.folded.XXXXXX"));
	cr_assert_str_neq(name + 12, "XXXXXX");
	cr_assert_eq(access(path, F_OK), -1);

	cr_assert_eq(atomic_file__commit(&af), 0);
	cr_assert_null(af.f);
	assert_content(path, "a;b 1\n");
	cr_assert_eq(stat(path, &st), 0);
	/* The owner only: a report names every container on the host. */
	cr_assert_eq(st.st_mode & 07777, 0600 & ~current_umask());
	cr_assert_eq(dir_entries(name, sizeof(name)), 1);
	cr_assert_str_eq(name, "out.folded");

	cr_assert_eq(atomic_file__commit(&af), -EBADF, "second commit");
	atomic_file__abort(&af);	/* after commit: no-op */
	assert_content(path, "a;b 1\n");
	free(path);
}

Test(atomic_file, abort_leaves_nothing)
{
	struct atomic_file af;

	cr_assert_eq(atomic_file__open(&af, in_dir("out")), 0);
	fputs("partial", af.f);
	atomic_file__abort(&af);
	cr_assert_null(af.f);
	cr_assert_eq(dir_entries(NULL, 0), 0);
	atomic_file__abort(&af);
	cr_assert_eq(dir_entries(NULL, 0), 0);
}

Test(atomic_file, existing_file_replaced_only_at_commit)
{
	struct atomic_file af;
	char *path = strdup(in_dir("out"));
	char buf[16] = "";
	int old_fd;

	write_file(path, "old\n");
	old_fd = open(path, O_RDONLY);
	cr_assert_geq(old_fd, 0);

	cr_assert_eq(atomic_file__open(&af, path), 0);
	fputs("new\n", af.f);
	cr_assert_eq(fflush(af.f), 0);
	assert_content(path, "old\n");

	cr_assert_eq(atomic_file__commit(&af), 0);
	assert_content(path, "new\n");
	/* a reader that opened the old file keeps a consistent old copy */
	cr_assert_eq(read(old_fd, buf, sizeof(buf) - 1), 4);
	cr_assert_str_eq(buf, "old\n");
	close(old_fd);
	cr_assert_eq(dir_entries(NULL, 0), 1);
	free(path);
}

Test(atomic_file, abort_keeps_existing_file)
{
	struct atomic_file af;
	char *path = strdup(in_dir("out"));

	write_file(path, "old\n");
	cr_assert_eq(atomic_file__open(&af, path), 0);
	fputs("new\n", af.f);
	atomic_file__abort(&af);
	assert_content(path, "old\n");
	cr_assert_eq(dir_entries(NULL, 0), 1);
	free(path);
}

Test(atomic_file, missing_directory_fails_cleanly)
{
	struct atomic_file af;

	cr_assert_eq(atomic_file__open(&af, in_dir("nope/out")), -ENOENT);
	cr_assert_null(af.f);
	atomic_file__abort(&af);
	cr_assert_eq(dir_entries(NULL, 0), 0);
}

Test(atomic_file, bad_paths_are_rejected)
{
	struct atomic_file af;
	char slash[PATH_MAX];

	snprintf(slash, sizeof(slash), "%s/", dir);
	cr_assert_eq(atomic_file__open(&af, ""), -EINVAL);
	cr_assert_eq(atomic_file__open(&af, NULL), -EINVAL);
	cr_assert_eq(atomic_file__open(&af, dir), -EISDIR);
	cr_assert_eq(atomic_file__open(&af, slash), -EISDIR);
	cr_assert_eq(atomic_file__open(&af, in_dir(".")), -EISDIR);
	cr_assert_eq(atomic_file__open(&af, in_dir("..")), -EISDIR);
	cr_assert_null(af.f);
	cr_assert_eq(dir_entries(NULL, 0), 0);
}

Test(atomic_file, stdout_commit_only_flushes)
{
	struct atomic_file af;

	cr_assert_eq(atomic_file__open(&af, "-"), 0);
	cr_assert_eq(af.f, stdout);
	cr_assert_eq(atomic_file__commit(&af), 0);
	cr_assert_null(af.f);
	atomic_file__abort(&af);
	cr_assert_eq(fileno(stdout), 1, "stdout must stay open");
	cr_assert_neq(fcntl(1, F_GETFD), -1);
}

Test(atomic_file, temp_file_is_close_on_exec)
{
	struct atomic_file af;
	int flags;

	cr_assert_eq(atomic_file__open(&af, in_dir("out")), 0);
	flags = fcntl(fileno(af.f), F_GETFD);
	cr_assert_neq(flags, -1);
	cr_assert(flags & FD_CLOEXEC);
	atomic_file__abort(&af);
}

Test(atomic_file, concurrent_writers_get_distinct_temps)
{
	struct atomic_file a, b;
	char *path = strdup(in_dir("out"));

	cr_assert_eq(atomic_file__open(&a, path), 0);
	cr_assert_eq(atomic_file__open(&b, path), 0);
	cr_assert_str_neq(a.tmp_path, b.tmp_path);
	fputs("a\n", a.f);
	fputs("b\n", b.f);
	cr_assert_eq(atomic_file__commit(&a), 0);
	cr_assert_eq(atomic_file__commit(&b), 0);
	assert_content(path, "b\n");
	cr_assert_eq(dir_entries(NULL, 0), 1);
	free(path);
}

/* The temp name must stay within NAME_MAX even when the target's is near it. */
Test(atomic_file, long_file_name)
{
	struct atomic_file af;
	char name[NAME_MAX + 1];
	char *path;

	memset(name, 'n', NAME_MAX);
	name[NAME_MAX] = '\0';
	path = strdup(in_dir(name));
	cr_assert_eq(atomic_file__open(&af, path), 0);
	fputs("x", af.f);
	cr_assert_eq(atomic_file__commit(&af), 0);
	assert_content(path, "x");
	free(path);
}

Test(atomic_file, relative_path)
{
	struct atomic_file af;

	cr_assert_eq(chdir(dir), 0);	/* each test runs in its own process */
	cr_assert_eq(atomic_file__open(&af, "rel.folded"), 0);
	fputs("r 1\n", af.f);
	cr_assert_eq(atomic_file__commit(&af), 0);
	assert_content(in_dir("rel.folded"), "r 1\n");
}

/* A write that fails (disk full) must not produce a truncated target. */
Test(atomic_file, failed_write_leaves_target_untouched)
{
	struct atomic_file af;
	char *path = strdup(in_dir("out"));
	int full = open("/dev/full", O_WRONLY);

	cr_assert_geq(full, 0);
	write_file(path, "old\n");
	cr_assert_eq(atomic_file__open(&af, path), 0);
	cr_assert_geq(dup2(full, fileno(af.f)), 0);
	close(full);
	fputs("new\n", af.f);
	cr_assert_eq(atomic_file__commit(&af), -ENOSPC);
	cr_assert_null(af.f);
	assert_content(path, "old\n");
	cr_assert_eq(dir_entries(NULL, 0), 1, "temp file left behind");
	free(path);
}

/* rename() fails when the target became a directory: the temp file goes. */
Test(atomic_file, failed_rename_removes_temp)
{
	struct atomic_file af;
	char *path = strdup(in_dir("out"));

	cr_assert_eq(atomic_file__open(&af, path), 0);
	fputs("x", af.f);
	cr_assert_eq(mkdir(path, 0755), 0);
	cr_assert_eq(atomic_file__commit(&af), -EISDIR);
	cr_assert_eq(dir_entries(NULL, 0), 1);
	free(path);
}

/* Renaming over /dev/null as root would replace the device with a file. */
Test(atomic_file, device_target_is_written_in_place)
{
	struct atomic_file af;
	struct stat st;

	cr_assert_eq(atomic_file__open(&af, "/dev/null"), 0);
	cr_assert(af.direct);
	fputs("discarded\n", af.f);
	cr_assert_eq(atomic_file__commit(&af), 0);
	cr_assert_eq(stat("/dev/null", &st), 0);
	cr_assert(S_ISCHR(st.st_mode), "/dev/null is no longer a device");
	cr_assert_eq(atomic_file__open(&af, "/dev/null"), 0);
	atomic_file__abort(&af);
	cr_assert_eq(stat("/dev/null", &st), 0);
	cr_assert(S_ISCHR(st.st_mode));
}

/* Whoever can write the output directory plants a symlink at the target: it
 * is neither followed nor replaced, and the file it names stays untouched. */
Test(atomic_file, symlink_target_is_refused)
{
	struct atomic_file af;
	char *victim = strdup(in_dir("victim")), *link = strdup(in_dir("out"));
	int fd;

	fd = open(victim, O_WRONLY | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "keep", 4), 4);
	close(fd);
	cr_assert_eq(symlink(victim, link), 0);
	cr_assert_eq(atomic_file__open(&af, link), -ELOOP);
	cr_assert_null(af.f);
	cr_assert_not_null(strstr(atomic_file__strerror(-ELOOP), "symbolic link"));
	cr_assert_eq(atomic_file__open_append(link), -ELOOP);
	assert_content(victim, "keep");
	cr_assert_eq(dir_entries(NULL, 0), 2, "a temp file was left");
	free(victim);
	free(link);
}

/* A FIFO opened for writing blocks until a reader comes: refused unopened. */
Test(atomic_file, fifo_target_is_refused, .timeout = 10)
{
	struct atomic_file af;
	char *fifo = strdup(in_dir("fifo"));

	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_eq(atomic_file__open(&af, fifo), -ENXIO);
	cr_assert_eq(atomic_file__open_append(fifo), -ENXIO);
	cr_assert_not_null(strstr(atomic_file__strerror(-ENXIO), "not a regular file"));
	free(fifo);
}

/* A device node other than /dev/null (here /dev/zero's numbers) is refused. */
Test(atomic_file, device_node_target_is_refused)
{
	struct atomic_file af;
	char *dev = strdup(in_dir("zero"));
	struct stat st;

	if (geteuid() != 0)
		cr_skip_test("mknod needs root");
	cr_assert_eq(mknod(dev, S_IFCHR | 0600, makedev(1, 5)), 0);
	cr_assert_eq(atomic_file__open(&af, dev), -ENXIO);
	cr_assert_eq(atomic_file__open_append(dev), -ENXIO);
	cr_assert_eq(lstat(dev, &st), 0);
	cr_assert(S_ISCHR(st.st_mode), "the device node was replaced");
	cr_assert_eq(dir_entries(NULL, 0), 1, "a temp file was left");
	free(dev);
}

Test(atomic_file, append_creates_owner_only_then_appends)
{
	char *path = strdup(in_dir("oom.log"));
	struct stat st;
	int fd;

	fd = atomic_file__open_append(path);
	cr_assert_geq(fd, 0, "%s", strerror(-fd));
	cr_assert_eq(write(fd, "one\n", 4), 4);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600 & ~current_umask());
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	fd = atomic_file__open_append(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "two\n", 4), 4);
	close(fd);
	assert_content(path, "one\ntwo\n");
	fd = atomic_file__open_append("/dev/null");
	cr_assert_geq(fd, 0, "/dev/null: %s", strerror(-fd));
	close(fd);
	free(path);
}

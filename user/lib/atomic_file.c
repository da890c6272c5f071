#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "atomic_file.h"
#include "safe_open.h"

#define TMP_RANDOM	6
#define TMP_TRIES	100
/* Keep ".<base>.XXXXXX" within NAME_MAX even for a target name near it. */
#define TMP_BASE_MAX	(NAME_MAX - 2 - TMP_RANDOM)
/* Reports name every container and process on the host: the owner only,
 * less whatever the umask takes. */
#define OUTPUT_MODE	0600

static void release(struct atomic_file *af)
{
	if (af->have_dir)
		close(af->dirfd);
	free(af->path);
	free(af->tmp_path);
	free(af->base);
	free(af->tmp_name);
	af->f = NULL;
	af->path = af->tmp_path = af->base = af->tmp_name = NULL;
	af->dirfd = -1;
	af->have_dir = false;
}

const char *atomic_file__strerror(int err)
{
	switch (err) {
	case -ELOOP:
		return "it is a symbolic link, which memscope does not follow for output "
		       "(name the file it points to, or use -o - and redirect)";
	case -ENXIO:
		return "not a regular file: memscope writes only regular files, /dev/null "
		       "or stdout (-o -)";
	default:
		return strerror(-err);
	}
}

/* /dev/null, whatever its name: the one non-regular target worth writing. */
static bool is_null_device(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 3);
}

enum target { TARGET_ABSENT, TARGET_REGULAR, TARGET_NULL };

/* What is at name in dirfd, not followed: an enum target, or -errno. */
static int check_target(int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? TARGET_ABSENT : -errno;
	if (S_ISREG(st.st_mode))
		return TARGET_REGULAR;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	return is_null_device(&st) ? TARGET_NULL : -ENXIO;
}

/* name in dirfd opened with flags only once an O_PATH fd of it (no open of
 * the object itself) shows it is what check_target() said: fd, -EAGAIN
 * when it changed since, or -errno. */
static int reopen_checked(int dirfd, const char *name, enum target want, int flags)
{
	int pfd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC), fd;
	char self[32];
	struct stat st;

	if (pfd < 0)
		return errno == ENOENT ? -EAGAIN : -errno;
	if (fstat(pfd, &st) || (want == TARGET_NULL ? !is_null_device(&st) : !S_ISREG(st.st_mode))) {
		close(pfd);
		return -EAGAIN;
	}
	safe_open__fd_path(pfd, self, sizeof(self));
	fd = open(self, flags | O_CLOEXEC | O_NOCTTY);
	close(pfd);
	return fd < 0 ? -errno : fd;
}

/* The directory of path, opened, and its last component. */
static int split_path(const char *path, int *dirfd, const char **base)
{
	const char *slash = strrchr(path, '/');
	char *dir;

	*base = slash ? slash + 1 : path;
	if (!**base || !strcmp(*base, ".") || !strcmp(*base, ".."))
		return -EISDIR;
	dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	if (!dir)
		return -ENOMEM;
	*dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	return *dirfd < 0 ? -errno : 0;
}

/* A new temp file next to the target: fd or -errno. */
static int create_temp(struct atomic_file *af)
{
	static const char alphabet[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char rnd[TMP_RANDOM];
	size_t len;

	if (asprintf(&af->tmp_name, ".%.*s.XXXXXX", TMP_BASE_MAX, af->base) < 0) {
		af->tmp_name = NULL;
		return -ENOMEM;
	}
	len = strlen(af->tmp_name);
	for (int i = 0; i < TMP_TRIES; i++) {
		int fd;

		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
			return -errno;
		for (size_t j = 0; j < TMP_RANDOM; j++)
			af->tmp_name[len - TMP_RANDOM + j] = alphabet[rnd[j] % (sizeof(alphabet) - 1)];
		fd = openat(af->dirfd, af->tmp_name,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, OUTPUT_MODE);
		if (fd >= 0 || errno != EEXIST)
			return fd < 0 ? -errno : fd;
	}
	return -EEXIST;
}

int atomic_file__open(struct atomic_file *af, const char *path)
{
	const char *slash, *base;
	int fd, err, kind;

	memset(af, 0, sizeof(*af));
	af->dirfd = -1;
	if (!path || !*path)
		return -EINVAL;
	if (!strcmp(path, "-")) {
		af->f = stdout;
		return 0;
	}
	if ((err = split_path(path, &af->dirfd, &base)))
		goto fail;
	af->have_dir = true;
	/* Fail now rather than after all the work, when rename would. */
	if ((kind = check_target(af->dirfd, base)) < 0) {
		err = kind;
		goto fail;
	}
	if (kind == TARGET_NULL) {
		fd = reopen_checked(af->dirfd, base, TARGET_NULL, O_WRONLY);
		if (fd < 0 || !(af->f = fdopen(fd, "w"))) {
			err = fd == -EAGAIN ? -ENXIO : fd < 0 ? fd : -errno;
			if (fd >= 0)
				close(fd);
			goto fail;
		}
		close(af->dirfd);
		af->dirfd = -1;
		af->have_dir = false;
		af->direct = true;
		return 0;
	}

	slash = strrchr(path, '/');
	af->path = strdup(path);
	af->base = strdup(base);
	if (!af->path || !af->base) {
		err = -ENOMEM;
		goto fail;
	}
	if ((fd = create_temp(af)) < 0) {
		err = fd;
		goto fail;
	}
	if (asprintf(&af->tmp_path, "%.*s%s", slash ? (int)(slash + 1 - path) : 0, path,
		     af->tmp_name) < 0 || !(af->f = fdopen(fd, "w"))) {
		af->tmp_path = NULL;
		err = -ENOMEM;
		close(fd);
		unlinkat(af->dirfd, af->tmp_name, 0);
		goto fail;
	}
	return 0;
fail:
	release(af);
	return err;
}

/* Best effort: makes the rename itself survive a crash. The new file is
 * already complete and in place, so a failure here changes nothing for readers. */
static void sync_dir(int dirfd)
{
	char self[32];
	int fd;

	safe_open__fd_path(dirfd, self, sizeof(self));
	fd = open(self, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int atomic_file__commit(struct atomic_file *af)
{
	bool failed_before;
	int err = 0;

	if (!af->f)
		return -EBADF;
	failed_before = ferror(af->f);
	if (!af->tmp_name) {
		if (fflush(af->f))
			err = -errno;
		else if (failed_before)
			err = -EIO;
		if (af->direct && fclose(af->f) && !err)
			err = -errno;
		af->f = NULL;
		af->direct = false;
		return err;
	}

	if (fflush(af->f) || fsync(fileno(af->f)))
		err = -errno;
	else if (failed_before)
		err = -EIO;
	if (fclose(af->f) && !err)
		err = -errno;
	af->f = NULL;
	/* rename never follows a symlink at the target: one planted since
	 * the check is replaced, not written through. */
	if (!err && renameat(af->dirfd, af->tmp_name, af->dirfd, af->base))
		err = -errno;
	if (err)
		unlinkat(af->dirfd, af->tmp_name, 0);
	else
		sync_dir(af->dirfd);
	release(af);
	return err;
}

void atomic_file__abort(struct atomic_file *af)
{
	if (af->f && af->tmp_name) {
		fclose(af->f);
		unlinkat(af->dirfd, af->tmp_name, 0);
	} else if (af->f && af->direct) {
		fclose(af->f);
	}
	af->direct = false;
	release(af);
}

int atomic_file__open_append(const char *path)
{
	const char *base;
	int dirfd, fd;

	if (!path || !*path)
		return -EINVAL;
	if ((fd = split_path(path, &dirfd, &base)))
		return fd;
	/* Twice at most: what changed between our look and our open (a file
	 * created, a symlink put there) is looked at again, and refused. */
	for (int tries = 0; tries < 2; tries++) {
		switch ((fd = check_target(dirfd, base))) {
		case TARGET_ABSENT:
			fd = openat(dirfd, base, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW |
				    O_CLOEXEC, OUTPUT_MODE);
			fd = fd < 0 ? (errno == EEXIST ? -EAGAIN : -errno) : fd;
			break;
		case TARGET_REGULAR:
		case TARGET_NULL:
			fd = reopen_checked(dirfd, base, fd, O_WRONLY | O_APPEND);
			break;
		}
		if (fd != -EAGAIN)
			break;
	}
	close(dirfd);
	return fd == -EAGAIN ? -ENXIO : fd;
}

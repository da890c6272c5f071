#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"

#define TMP_SUFFIX	".XXXXXX"
/* Keep ".<base>.XXXXXX" within NAME_MAX even for a target name near it. */
#define TMP_BASE_MAX	(NAME_MAX - 1 - (int)(sizeof(TMP_SUFFIX) - 1))

static void release(struct atomic_file *af)
{
	free(af->path);
	free(af->tmp_path);
	af->f = NULL;
	af->path = NULL;
	af->tmp_path = NULL;
}

int atomic_file__open(struct atomic_file *af, const char *path)
{
	const char *slash, *base;
	struct stat st;
	int dir_len, fd, err;

	memset(af, 0, sizeof(*af));
	if (!path || !*path)
		return -EINVAL;
	if (!strcmp(path, "-")) {
		af->f = stdout;
		return 0;
	}

	slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	dir_len = slash ? (int)(base - path) : 0;
	/* Fail now rather than after all the work, when rename would. */
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..") ||
	    (!stat(path, &st) && S_ISDIR(st.st_mode)))
		return -EISDIR;
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		af->f = fopen(path, "we");
		if (!af->f)
			return -errno;
		af->direct = true;
		return 0;
	}

	af->path = strdup(path);
	if (!af->path || asprintf(&af->tmp_path, "%.*s.%.*s" TMP_SUFFIX,
				  dir_len, path, TMP_BASE_MAX, base) < 0) {
		af->tmp_path = NULL;
		release(af);
		return -ENOMEM;
	}

	fd = mkostemp(af->tmp_path, O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		release(af);
		return err;
	}
	/* mkostemp creates 0600; output is meant to be shared like any report. */
	if (fchmod(fd, 0644) || !(af->f = fdopen(fd, "w"))) {
		err = -errno;
		close(fd);
		unlink(af->tmp_path);
		release(af);
		return err;
	}
	return 0;
}

/* Best effort: makes the rename itself survive a crash. The new file is
 * already complete and in place, so a failure here changes nothing for readers. */
static void sync_parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : NULL;
	int fd = open(dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

int atomic_file__commit(struct atomic_file *af)
{
	bool failed_before;
	int err = 0;

	if (!af->f)
		return -EBADF;
	failed_before = ferror(af->f);
	if (!af->tmp_path) {
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
	if (!err && rename(af->tmp_path, af->path))
		err = -errno;
	if (err)
		unlink(af->tmp_path);
	else
		sync_parent_dir(af->path);
	release(af);
	return err;
}

void atomic_file__abort(struct atomic_file *af)
{
	if (af->f && af->tmp_path) {
		fclose(af->f);
		unlink(af->tmp_path);
	} else if (af->f && af->direct) {
		fclose(af->f);
	}
	af->direct = false;
	release(af);
}

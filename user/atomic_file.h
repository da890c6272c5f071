/* Output files that appear complete or not at all: a tool killed mid-write,
 * or a full disk, must not leave a half-written flamegraph input that looks
 * valid, nor clobber the previous good file.
 *
 * Data goes to a hidden temp file next to the target (".<name>.XXXXXX",
 * unpredictable, mode 0644, close-on-exec); commit syncs it and renames it
 * over the target, which readers see change in one step. "-" means stdout.
 * A target that exists and is not a regular file (/dev/null, a FIFO, a
 * terminal) is written directly: renaming over it would replace the device.
 *
 *	struct atomic_file af;
 *	if ((err = atomic_file__open(&af, path)))  ...
 *	... fprintf(af.f, ...) ...
 *	err = failed ? (atomic_file__abort(&af), -EIO) : atomic_file__commit(&af);
 */
#ifndef MEMSCOPE_ATOMIC_FILE_H
#define MEMSCOPE_ATOMIC_FILE_H

#include <stdbool.h>
#include <stdio.h>

struct atomic_file {
	FILE *f;		/* write here; NULL once committed or aborted */
	char *path;		/* target; NULL for stdout */
	char *tmp_path;		/* temp file being written; NULL for stdout or direct */
	bool direct;		/* f is the target itself (not a regular file) */
};

/* 0, or -errno: EINVAL (empty path), EISDIR (path names a directory), or that
 * of creating the temp file (ENOENT for a missing directory, EACCES...). */
int atomic_file__open(struct atomic_file *af, const char *path);

/*
 * Flush, fsync, close and rename over the target (stdout: flush only). 0, or
 * -errno of the first failure (EIO when an earlier write had failed); on
 * failure the temp file is removed and the target left as it was. Either way
 * af is closed afterwards.
 */
int atomic_file__commit(struct atomic_file *af);

/* Close and remove the temp file, target untouched. No-op when af is already
 * closed, so it may be called twice, after commit, or after a failed open. */
void atomic_file__abort(struct atomic_file *af);

#endif

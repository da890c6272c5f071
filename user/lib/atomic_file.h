/* Output files that appear complete or not at all, and that land only where
 * they were asked for: a tool killed mid-write, or a full disk, must not
 * leave a half-written flamegraph input that looks valid nor clobber the
 * previous good file; and whoever can write to the output directory must
 * not redirect root's writes (a symlink to a block device, a FIFO that
 * blocks, a device node).
 *
 * The directory is opened once and everything happens relative to it. Data
 * goes to a hidden temp file there (".<name>.XXXXXX", unpredictable, created
 * O_EXCL|O_NOFOLLOW, mode 0600 less the umask: reports name every container
 * and process on the host), and commit syncs it and renames it over the
 * target, which readers see change in one step. The target must be absent
 * or a regular file: a symlink is not followed (-ELOOP), anything else is
 * refused (-ENXIO) except the null device, written in place ("-o
 * /dev/null" to keep only a --report). "-" means stdout.
 *
 *	struct atomic_file af;
 *	if ((err = atomic_file__open(&af, path)))  ... atomic_file__strerror(err) ...
 *	... fprintf(af.f, ...) ...
 *	err = failed ? (atomic_file__abort(&af), -EIO) : atomic_file__commit(&af);
 */
#ifndef MEMSCOPE_ATOMIC_FILE_H
#define MEMSCOPE_ATOMIC_FILE_H

#include <stdbool.h>
#include <stdio.h>

struct atomic_file {
	FILE *f;		/* write here; NULL once committed or aborted */
	char *path;		/* target as given; NULL for stdout */
	char *tmp_path;		/* temp file being written (for messages); NULL for stdout or direct */
	bool direct;		/* f is the target itself (the null device) */
	int dirfd;		/* the target's directory, when have_dir */
	bool have_dir;
	char *base, *tmp_name;	/* names in dirfd */
};

/* 0, or -errno: EINVAL (empty path), ENXIO (a target that is not a regular
 * file), ELOOP (the target is a symlink), EISDIR (a directory), or that of opening
 * the directory or creating the temp file (ENOENT, EACCES...). */
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

/* An output file opened for appending (oom -o): created 0600 less the umask
 * if absent; an existing one must be a regular file or the null device,
 * never followed through a symlink. fd, or -errno as atomic_file__open. */
int atomic_file__open_append(const char *path);

/* What an error of the functions above means, for "cannot write X: %s". */
const char *atomic_file__strerror(int err);

#endif

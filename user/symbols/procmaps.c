#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#include "procmaps.h"
#include "safe_open.h"
#include "textio.h"

#define DELETED_SUFFIX " (deleted)"

/* A number followed by the separator `sep`; returns the text after it. */
static const char *parse_field(const char *s, unsigned int base, char sep, uint64_t *out)
{
	const char *p = textio__parse_num(s, base, out);

	return p && *p == sep ? p + 1 : NULL;
}

static bool valid_perms(const char *p)
{
	return (p[0] == 'r' || p[0] == '-') && (p[1] == 'w' || p[1] == '-') &&
	       (p[2] == 'x' || p[2] == '-') && (p[3] == 'p' || p[3] == 's');
}

/* Fills m from one line, path still pointing into line. false: malformed. */
static bool parse_line(const char *line, struct procmap *m, const char **path, size_t *path_len)
{
	const char *p = line;
	uint64_t maj, min;
	size_t len, suffix = strlen(DELETED_SUFFIX);

	if (!(p = parse_field(p, 16, '-', &m->start)) || !(p = parse_field(p, 16, ' ', &m->end)))
		return false;
	if (m->start >= m->end || strnlen(p, 5) < 5 || !valid_perms(p) || p[4] != ' ')
		return false;
	memcpy(m->perms, p, 4);
	m->perms[4] = '\0';
	p += 5;
	if (!(p = parse_field(p, 16, ' ', &m->pgoff)) || !(p = parse_field(p, 16, ':', &maj)) ||
	    !(p = textio__parse_num(p, 16, &min)) || maj > UINT32_MAX || min > UINT32_MAX)
		return false;
	m->dev_major = maj;
	m->dev_minor = min;
	/* The inode may end the line: anonymous maps have no path column. */
	if (*p != ' ' || !(p = textio__parse_num(p + 1, 10, &m->inode)) || (*p && *p != ' '))
		return false;
	p += strspn(p, " ");

	len = strlen(p);
	m->deleted = false;
	if (p[0] != '/') {
		*path = NULL;
		*path_len = 0;
		return true;
	}
	if (len > suffix && !strcmp(p + len - suffix, DELETED_SUFFIX)) {
		m->deleted = true;
		len -= suffix;
	}
	if (len >= PATH_MAX)
		return false;
	*path = p;
	*path_len = len;
	return true;
}

static int append(struct procmaps *out, size_t *cap, const struct procmap *m,
		  const char *path, size_t path_len)
{
	struct procmap *slot;

	if (out->n >= PROCMAPS_MAX)
		return -E2BIG;
	if (out->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;

		if (ncap > PROCMAPS_MAX)
			ncap = PROCMAPS_MAX;
		slot = realloc(out->maps, ncap * sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		out->maps = slot;
		*cap = ncap;
	}
	slot = &out->maps[out->n];
	*slot = *m;
	slot->path = NULL;
	if (path) {
		slot->path = strndup(path, path_len);
		if (!slot->path)
			return -ENOMEM;
	}
	out->n++;
	return 0;
}

static int cmp_start(const void *a, const void *b)
{
	const struct procmap *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The kernel emits sorted, disjoint ranges; a crafted file may not, and
 * procmaps__find's binary search needs them. Overlaps keep the first. */
static void sort_disjoint(struct procmaps *out)
{
	size_t i, kept = 0;

	for (i = 1; i < out->n; i++) {
		if (out->maps[i].start < out->maps[i - 1].start) {
			qsort(out->maps, out->n, sizeof(*out->maps), cmp_start);
			break;
		}
	}
	for (i = 0; i < out->n; i++) {
		if (kept && out->maps[i].start < out->maps[kept - 1].end) {
			free(out->maps[i].path);
			continue;
		}
		out->maps[kept++] = out->maps[i];
	}
	out->n = kept;
}

int procmaps__parse(FILE *f, struct procmaps *out)
{
	char line[PROCMAPS_LINE_MAX];
	size_t cap = 0;
	ssize_t len;
	int err = 0;

	out->maps = NULL;
	out->n = 0;
	while ((len = textio__read_line(f, line, sizeof(line))) != TEXTIO_EOF) {
		struct procmap m;
		const char *path;
		size_t path_len;

		if (len == TEXTIO_SKIP)
			continue;
		if (len == TEXTIO_ERROR) {
			err = -errno;
			break;
		}
		if (!parse_line(line, &m, &path, &path_len))
			continue;
		err = append(out, &cap, &m, path, path_len);
		if (err)
			break;
	}
	if (err) {
		procmaps__free(out);
		return err;
	}
	sort_disjoint(out);
	return 0;
}

int procmaps__read_pid(int pid, struct procmaps *out)
{
	char path[32];
	FILE *f;
	int err;

	out->maps = NULL;
	out->n = 0;
	if (pid <= 0)
		return -EINVAL;
	if ((size_t)snprintf(path, sizeof(path), "/proc/%d/maps", pid) >= sizeof(path))
		return -EINVAL;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	err = procmaps__parse(f, out);
	fclose(f);
	return err;
}

const struct procmap *procmaps__find(const struct procmaps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	/* First map starting above addr; only the one before can hold it. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr >= m->maps[lo - 1].end)
		return NULL;
	return &m->maps[lo - 1];
}

bool procmap__is_exec(const struct procmap *m)
{
	return m->perms[2] == 'x';
}

void procmaps__free(struct procmaps *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->maps[i].path);
	free(m->maps);
	m->maps = NULL;
	m->n = 0;
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

int procmaps__open(int pid, const struct procmap *m)
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

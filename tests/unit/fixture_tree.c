#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fixture_tree.h"

void ftree_init(struct fixture_tree *t)
{
	snprintf(t->root, sizeof(t->root), "/tmp/memscope-ut-XXXXXX");
	cr_assert_not_null(mkdtemp(t->root), "mkdtemp");
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void ftree_remove(struct fixture_tree *t)
{
	if (t->root[0])
		nftw(t->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	t->root[0] = '\0';
}

const char *ftree_path(const struct fixture_tree *t, const char *rel)
{
	static char bufs[8][PATH_MAX];
	static int next;
	char *p = bufs[next++ % 8];

	cr_assert_lt(snprintf(p, PATH_MAX, "%s%s", t->root, rel), PATH_MAX);
	return p;
}

void ftree_mkdir(const struct fixture_tree *t, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", ftree_path(t, rel));
	for (char *p = path + strlen(t->root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	mkdir(path, 0755);
}

void ftree_write(const struct fixture_tree *t, const char *rel, const char *text, size_t len)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(rel, '/');
	int fd;

	if (len == (size_t)-1)
		len = strlen(text);
	if (slash && slash != rel) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - rel), rel);
		ftree_mkdir(t, dir);
	}
	fd = open(ftree_path(t, rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0, "cannot create %s", rel);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

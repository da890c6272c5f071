/* Throwaway directory trees for unit tests of modules that read files by
 * path (cgroupfs, /proc): created under /tmp, removed at the end. */
#ifndef MEMSCOPE_TEST_FIXTURE_TREE_H
#define MEMSCOPE_TEST_FIXTURE_TREE_H

#include <stddef.h>

struct fixture_tree {
	char root[64];
};

/* Creates the root (asserts on failure). */
void ftree_init(struct fixture_tree *t);
/* Removes everything under the root and the root itself. */
void ftree_remove(struct fixture_tree *t);
/* root + rel (rel starts with '/', or "" for the root); one of a few
 * rotating static buffers. */
const char *ftree_path(const struct fixture_tree *t, const char *rel);
/* mkdir -p root + rel. */
void ftree_mkdir(const struct fixture_tree *t, const char *rel);
/* Writes len bytes (text's strlen when len is (size_t)-1) to root + rel,
 * creating its directories. */
void ftree_write(const struct fixture_tree *t, const char *rel, const char *text, size_t len);

#endif

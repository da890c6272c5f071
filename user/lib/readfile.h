/* Reading the small text files the kernel exports (cgroupfs, /proc) into a
 * caller's buffer in one go, bounded, so a parser never sees a file that
 * grew without limit nor a half-read line it cannot tell from a whole one.
 *
 *	char buf[4096];
 *	ssize_t n = readfile__at(dirfd, "memory.stat", buf, sizeof(buf));
 */
#ifndef MEMSCOPE_READFILE_H
#define MEMSCOPE_READFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Up to cap - 1 bytes of path (relative to dirfd, or AT_FDCWD), NUL-terminated.
 * When the file is longer, the text is cut after its last complete line (so
 * the caller only sees whole lines) and the return value says how much was
 * kept. Bytes kept, or -errno (ENOENT: gone; EINVAL: cap < 2). */
ssize_t readfile__at(int dirfd, const char *path, char *buf, size_t cap);

/* Same into a malloc'ed buffer of at most max bytes (text NUL-terminated,
 * *len its length). NULL + errno. */
char *readfile__alloc(int dirfd, const char *path, size_t max, size_t *len);

#endif

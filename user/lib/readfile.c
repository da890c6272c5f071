#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "readfile.h"

/* Reads into buf[0..len) until it is full or the file ends (*eof). */
static ssize_t fill(int fd, char *buf, size_t len, bool *eof)
{
	size_t off = 0;

	*eof = false;
	while (off < len) {
		ssize_t r = read(fd, buf + off, len - off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0) {
			*eof = true;
			break;
		}
		off += (size_t)r;
	}
	return (ssize_t)off;
}

/* A full buffer: is there more? If so, the partial last line could read as a
 * smaller number, so the text is cut after the last complete line. */
static size_t cut_if_longer(int fd, char *buf, size_t len)
{
	char probe, *nl;
	bool eof;

	if (fill(fd, &probe, 1, &eof) == 0 && eof)
		return len;
	nl = memrchr(buf, '\n', len);
	return nl ? (size_t)(nl + 1 - buf) : 0;
}

/* Reads fd into *buf (grown from `start` up to max bytes), NUL-terminated. */
static ssize_t read_fd(int fd, char **buf, size_t start, size_t max, bool grow)
{
	size_t cap = start < max ? start : max, off = 0;

	for (;;) {
		bool eof;
		ssize_t n;

		if (grow) {
			char *bigger = realloc(*buf, cap);

			if (!bigger)
				return -ENOMEM;
			*buf = bigger;
		}
		n = fill(fd, *buf + off, cap - 1 - off, &eof);
		if (n < 0)
			return n;
		off += (size_t)n;
		if (eof)
			break;
		if (cap == max) {
			off = cut_if_longer(fd, *buf, off);
			break;
		}
		cap = cap > max / 2 ? max : cap * 2;
	}
	(*buf)[off] = '\0';
	return (ssize_t)off;
}

ssize_t readfile__at(int dirfd, const char *path, char *buf, size_t cap)
{
	ssize_t n;
	int fd;

	if (!path || !buf || cap < 2)
		return -EINVAL;
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	n = read_fd(fd, &buf, cap, cap, false);
	close(fd);
	return n;
}

char *readfile__alloc(int dirfd, const char *path, size_t max, size_t *len)
{
	char *buf = NULL;
	ssize_t n;
	int fd;

	if (!path || !len || max < 2) {
		errno = EINVAL;
		return NULL;
	}
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return NULL;
	n = read_fd(fd, &buf, 4096, max, true);
	close(fd);
	if (n < 0) {
		free(buf);
		errno = (int)-n;
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}

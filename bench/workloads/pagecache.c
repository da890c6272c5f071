/* A read that grows the page cache: the file is created once, dropped from
 * the cache before every run (fdatasync + POSIX_FADV_DONTNEED, then mincore
 * says how much is still cached, so a failed drop shows instead of silently
 * turning the run into a memcpy), and read with 1 MiB reads.
 *
 * usage: pagecache -f FILE -c [-m MIB]   create FILE of MIB MiB (default 512)
 *        pagecache -f FILE -d            drop it from the page cache
 *        pagecache -f FILE               read it all
 * prints: (-d) cached_pages N   (read) bytes N seconds S mib_per_sec R
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1 << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int create(const char *path, size_t mib)
{
	static char buf[CHUNK];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return perror(path), 1;
	/* Not zeros: a filesystem could keep an all-zero file sparse. */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 131 + 7);
	for (size_t i = 0; i < mib; i++)
		if (write(fd, buf, sizeof(buf)) != sizeof(buf))
			return perror(path), 1;
	if (fsync(fd))
		return perror(path), 1;
	close(fd);
	return 0;
}

static long cached_pages(int fd, size_t size)
{
	long psz = sysconf(_SC_PAGESIZE), n = 0;
	size_t pages = (size + psz - 1) / psz;
	unsigned char *vec = malloc(pages ? pages : 1);
	void *map = size ? mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0) : NULL;

	if (!vec || map == MAP_FAILED || (size && mincore(map, size, vec)))
		n = -1;
	for (size_t i = 0; n >= 0 && i < pages; i++)
		n += vec[i] & 1;
	if (map && map != MAP_FAILED)
		munmap(map, size);
	free(vec);
	return n;
}

static int drop(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0 || fstat(fd, &st))
		return perror(path), 1;
	if (fdatasync(fd) || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
		return perror(path), 1;
	printf("cached_pages %ld\n", cached_pages(fd, st.st_size));
	close(fd);
	return 0;
}

static int readall(const char *path)
{
	static char buf[CHUNK];
	size_t total = 0;
	double start = now(), secs;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return perror(path), 1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	if (n < 0)
		return perror(path), 1;
	close(fd);
	secs = now() - start;
	printf("bytes %zu seconds %.3f mib_per_sec %.1f\n", total, secs, total / 1048576.0 / secs);
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	size_t mib = 512;
	int opt, mode = 'r';

	while ((opt = getopt(argc, argv, "f:m:cd")) != -1) {
		switch (opt) {
		case 'f': path = optarg; break;
		case 'm': mib = strtoul(optarg, NULL, 10); break;
		case 'c': case 'd': mode = opt; break;
		default: return 2;
		}
	}
	if (!path)
		return 2;
	return mode == 'c' ? create(path, mib) : mode == 'd' ? drop(path) : readall(path);
}

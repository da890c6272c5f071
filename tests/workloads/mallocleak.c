/* Leaks LEAK_MIB of 64 KiB malloc blocks from leak_fn, for the unwinder's
 * tests: glibc's _int_malloc first-touches about one page in 16 (the top
 * chunk's header) in frameless libc code, memset the rest. The Makefile
 * builds it twice: with frame pointers (mallocleak) and with plain -O2
 * (mallocleak_o2, no frame pointer anywhere in the stack).
 *
 * usage: mallocleak [-g CGROUP_PROCS_FILE] [-l LEAK_MIB] [-w START_FILE]
 *                   [-r READY_FILE] [-h HOLD_SECS]
 * -w: wait until START_FILE exists before leaking, so that a tracer started
 *     in between sees the leak and nothing of the program's start. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK (64 * 1024)

__attribute__((noinline)) static char *leak_fn(size_t bytes)
{
	char *p = malloc(bytes);

	if (p)
		memset(p, 0x5a, bytes);
	return p;
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) < 0) {
		perror(path);
		exit(2);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	const char *procs = NULL, *start = NULL, *ready = NULL;
	size_t leak_mib = 64;
	double hold = 0;
	char pid[32];
	int opt;

	while ((opt = getopt(argc, argv, "g:l:w:r:h:")) != -1) {
		switch (opt) {
		case 'g': procs = optarg; break;
		case 'l': leak_mib = strtoul(optarg, NULL, 10); break;
		case 'w': start = optarg; break;
		case 'r': ready = optarg; break;
		case 'h': hold = strtod(optarg, NULL); break;
		default: return 2;
		}
	}
	if (procs) {
		snprintf(pid, sizeof(pid), "%d\n", getpid());
		write_file(procs, pid);
	}
	while (start && access(start, F_OK))
		usleep(10000);
	for (size_t done = 0; done < leak_mib << 20; done += BLOCK)
		if (!leak_fn(BLOCK))
			return 3;
	if (ready)
		write_file(ready, "leaked\n");
	usleep((useconds_t)(hold * 1e6));
	return 0;
}

/* JIT processes sharing one perf map (issue 13, item 3): a 64 MiB map,
 * PERFMAP_ENTRIES_MAX lines, hard-linked as /tmp/perf-PID.map by every
 * child. Each child runs code from anonymous executable memory at a fixed
 * address that the map's first line names, and allocates through it, so
 * memscope loads the child's perf map to name the frame.
 *
 * usage: jitmaps DIR N
 * Writes DIR/perf.data, starts N children, says "ready" once all are, and
 * on SIGTERM stops them and removes the links. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "grow.h"

#define CODE_ADDR	0x7e0000000000ULL
#define MAP_BYTES	(64u << 20)
#define CHILDREN_MAX	32

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* MAP_BYTES of lines of 32 bytes: the code's name first, then filler. */
static void write_map(const char *path)
{
	FILE *f = fopen(path, "we");
	unsigned long long written;

	if (!f) {
		perror("jitmaps: map");
		exit(1);
	}
	written = fprintf(f, "%llx 1000 memscopeJitBomb\n", CODE_ADDR);
	for (unsigned long i = 0; written + 32 <= MAP_BYTES; i++)
		written += fprintf(f, "%09lx 10 filler_name_%07lu\n", 0x100000000UL + i * 0x100,
				   i % 10000000);
	if (fclose(f)) {
		perror("jitmaps: map");
		exit(1);
	}
}

static void child(const char *data, int ready_fd)
{
	char link_path[64];
	void (*through)(void (*)(void));
	unsigned char *code = mmap((void *)CODE_ADDR, 4096, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (code != (void *)CODE_ADDR) {
		perror("jitmaps: code");
		exit(1);
	}
	memcpy(code + 0x800, trampoline, sizeof(trampoline));
	if (mprotect(code, 4096, PROT_READ | PROT_EXEC)) {
		perror("jitmaps: mprotect");
		exit(1);
	}
	snprintf(link_path, sizeof(link_path), "/tmp/perf-%d.map", (int)getpid());
	unlink(link_path);
	if (link(data, link_path)) {
		perror("jitmaps: link");
		exit(1);
	}
	if (write(ready_fd, "r", 1) != 1)
		exit(1);
	through = (void (*)(void (*)(void)))(code + 0x800);
	while (!stop) {
		through(grow);
		usleep(5000);
	}
	unlink(link_path);
	exit(0);
}

int main(int argc, char **argv)
{
	int n = argc == 3 ? atoi(argv[2]) : 0, pipefd[2];
	pid_t kids[CHILDREN_MAX];
	char data[4096], c;

	if (n < 1 || n > CHILDREN_MAX) {
		fprintf(stderr, "usage: jitmaps DIR N\n");
		return 2;
	}
	signal(SIGTERM, on_term);
	snprintf(data, sizeof(data), "%s/perf.data", argv[1]);
	write_map(data);
	if (pipe(pipefd))
		return 1;
	for (int i = 0; i < n; i++) {
		kids[i] = fork();
		if (kids[i] == 0)
			child(data, pipefd[1]);
		if (kids[i] < 0)
			return 1;
	}
	for (int i = 0; i < n; i++)
		if (read(pipefd[0], &c, 1) != 1)
			return 1;
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		pause();
	for (int i = 0; i < n; i++)
		kill(kids[i], SIGTERM);
	for (int i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
	return 0;
}

/* A process whose threads all go by other names than the process, the way
 * node 24 names its main thread "MainThread" and its platform threads
 * "V8Worker": the main thread calls itself "MainThread", and a second
 * thread, "allocator", keeps MIB MiB that it touches. For the test that
 * memscope's COMM frame names the process, not the thread.
 *
 * usage: namedthreads CGROUP_PROCS_FILE MIB READY_FILE
 * Joins the cgroup, allocates, creates READY_FILE, then sleeps until killed.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define MIB (1024UL * 1024)

static size_t mib;

__attribute__((noinline)) static void *allocate(void *arg)
{
	char *p;

	(void)arg;
	if (prctl(PR_SET_NAME, "allocator"))
		exit(2);
	p = malloc(mib * MIB);
	if (!p)
		exit(3);
	memset(p, 0x5a, mib * MIB);
	return p;
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) < 0 || close(fd))
		exit(2);
}

int main(int argc, char **argv)
{
	char pid[32];
	pthread_t t;
	void *kept;

	if (argc != 4)
		return 2;
	mib = strtoul(argv[2], NULL, 10);
	snprintf(pid, sizeof(pid), "%d\n", getpid());
	write_file(argv[1], pid);
	if (prctl(PR_SET_NAME, "MainThread"))
		return 2;
	if (pthread_create(&t, NULL, allocate, NULL) || pthread_join(t, &kept))
		return 2;
	write_file(argv[3], "ready\n");
	for (;;)
		pause();
}

/* What the unwinder's workloads (mallocleak.c, cxxgrow.cc) share: their
 * options, joining the test's cgroup, waiting for the start file, and the
 * ready file. C and C++ alike.
 *
 * options: [-g CGROUP_PROCS_FILE] [-l MIB] [-w START_FILE] [-r READY_FILE] [-h HOLD_SECS] */
#ifndef MEMSCOPE_WORKLOAD_H
#define MEMSCOPE_WORKLOAD_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct workload {
	const char *procs, *start, *ready;
	size_t mib;
	double hold;
};

static void workload_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) < 0) {
		perror(path);
		exit(2);
	}
	close(fd);
}

/* Parses the options, joins the cgroup and waits for the start file. */
static void workload_begin(struct workload *w, int argc, char **argv)
{
	char pid[32];
	int opt;

	while ((opt = getopt(argc, argv, "g:l:w:r:h:")) != -1) {
		switch (opt) {
		case 'g': w->procs = optarg; break;
		case 'l': w->mib = strtoul(optarg, NULL, 10); break;
		case 'w': w->start = optarg; break;
		case 'r': w->ready = optarg; break;
		case 'h': w->hold = strtod(optarg, NULL); break;
		default: exit(2);
		}
	}
	if (w->procs) {
		snprintf(pid, sizeof(pid), "%d\n", getpid());
		workload_write(w->procs, pid);
	}
	while (w->start && access(w->start, F_OK))
		usleep(10000);
}

/* Says it is done, and holds what it grew for the hold time. */
static void workload_end(const struct workload *w)
{
	if (w->ready)
		workload_write(w->ready, "done\n");
	usleep((useconds_t)(w->hold * 1e6));
}

#endif

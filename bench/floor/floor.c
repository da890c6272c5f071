/* bench/floor KIND: attaches floor.bpf.c's counting programs of one attach
 * type (raw_tp or tp_btf) to mm_page_alloc and mm_page_free, prints "ready"
 * once both are attached, and on SIGINT/SIGTERM prints how many times they
 * ran. The overhead suite runs it like any other tracer. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "floor.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The programs' runs, summed over CPUs. */
static unsigned long long total_runs(struct floor_bpf *skel)
{
	int ncpu = libbpf_num_possible_cpus();
	unsigned long long sum = 0;
	__u64 *v;
	__u32 zero = 0;

	if (ncpu <= 0 || !(v = calloc(ncpu, sizeof(*v))))
		return 0;
	if (!bpf_map__lookup_elem(skel->maps.runs, &zero, sizeof(zero), v, ncpu * sizeof(*v), 0))
		for (int i = 0; i < ncpu; i++)
			sum += v[i];
	free(v);
	return sum;
}

int main(int argc, char **argv)
{
	struct floor_bpf *skel;
	bool raw;
	int err;

	if (argc != 2 || (strcmp(argv[1], "raw_tp") && strcmp(argv[1], "tp_btf"))) {
		fprintf(stderr, "usage: %s raw_tp|tp_btf\n", argv[0]);
		return 2;
	}
	raw = !strcmp(argv[1], "raw_tp");
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* open, pick one pair, load, attach */
	skel = floor_bpf__open();
	if (!skel) {
		fprintf(stderr, "floor: cannot open the BPF object: %s\n", strerror(errno));
		return 1;
	}
	bpf_program__set_autoload(skel->progs.raw_alloc, raw);
	bpf_program__set_autoload(skel->progs.raw_free, raw);
	bpf_program__set_autoload(skel->progs.btf_alloc, !raw);
	bpf_program__set_autoload(skel->progs.btf_free, !raw);
	if ((err = floor_bpf__load(skel)) || (err = floor_bpf__attach(skel))) {
		fprintf(stderr, "floor: the kernel refused the %s programs: %s\n", argv[1],
			strerror(-err));
		floor_bpf__destroy(skel);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		pause();
	printf("runs %llu\n", total_runs(skel));
	floor_bpf__destroy(skel);
	return 0;
}

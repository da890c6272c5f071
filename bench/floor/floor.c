/* bench/floor KIND: attaches floor.bpf.c's counting programs of one attach
 * type (raw_tp or tp_btf; pfn: raw_tp with a 4-byte record a page frame) to
 * mm_page_alloc and mm_page_free, prints "ready" once both are attached, and
 * on SIGINT/SIGTERM prints how many times they ran. The overhead suite runs
 * it like any other tracer. */
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

/* The largest pfn + 1 of any zone: each prints "spanned N" before "start_pfn: M". */
static unsigned long long zone_max_pfn(void)
{
	unsigned long long spanned = 0, start, max = 0;
	char line[256];
	FILE *f = fopen("/proc/zoneinfo", "re");

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, " spanned %llu", &spanned) == 1)
			continue;
		if (sscanf(line, " start_pfn: %llu", &start) == 1 && start + spanned > max)
			max = start + spanned;
	}
	if (f)
		fclose(f);
	return max;
}

int main(int argc, char **argv)
{
	struct floor_bpf *skel;
	bool raw, pfn;
	int err;

	if (argc != 2 || (strcmp(argv[1], "raw_tp") && strcmp(argv[1], "tp_btf") &&
			  strcmp(argv[1], "pfn"))) {
		fprintf(stderr, "usage: %s raw_tp|tp_btf|pfn\n", argv[0]);
		return 2;
	}
	pfn = !strcmp(argv[1], "pfn");
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
	bpf_program__set_autoload(skel->progs.btf_alloc, !raw && !pfn);
	bpf_program__set_autoload(skel->progs.btf_free, !raw && !pfn);
	bpf_program__set_autoload(skel->progs.pfn_alloc, pfn);
	bpf_program__set_autoload(skel->progs.pfn_free, pfn);
	if (pfn) {
		unsigned long long max = zone_max_pfn(), span = 16;

		while (span < max)
			span *= 2;
		if (!max || bpf_map__set_max_entries(skel->maps.recs, span / 16)) {
			fprintf(stderr, "floor: cannot size the pfn records from /proc/zoneinfo\n");
			floor_bpf__destroy(skel);
			return 1;
		}
		skel->rodata->pfn_mask = span - 1;
	}
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

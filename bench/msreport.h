/* What one `memscope record` run says about itself, for the benchmark: its
 * event and loss counters and its exact per-container totals. Read from the
 * --report JSON (see user/output/record_totals.h), or, from a memscope without
 * --report, from the lines it prints on stderr:
 *
 *   events: 247189 allocations, 232613 frees, 3912 samples (leaf callers ...: 561)
 *   losses: process table full (counted in [overflow])=0, samples lost, ring buffer
 *           full (raise --ringbuf)=0, ..., frames unresolved=600
 *
 * (one line each; loss names may hold commas, so items end at "=N").
 */
#ifndef MEMSCOPE_BENCH_MSREPORT_H
#define MEMSCOPE_BENCH_MSREPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MSR_MAX_COUNTERS	32
#define MSR_NAME_LEN		80
#define MSR_MAX_CONTAINERS	4096
#define MSR_MAX_FILE		(64 << 20)

struct msr_counter {
	char name[MSR_NAME_LEN];
	uint64_t value;
};

struct msr_container {
	uint64_t cgroup_id;
	char cgroup[256];
	uint64_t alloc_bytes;
	int64_t resident_bytes;
};

struct msreport {
	double duration_s;		/* 0 when unknown */
	struct msr_counter events[MSR_MAX_COUNTERS];
	size_t n_events;
	struct msr_counter losses[MSR_MAX_COUNTERS];
	size_t n_losses;
	struct msr_container *containers;	/* JSON only */
	size_t n_containers;
	bool from_json;
};

/* Both return 0 or -errno (EINVAL: not a report / no counters found); r is
 * always initialised and must be freed. */
int msreport__parse_json(const char *text, size_t len, struct msreport *r);
int msreport__parse_stderr(FILE *f, struct msreport *r);
/* The JSON file when it exists and parses, else the stderr file. */
int msreport__load(const char *json_path, const char *stderr_path, struct msreport *r);
/* Value of a counter by name; false when absent. */
bool msreport__get(const struct msr_counter *c, size_t n, const char *name, uint64_t *v);
const struct msr_container *msreport__container(const struct msreport *r, uint64_t cgroup_id);
void msreport__free(struct msreport *r);

#endif

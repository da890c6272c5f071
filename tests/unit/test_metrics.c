#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "hmap.h"
#include "metrics.h"
#include "prom_check.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CTR "/system.slice/docker-" ID ".scope"
#define MIB (1024.0 * 1024)
#define LABELS(ctr, cg) "{container=\"" ctr "\",cgroup=\"" cg "\""

/* Two containers as topview would leave them: a Docker one running node
 * (V8 heap known, growing, limited, processes listed) and a plain cgroup
 * sampled once (no slope yet). A third row was never sampled. */
static struct top_proc procs[] = {
	{ .pid = 4242, .name = "node", .rss = 300, .anon = 200, .file = 90, .shmem = 10 },
};
static struct top_row rows[3];
static struct metrics_ctr ctrs[3];

static void setup(void)
{
	memset(rows, 0, sizeof(rows));
	rows[0] = (struct top_row){
		.path = CTR, .label = "0123456789ab", .n_procs = 3,
		.raw = { .usage = 900 * MIB, .have = CGSTAT_USAGE | CGSTAT_ANON },
		.own = { .usage = 800 * MIB, .anon = 500 * MIB, .file = 200 * MIB, .shmem = 4096,
			 .kernel = 60 * MIB, .sock = 4 * MIB },
		.limit = 1024 * MIB, .oom_kills = 2, .v8 = 120 * MIB, .slope = 60,
		.monotonic = true,
		.split = { .total = 60, .anon = 50, .file = 10, .shmem = 0, .kernel = NAN, .v8 = 30 },
		.procs = procs, .n_proc_list = 1,
	};
	rows[1] = (struct top_row){
		.path = "/system.slice/cron.service", .label = "/system.slice/cron.service",
		.n_procs = 1, .raw = { .usage = 10 * MIB, .have = CGSTAT_USAGE },
		.own = { .usage = 10 * MIB, .anon = 6 * MIB, .file = 4 * MIB },
		.limit = CGSTAT_UNLIMITED, .v8 = NAN, .slope = NAN,
		.split = { NAN, NAN, NAN, NAN, NAN, NAN },
	};
	rows[2] = (struct top_row){
		.path = "/new", .label = "/new", .limit = CGSTAT_UNLIMITED, .v8 = NAN, .slope = NAN,
	};
	for (int i = 0; i < 3; i++)
		ctrs[i] = (struct metrics_ctr){ .row = &rows[i] };
	ctrs[0].charged = (struct cgstat){
		.anon = 600 * MIB, .file = 250 * MIB, .shmem = 4096, .swap = 0, .mapped = 8192,
		.have = CGSTAT_ANON | CGSTAT_FILE | CGSTAT_SHMEM | CGSTAT_SWAP | CGSTAT_MAPPED,
	};
}

TestSuite(metrics, .init = setup);

static char *render(const struct metrics_page *m, int *rc)
{
	char *buf = NULL, err[512];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int n;

	cr_assert_not_null(f);
	*rc = metrics__write(m, f);
	fclose(f);
	n = prom_check(buf, err, sizeof(err));
	cr_assert_geq(n, 0, "not a valid page: %s\n%s", err, buf);
	return buf;
}

static double value_of(const char *page, const char *series)
{
	double v;

	cr_assert(prom_value(page, series, &v), "no %s in:\n%s", series, page);
	return v;
}

static bool has(const char *page, const char *series)
{
	double v;

	return prom_value(page, series, &v);
}

Test(metrics, containers_by_class_kind_and_growth)
{
	struct selfstat self = { .cpu_seconds = 1.25, .rss_bytes = 12345678 };
	struct metrics_page m = {
		.ctrs = ctrs, .n_ctrs = 3, .window_s = 120, .collect_s = 0.004, .self = &self,
		.start_time = 1700000000, .bpf_stats = -1,
	};
	int rc;
	char *page = render(&m, &rc);

	cr_expect_eq(rc, 0);
#define C0 LABELS("0123456789ab", CTR)
#define C1 LABELS("/system.slice/cron.service", "/system.slice/cron.service")
	/* Native is anon less the V8 heap; kernel includes socket buffers. */
	cr_expect_eq(value_of(page, "memscope_container_resident_bytes" C0 ",class=\"native\"}"),
		     380 * MIB);
	cr_expect_eq(value_of(page, "memscope_container_resident_bytes" C0 ",class=\"v8_heap\"}"),
		     120 * MIB);
	cr_expect_eq(value_of(page, "memscope_container_resident_bytes" C0 ",class=\"file\"}"),
		     200 * MIB);
	cr_expect_eq(value_of(page, "memscope_container_resident_bytes" C0 ",class=\"shmem\"}"),
		     4096);
	cr_expect_eq(value_of(page, "memscope_container_resident_bytes" C0 ",class=\"kernel\"}"),
		     64 * MIB);
	/* No V8 heap known: all anon is native, and no v8_heap series. */
	cr_expect_eq(value_of(page, "memscope_container_resident_bytes" C1 ",class=\"native\"}"),
		     6 * MIB);
	cr_expect_not(has(page, "memscope_container_resident_bytes" C1 ",class=\"v8_heap\"}"));

	/* Kinds: only those the files gave. */
	cr_expect_eq(value_of(page, "memscope_container_charged_bytes" C0 ",kind=\"anon\"}"),
		     600 * MIB);
	cr_expect_eq(value_of(page, "memscope_container_charged_bytes" C0
			      ",kind=\"file_mapped\"}"), 8192);
	cr_expect_eq(value_of(page, "memscope_container_charged_bytes" C0 ",kind=\"swap\"}"), 0);
	cr_expect_not(has(page, "memscope_container_charged_bytes" C0 ",kind=\"kernel\"}"));
	cr_expect_not(has(page, "memscope_container_charged_bytes" C1 ",kind=\"anon\"}"));

	cr_expect_eq(value_of(page, "memscope_container_usage_bytes" C0 "}"), 900 * MIB);
	cr_expect_eq(value_of(page, "memscope_container_limit_bytes" C0 "}"), 1024 * MIB);
	cr_expect_not(has(page, "memscope_container_limit_bytes" C1 "}"), "unlimited: no series");
	/* 60 MiB/min is 1 MiB/s. */
	cr_expect_float_eq(value_of(page, "memscope_container_growth_bytes_per_second" C0 "}"),
			   MIB, 1e-6);
	cr_expect_float_eq(value_of(page, "memscope_container_class_growth_bytes_per_second" C0
				    ",class=\"v8_heap\"}"), MIB / 2, 1e-6);
	cr_expect_not(has(page, "memscope_container_class_growth_bytes_per_second" C0
			  ",class=\"kernel\"}"), "NaN slopes are left out");
	cr_expect_not(has(page, "memscope_container_growth_bytes_per_second" C1 "}"),
		      "one sample: no slope yet");
	cr_expect_eq(value_of(page, "memscope_container_growth_monotonic" C0 "}"), 1);
	cr_expect_eq(value_of(page, "memscope_container_oom_kills_total" C0 "}"), 2);
	cr_expect_eq(value_of(page, "memscope_container_oom_kills_total" C1 "}"), 0);
	cr_expect_eq(value_of(page, "memscope_container_processes" C0 "}"), 3);
	cr_expect_null(strstr(page, "cgroup=\"/new\""), "a row never sampled is left out");
	cr_expect_null(strstr(page, "memscope_process_resident_bytes{"), "no --per-process");

	/* Without a tracer: it says so, and nothing it would have counted. */
	cr_expect_eq(value_of(page, "memscope_bpf_tracer_up"), 0);
	cr_expect_null(strstr(page, "memscope_bpf_lost_events_total"));
	cr_expect_null(strstr(page, "memscope_bpf_stats_enabled"), "unknown: left out");
	cr_expect_eq(value_of(page, "process_cpu_seconds_total"), 1.25);
	cr_expect_eq(value_of(page, "process_resident_memory_bytes"), 12345678);
	cr_expect_eq(value_of(page, "process_start_time_seconds"), 1700000000);
	cr_expect_eq(value_of(page, "memscope_growth_window_seconds"), 120);
	cr_expect_eq(value_of(page, "memscope_collect_duration_seconds"), 0.004);
	free(page);
}

Test(metrics, per_process_series)
{
	struct metrics_page m = { .ctrs = ctrs, .n_ctrs = 3, .per_process = true, .bpf_stats = -1 };
	int rc;
	char *page = render(&m, &rc);

#define P0 LABELS("0123456789ab", CTR) ",pid=\"4242\",comm=\"node\""
	cr_expect_eq(value_of(page, "memscope_process_resident_bytes" P0 ",class=\"anon\"}"), 200);
	cr_expect_eq(value_of(page, "memscope_process_resident_bytes" P0 ",class=\"file\"}"), 90);
	cr_expect_eq(value_of(page, "memscope_process_resident_bytes" P0 ",class=\"shmem\"}"), 10);
	cr_expect_null(strstr(page, "self"), "no self figures given: none written");
	free(page);
}

Test(metrics, tracer_losses_kills_and_program_times)
{
	struct metrics_tracer t = { .running = true, .oom_queue_dropped = 1 };
	struct selfstat_prog progs[] = {
		{ .name = "on_alloc", .run_time_ns = 1500000000, .run_cnt = 1000 },
		{ .name = "on_free", .run_time_ns = 5, .run_cnt = 7 },
	};
	struct metrics_page m = {
		.ctrs = ctrs, .n_ctrs = 3, .tracer = &t, .bpf_stats = 1, .progs = progs,
		.n_progs = 2,
	};
	int rc;
	char *page;

	t.drops.kernel[MS_DROP_RINGBUF] = 17;
	t.drops.recursion_misses = 3;
	/* A kill deep in a container counts for the container's row. */
	cr_assert_eq(metrics__count_kill(&t, CTR "/inner", 7), 0);
	cr_assert_eq(metrics__count_kill(&t, CTR, 8), 0);
	cr_assert_eq(metrics__count_kill(&t, "/system.slice/cron.service", 9), 0);
	cr_assert_eq(metrics__count_kill(&t, NULL, 4242), 0);
	cr_assert_eq(metrics__count_kill(&t, "/gone", 10), 0);
	page = render(&m, &rc);
	cr_expect_eq(rc, 0);
	cr_expect_eq(value_of(page, "memscope_bpf_tracer_up"), 1);
	cr_expect_eq(value_of(page, "memscope_bpf_lost_events_total{reason=\"ringbuf_full\"}"), 17);
	cr_expect_eq(value_of(page, "memscope_bpf_lost_events_total{reason=\"procs_full\"}"), 0);
	cr_expect_eq(value_of(page, "memscope_bpf_lost_events_total{reason=\"recursion_miss\"}"),
		     3);
	cr_expect_eq(value_of(page, "memscope_bpf_lost_events_total{reason=\"oom_queue_full\"}"),
		     1);
	cr_expect_eq(value_of(page, "memscope_bpf_oom_kills_total" LABELS("0123456789ab", CTR)
			      "}"), 2);
	cr_expect_eq(value_of(page, "memscope_bpf_oom_kills_total" C1 "}"), 1);
	cr_expect_eq(value_of(page, "memscope_bpf_oom_kills_total" LABELS("[cgroup 4242]", "")
			      "}"), 1);
	/* A kill in a container that is gone still counts; one without kills reads 0. */
	cr_expect_eq(value_of(page, "memscope_bpf_oom_kills_total" LABELS("/gone", "/gone") "}"),
		     1);
	rows[1].path = "/system.slice/other.service";
	rows[1].label = rows[1].path;
	free(page);
	page = render(&m, &rc);
	cr_expect_eq(value_of(page, "memscope_bpf_oom_kills_total"
			      LABELS("/system.slice/other.service", "/system.slice/other.service")
			      "}"), 0);
	cr_expect_eq(value_of(page, "memscope_bpf_oom_kills_total" C1 "}"), 1);
	cr_expect_eq(value_of(page, "memscope_bpf_stats_enabled"), 1);
	cr_expect_eq(value_of(page, "memscope_bpf_program_run_seconds_total{program=\"on_alloc\"}"),
		     1.5);
	cr_expect_eq(value_of(page, "memscope_bpf_program_runs_total{program=\"on_free\"}"), 7);
	free(page);

	/* Statistics off: the programs' zeros would read as "free", so no series. */
	m.bpf_stats = 0;
	page = render(&m, &rc);
	cr_expect_eq(value_of(page, "memscope_bpf_stats_enabled"), 0);
	cr_expect_null(strstr(page, "memscope_bpf_program_run"));
	free(page);
	metrics__tracer_free(&t);
}

Test(metrics, kill_rows_are_bounded)
{
	struct metrics_tracer t = { .running = true };
	struct metrics_page m = { .tracer = &t, .bpf_stats = -1 };
	char path[64];
	int rc;
	char *page;

	for (int i = 0; i < METRICS_KILL_ROWS_MAX + 10; i++) {
		snprintf(path, sizeof(path), "/churn/c%d", i);
		cr_assert_eq(metrics__count_kill(&t, path, (uint64_t)i), 0);
	}
	cr_expect_eq(hmap__count(t.kills), METRICS_KILL_ROWS_MAX);
	page = render(&m, &rc);
	cr_expect_eq(value_of(page, "memscope_bpf_oom_kills_total" LABELS("[other]", "[other]")
			      "}"), 11);
	free(page);
	metrics__tracer_free(&t);
}

Test(metrics, hostile_cgroup_and_process_names)
{
	static struct top_proc evil_procs[] = {
		{ .pid = 1, .name = "a\"b\\c\n\xff" },
	};
	struct top_row evil = {
		.path = "/x\"}\nfake_metric 1\n#\xc0", .label = "/x\"}\nfake_metric 1\n#\xc0",
		.raw = { .have = CGSTAT_USAGE }, .limit = CGSTAT_UNLIMITED, .v8 = NAN,
		.slope = NAN, .split = { NAN, NAN, NAN, NAN, NAN, NAN }, .procs = evil_procs,
		.n_proc_list = 1,
	};
	struct metrics_ctr c = { .row = &evil };
	struct metrics_page m = { .ctrs = &c, .n_ctrs = 1, .per_process = true, .bpf_stats = -1 };
	int rc;
	char *page = render(&m, &rc);

	cr_expect_eq(rc, 0);
	cr_expect_null(strstr(page, "\nfake_metric"), "%s", page);
	cr_expect_not_null(strstr(page, "comm=\"a\\\"b\\\\c\\n\xef\xbf\xbd\""), "%s", page);
	free(page);
}

Test(metrics, loss_names)
{
	cr_expect_str_eq(metrics__loss_name(MS_DROP_RINGBUF), "ringbuf_full");
	cr_expect_str_eq(metrics__loss_name(MS_DROP_SNAP), "stack_snapshot_missing");
	cr_expect_str_eq(metrics__loss_name(MS_DROP_LINKS_FULL), "sample_ids_full");
	cr_expect_null(metrics__loss_name(MS_NR_DROPS));
	cr_expect_null(metrics__loss_name(-1));
	for (int d = 0; d < MS_NR_DROPS; d++)
		cr_expect_not_null(metrics__loss_name(d), "drop %d has no name", d);
}

/* The engine's name is a label of its own; the container label stays the id
 * the kill counts are keyed by, so series keep their identity. */
Test(metrics, engine_name_is_a_label)
{
	struct metrics_page m = { .ctrs = ctrs, .n_ctrs = 3, .per_process = true, .bpf_stats = -1 };
	int rc;
	char *page;

	snprintf(rows[0].name, sizeof(rows[0].name), "leaky-api");
	snprintf(rows[0].short_id, sizeof(rows[0].short_id), "0123456789ab");
	rows[0].label = rows[0].name;	/* as topview sets it when the engine names it */
	page = render(&m, &rc);
#define N0 LABELS("0123456789ab", CTR) ",container_name=\"leaky-api\""
	cr_expect_eq(value_of(page, "memscope_container_usage_bytes" N0 "}"), 900 * MIB);
	cr_expect_eq(value_of(page, "memscope_process_resident_bytes" N0
			      ",pid=\"4242\",comm=\"node\",class=\"anon\"}"), 200);
	free(page);
}

Test(metrics, budget_counters)
{
	struct budget_counts b = { .elf_evicted = 3, .elf_refused = 4, .perfmap_evicted = 5,
				   .perfmap_refused = 6, .perfmap_shared = 7,
				   .v8_pages_skipped = 8, .v8_probes_skipped = 9,
				   .v8_ranges_refused = 10, .v8_procs_evicted = 11 };
	struct metrics_page m = { .bpf_stats = -1, .budgets = &b };
	int rc;
	char *page = render(&m, &rc);

	cr_expect_eq(rc, 0);
	cr_expect_eq(value_of(page, "memscope_budget_evicted_total{budget=\"elf\"}"), 3);
	cr_expect_eq(value_of(page, "memscope_budget_refused_total{budget=\"elf\"}"), 4);
	cr_expect_eq(value_of(page, "memscope_budget_evicted_total{budget=\"perfmap\"}"), 5);
	cr_expect_eq(value_of(page, "memscope_budget_refused_total{budget=\"perfmap\"}"), 6);
	cr_expect_eq(value_of(page, "memscope_perfmap_shared_total"), 7);
	cr_expect_eq(value_of(page, "memscope_budget_skipped_total{work=\"v8_pagemap_pages\"}"), 8);
	cr_expect_eq(value_of(page, "memscope_budget_skipped_total{work=\"v8_chunk_probes\"}"), 9);
	cr_expect_eq(value_of(page, "memscope_budget_refused_total{budget=\"v8_ranges\"}"), 10);
	cr_expect_eq(value_of(page, "memscope_budget_evicted_total{budget=\"v8_pending\"}"), 11);
	free(page);
	m.budgets = NULL;
	page = render(&m, &rc);
	cr_expect(!has(page, "memscope_perfmap_shared_total"));
	free(page);
}

/* memscope record against node workloads (tests/workloads/v8_*.js), each in
 * its own test cgroup, judged against what node says about itself
 * (v8.getHeapStatistics(), process.memoryUsage(), printed by the workload
 * when its measured phase starts and ends):
 *   - a Map that keeps every report: V8 heap growth, the v8-heap class
 *     within 15% of node's total_physical_size growth;
 *   - Buffers kept: native growth, native within 15% of arrayBuffers growth;
 *   - a bounded LRU under the same load: stable, judged while the load goes
 *     on;
 *   - issue 16's verdicts: a load that ends early is growth that stopped,
 *     the same five times in a row; 100 MiB of heap (or of Buffers) kept 3 s
 *     into a 14 s window, then held, is growth.
 * The first two run both with memscope started before node and attached to
 * a node that already holds a heap of 100 MiB or more. The folded stacks'
 * [v8-heap] / [native] frames must split the same way (the classes of the
 * sampled pages, an independent measure from the verdict's pagemap reads). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define TOLERANCE	0.15
#define PREFILL_MIB	"120"

static struct test_cgroup cg;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	if (system("command -v node >/dev/null 2>&1"))
		cr_skip_test("node is not installed");
	cr_assert_eq(tcg_create(&cg, "v8", 0), 0, "cannot create a test memory cgroup");
}

static void teardown(void)
{
	tcg_destroy(&cg);
}

TestSuite(v8_record, .init = setup, .fini = teardown, .timeout = 120);
TestSuite(v8_verdicts, .init = setup, .fini = teardown, .timeout = 120);

/* ---- reading JSON without a JSON library ------------------------------------ */

/* End of the JSON value starting at p (an object, array, string or scalar),
 * strings skipped whole so braces inside them do not count. */
static const char *value_end(const char *p)
{
	int depth = 0;

	do {
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++)
				if (*p == '\\' && p[1])
					p++;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if (*p == '}' || *p == ']') {
			depth--;
		} else if (!depth && (*p == ',' || !*p)) {
			return p;
		}
		if (*p)
			p++;
	} while (*p && depth > 0);
	return p;
}

/* The value of "key" at the first place it occurs in [from, to). */
static const char *json_value(const char *from, const char *to, const char *key)
{
	char quoted[64];
	const char *p;

	snprintf(quoted, sizeof(quoted), "\"%s\"", key);
	p = strstr(from, quoted);
	if (!p || (to && p >= to))
		return NULL;
	p += strlen(quoted);
	p += strspn(p, " \t\n");
	if (*p != ':')
		return NULL;
	p++;
	return p + strspn(p, " \t\n");
}

static double json_number(const char *from, const char *to, const char *key)
{
	const char *v = json_value(from, to, key);

	return v ? strtod(v, NULL) : -1;
}

/* The object of the "growth" section's process with this pid, as [*start, *end). */
static bool growth_row(const char *report, int pid, const char **start, const char **end)
{
	const char *growth = json_value(report, NULL, "growth");
	const char *p = growth ? json_value(growth, NULL, "processes") : NULL;

	if (!p || *p != '[')
		return false;
	for (p++; *p && *p != ']';) {
		const char *obj = p + strspn(p, " \t\n,"), *obj_end;

		if (*obj != '{')
			return false;
		obj_end = value_end(obj);
		if ((int)json_number(obj, obj_end, "pid") == pid) {
			*start = obj;
			*end = obj_end;
			return true;
		}
		p = obj_end;
	}
	return false;
}

static void row_string(const char *start, const char *end, const char *key, char *buf, size_t len)
{
	const char *v = json_value(start, end, key), *close;

	buf[0] = '\0';
	if (v && *v == '"' && (close = strchr(v + 1, '"')))
		snprintf(buf, len, "%.*s", (int)(close - v - 1), v + 1);
}

/* ---- the workloads ---------------------------------------------------------------- */

struct node_phase {
	double physical, array_buffers, used;
};

/* The line of node's own report for a phase ("ready", "start", "end"). */
static bool node_phase(const char *file, const char *phase, struct node_phase *out)
{
	char *text = read_text(file), needle[32], *line;

	if (!text)
		return false;
	snprintf(needle, sizeof(needle), "\"phase\":\"%s\"", phase);
	line = strstr(text, needle);
	if (line) {
		char *eol = strchr(line, '\n');

		out->physical = json_number(line, eol, "total_physical_size");
		out->used = json_number(line, eol, "used_heap_size");
		out->array_buffers = json_number(line, eol, "arrayBuffers");
	}
	free(text);
	return line != NULL;
}

struct run {
	const char *workload;
	const char *mib, *seconds;
	bool attach;		/* memscope starts after node built its prefill */
	/* > 0: a service in its steady state. The load runs this long before
	 * memscope starts: node's own start-up (~9 MiB of native memory) and V8
	 * sizing its heap for the load (+60-100 MiB in the first seconds) are
	 * not the growth of a service that has been up for a while. */
	double warm;
	double stop_after;	/* > 0: end the window this long into the load */
	double go_after;	/* > 0: memscope first, the load starts this long after node */
	double idle;		/* > 0: the window goes on this long after the load ended
				 * (and at least as long as the load took) */
	char out[PATH_MAX], err[PATH_MAX], folded[PATH_MAX], report[PATH_MAX];
	char node_out[PATH_MAX], node_err[PATH_MAX], go[PATH_MAX];
	pid_t node;
	struct node_phase ready, start, end;
	char *json;
	const char *row, *row_end;
	char verdict[64], summary[64];
	double v8, native;	/* growth_bytes of node's row */
};

static pid_t start_node(struct run *r)
{
	char cmd[4 * PATH_MAX], go[PATH_MAX + 8] = "";
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };

	if (r->attach || r->warm || r->go_after > 0)
		snprintf(go, sizeof(go), " --go %s", r->go);
	snprintf(cmd, sizeof(cmd),
		 "echo $$ > %s && exec node tests/workloads/%s.js --mib %s --seconds %s --out %s "
		 "--prefill %s%s", cg.procs, r->workload, r->mib, r->seconds, r->node_out,
		 r->attach ? PREFILL_MIB : "0", go);
	return spawn(argv, NULL, r->node_err);
}

static pid_t start_memscope(struct run *r)
{
	char *argv[] = { (char *)memscope_bin(), "record", "-c", cg.rel, "-d", "90", "-o",
			 r->folded, "--report", r->report, NULL };
	pid_t pid = spawn(argv, NULL, r->err);

	cr_assert(wait_for_text(r->err, "recording", 60), "memscope did not start:\n%s",
		  read_text(r->err));
	return pid;
}

static void paths(struct run *r, const char *tag)
{
	char name[96];

	snprintf(name, sizeof(name), "%s.err", tag);
	strcpy(r->err, scratch_path(name));
	snprintf(name, sizeof(name), "%s.folded", tag);
	strcpy(r->folded, scratch_path(name));
	snprintf(name, sizeof(name), "%s.json", tag);
	strcpy(r->report, scratch_path(name));
	snprintf(name, sizeof(name), "%s.node", tag);
	strcpy(r->node_out, scratch_path(name));
	snprintf(name, sizeof(name), "%s.node.err", tag);
	strcpy(r->node_err, scratch_path(name));
	snprintf(name, sizeof(name), "%s.go", tag);
	strcpy(r->go, scratch_path(name));
}

/* Runs the workload under memscope, then reads both sides' figures. */
static void run(struct run *r, const char *tag)
{
	double opened, loaded;
	pid_t rec;
	int status;

	paths(r, tag);
	if (r->go_after > 0) {
		rec = start_memscope(r);
		r->node = start_node(r);
		cr_assert(wait_for_text(r->node_out, "\"phase\":\"ready\"", 60),
			  "node did not start");
		usleep(r->go_after * 1e6);
		cr_assert_eq(close(creat(r->go, 0600)), 0);
	} else if (r->warm > 0) {
		r->node = start_node(r);
		cr_assert(wait_for_text(r->node_out, "\"phase\":\"ready\"", 60),
			  "node did not start");
		cr_assert_eq(close(creat(r->go, 0600)), 0);
		cr_assert(wait_for_text(r->node_out, "\"phase\":\"start\"", 60));
		usleep(r->warm * 1e6);
		rec = start_memscope(r);
	} else if (r->attach) {
		r->node = start_node(r);
		cr_assert(wait_for_text(r->node_out, "\"phase\":\"ready\"", 60),
			  "node did not build its prefill");
		cr_assert(node_phase(r->node_out, "ready", &r->ready));
		cr_assert_geq(r->ready.used, 100 * MIB, "node holds only %.1f MiB of heap",
			      r->ready.used / MIB);
		rec = start_memscope(r);
		cr_assert_eq(close(creat(r->go, 0600)), 0);
	} else {
		rec = start_memscope(r);
		r->node = start_node(r);
	}
	opened = now();
	if (r->stop_after > 0) {
		/* A service in its steady state: the window closes under load. */
		cr_assert(wait_for_text(r->node_out, "\"phase\":\"start\"", 60));
		usleep(r->stop_after * 1e6);
	} else {
		cr_assert(wait_for_text(r->node_out, "\"phase\":\"end\"", 60),
			  "node did not finish:\n%s", read_text(r->node_err));
		/* Let the last readings see the end state, then close the window:
		 * after r->idle, or as long again as the load took, so that how
		 * long the flat tail is does not depend on how busy the host is. */
		loaded = now() - opened;
		usleep((r->idle <= 0 ? 1.5 : r->idle > loaded ? r->idle : loaded) * 1e6);
	}
	kill(rec, SIGINT);
	status = wait_exit(rec, 60);
	kill(r->node, SIGKILL);
	waitpid(r->node, NULL, 0);
	cr_assert_eq(status, 0, "memscope record failed (status %d):\n%s", status, read_text(r->err));

	cr_assert(node_phase(r->node_out, "start", &r->start));
	if (!node_phase(r->node_out, "end", &r->end))
		r->end = r->start;	/* closed under load: node reports later */
	r->json = read_text(r->report);
	cr_assert_not_null(r->json, "no report written");
	cr_assert(growth_row(r->json, r->node, &r->row, &r->row_end),
		  "node (pid %d) has no growth row:\n%s\n%s", r->node, read_text(r->err), r->json);
	row_string(r->row, r->row_end, "verdict", r->verdict, sizeof(r->verdict));
	row_string(r->row, r->row_end, "summary", r->summary, sizeof(r->summary));
	r->v8 = json_number(json_value(r->row, r->row_end, "growth_bytes"), r->row_end, "v8_heap");
	r->native = json_number(json_value(r->row, r->row_end, "growth_bytes"), r->row_end,
				"native");
	cr_log_info("%s: verdict '%s'; memscope v8-heap %+.1f MiB native %+.1f MiB; node "
		    "total_physical_size %+.1f MiB arrayBuffers %+.1f MiB; folded [v8-heap] %.1f "
		    "[native] %.1f MiB", tag, r->summary, r->v8 / MIB, r->native / MIB,
		    (r->end.physical - r->start.physical) / MIB,
		    (r->end.array_buffers - r->start.array_buffers) / MIB,
		    folded_sum(r->folded, ";[v8-heap];") / (double)MIB,
		    folded_sum(r->folded, ";[native];") / (double)MIB);
}

static void expect_within(double got, double want, const char *what, const struct run *r)
{
	cr_expect(got >= want * (1 - TOLERANCE) && got <= want * (1 + TOLERANCE),
		  "%s: %.1f MiB, node says %.1f MiB (±%.0f%%)\n%s", what, got / MIB, want / MIB,
		  TOLERANCE * 100, read_text(r->err));
}

static void free_run(struct run *r)
{
	free(r->json);
}

/* ---- the tests ------------------------------------------------------------------- */

static void js_objects(bool attach, const char *tag)
{
	struct run r = { .workload = "v8_map_cache", .mib = "300", .seconds = "5",
			 .attach = attach };
	double node_growth;

	run(&r, tag);
	node_growth = r.end.physical - r.start.physical;
	cr_expect_str_eq(r.verdict, "V8 heap growth", "%s", read_text(r.err));
	expect_within(r.v8, node_growth, "v8-heap growth", &r);
	expect_within(folded_sum(r.folded, ";node;[v8-heap];"), node_growth, "[v8-heap] stacks", &r);
	cr_expect_lt(r.native, 0.1 * node_growth, "native %.1f MiB", r.native / MIB);
	cr_expect(strstr(read_text(r.err), "heapsnapshot-signal"), "no heap snapshot hint");
	cr_expect(strstr(read_text(r.err), "memscope record --js-heap -p "), "no --js-heap hint");
	free_run(&r);
}

static void buffers(bool attach, const char *tag)
{
	struct run r = { .workload = "v8_buffers", .mib = "400", .seconds = "5", .attach = attach };
	const char *stacks;
	double node_growth;

	run(&r, tag);
	node_growth = r.end.array_buffers - r.start.array_buffers;
	cr_expect_str_eq(r.verdict, "native growth", "%s", read_text(r.err));
	expect_within(r.native, node_growth, "native growth", &r);
	expect_within(folded_sum(r.folded, ";node;[native];"), node_growth, "[native] stacks", &r);
	cr_expect_lt(r.v8, 0.1 * node_growth, "v8-heap %.1f MiB", r.v8 / MIB);
	stacks = json_value(r.row, r.row_end, "top_native_stacks");
	cr_expect(stacks && *stacks == '[' && stacks[1 + strspn(stacks + 1, " \t\n")] == '{',
		  "no top native stacks for native growth");
	free_run(&r);
}

Test(v8_record, js_objects_memscope_first)
{
	js_objects(false, "map-first");
}

Test(v8_record, js_objects_attached_to_a_big_heap)
{
	js_objects(true, "map-attach");
}

Test(v8_record, buffers_memscope_first)
{
	buffers(false, "buf-first");
}

Test(v8_record, buffers_attached_to_a_big_heap)
{
	buffers(true, "buf-attach");
}

Test(v8_record, bounded_lru_is_stable)
{
	struct run r = { .workload = "v8_lru_cache", .mib = "2400", .seconds = "24",
			 .stop_after = 7.5, .warm = 8 };

	run(&r, "lru");
	cr_expect_str_eq(r.verdict, "stable", "LRU judged '%s'\n%s", r.summary, read_text(r.err));
	free_run(&r);
}

/* ---- issue 16: verdicts right on every run ------------------------------------- */

/* 300 MiB of JS objects in 5 s, then the load ends and the window goes on:
 * growth that stopped, never "stable", never "native". */
static void early_end(int i, char *verdict, size_t len)
{
	struct run r = { .workload = "v8_map_cache", .mib = "300", .seconds = "5", .idle = 8 };
	char tag[32];

	snprintf(tag, sizeof(tag), "early-end-%d", i);
	run(&r, tag);
	cr_log_info("run %d: %s (v8-heap %+.1f MiB, native %+.1f MiB)", i, r.summary,
		    r.v8 / MIB, r.native / MIB);
	cr_expect_str_eq(r.verdict, "V8 heap growth", "run %d: '%s'\n%s", i, r.summary,
			 read_text(r.err));
	cr_expect(strstr(r.summary, "stopped growing at t="), "run %d: '%s'", i, r.summary);
	snprintf(verdict, len, "%s", r.verdict);
	free_run(&r);
}

Test(v8_verdicts, load_that_ends_early_five_times_the_same, .timeout = 600)
{
	char first[64], again[64];

	early_end(0, first, sizeof(first));
	for (int i = 1; i < 5; i++) {
		early_end(i, again, sizeof(again));
		cr_expect_str_eq(again, first, "run %d differs from run 0", i);
	}
}

/* 100 MiB kept 3 s into the window, in about a second, then held until the
 * window closes 14 s after it opened. */
static void late_hundred(const char *workload, const char *want,
			 double node_says(const struct run *))
{
	struct run r = { .workload = workload, .mib = "100", .seconds = "1", .go_after = 3,
			 .idle = 10 };
	double grew;

	run(&r, workload);
	grew = node_says(&r);
	cr_expect_str_eq(r.verdict, want, "'%s'\n%s", r.summary, read_text(r.err));
	/* That the workload did its part: node's used heap counts garbage
	 * until a collection, so it lands anywhere from ~65 to ~120 MiB. */
	cr_expect_geq(grew, 50 * MIB, "node kept only %.1f MiB", grew / MIB);
	free_run(&r);
}

/* What node says it kept over the load: live objects (committed pages can
 * come from space V8 had reserved before), or Buffers. */
static double heap_growth(const struct run *r)
{
	return r->end.used - r->start.used;
}

static double buffer_growth(const struct run *r)
{
	return r->end.array_buffers - r->start.array_buffers;
}

Test(v8_verdicts, hundred_mib_of_heap_late_in_the_window_is_growth)
{
	late_hundred("v8_map_cache", "V8 heap growth", heap_growth);
}

Test(v8_verdicts, hundred_mib_of_buffers_late_in_the_window_is_growth)
{
	late_hundred("v8_buffers", "native growth", buffer_growth);
}

/* A binary that embeds V8 without its OS layer's symbols: said per process,
 * and its anonymous growth is native. */
Test(v8_record, v8_without_symbols_is_unknown_runtime)
{
	struct run r = { .workload = "v8_stripped" };
	char cmd[4 * PATH_MAX], ready[PATH_MAX], runtime[64];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	pid_t rec;
	int status;

	paths(&r, "stripped");
	strcpy(ready, scratch_path("stripped.ready"));
	rec = start_memscope(&r);
	snprintf(cmd, sizeof(cmd), "echo $$ > %s && exec %s 48 %s", cg.procs,
		 WORKLOAD("v8_stripped"), ready);
	r.node = spawn(argv, NULL, NULL);
	cr_assert(wait_for_file(ready, 30), "the workload did not start");
	usleep(1500 * 1000);
	kill(rec, SIGINT);
	status = wait_exit(rec, 60);
	kill(r.node, SIGKILL);
	waitpid(r.node, NULL, 0);
	cr_assert_eq(status, 0, "memscope record failed (status %d):\n%s", status, read_text(r.err));
	r.json = read_text(r.report);
	cr_assert(growth_row(r.json, r.node, &r.row, &r.row_end), "no growth row:\n%s",
		  read_text(r.err));
	row_string(r.row, r.row_end, "runtime", runtime, sizeof(runtime));
	cr_expect_str_eq(runtime, "v8 without symbols (unknown runtime)");
	cr_expect(strstr(read_text(r.err), "V8 without its OS layer's symbols"),
		  "no warning for the process:\n%s", read_text(r.err));
	r.native = json_number(json_value(r.row, r.row_end, "growth_bytes"), r.row_end, "native");
	cr_expect_geq(r.native, 40 * MIB, "its memory is native: %.1f MiB", r.native / MIB);
	free_run(&r);
}

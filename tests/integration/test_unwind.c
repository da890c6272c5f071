/* Whole user stacks through code without frame pointers (user/symbols/unwind.h):
 * real workloads in a memory cgroup the test creates, their pages first
 * touched in frameless libc, libstdc++ and interpreter code. Each workload
 * waits for a start file, so the recording holds its growth and not its
 * start. Sampling one page in 16 weighs a sample 64 KiB: a single sample
 * on a wrong stack moves the share by 0.1% of 64 MiB.
 * Tolerances: >= 99% of a frame-pointer build's leak under main;leak_fn,
 * >= 95% for the plain -O2 build, the C++ program and python3. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static struct test_cgroup cg;

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(tcg_create(&cg, "unw", 0), 0, "cannot create a test memory cgroup");
}

static void teardown(void)
{
	tcg_destroy(&cg);
}

TestSuite(unwind, .init = setup, .fini = teardown, .timeout = 120);

struct run {
	char out[PATH_MAX], err[PATH_MAX], report[PATH_MAX];
	uint64_t total;		/* the workload's bytes in the recording */
};

/* Records the cgroup while the workload (argv, with its start and ready
 * files) grows, until it is ready. */
static void record(char *const argv[], const char *start, const char *ready, const char *tag,
		   struct run *r)
{
	char name[64];
	pid_t work, rec;
	int status;

	snprintf(name, sizeof(name), "%s.folded", tag);
	strcpy(r->out, scratch_path(name));
	snprintf(name, sizeof(name), "%s.err", tag);
	strcpy(r->err, scratch_path(name));
	snprintf(name, sizeof(name), "%s.json", tag);
	strcpy(r->report, scratch_path(name));

	work = spawn(argv, NULL, NULL);
	{
		char *rargv[] = { (char *)memscope_bin(), "record", "-c", cg.rel, "-d", "10", "-s",
				  "16", "-o", r->out, "--report", r->report, NULL };

		rec = spawn(rargv, NULL, r->err);
	}
	cr_assert(wait_for_text(r->err, "recording", 30), "memscope did not start:\n%s",
		  read_text(r->err));
	{
		FILE *f = fopen(start, "w");

		cr_assert_not_null(f);
		fclose(f);
	}
	cr_assert(wait_for_file(ready, 60), "%s did not finish growing", tag);
	status = wait_exit(rec, 60);
	kill(work, SIGKILL);
	waitpid(work, NULL, 0);
	cr_assert(status == 0, "memscope record failed (status %d):\n%s", status,
		  read_text(r->err));
	r->total = folded_sum(r->out, NULL);
	cr_assert_gt(r->total, 16 * MIB, "%s: only %.1f MiB recorded:\n%s", tag,
		     r->total / (double)MIB, read_text(r->out));
}

/* Share of the run's bytes on stacks that contain needle. */
static double share(const struct run *r, const char *needle)
{
	return folded_sum(r->out, needle) / (double)r->total;
}

static void log_heaviest(const struct run *r, const char *tag)
{
	char *text = read_text(r->out);

	cr_log_info("%s: %.1f MiB recorded; stacks:\n%.3000s", tag, r->total / (double)MIB,
		    text ? text : "");
	free(text);
}

static void malloc_leak(const char *bin, const char *tag, double want)
{
	char start[PATH_MAX], ready[PATH_MAX];
	char *argv[] = { (char *)bin, "-g", cg.procs, "-l", "64", "-w", start, "-r", ready, "-h",
			 "60", NULL };
	struct run r;
	double under;

	snprintf(start, sizeof(start), "%s", scratch_path("start"));
	snprintf(ready, sizeof(ready), "%s", scratch_path("ready"));
	record(argv, start, ready, tag, &r);
	under = share(&r, ";main;leak_fn");
	cr_log_info("%s: %.2f%% of %.1f MiB under main;leak_fn", tag, under * 100,
		    r.total / (double)MIB);
	if (under < want)
		log_heaviest(&r, tag);
	cr_expect_geq(under, want, "%s: %.2f%% under main;leak_fn, want >= %.0f%%", tag,
		      under * 100, want * 100);
}

/* Built with frame pointers, but libc is not: malloc's own first touches
 * (one page in 16) need the unwind through _int_malloc. */
Test(unwind, malloc_leak_frame_pointers)
{
	malloc_leak(WORKLOAD("mallocleak"), "fp", 0.99);
}

/* Plain -O2: no frame pointer in any frame. */
Test(unwind, malloc_leak_plain_O2)
{
	malloc_leak(WORKLOAD("mallocleak_o2"), "o2", 0.95);
}

/* libstdc++ (operator new, the map's insertion) under an -O2 program. */
Test(unwind, cxx_vector_and_map)
{
	char start[PATH_MAX], ready[PATH_MAX];
	char *argv[] = { WORKLOAD("cxxgrow"), "-g", cg.procs, "-l", "32", "-w", start, "-r",
			 ready, "-h", "60", NULL };
	struct run r;
	double vec, map;

	snprintf(start, sizeof(start), "%s", scratch_path("start"));
	snprintf(ready, sizeof(ready), "%s", scratch_path("ready"));
	record(argv, start, ready, "cxx", &r);
	vec = share(&r, ";main;grow_vector");
	map = share(&r, ";main;grow_map");
	cr_log_info("cxx: %.2f%% under main;grow_vector, %.2f%% under main;grow_map, %.2f%% "
		    "through operator new", vec * 100, map * 100, share(&r, ";operator_new(") * 100);
	if (vec + map < 0.95)
		log_heaviest(&r, "cxx");
	cr_expect_geq(vec + map, 0.95, "%.2f%% under main;grow_*", (vec + map) * 100);
	cr_expect_geq(vec, 0.25, "the vector's growth: %.2f%%", vec * 100);
	cr_expect_geq(map, 0.25, "the map's growth: %.2f%%", map * 100);
	cr_expect_geq(share(&r, ";operator_new("), 0.5, "libstdc++'s operator new not in the stacks");
}

/* Debian's python3: no frame pointers, the interpreter's frames between
 * Py_RunMain and the allocator. */
Test(unwind, python_list_of_objects)
{
	char start[PATH_MAX], ready[PATH_MAX], script[PATH_MAX];
	char *argv[] = { "/usr/bin/python3", script, cg.procs, start, ready, "48", "60", NULL };
	struct run r;
	double runmain;

	if (access("/usr/bin/python3", X_OK))
		cr_skip_test("no /usr/bin/python3 (apt-get install python3)");
	cr_assert_not_null(realpath("tests/workloads/pygrow.py", script));
	snprintf(start, sizeof(start), "%s", scratch_path("start"));
	snprintf(ready, sizeof(ready), "%s", scratch_path("ready"));
	record(argv, start, ready, "py", &r);
	runmain = share(&r, ";Py_RunMain;");
	cr_log_info("python3: %.2f%% of %.1f MiB under Py_RunMain, %.2f%% under main", runmain * 100,
		    r.total / (double)MIB, share(&r, ";main;") * 100);
	if (runmain < 0.95)
		log_heaviest(&r, "py");
	cr_expect_geq(runmain, 0.95, "%.2f%% under Py_RunMain", runmain * 100);
	cr_expect_geq(share(&r, ";_PyEval_EvalFrameDefault;"), 0.95,
		      "the interpreter's frames are missing");
}

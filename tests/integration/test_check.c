/* memscope check against real cgroups, with an 8 s window (warm-up: the
 * first 4 s): a grower touching GROW_MIB_S every second fails a bound of a
 * tenth of that rate, and the verdict names the slope within ±25% (the
 * workload paces itself against the clock; the margin is for a loaded host);
 * a flat one passes a bound of 5 MiB/min; a cgroup that does not exist and
 * a missing bound are errors (exit 2). */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define GROW_MIB_S	4
#define WINDOW		"8"

static struct test_cgroup cg;
static pid_t workload;

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(tcg_create(&cg, "check", 0), 0, "cannot create a test memory cgroup");
}

static void teardown(void)
{
	if (workload > 0) {
		kill(workload, SIGKILL);
		waitpid(workload, NULL, 0);
		workload = 0;
	}
	tcg_destroy(&cg);
}

TestSuite(check, .init = setup, .fini = teardown, .timeout = 90);

/* A grower in the test cgroup, back once its initial memory is touched. */
static void start_grower(const char *initial_mib, const char *rate_mib_s)
{
	char ready[PATH_MAX];
	char *argv[] = { WORKLOAD("grower"), "-g", cg.procs, "-i", (char *)initial_mib, "-r",
			 (char *)rate_mib_s, "-d", "60", "-h", "120", "-R", ready, NULL };

	snprintf(ready, sizeof(ready), "%s", scratch_path("grower.ready"));
	unlink(ready);
	workload = spawn(argv, NULL, NULL);
	cr_assert(wait_for_file(ready, 30), "grower did not start");
}

/* Runs memscope check ARGS...; its exit code, stdout and stderr. */
static int run_check(char **out, char **err, ...)
{
	char out_file[PATH_MAX], err_file[PATH_MAX];
	char *argv[24] = { (char *)memscope_bin(), "check" };
	size_t n = 2;
	va_list ap;
	int status;

	va_start(ap, err);
	for (char *a; n < 22 && (a = va_arg(ap, char *));)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	snprintf(out_file, sizeof(out_file), "%s", scratch_path("check.out"));
	snprintf(err_file, sizeof(err_file), "%s", scratch_path("check.err"));
	status = wait_exit(spawn(argv, out_file, err_file), 60);
	*out = read_text(out_file);
	*err = read_text(err_file);
	cr_assert(*out && *err);
	cr_assert(WIFEXITED(status), "memscope check did not exit (status %d):\n%s", status, *err);
	return WEXITSTATUS(status);
}

Test(check, growth_fails)
{
	char rate[16], bound[32], *out, *err, *verdict;
	double slope = 0;
	int code;

	snprintf(rate, sizeof(rate), "%d", GROW_MIB_S);
	snprintf(bound, sizeof(bound), "%dMiB/min", GROW_MIB_S * 6);
	start_grower("16", rate);
	code = run_check(&out, &err, "-c", cg.rel, "-d", WINDOW, "--max-growth", bound, NULL);
	cr_assert_eq(code, 1, "exit %d, want 1 (grew):\n%s\n%s", code, out, err);
	verdict = strstr(out, "FAIL: ");
	cr_assert(verdict && strstr(verdict, cg.rel), "no verdict naming %s:\n%s", cg.rel, out);
	cr_assert(sscanf(strstr(verdict, " grew ") ?: "", " grew %lf MiB/min", &slope) == 1,
		  "the verdict does not name the growth:\n%s", out);
	cr_log_info("grew %.1f MiB/min (grower paced at %d)", slope, GROW_MIB_S * 60);
	cr_expect(slope > GROW_MIB_S * 60 * 0.75 && slope < GROW_MIB_S * 60 * 1.25,
		  "slope %.1f MiB/min, paced at %d:\n%s", slope, GROW_MIB_S * 60, out);
	/* The class split and the stacks that hold the growth. */
	cr_expect(strstr(out, "native growth"), "no class split:\n%s", out);
	cr_expect(strstr(out, "top stacks"), "no top stacks:\n%s", out);
	cr_expect(strstr(out, ";grower;[native];") && strstr(out, "main"),
		  "the grower's stack is not among the top stacks:\n%s", out);
	free(out);
	free(err);
}

Test(check, plateau_passes)
{
	char *out, *err;
	int code;

	start_grower("32", "0");
	code = run_check(&out, &err, "-c", cg.rel, "-d", WINDOW, "--max-growth", "5MiB/min",
			 NULL);
	cr_assert_eq(code, 0, "exit %d, want 0 (plateaued):\n%s\n%s", code, out, err);
	cr_expect(strstr(out, "PASS: ") && strstr(out, cg.rel), "%s", out);
	cr_expect_null(strstr(out, "top stacks"), "stacks printed for a pass:\n%s", out);
	free(out);
	free(err);
}

Test(check, errors_exit_2)
{
	char *out, *err;
	int code;

	code = run_check(&out, &err, "-c", "/memscope-test-no-such-cgroup", "-d", WINDOW,
			 "--max-growth", "5MiB/min", NULL);
	cr_expect_eq(code, 2, "bad cgroup: exit %d:\n%s", code, err);
	cr_expect(strstr(err, "memscope-test-no-such-cgroup"), "%s", err);
	free(out);
	free(err);

	code = run_check(&out, &err, "-c", cg.rel, "-d", WINDOW, NULL);
	cr_expect_eq(code, 2, "no bound: exit %d:\n%s", code, err);
	cr_expect(strstr(err, "--max-growth"), "%s", err);
	free(out);
	free(err);

	code = run_check(&out, &err, "-c", cg.rel, "--max-growth", "5MB/min", NULL);
	cr_expect_eq(code, 2, "bad rate: exit %d:\n%s", code, err);
	free(out);
	free(err);
}

/* memscope record --format pprof, read by the Go toolchain's pprof (Debian's
 * golang-go, installed by `make deps`): the leaker's leak_fn is reported with
 * the bytes it leaked, within ±10% (the tolerance of test_record.c: stacks
 * are scaled to the process's exact total), and the profile carries the
 * labels and the mappings' build ids. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define GO		"/usr/bin/go"
#define LEAK_MIB	128
#define CHURN_MIB	256

static struct test_cgroup cg;

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(access(GO, X_OK), 0, GO " is missing: install golang-go (sudo make deps)");
	cr_assert_eq(tcg_create(&cg, "pprof", 0), 0, "cannot create a test memory cgroup");
}

static void teardown(void)
{
	tcg_destroy(&cg);
}

TestSuite(pprof, .init = setup, .fini = teardown, .timeout = 120);

static const char *scratch_file(const char *tag, const char *suffix)
{
	char name[128];

	snprintf(name, sizeof(name), "%s%s", tag, suffix);
	return scratch_path(name);
}

/* Records the leaker in cg into a profile; extra options after the others. */
static void record_leaker(const char *profile, const char *tag, char *extra)
{
	char err[PATH_MAX], ready[PATH_MAX], leak[16], churn[16];
	char *rec_argv[] = { (char *)memscope_bin(), "record", "-c", cg.rel, "-d", "6", "-f",
			     "pprof", "-o", (char *)profile, extra, NULL };
	char *leaker_argv[] = { WORKLOAD("leaker"), "-g", cg.procs, "-l", leak, "-c", churn, "-h",
				"30", "-r", ready, NULL };
	pid_t rec, leaker;
	int status;

	snprintf(err, sizeof(err), "%s", scratch_file(tag, ".err"));
	snprintf(ready, sizeof(ready), "%s", scratch_file(tag, ".ready"));
	snprintf(leak, sizeof(leak), "%d", LEAK_MIB);
	snprintf(churn, sizeof(churn), "%d", CHURN_MIB);
	rec = spawn(rec_argv, NULL, err);
	cr_assert(wait_for_text(err, "recording", 30), "memscope did not start:\n%s",
		  read_text(err));
	leaker = spawn(leaker_argv, NULL, NULL);
	cr_assert(wait_for_file(ready, 60), "leaker did not finish its work");
	status = wait_exit(rec, 60);
	kill(leaker, SIGKILL);
	waitpid(leaker, NULL, 0);
	cr_assert(status == 0, "memscope record failed (status %d):\n%s", status, read_text(err));
	cr_assert(strstr(read_text(err), "wrote a pprof profile"), "%s", read_text(err));
}

/* go tool pprof ARGS... PROFILE; its standard output (malloc'd). */
static char *go_pprof(const char *profile, const char *tag, ...)
{
	char out[PATH_MAX], err[PATH_MAX];
	char *argv[16] = { GO, "tool", "pprof" };
	size_t n = 3;
	va_list ap;
	int status;

	va_start(ap, tag);
	for (char *a; n < 14 && (a = va_arg(ap, char *));)
		argv[n++] = a;
	va_end(ap);
	argv[n++] = (char *)profile;
	argv[n] = NULL;
	snprintf(out, sizeof(out), "%s", scratch_file(tag, ""));
	snprintf(err, sizeof(err), "%s", scratch_file(tag, ".err"));
	status = wait_exit(spawn(argv, out, err), 60);
	cr_assert(status == 0, "go tool pprof failed (status %d):\n%s", status, read_text(err));
	return read_text(out);
}

/* The cum column of the -top -unit=B line of function fn; -1 when absent.
 *       flat  flat%   sum%        cum   cum%
 *          0     0%   100% 134217728B   100%  leak_fn */
static long long top_cum(const char *top, const char *fn)
{
	const char *line = top;

	while (line && *line) {
		char flat[32], flatp[32], sum[32], cum[32], cump[32], name[256];
		const char *next = strchr(line, '\n');

		if (sscanf(line, "%31s %31s %31s %31s %31s %255s", flat, flatp, sum, cum, cump,
			   name) == 6 && !strcmp(name, fn) && isdigit((unsigned char)cum[0]))
			return strtoll(cum, NULL, 10);
		line = next ? next + 1 : NULL;
	}
	return -1;
}

static void expect_leak(const char *top, const char *what)
{
	long long leak = top_cum(top, "leak_fn");

	cr_log_info("%s: leak_fn %.1f MiB (expect %d)", what, leak / (double)MIB, LEAK_MIB);
	cr_expect_geq(leak, LEAK_MIB * MIB * 0.9, "%s: leak_fn under-counted:\n%s", what, top);
	cr_expect_leq(leak, LEAK_MIB * MIB * 1.1, "%s: leak_fn over-counted:\n%s", what, top);
}

Test(pprof, go_pprof_reads_the_leak)
{
	char profile[PATH_MAX], leaker_map[PATH_MAX + 32];
	char *top, *tags, *raw, *line;
	long long churn;
	bool build_id = false;

	snprintf(profile, sizeof(profile), "%s", scratch_path("out.pb.gz"));
	record_leaker(profile, "outstanding", NULL);

	top = go_pprof(profile, "top.txt", "-top", "-cum", "-sample_index=inuse_space", "-unit=B",
		       NULL);
	cr_expect(strstr(top, "Type: inuse_space"), "%s", top);
	expect_leak(top, "inuse_space");
	churn = top_cum(top, "churn_fn");
	cr_expect_lt(churn, CHURN_MIB * MIB * 0.05, "churn_fn kept %lld bytes:\n%s", churn, top);

	top = go_pprof(profile, "alloc.txt", "-top", "-cum", "-sample_index=alloc_space",
		       "-unit=B", NULL);
	churn = top_cum(top, "churn_fn");
	cr_expect_geq(churn, CHURN_MIB * MIB * 0.9, "churn_fn allocated %lld bytes:\n%s", churn,
		      top);

	tags = go_pprof(profile, "tags.txt", "-tags", NULL);
	cr_expect(strstr(tags, "container:") && strstr(tags, cg.rel), "no container label:\n%s",
		  tags);
	cr_expect(strstr(tags, "comm:") && strstr(tags, "leaker"), "no comm label:\n%s", tags);
	cr_expect(strstr(tags, "pid:"), "no pid label:\n%s", tags);
	cr_expect(strstr(tags, "class:") && strstr(tags, "native"), "no class label:\n%s", tags);

	/* Mappings: "3: 0x124c/0x14d9/0x0 /path/leaker 43105fb8...6294 [FN]" */
	raw = go_pprof(profile, "raw.txt", "-raw", NULL);
	snprintf(leaker_map, sizeof(leaker_map), "/%s ", WORKLOAD("leaker"));
	for (line = strstr(raw, "\nMappings\n"); line && (line = strchr(line + 1, '\n'));) {
		const char *at = strstr(line, leaker_map);
		const char *eol = strchr(line + 1, '\n');
		size_t hex;

		if (!at || (eol && at > eol))
			continue;
		at += strlen(leaker_map);
		hex = strspn(at, "0123456789abcdef");
		build_id = hex == 40 && strstr(at, "[FN]") && (!eol || strstr(at, "[FN]") < eol);
		break;
	}
	cr_expect(build_id, "no mapping of %s with its build id and functions:\n%s",
		  WORKLOAD("leaker"), raw);
	free(top);
	free(tags);
	free(raw);
}

/* Without frees tracked nothing is "in use": alloc_space is the default. */
Test(pprof, allocated_mode)
{
	char profile[PATH_MAX];
	char *top;

	snprintf(profile, sizeof(profile), "%s", scratch_path("alloc.pb.gz"));
	record_leaker(profile, "allocated", "--mode=allocated");
	top = go_pprof(profile, "alloc-top.txt", "-top", "-cum", "-unit=B", NULL);
	cr_expect(strstr(top, "Type: alloc_space"), "default sample type:\n%s", top);
	expect_leak(top, "alloc_space");
	free(top);
}

Test(pprof, bad_format)
{
	char err[PATH_MAX];
	char *argv[] = { (char *)memscope_bin(), "record", "--format", "svg", NULL };
	int status;

	snprintf(err, sizeof(err), "%s", scratch_path("format.err"));
	status = wait_exit(spawn(argv, NULL, err), 10);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) != 0, "status %d", status);
	cr_expect(strstr(read_text(err), "--format is folded or pprof"), "%s", read_text(err));
}

/* memscope record's promises when things go wrong: bad input gets one clear
 * line and a non-zero exit with nothing written; a stop signal or a target
 * that exits still yields the evidence; no BPF program outlives memscope. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
}

TestSuite(record_errors, .init = need_root, .timeout = 120);

/* Runs memscope with args; returns its exit code, stderr in *err. */
static int run_memscope(char **args, char **err)
{
	const char *errf = scratch_path("err.txt");
	char *argv[32] = { (char *)memscope_bin() };
	int n = 1, status;

	for (; *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	status = wait_exit(spawn(argv, NULL, errf), 60);
	*err = read_text(errf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void expect_one_line_error(char **args, const char *needle)
{
	const char *out = scratch_path("never.folded");
	char *err = NULL;
	int rc;

	unlink(out);
	rc = run_memscope(args, &err);
	cr_expect_neq(rc, 0, "exit code 0 for a bad invocation");
	cr_expect(err && strstr(err, needle), "expected '%s' in:\n%s", needle, err);
	cr_expect(err && strchr(err, '\n') == strrchr(err, '\n'), "more than one line:\n%s", err);
	cr_expect_neq(access(out, F_OK), 0, "output written despite the error");
	free(err);
}

Test(record_errors, bad_values_and_unknown_targets)
{
	const char *out = scratch_path("never.folded");
	char *sample0[] = { "record", "--sample", "0", "-o", (char *)out, NULL };
	char *mode[] = { "record", "--mode", "sideways", "-o", (char *)out, NULL };
	char *dur[] = { "record", "-d", "-5", "-o", (char *)out, NULL };
	char *flag[] = { "record", "--no-such-flag", "-o", (char *)out, NULL };
	char *cg[] = { "record", "-c", "/no-such-cgroup-memscope", "-d", "1", "-o", (char *)out, NULL };
	char *cgid[] = { "record", "-c", "999999999", "-d", "1", "-o", (char *)out, NULL };
	char *pid[] = { "record", "-p", "1073741823", "-d", "1", "-o", (char *)out, NULL };
	char *cmd[] = { "recrod", NULL };

	expect_one_line_error(sample0, "--sample");
	expect_one_line_error(mode, "--mode");
	expect_one_line_error(dur, "-d");
	expect_one_line_error(flag, "record --help");
	expect_one_line_error(cg, "no-such-cgroup-memscope");
	expect_one_line_error(cgid, "999999999");
	expect_one_line_error(pid, "1073741823");
	expect_one_line_error(cmd, "unknown command");
}

Test(record_errors, unwritable_output_loses_nothing_else)
{
	char *report = (char *)scratch_path("report.json");
	char *args[] = { "record", "-d", "1", "-o", "/nonexistent-dir/x.folded", "--report", report, NULL };
	char *err = NULL;
	char *json;

	cr_expect_neq(run_memscope(args, &err), 0);
	cr_expect(err && strstr(err, "/nonexistent-dir/x.folded"), "%s", err);
	json = read_text(report);
	cr_expect(json && strstr(json, "\"losses\""), "the report must still be written");
	free(json);
	free(err);
}

Test(record_errors, refuses_to_run_without_privileges)
{
	const char *errf = scratch_path("noroot.txt");
	char *err;
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0666);

		dup2(fd, 2);
		if (setgid(65534) || setuid(65534))
			_exit(99);
		execl(memscope_bin(), memscope_bin(), "record", "-d", "1", "-o", "/dev/null", NULL);
		_exit(127);
	}
	status = wait_exit(pid, 30);
	err = read_text(errf);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 99,
		  "status %d", status);
	cr_expect(err && strstr(err, "needs root"), "%s", err);
	free(err);
}

/* IDs of loaded memscope page-allocator programs, as a bitmap over the
 * first 64k program ids (bpftool here cannot tell which process holds one). */
#define MAX_PROG_ID 65536
static void memscope_prog_ids(unsigned char *ids)
{
	FILE *p = popen("bpftool prog show 2>/dev/null", "r");
	char line[512];
	unsigned id;

	memset(ids, 0, MAX_PROG_ID / 8);
	while (p && fgets(line, sizeof(line), p))
		if (sscanf(line, "%u:", &id) == 1 && id < MAX_PROG_ID && strstr(line, "page_alloc_raw"))
			ids[id / 8] |= 1 << (id % 8);
	if (p)
		pclose(p);
}

/* Programs in `now` that were not in `before`. */
static int new_programs(const unsigned char *before, const unsigned char *now)
{
	int n = 0;

	for (int i = 0; i < MAX_PROG_ID / 8; i++)
		n += __builtin_popcount(now[i] & ~before[i]);
	return n;
}

static struct test_cgroup cg;

static void with_cgroup(void)
{
	need_root();
	cr_assert_eq(tcg_create(&cg, "err", 0), 0);
}

static void drop_cgroup(void) { tcg_destroy(&cg); }

Test(record_errors, sigint_flushes_and_detaches, .init = with_cgroup, .fini = drop_cgroup)
{
	char *out = (char *)scratch_path("sigint.folded"), *errf = (char *)scratch_path("sigint.err");
	char *ready = (char *)scratch_path("sigint.ready");
	char *rec_argv[] = { (char *)memscope_bin(), "record", "-c", cg.rel, "-d", "300", "-o", out, NULL };
	char *leak_argv[] = { WORKLOAD("leaker"), "-g", cg.procs, "-l", "64", "-c", "0", "-h", "30",
			      "-r", ready, NULL };
	static unsigned char before[MAX_PROG_ID / 8], during[MAX_PROG_ID / 8], after[MAX_PROG_ID / 8];
	pid_t rec, leaker;
	int status;

	memscope_prog_ids(before);
	rec = spawn(rec_argv, NULL, errf);
	cr_assert(wait_for_text(errf, "recording", 30), "%s", read_text(errf));
	memscope_prog_ids(during);
	cr_assert_gt(new_programs(before, during), 0, "cannot see memscope's programs with bpftool");
	leaker = spawn(leak_argv, NULL, NULL);
	cr_assert(wait_for_file(ready, 30));
	kill(rec, SIGINT);
	status = wait_exit(rec, 30);
	kill(leaker, SIGKILL);
	waitpid(leaker, NULL, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d:\n%s", status,
		  read_text(errf));
	cr_expect_geq(folded_sum(out, ";leak_fn;"), 64 * MIB * 0.9, "evidence lost on SIGINT");
	memscope_prog_ids(after);
	cr_expect_eq(new_programs(before, after), 0, "BPF programs left loaded after exit");
}

/* The target exits mid-window: its stacks are still named (symbols were
 * captured while it lived) and -p ends the window once it is gone. */
Test(record_errors, exited_target_is_still_symbolized, .init = with_cgroup, .fini = drop_cgroup)
{
	char *out = (char *)scratch_path("exit.folded"), *errf = (char *)scratch_path("exit.err");
	char *go = (char *)scratch_path("exit.go");
	char *leak_argv[] = { WORKLOAD("leaker"), "-g", cg.procs, "-l", "32", "-c", "64", "-h", "0.5",
			      "-w", go, NULL };
	char pid[16];
	char *rec_argv[] = { (char *)memscope_bin(), "record", "-p", pid, "--mode", "allocated",
			     "-d", "120", "-o", out, NULL };
	pid_t rec, leaker;
	int status, fd;

	leaker = spawn(leak_argv, NULL, NULL);
	snprintf(pid, sizeof(pid), "%d", leaker);
	rec = spawn(rec_argv, NULL, errf);
	cr_assert(wait_for_text(errf, "recording", 30), "%s", read_text(errf));
	fd = open(go, O_WRONLY | O_CREAT, 0600);
	close(fd);
	waitpid(leaker, NULL, 0);
	status = wait_exit(rec, 30);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d:\n%s", status,
		  read_text(errf));
	cr_expect(wait_for_text(errf, "has exited", 1), "%s", read_text(errf));
	cr_expect_geq(folded_sum(out, ";leak_fn;"), 32 * MIB * 0.8, "leak_fn not named after exit");
	cr_expect_geq(folded_sum(out, ";churn_fn;"), 64 * MIB * 0.8, "churn_fn not named after exit");
}

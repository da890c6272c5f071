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

/* The BPF programs a process holds, from its fds' fdinfo ("prog_id: N"). */
static int held_programs(pid_t pid, unsigned *ids, int max)
{
	char path[64], line[128];
	int n = 0;

	for (int fd = 0; fd < 1024 && n < max; fd++) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f) && n < max)
			if (sscanf(line, "prog_id: %u", &ids[n]) == 1)
				n++;
		fclose(f);
	}
	return n;
}

/* The kernel frees a program after its last reference goes, from RCU and a
 * workqueue: give it a few seconds on a busy machine. */
static bool program_exists(unsigned id)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "bpftool prog show id %u >/dev/null 2>&1", id);
	for (int tries = 0; tries < 50; tries++) {
		if (system(cmd) != 0)
			return false;
		usleep(100 * 1000);
	}
	return true;
}

/* Once attached, memscope keeps only the capabilities it still uses:
 * dac_override(1) dac_read_search(2) sys_ptrace(19) sys_admin(21)
 * perfmon(38) bpf(39) checkpoint_restore(40), and can never regain more. */
static void expect_least_privilege(pid_t pid)
{
	char path[64], *status, *p;
	unsigned long long eff = ~0ULL, bnd = ~0ULL;
	int nnp = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	status = read_text(path);
	cr_assert_not_null(status);
	if ((p = strstr(status, "CapEff:")))
		sscanf(p, "CapEff: %llx", &eff);
	if ((p = strstr(status, "CapBnd:")))
		sscanf(p, "CapBnd: %llx", &bnd);
	if ((p = strstr(status, "NoNewPrivs:")))
		sscanf(p, "NoNewPrivs: %d", &nnp);
	free(status);
	cr_expect_eq(eff, 0x1c000280006ULL, "effective capabilities %llx", eff);
	cr_expect_eq(bnd & ~0x1c000280006ULL, 0, "bounding set still holds %llx", bnd);
	cr_expect_eq(nnp, 1, "no_new_privs not set");
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
	unsigned progs[64];
	pid_t rec, leaker;
	int status, nprogs;

	rec = spawn(rec_argv, NULL, errf);
	cr_assert(wait_for_text(errf, "recording", 30), "%s", read_text(errf));
	nprogs = held_programs(rec, progs, 64);
	cr_assert_geq(nprogs, 3, "memscope holds %d BPF programs", nprogs);
	expect_least_privilege(rec);
	leaker = spawn(leak_argv, NULL, NULL);
	cr_assert(wait_for_file(ready, 30));
	kill(rec, SIGINT);
	status = wait_exit(rec, 30);
	kill(leaker, SIGKILL);
	waitpid(leaker, NULL, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d:\n%s", status,
		  read_text(errf));
	cr_expect_geq(folded_sum(out, ";leak_fn;"), 64 * MIB * 0.9, "evidence lost on SIGINT");
	for (int i = 0; i < nprogs; i++)
		cr_expect(!program_exists(progs[i]), "BPF program %u left loaded after exit", progs[i]);
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
	/* Every page sampled: this is about names after exit, not sampling error
	 * (96 MiB at one page in 256 is ~380 samples, and the split varies). */
	char *rec_argv[] = { (char *)memscope_bin(), "record", "-p", pid, "--mode", "allocated",
			     "--sample", "1", "-d", "120", "-o", out, NULL };
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

/* SIGTERM (what an orchestrator sends) and SIGHUP (a closed terminal) end the
 * window like Ctrl-C: the output is written, the exit is clean. Two
 * recordings at once each see the same leak: nothing is shared between
 * instances. */
static void two_recordings_one_signal_each(int sig_a, int sig_b)
{
	char *out_a = strdup(scratch_path("a.folded")), *out_b = strdup(scratch_path("b.folded"));
	char *err_a = strdup(scratch_path("a.err")), *err_b = strdup(scratch_path("b.err"));
	char *ready = strdup(scratch_path("ab.ready"));
	char *rec_a[] = { (char *)memscope_bin(), "record", "-c", cg.rel, "-d", "300", "-o", out_a, NULL };
	char *rec_b[] = { (char *)memscope_bin(), "record", "-c", cg.rel, "-d", "300", "-o", out_b, NULL };
	char *leak_argv[] = { WORKLOAD("leaker"), "-g", cg.procs, "-l", "64", "-c", "0", "-h", "30",
			      "-r", ready, NULL };
	pid_t a, b, leaker;
	int sa, sb;

	a = spawn(rec_a, NULL, err_a);
	b = spawn(rec_b, NULL, err_b);
	cr_assert(wait_for_text(err_a, "recording", 30), "%s", read_text(err_a));
	cr_assert(wait_for_text(err_b, "recording", 30), "%s", read_text(err_b));
	leaker = spawn(leak_argv, NULL, NULL);
	cr_assert(wait_for_file(ready, 30));
	kill(a, sig_a);
	kill(b, sig_b);
	sa = wait_exit(a, 30);
	sb = wait_exit(b, 30);
	kill(leaker, SIGKILL);
	waitpid(leaker, NULL, 0);
	cr_assert(WIFEXITED(sa) && WEXITSTATUS(sa) == 0, "first: status %d\n%s", sa, read_text(err_a));
	cr_assert(WIFEXITED(sb) && WEXITSTATUS(sb) == 0, "second: status %d\n%s", sb, read_text(err_b));
	cr_expect_geq(folded_sum(out_a, ";leak_fn;"), 64 * MIB * 0.9, "first lost the leak");
	cr_expect_geq(folded_sum(out_b, ";leak_fn;"), 64 * MIB * 0.9, "second lost the leak");
	free(out_a), free(out_b), free(err_a), free(err_b), free(ready);
}

Test(record_errors, sigterm_and_sighup_flush_two_concurrent_recordings, .init = with_cgroup,
     .fini = drop_cgroup)
{
	two_recordings_one_signal_each(SIGTERM, SIGHUP);
}

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"

static FILE *text_file(const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");

	cr_assert_not_null(f);
	return f;
}

Test(child, parse_rss)
{
	FILE *f = text_file("Name:\tx\nVmPeak:\t  9999 kB\nVmRSS:\t   10240 kB\nThreads:\t1\n");
	long kib = 0;

	cr_assert_eq(child__parse_rss(f, &kib), 0);
	fclose(f);
	cr_expect_eq(kib, 10240);
	f = text_file("Name:\tkthread\nThreads:\t1\n");
	cr_expect_eq(child__parse_rss(f, &kib), -ENOENT);
	fclose(f);
	f = text_file("VmRSS:\t-5 kB\n");
	cr_expect_eq(child__parse_rss(f, &kib), -EINVAL);
	fclose(f);
	f = text_file("VmRSS:\t5 MB\n");
	cr_expect_eq(child__parse_rss(f, &kib), -EINVAL);
	fclose(f);
}

Test(child, cpu_ns_sums_threads_and_falls_back_to_stat)
{
	char root[] = "/tmp/child-test-XXXXXX", p[256], cmd[300];
	const char *dirs[] = { "7", "7/task", "7/task/7", "7/task/8", "7/task/9" };
	uint64_t ns = 0;
	FILE *f;

	cr_assert_not_null(mkdtemp(root));
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
		cr_assert_eq(mkdir(p, 0755), 0);
	}
	snprintf(p, sizeof(p), "%s/7/task/7/schedstat", root);
	f = fopen(p, "w");
	fputs("1000 5 2\n", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/7/task/8/schedstat", root);
	f = fopen(p, "w");
	fputs("234 1 1\n", f);
	fclose(f);
	/* No schedstat: utime 3 + stime 2 ticks, from after the last ')'. */
	snprintf(p, sizeof(p), "%s/7/task/9/stat", root);
	f = fopen(p, "w");
	fputs("9 (a) b) c) S 1 9 9 0 -1 4194560 100 0 0 0 3 2 0 0 20 0 1 0 100\n", f);
	fclose(f);
	cr_assert_eq(child__cpu_ns(root, 7, &ns), 0);
	cr_expect_eq(ns, 1234 + 5 * (1000000000ULL / sysconf(_SC_CLK_TCK)));
	cr_expect_neq(child__cpu_ns(root, 8, &ns), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_expect_eq(system(cmd), 0);
}

Test(child, spawn_wait_rusage_and_output)
{
	char out[] = "/tmp/child-out-XXXXXX";
	char *argv[] = { "sh", "-c", "echo hello; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done",
			 NULL };
	struct child_opts o = { .out = out };
	struct child_result r;
	char buf[16] = "";
	pid_t pid;
	FILE *f;
	int fd = mkstemp(out);

	cr_assert_geq(fd, 0);
	close(fd);
	pid = child__spawn(argv, &o);
	cr_assert_gt(pid, 0);
	cr_assert_eq(child__wait(pid, 30, &r), 0);
	cr_expect(child__exited_ok(&r));
	cr_expect_gt(r.wall_s, 0);
	cr_expect_gt(r.user_s + r.sys_s, 0, "a busy loop used some CPU");
	cr_expect_gt(r.maxrss_kib, 0);
	f = fopen(out, "r");
	cr_assert(fgets(buf, sizeof(buf), f));
	fclose(f);
	cr_expect_str_eq(buf, "hello\n");
	unlink(out);
}

Test(child, timeout_stop_and_exit_codes)
{
	char *sleeper[] = { "sleep", "30", NULL }, *missing[] = { "/nonexistent/prog", NULL };
	struct child_result r;
	pid_t pid = child__spawn(sleeper, NULL);
	long kib = 0;

	cr_assert_gt(pid, 0);
	cr_expect_eq(child__wait(pid, 0.2, &r), -ETIMEDOUT);
	cr_expect_not(child__exited(pid));
	cr_expect_eq(child__rss_kib("/proc", pid, &kib), 0);
	cr_expect_gt(kib, 0);
	cr_expect_eq(child__stop(pid, SIGTERM, 5, &r), 0);
	cr_expect(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGTERM);
	pid = child__spawn(missing, NULL);
	cr_assert_gt(pid, 0);
	cr_assert_eq(child__wait(pid, 10, &r), 0);
	cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 127);
	cr_expect_not(child__exited_ok(&r));
}

Test(child, joining_a_missing_cgroup_fails_before_exec)
{
	char *argv[] = { "true", NULL };
	struct child_opts o = { .cgroup_procs = "/nonexistent/cgroup.procs" };
	struct child_result r;
	pid_t pid = child__spawn(argv, &o);

	cr_assert_gt(pid, 0);
	cr_assert_eq(child__wait(pid, 10, &r), 0);
	cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 126);
}

Test(child, smaps_split)
{
	FILE *f = text_file(
		"55d0c0000000-55d0c0021000 rw-p 00000000 00:00 0                          [heap]\n"
		"Size:                132 kB\n"
		"Rss:                 100 kB\n"
		"AnonHugePages:         0 kB\n"
		"7fede2c9b000-7fede5e9b000 rw-s 00000000 00:10 1051                       "
		"anon_inode:bpf-map\n"
		"Size:              51200 kB\n"
		"Rss:               51200 kB\n"
		"VmFlags: rd wr sh mr mw me ms sd\n"
		"7fede68e0000-7fede68e1000 rw-p 00000000 00:00 0 \n"
		"Rss:                   4 kB\n"
		"Rss:                  -4 kB\n");
	long rss = 0, bpf = 0;

	cr_assert_eq(child__parse_smaps(f, &rss, &bpf), 0);
	fclose(f);
	cr_expect_eq(rss, 51304);
	cr_expect_eq(bpf, 51200);
	f = text_file("garbage\n");
	cr_expect_eq(child__parse_smaps(f, &rss, &bpf), -ENOENT);
	fclose(f);
}

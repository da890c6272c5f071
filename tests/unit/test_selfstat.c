#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fixture_tree.h"
#include "selfstat.h"

static struct fixture_tree tree;

static void setup(void)
{
	ftree_init(&tree);
}

static void teardown(void)
{
	ftree_remove(&tree);
}

TestSuite(selfstat, .init = setup, .fini = teardown);

Test(selfstat, own_cpu_and_rss)
{
	struct selfstat s;
	volatile double x = 0;

	/* Some CPU time to see. */
	for (int i = 0; i < 2000000; i++)
		x += i;
	cr_assert_gt(x, 0);
	cr_assert_eq(selfstat__read("/proc", &s), 0);
	cr_expect_gt(s.rss_bytes, 0);
	cr_expect_gt(s.cpu_seconds, 0);
	/* A proc tree without us: the RSS is unknown. */
	cr_expect_eq(selfstat__read(tree.root, &s), -ENOENT);
}

Test(selfstat, rss_from_a_fixture_status)
{
	char rel[64], status[256];
	struct selfstat s;

	snprintf(rel, sizeof(rel), "/%d/status", getpid());
	snprintf(status, sizeof(status), "Name:\tmemscope\nTgid:\t%d\nVmRSS:\t  2048 kB\n", getpid());
	ftree_write(&tree, rel, status, (size_t)-1);
	cr_assert_eq(selfstat__read(tree.root, &s), 0);
	cr_expect_eq(s.rss_bytes, 2048 * 1024);
	ftree_write(&tree, rel, "Name:\tmemscope\n", (size_t)-1);
	cr_expect_eq(selfstat__read(tree.root, &s), -EINVAL, "no VmRSS line");
}

Test(selfstat, merge_sorts_and_adds_up_by_name)
{
	struct selfstat_prog out[3];
	const struct selfstat_prog in[] = {
		{ "on_free", 10, 1, 0 }, { "on_alloc", 100, 2, 1 }, { "on_free", 5, 3, 2 },
		{ "", 1, 1, 0 }, { "on_oom", 1, 1, 0 },
	};
	size_t n = 0;

	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(selfstat__merge_prog(out, &n, 3, &in[i]), 0);
	cr_assert_eq(n, 3);
	cr_expect_str_eq(out[0].name, "");
	cr_expect_str_eq(out[1].name, "on_alloc");
	cr_expect_str_eq(out[2].name, "on_free");
	cr_expect_eq(out[2].run_time_ns, 15);
	cr_expect_eq(out[2].run_cnt, 4);
	cr_expect_eq(out[2].recursion_misses, 2);
	cr_expect_eq(selfstat__merge_prog(out, &n, 3, &in[4]), -ENOSPC);
	cr_expect_eq(selfstat__merge_prog(out, &n, 3, &in[1]), 0, "a known name still adds up");
	cr_expect_eq(out[1].run_time_ns, 200);
}

Test(selfstat, bpf_stats_sysctl)
{
	ftree_write(&tree, "/on", "1\n", (size_t)-1);
	ftree_write(&tree, "/off", "0\n", (size_t)-1);
	ftree_write(&tree, "/junk", "yes please\n", (size_t)-1);
	cr_expect_eq(selfstat__bpf_stats_enabled(ftree_path(&tree, "/on")), 1);
	cr_expect_eq(selfstat__bpf_stats_enabled(ftree_path(&tree, "/off")), 0);
	cr_expect_eq(selfstat__bpf_stats_enabled(ftree_path(&tree, "/junk")), -EINVAL);
	cr_expect_eq(selfstat__bpf_stats_enabled(ftree_path(&tree, "/missing")), -ENOENT);
}

Test(selfstat, fds_that_are_not_programs)
{
	struct selfstat_prog out[4];
	char target[64];

	ftree_mkdir(&tree, "/fd");
	cr_expect_eq(selfstat__bpf_progs(ftree_path(&tree, "/fd"), out, 4), 0);
	/* Named like a program, but our fd 0 is none: asking the kernel tells. */
	snprintf(target, sizeof(target), "%s", "anon_inode:bpf-prog");
	cr_assert_eq(symlink(target, ftree_path(&tree, "/fd/0")), 0);
	cr_assert_eq(symlink(target, ftree_path(&tree, "/fd/99999999999")), 0);
	cr_assert_eq(symlink("/dev/null", ftree_path(&tree, "/fd/1")), 0);
	cr_expect_eq(selfstat__bpf_progs(ftree_path(&tree, "/fd"), out, 4), 0);
	cr_expect_eq(selfstat__bpf_progs(ftree_path(&tree, "/nodir"), out, 4), -ENOENT);
}

/* Loads a two-instruction socket filter of our own (needs root). */
static int load_prog(const char *name)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, name, "GPL", insns, 2, NULL);
}

/* Runs prog n times: as a socket filter on the receiving end of a datagram pair. */
static void run_prog(int prog, int n)
{
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(setsockopt(sv[1], SOL_SOCKET, SO_ATTACH_BPF, &prog, sizeof(prog)), 0,
		     "%s", strerror(errno));
	for (int i = 0; i < n; i++)
		send(sv[0], "x", 1, MSG_DONTWAIT);
	close(sv[0]);
	close(sv[1]);
}

Test(selfstat, finds_our_own_programs_once_each)
{
	struct selfstat_prog out[SELFSTAT_PROGS_MAX];
	int a = load_prog("ms_test_a"), b, a2, stats;
	ssize_t n;
	int found_a = 0, found_b = 0;

	if (a < 0)
		cr_skip_test("cannot load a BPF program here (%s)", strerror(errno));
	b = load_prog("ms_test_b");
	a2 = dup(a);
	cr_assert(b >= 0 && a2 >= 0);
	/* Counted only while statistics are on; this holds them on until closed. */
	stats = bpf_enable_stats(BPF_STATS_RUN_TIME);
	cr_assert_geq(stats, 0, "%s", strerror(errno));
	run_prog(a, 3);
	close(stats);
	n = selfstat__bpf_progs("/proc/self/fd", out, SELFSTAT_PROGS_MAX);
	cr_assert_geq(n, 2);
	for (ssize_t i = 0; i < n; i++) {
		found_a += !strcmp(out[i].name, "ms_test_a");
		found_b += !strcmp(out[i].name, "ms_test_b");
		if (i)
			cr_expect_lt(strcmp(out[i - 1].name, out[i].name), 0, "not sorted");
		/* Held through two fds, counted once. */
		if (!strcmp(out[i].name, "ms_test_a"))
			cr_expect_eq(out[i].run_cnt, 3);
		if (!strcmp(out[i].name, "ms_test_b"))
			cr_expect_eq(out[i].run_cnt, 0);
	}
	cr_expect_eq(found_a, 1);
	cr_expect_eq(found_b, 1);
	close(a);
	close(a2);
	close(b);
	n = selfstat__bpf_progs("/proc/self/fd", out, SELFSTAT_PROGS_MAX);
	for (ssize_t i = 0; i < n; i++)
		cr_expect_str_neq(out[i].name, "ms_test_a", "closed programs are gone");
}

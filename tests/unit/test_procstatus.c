#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fixture_tree.h"
#include "procstatus.h"

/* A process in a container (pid 1 in its namespace), Linux 6.x, abridged. */
static const char node_status[] =
	"Name:\tnode\n"
	"Umask:\t0022\n"
	"State:\tS (sleeping)\n"
	"Tgid:\t4242\n"
	"Ngid:\t0\n"
	"Pid:\t4242\n"
	"PPid:\t4200\n"
	"TracerPid:\t0\n"
	"Uid:\t0\t0\t0\t0\n"
	"NStgid:\t4242\t1\n"
	"NSpid:\t4242\t1\n"
	"VmPeak:\t 1200000 kB\n"
	"VmSize:\t 1100000 kB\n"
	"VmHWM:\t  600000 kB\n"
	"VmRSS:\t  524288 kB\n"
	"RssAnon:\t  409600 kB\n"
	"RssFile:\t  110592 kB\n"
	"RssShmem:\t    4096 kB\n"
	"VmData:\t  700000 kB\n"
	"Threads:\t11\n";

static const char kthread_status[] =
	"Name:\tkworker/u8:0-events_unbound\n"
	"State:\tI (idle)\n"
	"Tgid:\t12\n"
	"Pid:\t12\n"
	"PPid:\t2\n"
	"NSpid:\t12\n"
	"Threads:\t1\n";

Test(procstatus, container_process)
{
	struct procstatus ps;

	cr_assert_eq(procstatus__parse(node_status, strlen(node_status), &ps), 0);
	cr_assert_str_eq(ps.name, "node");
	cr_assert_eq(ps.tgid, 4242);
	cr_assert_eq(ps.ppid, 4200);
	cr_assert_eq(ps.n_nspid, 2);
	cr_assert_eq(ps.nspid[0], 4242);
	cr_assert_eq(ps.nspid[1], 1);
	cr_assert_eq(procstatus__inner_pid(&ps), 1);
	cr_assert_eq(ps.vm_rss, 524288ULL * 1024);
	cr_assert_eq(ps.rss_anon, 409600ULL * 1024);
	cr_assert_eq(ps.rss_file, 110592ULL * 1024);
	cr_assert_eq(ps.rss_shmem, 4096ULL * 1024);
	cr_assert_eq(ps.have, PROCSTATUS_NAME | PROCSTATUS_TGID | PROCSTATUS_PPID |
				      PROCSTATUS_NSPID | PROCSTATUS_VMRSS | PROCSTATUS_RSSANON |
				      PROCSTATUS_RSSFILE | PROCSTATUS_RSSSHMEM);
}

Test(procstatus, kernel_thread_has_no_rss)
{
	struct procstatus ps;

	cr_assert_eq(procstatus__parse(kthread_status, strlen(kthread_status), &ps), 0);
	cr_assert_str_eq(ps.name, "kworker/u8:0-events_unbound");
	cr_assert_eq(ps.have & PROCSTATUS_VMRSS, 0);
	cr_assert_eq(ps.vm_rss, 0);
	cr_assert_eq(procstatus__inner_pid(&ps), 12);
}

Test(procstatus, names_are_kept_as_escaped_and_bounded)
{
	char text[256];
	struct procstatus ps;

	/* A process may name itself anything: the kernel escapes \n and \\ only. */
	snprintf(text, sizeof(text), "Name:\t  my\\napp\\\\\t\x1b[2J\nTgid:\t5\n");
	cr_assert_eq(procstatus__parse(text, strlen(text), &ps), 0);
	cr_assert_str_eq(ps.name, "  my\\napp\\\\\t\x1b[2J");
	memset(text, 'a', sizeof(text));
	memcpy(text, "Name:\t", 6);
	text[200] = '\n';
	cr_assert_eq(procstatus__parse(text, 201, &ps), 0);
	cr_assert_eq(strlen(ps.name), PROCSTATUS_NAME_MAX);
}

Test(procstatus, malformed_lines_are_skipped)
{
	static const char text[] =
		"Tgid:\t7\n"
		"VmRSS:\t abc kB\n"
		"RssAnon:\t 12 MB\n"
		"RssFile:\t 99999999999999999999 kB\n"
		"RssShmem:\t18014398509481983 kB\n"	/* * 1024 overflows */
		"NSpid:\t1\tx\n"
		"PPid:\t-1\n"
		"VmRSS\t100 kB\n"
		"Tgid:\t9999999999\n";
	struct procstatus ps;

	cr_assert_eq(procstatus__parse(text, sizeof(text) - 1, &ps), 0);
	cr_assert_eq(ps.tgid, 7);
	cr_assert_eq(ps.have, PROCSTATUS_TGID);
	cr_assert_eq(ps.vm_rss, 0);
}

Test(procstatus, too_many_namespaces_is_malformed)
{
	char text[512] = "Tgid:\t1\nNSpid:";
	struct procstatus ps;

	for (int i = 0; i < PROCSTATUS_NS_MAX + 1; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "\t%d", i + 1);
	cr_assert_eq(procstatus__parse(text, strlen(text), &ps), 0);
	cr_assert_eq(ps.have & PROCSTATUS_NSPID, 0);
}

Test(procstatus, nothing_useful)
{
	struct procstatus ps;

	cr_assert_eq(procstatus__parse("", 0, &ps), -EINVAL);
	cr_assert_eq(procstatus__parse("garbage\n\x01\x02", 10, &ps), -EINVAL);
	cr_assert_eq(procstatus__parse(NULL, 0, &ps), -EINVAL);
}

Test(procstatus, read_from_a_proc_tree)
{
	struct fixture_tree t;
	struct procstatus ps;

	ftree_init(&t);
	ftree_write(&t, "/4242/status", node_status, (size_t)-1);
	cr_assert_eq(procstatus__read(t.root, 4242, &ps), 0);
	cr_assert_eq(ps.rss_anon, 409600ULL * 1024);
	cr_assert_eq(procstatus__read(t.root, 4243, &ps), -ENOENT);
	cr_assert_eq(procstatus__read(t.root, 0, &ps), -EINVAL);
	ftree_remove(&t);
}

Test(procstatus, read_self)
{
	struct procstatus ps;

	cr_assert_eq(procstatus__read("/proc", getpid(), &ps), 0);
	cr_assert_eq(ps.tgid, getpid());
	cr_assert(ps.have & PROCSTATUS_VMRSS);
	cr_assert_gt(ps.vm_rss, 0);
}

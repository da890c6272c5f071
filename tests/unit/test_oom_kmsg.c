/* The kernel's log records of an OOM kill: the record framing of /dev/kmsg,
 * the summary and counter lines, and the collector that ties counters to
 * their summary. Inputs are the kernel's own lines (6.18, cgroup v1 and v2)
 * and what a container can do to them with its comm and cgroup names. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "kmsg.h"
#include "oom_kmsg.h"

#define V1_SUMMARY "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0," \
		   "oom_memcg=/oomtruth-manual-7446,task_memcg=/oomtruth-manual-7446,task=leaker," \
		   "pid=18367,uid=0"

/* ---- record framing ---------------------------------------------------------- */

Test(kmsg, parse_kernel_record)
{
	static const char rec[] = "6,505,327858606,-;" V1_SUMMARY "\n SUBSYSTEM=x\n";
	struct kmsg_record r;

	cr_assert_eq(kmsg__parse(rec, strlen(rec), &r), 0);
	cr_expect_eq(r.facility, 0);
	cr_expect_eq(r.level, 6);
	cr_expect_eq(r.seq, 505);
	cr_expect_eq(r.usec, 327858606);
	cr_expect(kmsg__from_kernel(&r));
	cr_expect_eq(r.msg_len, strlen(V1_SUMMARY), "the dictionary is not the message");
	cr_expect(!memcmp(r.msg, V1_SUMMARY, r.msg_len));
}

Test(kmsg, user_written_record_is_not_the_kernels)
{
	/* echo ... > /dev/kmsg: facility LOG_USER (1), priority 14. */
	static const char rec[] = "14,506,327900000,-;" V1_SUMMARY "\n";
	struct kmsg_record r;

	cr_assert_eq(kmsg__parse(rec, strlen(rec), &r), 0);
	cr_expect_eq(r.facility, 1);
	cr_expect(!kmsg__from_kernel(&r));
}

Test(kmsg, extra_header_fields_and_no_newline)
{
	/* Later kernels may add fields after the flags (e.g. a caller id). */
	static const char rec[] = "4,7,8,c,caller=T1;hello";
	struct kmsg_record r;

	cr_assert_eq(kmsg__parse(rec, strlen(rec), &r), 0);
	cr_expect_eq(r.msg_len, 5);
	cr_expect(!memcmp(r.msg, "hello", 5));
}

/* Inline text: Criterion may run a case in a fresh process, where a pointer
 * into the parent's literals means nothing. */
struct bad_case {
	char text[160];
};

static struct bad_case bad_records[] = {
	{ "" }, { ";" }, { "6;x" }, { "6,1;x" }, { "6,1,2" }, { "a,1,2,-;x" },
	{ "6,1,2,-" }, { "-6,1,2,-;x" }, { "99999999999999999999999,1,2,-;x" },
	{ "6,,2,-;x" }, { "6,1,,-;x" },
};

ParameterizedTestParameters(kmsg, malformed_records)
{
	return cr_make_param_array(struct bad_case, bad_records,
				   sizeof(bad_records) / sizeof(bad_records[0]));
}

ParameterizedTest(struct bad_case *c, kmsg, malformed_records)
{
	struct kmsg_record r;

	cr_expect_eq(kmsg__parse(c->text, strlen(c->text), &r), -EPROTO, "'%s'", c->text);
}

/* ---- the summary ------------------------------------------------------------ */

Test(oom_kmsg, v1_memcg_summary)
{
	struct oom_kmsg_kill k;

	cr_assert_eq(oom_kmsg__parse_summary(V1_SUMMARY, strlen(V1_SUMMARY), &k), 0);
	cr_expect_eq(k.constraint, OOM_KMSG_MEMCG);
	cr_expect_str_eq(k.oom_memcg, "/oomtruth-manual-7446");
	cr_expect_str_eq(k.task_memcg, "/oomtruth-manual-7446");
	cr_expect_str_eq(k.task, "leaker");
	cr_expect_eq(k.pid, 18367);
	cr_expect_eq(k.uid, 0);
}

Test(oom_kmsg, docker_limit_above_the_victim)
{
	/* The limit of a parent (a pod) hit by a container below it. */
	static const char s[] =
		"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=docker-3f4e.scope,"
		"mems_allowed=0,oom_memcg=/kubepods/pod1,task_memcg=/kubepods/pod1/3f4e,"
		"task=node,pid=15744,uid=1000";
	struct oom_kmsg_kill k;

	cr_assert_eq(oom_kmsg__parse_summary(s, strlen(s), &k), 0);
	cr_expect_str_eq(k.oom_memcg, "/kubepods/pod1");
	cr_expect_str_eq(k.task_memcg, "/kubepods/pod1/3f4e");
	cr_expect_eq(k.uid, 1000);
}

Test(oom_kmsg, global_oom)
{
	static const char s[] =
		"oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,"
		"global_oom,task_memcg=/user.slice,task=chrome,pid=77,uid=1000";
	struct oom_kmsg_kill k;

	cr_assert_eq(oom_kmsg__parse_summary(s, strlen(s), &k), 0);
	cr_expect_eq(k.constraint, OOM_KMSG_NONE);
	cr_expect_str_eq(k.oom_memcg, "");
	cr_expect_str_eq(k.task_memcg, "/user.slice");
	cr_expect_str_eq(oom_kmsg__constraint_name(k.constraint), "none");
}

Test(oom_kmsg, comm_with_commas_and_escapes)
{
	/* A comm is the process's to set: "a,pid=1,b" (9 bytes). */
	static const char s[] =
		"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
		"oom_memcg=/c,task_memcg=/c,task=a,pid=1,b\\x01,pid=4242,uid=0";
	struct oom_kmsg_kill k;

	cr_assert_eq(oom_kmsg__parse_summary(s, strlen(s), &k), 0);
	cr_expect_eq(k.pid, 4242, "the pid is the last field");
	cr_expect_str_eq(k.task, "a,pid=1,b\\x01");
	cr_expect_str_eq(k.task_memcg, "/c");
}

Test(oom_kmsg, memcg_without_oom_memcg_is_malformed)
{
	static const char s[] =
		"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),global_oom,task_memcg=/c,"
		"task=x,pid=5,uid=0";
	struct oom_kmsg_kill k;

	cr_expect_eq(oom_kmsg__parse_summary(s, strlen(s), &k), -EPROTO);
}

static struct bad_case bad_summaries[] = {
	{ "oom-kill:constraint=CONSTRAINT_MEMCG" },
	{ "oom-kill:constraint=BOGUS,task=x,pid=1,uid=0" },
	{ "oom-kill:constraint=CONSTRAINT_NONE,task=x,pid=,uid=0" },
	{ "oom-kill:constraint=CONSTRAINT_NONE,task=x,pid=0,uid=0" },
	{ "oom-kill:constraint=CONSTRAINT_NONE,task=x,pid=1,uid=x" },
	{ "oom-kill:constraint=CONSTRAINT_NONE,pid=1,uid=0" },
	{ "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=c,task_memcg=/c,task=x,pid=1,uid=0" },
	{ "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/c,task_memcg=c,task=x,pid=1,uid=0" },
	{ "oom-kill:constraint=CONSTRAINT_NONE,task=x,pid=99999999999,uid=0" },
};

ParameterizedTestParameters(oom_kmsg, malformed_summaries)
{
	return cr_make_param_array(struct bad_case, bad_summaries,
				   sizeof(bad_summaries) / sizeof(bad_summaries[0]));
}

ParameterizedTest(struct bad_case *c, oom_kmsg, malformed_summaries)
{
	struct oom_kmsg_kill k;

	cr_expect_eq(oom_kmsg__parse_summary(c->text, strlen(c->text), &k), -EPROTO, "'%s'",
		     c->text);
}

Test(oom_kmsg, other_messages_are_not_summaries)
{
	static const char s[] = "Memory cgroup out of memory: Killed process 4242 (leaker)";
	struct oom_kmsg_kill k;

	cr_expect_eq(oom_kmsg__parse_summary(s, strlen(s), &k), -ENOENT);
}

Test(oom_kmsg, overlong_path_is_refused_not_cut)
{
	size_t n = PATH_MAX + 64;
	char *s = malloc(n + 200), *p;
	struct oom_kmsg_kill k;

	cr_assert_not_null(s);
	p = s + sprintf(s, "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/");
	memset(p, 'a', n);
	p += n;
	p += sprintf(p, ",task_memcg=/a,task=x,pid=9,uid=0");
	cr_expect_eq(oom_kmsg__parse_summary(s, (size_t)(p - s), &k), -EPROTO);
	free(s);
}

/* ---- counters ---------------------------------------------------------------- */

struct counter_case {
	char text[96];
	int err;
	char which[16];
	uint64_t usage, limit, failcnt;
};

static struct counter_case counter_cases[] = {
	{ "memory: usage 262144kB, limit 262144kB, failcnt 4711", 0, "memory", 256ULL << 20,
	  256ULL << 20, 4711 },
	{ "memory+swap: usage 262144kB, limit 262144kB, failcnt 12", 0, "memory+swap",
	  256ULL << 20, 256ULL << 20, 12 },
	{ "swap: usage 0kB, limit 9007199254740988kB, failcnt 0", 0, "swap", 0,
	  9007199254740988ULL * 1024, 0 },
	{ "kmem: usage 1024kB, limit 9007199254740988kB, failcnt 0", 0, "kmem", 1 << 20,
	  9007199254740988ULL * 1024, 0 },
	/* v1 "no limit" in kB overflows bytes: saturates. */
	{ "memory: usage 1kB, limit 99999999999999999999kB, failcnt 0", -ENOENT, "", 0, 0, 0 },
	{ "memory: usage 1kB, limit 36028797018963968kB, failcnt 0", 0, "memory", 1024, UINT64_MAX,
	  0 },
	{ "memory: usage 1kB, limit 2kB, failcnt 3 and more", -ENOENT, "", 0, 0, 0 },
	{ "memory: usage kB, limit 2kB, failcnt 3", -ENOENT, "", 0, 0, 0 },
	{ "Memory cgroup stats for /x:", -ENOENT, "", 0, 0, 0 },
	{ "memory:", -ENOENT, "", 0, 0, 0 },
};

ParameterizedTestParameters(oom_kmsg, counters)
{
	return cr_make_param_array(struct counter_case, counter_cases,
				   sizeof(counter_cases) / sizeof(counter_cases[0]));
}

ParameterizedTest(struct counter_case *c, oom_kmsg, counters)
{
	struct oom_kmsg_counter out = {};
	const char *which = NULL;

	cr_assert_eq(oom_kmsg__parse_counter(c->text, strlen(c->text), &which, &out), c->err,
		     "'%s'", c->text);
	if (c->err)
		return;
	cr_expect_str_eq(which, c->which);
	cr_expect(out.have);
	cr_expect_eq(out.usage, c->usage, "'%s'", c->text);
	cr_expect_eq(out.limit, c->limit, "'%s'", c->text);
	cr_expect_eq(out.failcnt, c->failcnt, "'%s'", c->text);
}

/* ---- the collector ------------------------------------------------------------- */

static void feed(struct oom_kmsg *k, unsigned prio, uint64_t seq, const char *msg)
{
	struct kmsg_record r = {
		.facility = prio >> 3, .level = prio & 7, .seq = seq, .msg = msg,
		.msg_len = strlen(msg),
	};

	oom_kmsg__feed(k, &r);
}

Test(oom_kmsg, counters_belong_to_the_summary_that_follows)
{
	struct oom_kmsg *k = oom_kmsg__new();
	const struct oom_kmsg_kill *kill;

	cr_assert_not_null(k);
	feed(k, 4, 1, "leaker invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0");
	feed(k, 6, 2, "memory: usage 65536kB, limit 65536kB, failcnt 10");
	feed(k, 6, 3, "memory+swap: usage 65536kB, limit 9007199254740988kB, failcnt 0");
	feed(k, 6, 4, V1_SUMMARY);
	feed(k, 3, 5, "Memory cgroup out of memory: Killed process 18367 (leaker)");
	kill = oom_kmsg__find(k, 18367);
	cr_assert_not_null(kill);
	cr_expect_eq(kill->seq, 4);
	cr_expect(kill->memory.have);
	cr_expect_eq(kill->memory.limit, 64ULL << 20);
	cr_expect(kill->memsw.have);
	cr_expect(!kill->swap.have);
	cr_expect_null(oom_kmsg__find(k, 18368));
	oom_kmsg__free(k);
}

Test(oom_kmsg, counters_of_an_oom_without_summary_are_dropped)
{
	struct oom_kmsg *k = oom_kmsg__new();
	static const char global[] =
		"oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,"
		"global_oom,task_memcg=/,task=x,pid=9,uid=0";

	cr_assert_not_null(k);
	feed(k, 6, 1, "memory: usage 65536kB, limit 65536kB, failcnt 10");
	/* Rate limited: no summary; the next OOM starts over. */
	feed(k, 4, 2, "x invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0");
	feed(k, 6, 3, global);
	cr_assert_not_null(oom_kmsg__find(k, 9));
	cr_expect(!oom_kmsg__find(k, 9)->memory.have);
	oom_kmsg__free(k);
}

Test(oom_kmsg, forged_records_are_counted_not_believed)
{
	struct oom_kmsg *k = oom_kmsg__new();

	cr_assert_not_null(k);
	feed(k, 14, 1, V1_SUMMARY);
	feed(k, 14, 2, "memory: usage 1kB, limit 1kB, failcnt 1");
	cr_expect_null(oom_kmsg__find(k, 18367));
	cr_expect_eq(k->forged, 2);
	oom_kmsg__free(k);
}

Test(oom_kmsg, ring_keeps_the_newest_and_malformed_keeps_the_ring)
{
	struct oom_kmsg *k = oom_kmsg__new();
	char s[256];

	cr_assert_not_null(k);
	for (int i = 1; i <= OOM_KMSG_KEEP + 5; i++) {
		snprintf(s, sizeof(s),
			 "oom-kill:constraint=CONSTRAINT_NONE,global_oom,task_memcg=/,task=x,"
			 "pid=%d,uid=0", i);
		feed(k, 6, (uint64_t)i, s);
	}
	feed(k, 6, 999, "oom-kill:constraint=CONSTRAINT_NONE,task=x,pid=,uid=0");
	cr_expect_null(oom_kmsg__find(k, 5), "pushed out of the ring");
	for (int i = 6; i <= OOM_KMSG_KEEP + 5; i++)
		cr_expect_not_null(oom_kmsg__find(k, (uint32_t)i), "pid %d", i);
	/* A reused pid: the newest kill. */
	feed(k, 6, 1000, "oom-kill:constraint=CONSTRAINT_NONE,global_oom,task_memcg=/a,task=y,"
			 "pid=10,uid=0");
	cr_expect_eq(oom_kmsg__find(k, 10)->seq, 1000);
	oom_kmsg__free(k);
}

/* Reading a file of records the way /dev/kmsg hands them out: the reader
 * starts at the end, so it reads nothing a regular file had before. */
Test(oom_kmsg, opened_at_the_end)
{
	char path[] = "/tmp/memscope-kmsg-XXXXXX";
	int fd = mkstemp(path);
	struct oom_kmsg *k;

	cr_assert_geq(fd, 0);
	cr_assert(write(fd, "6,1,2,-;" V1_SUMMARY "\n", strlen(V1_SUMMARY) + 9) > 0);
	k = oom_kmsg__open(path);
	cr_assert_not_null(k, "%s", strerror(errno));
	cr_expect_eq(oom_kmsg__drain(k, 100), 0);
	cr_expect_null(oom_kmsg__await(k, 18367, 0));
	oom_kmsg__free(k);
	close(fd);
	unlink(path);
}

Test(oom_kmsg, open_failure_is_an_errno)
{
	errno = 0;
	cr_expect_null(oom_kmsg__open("/nonexistent/kmsg"));
	cr_expect_eq(errno, ENOENT);
}

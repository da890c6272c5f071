/* memscope oom (and record) against real OOM kills in memory cgroups the test
 * creates with a 64 MiB limit: a C program leaking through leak_fn, a node
 * program growing its V8 heap, two kills at once, and a victim memscope never
 * saw allocate. Each report is checked
 * against the kernel's own account of the kill, its "Killed process N" line
 * in /dev/kmsg, and must take its limiting cgroup from the kernel's oom-kill:
 * record (constraint_source "kmsg"). The same in Docker: test_oom_docker.c. Workloads join their cgroup and wait before memscope starts,
 * so its timeline has the cgroup from its first walk. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define LIMIT		(64 * MIB)
#define LIMIT_TEXT	"67108864"
/* Timeline points before the leak starts (one a second). */
#define SETTLE_S	2
/* In the kernel's line about each kill:
 * "Memory cgroup out of memory: Killed process 4242 (leaker) total-vm:..." */
#define KILLED		"Killed process "

static struct test_cgroup cgs[2];
static pid_t kids[4];
static int n_kids;
static int kmsg = -1;
/* Victims of the kernel's "Killed process N" lines read so far. */
static pid_t killed[16];
static int n_killed;

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	for (int i = 0; i < 2; i++)
		cr_assert_eq(tcg_create(&cgs[i], i ? "oom2" : "oom", LIMIT), 0,
			     "cannot create a test memory cgroup");
	/* Only the kernel's lines from now on. */
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	cr_assert_geq(kmsg, 0, "cannot read /dev/kmsg: %s", strerror(errno));
	lseek(kmsg, 0, SEEK_END);
}

static void teardown(void)
{
	for (int i = 0; i < n_kids; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	n_kids = 0;
	for (int i = 0; i < 2; i++)
		tcg_destroy(&cgs[i]);
	if (kmsg >= 0)
		close(kmsg);
	kmsg = -1;
	n_killed = 0;
}

TestSuite(oom, .init = setup, .fini = teardown, .timeout = 120);

static pid_t track(pid_t pid)
{
	cr_assert_gt(pid, 0, "cannot fork");
	kids[n_kids++] = pid;
	return pid;
}

static void untrack(pid_t pid)
{
	for (int i = 0; i < n_kids; i++)
		if (kids[i] == pid)
			kids[i] = kids[--n_kids];
}

static bool in_cgroup(const struct test_cgroup *cg, pid_t pid)
{
	char *procs = read_text(cg->procs);
	bool found = false;

	for (char *p = procs; p && *p && !found;) {
		found = strtol(p, &p, 10) == pid;
		while (*p == '\n')
			p++;
	}
	free(procs);
	return found;
}

static void wait_joined(const struct test_cgroup *cg, pid_t pid)
{
	for (int i = 0; i < 500 && !in_cgroup(cg, pid); i++)
		usleep(20 * 1000);
	cr_assert(in_cgroup(cg, pid), "pid %d never joined %s", pid, cg->rel);
}

/* A leaker in cg that leaks 1 MiB every 20 ms through leak_fn, once start exists. */
static pid_t start_leaker(const struct test_cgroup *cg, const char *start)
{
	char *argv[] = { WORKLOAD("leaker"), "-g", (char *)cg->procs, "-w", (char *)start, "-c",
			 "0", "-l", "1", "-f", "-i", "20", NULL };
	pid_t pid = track(spawn(argv, NULL, NULL));

	wait_joined(cg, pid);
	return pid;
}

static const char *node_bin(void)
{
	static const char *const paths[] = {
		"/usr/bin/node", "/usr/local/bin/node", "/usr/bin/nodejs",
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

/* memscope with args, stderr to err; back once it watches. */
static pid_t start_memscope(char **args, const char *out, const char *err, const char *ready)
{
	char *argv[24] = { (char *)memscope_bin() };
	int n = 1;

	for (; *args && n < 23; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	pid_t pid = track(spawn(argv, out, err));
	cr_assert(wait_for_text(err, ready, 30), "memscope did not start:\n%s", read_text(err));
	return pid;
}

static void stop_memscope(pid_t pid, const char *err)
{
	int status;

	kill(pid, SIGINT);
	status = wait_exit(pid, 30);
	untrack(pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "memscope failed (status %d):\n%s", status, read_text(err));
}

static void expect_oom_killed(pid_t pid, const char *what)
{
	int status = wait_exit(pid, 60);

	untrack(pid);
	cr_assert(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		  "%s (pid %d) was not OOM-killed (status %d)", what, pid, status);
}

static bool seen_killed(pid_t pid)
{
	for (int i = 0; i < n_killed; i++)
		if (killed[i] == pid)
			return true;
	return false;
}

/* Waits for the kernel's "Killed process N" line about pid (one record per read). */
static bool kernel_killed(pid_t pid, double timeout_s)
{
	char rec[8192], *at;

	for (int tries = 0; !seen_killed(pid) && tries < timeout_s * 50; tries++) {
		ssize_t n = read(kmsg, rec, sizeof(rec) - 1);

		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten before we read it: go on */
		if (n < 0) {
			usleep(20 * 1000);
			continue;
		}
		rec[n] = '\0';
		at = strstr(rec, KILLED);
		if (at && n_killed < 16)
			killed[n_killed++] = (pid_t)strtol(at + strlen(KILLED), NULL, 10);
	}
	return seen_killed(pid);
}

/* The lines of file, parsed by node's JSON.parse, one "pid constraint limit
 * comm stacks" summary line each in *summary (malloc'd). */
static bool json_lines(const char *file, char **summary)
{
	static const char script[] =
		"const fs = require('fs');"
		"const out = [];"
		"for (const l of fs.readFileSync(process.argv[1], 'utf8').split('\\n')) {"
		"  if (!l) continue;"
		"  const r = JSON.parse(l);"
		"  out.push([r.victim.pid, r.constraint, r.cgroup.limit_bytes, r.victim.comm,"
		"            r.evidence.stacks.length, r.cgroup.path, r.constraint_source,"
		"            r.kernel && r.kernel.oom_memcg].join(' '));"
		"}"
		"console.log(out.join('\\n'));";
	const char *sum = scratch_path("json.summary"), *err = scratch_path("json.err");
	char *argv[] = { (char *)node_bin(), "-e", (char *)script, (char *)file, NULL };
	int status;

	cr_assert_not_null(argv[0], "node is needed to check the JSON (apt-get install nodejs)");
	status = wait_exit(spawn(argv, sum, err), 30);
	*summary = read_text(sum);
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		cr_log_error("JSON.parse failed:\n%s", read_text(err));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* One JSON report in out about victim in cg, checked against the kernel. */
static char *expect_json_report(const char *out, pid_t victim, const struct test_cgroup *cg,
				const char *comm)
{
	char needle[64], want[PATH_MAX + 128], *json, *summary = NULL;

	snprintf(needle, sizeof(needle), "\"victim\":{\"pid\":%d,", victim);
	cr_assert(wait_for_text(out, needle, 15), "no report about pid %d:\n%s", victim,
		  read_text(out));
	cr_assert(kernel_killed(victim, 10), "the kernel log has no 'Killed process %d' line",
		  victim);
	json = read_text(out);
	cr_assert_eq(count(json, "\n"), 1, "one kill, one line:\n%s", json);
	cr_assert(json_lines(out, &summary), "the JSON does not parse:\n%s", json);
	snprintf(want, sizeof(want), "%d memcg %s %s", victim, LIMIT_TEXT, comm);
	cr_assert(summary && !strncmp(summary, want, strlen(want)),
		  "want '%s ...', the report says '%s':\n%s", want, summary, json);
	/* The limiting cgroup, taken from the kernel's record (not inferred). */
	snprintf(want, sizeof(want), " %s kmsg %s\n", cg->rel, cg->rel);
	cr_assert(strstr(summary, want), "the limiting cgroup is not %s from the kernel's "
		  "record: %s", cg->rel, summary);
	cr_log_info("report: %s", json);
	free(summary);
	return json;
}

Test(oom, c_leak_killed_names_leak_fn)
{
	const char *out = scratch_path("leak.json"), *err = scratch_path("leak.err");
	const char *start = scratch_path("leak.start");
	char *args[] = { "oom", "--json", "-o", (char *)out, "-c", cgs[0].rel, NULL };
	pid_t leaker, ms;
	char *json;

	leaker = start_leaker(&cgs[0], start);
	ms = start_memscope(args, NULL, err, "watching for OOM kills");
	sleep(SETTLE_S);
	close(open(start, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	expect_oom_killed(leaker, "leaker");
	json = expect_json_report(out, leaker, &cgs[0], "leaker");
	cr_expect(strstr(json, ";main;leak_fn;"), "leak_fn is not among the top stacks:\n%s", json);
	/* Usage is read a moment after the kill and may have dropped already
	 * (then the report says constraint_estimated); the peak cannot have. */
	cr_expect(strstr(json, "\"peak_bytes\":" LIMIT_TEXT ","), "peak is not the limit");
	cr_expect(strstr(json, "\"growth\":{\"source\":\"memcg tracepoints\"") ||
		  strstr(json, "\"growth\":{\"source\":\"memory.stat\""), "no growth:\n%s", json);
	stop_memscope(ms, err);
	cr_expect(strstr(read_text(err), "report appended to"), "no notice on stderr");
}

Test(oom, node_v8_heap_killed)
{
	const char *out = scratch_path("node.json"), *err = scratch_path("node.err");
	const char *start = scratch_path("node.start");
	char *args[] = { "oom", "--json", "-o", (char *)out, "-c", cgs[0].rel, NULL };
	char *node_argv[] = { (char *)node_bin(), "--max-old-space-size=4096",
			      "tests/workloads/v8grow.js", cgs[0].procs, (char *)start, "1", "50",
			      NULL };
	unsigned long long v8 = 0, native = 0;
	char *json, *p;
	pid_t node, ms;

	cr_assert_not_null(node_argv[0], "node is not installed (apt-get install nodejs)");
	node = track(spawn(node_argv, NULL, NULL));
	wait_joined(&cgs[0], node);
	ms = start_memscope(args, NULL, err, "watching for OOM kills");
	sleep(SETTLE_S);
	close(open(start, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	expect_oom_killed(node, "node");
	json = expect_json_report(out, node, &cgs[0], "node");
	/* What node held was mostly its V8 heap: the class split must say so. */
	p = strstr(json, "\"classes\":{");
	cr_assert(p && sscanf(p, "\"classes\":{\"v8_heap_bytes\":%llu,\"native_bytes\":%llu",
			      &v8, &native) == 2, "no v8-heap class in the report:\n%s", json);
	cr_expect_gt(v8, native, "v8-heap %llu B does not dominate native %llu B", v8, native);
	free(json);
	stop_memscope(ms, err);
}

/* Two containers, one leaker each, let go at the same instant: two kills a
 * few milliseconds apart, two complete text reports. */
Test(oom, two_kills_back_to_back)
{
	const char *out = scratch_path("two.txt"), *err = scratch_path("two.err");
	const char *start = scratch_path("two.start");
	static const char *const sections[] = {
		"OOM kill at ", "\n  victim       pid ", "\n  trigger      pid ",
		"\n  constraint   memory cgroup ", "\n  charged      anon ",
		"\n  victim rss   anon ",
		"\n  classes      ", "\n  growth       ", "\n  stacks       what it held",
	};
	char *args[] = { "oom", "-c", cgs[0].rel, "-c", cgs[1].rel, NULL };
	char needle[PATH_MAX + 64], *text, *second;
	pid_t leakers[2], ms;

	for (int i = 0; i < 2; i++)
		leakers[i] = start_leaker(&cgs[i], start);
	ms = start_memscope(args, out, err, "watching for OOM kills");
	sleep(SETTLE_S);
	close(open(start, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	for (int i = 0; i < 2; i++)
		expect_oom_killed(leakers[i], "leaker");
	for (int i = 0; i < 2; i++) {
		snprintf(needle, sizeof(needle), ": pid %d (leaker) in %s\n", leakers[i],
			 cgs[i].rel);
		cr_assert(wait_for_text(out, needle, 15), "no report about pid %d:\n%s", leakers[i],
			  read_text(out));
		cr_assert(kernel_killed(leakers[i], 10), "no 'Killed process %d' line", leakers[i]);
		snprintf(needle, sizeof(needle), "memory cgroup %s: limit 64.0 MiB of memory, usage",
			 cgs[i].rel);
		cr_expect(wait_for_text(out, needle, 1), "no limit line for %s:\n%s", cgs[i].rel,
			  read_text(out));
	}
	stop_memscope(ms, err);
	text = read_text(out);
	for (size_t s = 0; s < sizeof(sections) / sizeof(sections[0]); s++)
		cr_expect_eq(count(text, sections[s]), 2, "'%s' is not in both reports:\n%s",
			     sections[s], text);
	/* Each report names leak_fn (whole stacks put it under malloc's
	 * frames too, so a report may name it more than once). */
	second = text ? strstr(text + 1, "OOM kill at ") : NULL;
	cr_expect(second && memmem(text, second - text, "leak_fn < main", 14) &&
		  strstr(second, "leak_fn < main"), "leak_fn missing from a report:\n%s", text);
	cr_log_info("reports:\n%s", text);
	free(text);
}

/* A victim that allocated everything before memscope started: the report
 * still has what the kernel event gives, and says there are no stacks. */
Test(oom, unseen_victim_reports_the_event)
{
	const char *out = scratch_path("unseen.json"), *err = scratch_path("unseen.err");
	const char *ready = scratch_path("unseen.ready"), *start = scratch_path("unseen.start");
	char *args[] = { "oom", "--json", "-o", (char *)out, "-c", cgs[0].rel, NULL };
	char *holder_argv[] = { WORKLOAD("leaker"), "-g", cgs[0].procs, "-l", "48", "-c", "0",
				"-h", "60", "-r", (char *)ready, NULL };
	pid_t holder, grower, ms;
	char *json;

	holder = track(spawn(holder_argv, NULL, NULL));
	cr_assert(wait_for_file(ready, 30), "the holder did not allocate");
	grower = start_leaker(&cgs[0], start);
	ms = start_memscope(args, NULL, err, "watching for OOM kills");
	close(open(start, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	/* The holder has the larger RSS: the kernel kills it first. */
	expect_oom_killed(holder, "holder");
	json = expect_json_report(out, holder, &cgs[0], "leaker");
	cr_expect(strstr(json, "\"evidence\":{\"seen\":false,"), "%s", json);
	cr_expect(strstr(json, "\"stacks\":[]"), "%s", json);
	cr_expect(strstr(json, "\"rss\":{\"anon_bytes\":5"), "48 MiB of anon expected:\n%s", json);
	free(json);
	kill(grower, SIGKILL);
	stop_memscope(ms, err);
}

/* record reports the kills of its window: at the end on stderr, and in --report. */
Test(oom, record_reports_kill)
{
	const char *out = scratch_path("rec.folded"), *err = scratch_path("rec.err");
	const char *report = scratch_path("rec.json"), *start = scratch_path("rec.start");
	char *args[] = { "record", "-c", cgs[0].rel, "-d", "6", "-o", (char *)out, "--report",
			 (char *)report, NULL };
	char needle[PATH_MAX + 64], *json;
	pid_t leaker, ms;
	int status;

	leaker = start_leaker(&cgs[0], start);
	ms = start_memscope(args, NULL, err, "recording");
	close(open(start, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	expect_oom_killed(leaker, "leaker");
	cr_assert(kernel_killed(leaker, 10), "no 'Killed process %d' line", leaker);
	status = wait_exit(ms, 30);
	untrack(ms);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "record failed:\n%s",
		  read_text(err));
	snprintf(needle, sizeof(needle), ": pid %d (leaker) in %s", leaker, cgs[0].rel);
	cr_expect(strstr(read_text(err), needle), "no report on stderr:\n%s", read_text(err));
	json = read_text(report);
	snprintf(needle, sizeof(needle), "\"pid\": %d,", leaker);
	cr_assert(json && strstr(json, "\"oom_kills\": ["), "no oom_kills in --report");
	cr_expect(strstr(strstr(json, "\"oom_kills\": ["), needle), "the kill of %d is not in:\n%s",
		  leaker, json);
	free(json);
}

Test(oom, no_tracepoint_one_clear_error)
{
	const char *err = scratch_path("notp.err");
	char *argv[] = { (char *)memscope_bin(), "oom", NULL };
	char *text;
	pid_t pid;
	int status;

	setenv("MEMSCOPE_DISABLE", "oom", 1);
	pid = track(spawn(argv, NULL, err));
	unsetenv("MEMSCOPE_DISABLE");
	status = wait_exit(pid, 60);
	untrack(pid);
	text = read_text(err);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) != 0, "exit status %d", status);
	cr_expect(text && strstr(text, "oom:mark_victim"), "no notice about the tracepoint:\n%s",
		  text);
	free(text);
}

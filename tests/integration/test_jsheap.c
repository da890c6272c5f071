/* record --js-heap against a node process (tests/workloads/jsheap_map.js)
 * in a test cgroup: a Map keeps what keepReports() allocates while churn()
 * allocates as much that dies. V8's sampled live bytes must sit mostly under
 * keepReports (at least 60%; measured ~100%), the inspector memscope opened
 * must be closed again when it exits (ended by SIGINT, as Ctrl-C would), a
 * small allocating function TurboFan inlined into its hot caller is named
 * (tests/workloads/jsheap_inline.js: inlining off for the window), and
 * a node whose inspector is not memscope's to open (--inspect, or
 * --disable-sigusr1 on a node that has it) is refused by name while the
 * recording itself still succeeds. */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define MIN_SHARE	0.60
#define SIZE_TOLERANCE	0.25	/* sampled live bytes against node's own heap growth */

static struct test_cgroup cg;

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	if (system("command -v node >/dev/null 2>&1"))
		cr_skip_test("node is not installed");
	cr_assert_eq(tcg_create(&cg, "jsheap", 0), 0, "cannot create a test memory cgroup");
}

static void teardown(void)
{
	tcg_destroy(&cg);
}

/* Starting memscope (loading and verifying its BPF programs) takes minutes
 * on a loaded 2-CPU machine. */
TestSuite(jsheap, .init = setup, .fini = teardown, .timeout = 480);

/* node running script (tests/workloads/) in the test cgroup; in a network
 * namespace of its own (loopback up, as a container has) when netns. Its pid,
 * once it printed "ready". */
static pid_t start_node_in(const char *node, const char *flag, const char *script,
			   const char *tag, bool netns)
{
	char cmd[1024], out[96], pidfile[96];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	char *text;
	pid_t pid;

	snprintf(out, sizeof(out), "%s.node", tag);
	snprintf(pidfile, sizeof(pidfile), "%s", scratch_path("node.pid"));
	snprintf(cmd, sizeof(cmd), "echo $$ > %s && exec %s sh -c '%s echo $$ > %s && "
		 "exec %s %s tests/workloads/%s 8'", cg.procs,
		 netns ? "unshare --net" : "", netns ? "ip link set lo up &&" : "", pidfile, node,
		 flag, script);
	pid = spawn(argv, scratch_path(out), NULL);
	cr_assert(wait_for_text(scratch_path(out), "ready", 30), "node did not start:\n%s",
		  read_text(scratch_path(out)));
	text = read_text(pidfile);
	cr_assert(text && atoi(text) > 0, "no pid for node");
	if (atoi(text) != pid)
		pid = atoi(text);	/* unshare forks nothing, but sh may */
	free(text);
	return pid;
}

static pid_t start_node(const char *node, const char *flag, const char *tag)
{
	return start_node_in(node, flag, "jsheap_map.js", tag, false);
}

static double wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec * 1e3 + tv.tv_usec / 1e3;
}

static double window_start, window_end;	/* wall-clock ms, for node's own log */

/* memscope record OPTION (--js-heap or a variant) -c CG, its files named
 * after tag, once it records. */
static pid_t start_record_with(const char *tag, const char *option, char *err, char *folded,
			       char *report)
{
	char *argv[] = { (char *)memscope_bin(), "record", "-c", cg.rel, (char *)option, "-o",
			 folded, "--report", report, NULL };
	char name[96];
	pid_t rec;

	snprintf(name, sizeof(name), "%s.err", tag);
	strcpy(err, scratch_path(name));
	snprintf(name, sizeof(name), "%s.folded", tag);
	strcpy(folded, scratch_path(name));
	snprintf(name, sizeof(name), "%s.json", tag);
	strcpy(report, scratch_path(name));
	rec = spawn(argv, NULL, err);
	cr_assert(wait_for_text(err, "recording", 150), "memscope did not start:\n%s",
		  read_text(err));
	return rec;
}

static pid_t start_record(const char *tag, char *err, char *folded, char *report)
{
	return start_record_with(tag, "--js-heap", err, folded, report);
}

/* The same for about `secs`, ended by SIGINT; *open: node's inspector port
 * listened in the middle of the window. */
static int record_with(const char *tag, const char *option, double secs, pid_t node, bool *open,
		       char *err, char *folded, char *report)
{
	pid_t rec = start_record_with(tag, option, err, folded, report);
	int status;

	window_start = wall_ms();
	usleep((useconds_t)(secs * 1e6 / 2));
	*open = port_listens(node, 9229);
	usleep((useconds_t)(secs * 1e6 / 2));
	window_end = wall_ms();
	kill(rec, SIGINT);
	status = wait_exit(rec, 240);
	cr_log_info("%s: memscope exited %.1f s after SIGINT", tag, (wall_ms() - window_end) / 1e3);
	return status;
}

static int record(const char *tag, double secs, pid_t node, bool *open, char *err, char *folded,
		  char *report)
{
	return record_with(tag, "--js-heap", secs, node, open, err, folded, report);
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

Test(jsheap, names_the_function_that_retains)
{
	char err[256], folded[256], report[256];
	pid_t node = start_node("node", "", "map");
	bool open_during;
	int status = record("map", 6, node, &open_during, err, folded, report);
	uint64_t js, keep, churn;
	bool open_after = port_listens(node, 9229);
	char *text = read_text(err), *json = read_text(report);

	stop(node);
	cr_assert_eq(status, 0, "memscope record failed (%d):\n%s", status, text);
	/* the same check saw the listener while memscope held it open */
	cr_expect(open_during, "the inspector was not seen open during the window:\n%s", text);
	cr_expect(!open_after, "the inspector still listens after memscope exited:\n%s", text);
	cr_expect(strstr(text, "inspector opened on port 9229 and closed again"),
		  "no line saying what was done to node:\n%s", text);
	cr_expect(json && strstr(json, "\"opened and closed\""), "report:\n%s", json);
	js = folded_sum(folded, ";[v8-heap];[js-heap];");
	keep = folded_sum_both(folded, ";[js-heap];", ";keepReports_jsheap_map.js:");
	churn = folded_sum_both(folded, ";[js-heap];", ";churn_jsheap_map.js:");
	cr_log_info("js-heap: %.1f MiB sampled live, %.1f%% under keepReports, %.1f%% under churn",
		    js / (double)MIB, js ? 100.0 * keep / js : 0, js ? 100.0 * churn / js : 0);
	cr_assert_gt(js, 4 * MIB, "too few sampled bytes (%llu):\n%s", (unsigned long long)js, text);
	cr_expect_geq((double)keep / js, MIN_SHARE, "keepReports holds %.1f%% of %llu bytes",
		      100.0 * keep / js, (unsigned long long)js);
	cr_expect_lt(churn, keep, "churn's dead objects outweigh what is kept");
	free(text);
	free(json);
}

/* The share of the sampled live bytes under storeReport in a recording of
 * jsheap_inline.js with `option`; the inspector closed again after it. */
static double inline_share(pid_t node, const char *tag, const char *option, char **text)
{
	char err[256], folded[256], report[256];
	bool open_during;
	int status = record_with(tag, option, 5, node, &open_during, err, folded, report);
	uint64_t js, callee;

	*text = read_text(err);
	cr_assert_eq(status, 0, "memscope record failed (%d):\n%s", status, *text);
	cr_expect(!port_listens(node, 9229), "the inspector still listens:\n%s", *text);
	js = folded_sum(folded, ";[v8-heap];[js-heap];");
	callee = folded_sum_both(folded, ";[js-heap];", ";storeReport_jsheap_inline.js:");
	cr_assert_gt(js, 4 * MIB, "too few sampled bytes (%llu):\n%s", (unsigned long long)js,
		     *text);
	cr_log_info("%s: %.1f MiB sampled live, %.1f%% under storeReport", tag, js / (double)MIB,
		    100.0 * callee / js);
	return (double)callee / js;
}

/* A hot function whose small allocating callee TurboFan inlined before
 * memscope came: with --js-heap-keep-inlining the callee has no frame and
 * its bytes show under a caller (measured 0%); with --js-heap, inlining off
 * and the optimized code dropped, they show under the callee (measured
 * 100%), and memscope says what it did to the process. The same process
 * both times, the opt-out first. */
Test(jsheap, inlined_callee_named)
{
	pid_t node = start_node_in("node", "", "jsheap_inline.js", "inline", false);
	char *kept, *off;
	double without = inline_share(node, "inline-kept", "--js-heap-keep-inlining", &kept);
	double with = inline_share(node, "inline-off", "--js-heap", &off);

	cr_expect_eq(kill(node, 0), 0, "node died");
	stop(node);
	cr_expect_lt(without, 0.5, "storeReport named with inlining kept: is it inlined?\n%s",
		     kept);
	cr_expect(!strstr(kept, "TurboFan"), "the opt-out touched the optimizer:\n%s", kept);
	cr_expect_geq(with, MIN_SHARE, "storeReport holds %.1f%%:\n%s", 100 * with, off);
	cr_expect(strstr(off, "TurboFan inlining off for the window and restored, optimized "
			 "code dropped at its start and end"),
		  "no line saying what was done to node:\n%s", off);
	free(kept);
	free(off);
}

/* A node whose inspector memscope must not open, started with `flag`: the
 * refusal says `says`, node is never signalled into listening on 9229, and
 * the recording itself succeeds with its page stacks. */
static void refused(const char *bin, const char *flag, const char *tag, double secs,
		    const char *says)
{
	char err[256], folded[256], report[256];
	pid_t node = start_node(bin, flag, tag);
	bool open_during;
	int status = record(tag, secs, node, &open_during, err, folded, report);
	char *text = read_text(err);

	cr_expect_eq(kill(node, 0), 0, "node died: was it sent SIGUSR1?");
	stop(node);
	cr_assert_eq(status, 0, "memscope record failed (%d):\n%s", status, text);
	cr_expect(strstr(text, says), "no '%s' in:\n%s", says, text);
	cr_expect(!strstr(text, "STILL OPEN"), "%s", text);
	cr_expect(!open_during, "port 9229 opened during the window");
	cr_expect_eq(folded_sum(folded, "[js-heap]"), 0);
	cr_expect_gt(folded_sum(folded, NULL), 0, "the recording lost its stacks:\n%s", text);
	free(text);
}

/* --inspect: a debugger may be attached; refused, the recording goes on. */
Test(jsheap, refuses_an_inspector_already_asked_for)
{
	refused("node", "--inspect=127.0.0.1:0", "inspect", 3,
		"not profiled: node was started with --inspect");
}

/* A node that has --disable-sigusr1 (22.14 and later; Debian's 20 does not):
 * JSHEAP_TEST_NODE names it, else the test is skipped. SIGUSR1 would kill
 * it: memscope must refuse without signalling it. */
Test(jsheap, refuses_disable_sigusr1)
{
	const char *bin = getenv("JSHEAP_TEST_NODE");
	char check[512];

	snprintf(check, sizeof(check), "%s --disable-sigusr1 -e 0 >/dev/null 2>&1",
		 bin ? bin : "node");
	if (!bin || system(check))
		cr_skip_test("no node with --disable-sigusr1 (set JSHEAP_TEST_NODE)");
	refused(bin, "--disable-sigusr1", "nosig", 3,
		"not profiled: node was started with --disable-sigusr1");
}

/* An application that handles SIGUSR1 itself: node opens no inspector;
 * memscope says so after its wait, and records on. */
Test(jsheap, application_handling_sigusr1)
{
	refused("node", "-r ./tests/workloads/jsheap_usr1.js", "usr1", 1,
		"did not open on port 9229 within");
}

/* memscope killed outright mid-window: the child holding the session gets
 * SIGTERM (PR_SET_PDEATHSIG) and closes the inspector itself. */
Test(jsheap, inspector_closed_when_memscope_is_killed)
{
	char err[256], folded[256], report[256];
	pid_t node = start_node("node", "", "killed"), rec;
	bool open_during, open_after = true;

	rec = start_record("killed", err, folded, report);
	open_during = port_listens(node, 9229);
	kill(rec, SIGKILL);
	waitpid(rec, NULL, 0);
	for (int i = 0; i < 100 && open_after; i++) {
		usleep(100 * 1000);
		open_after = port_listens(node, 9229);
	}
	stop(node);
	cr_expect(open_during, "the inspector was not open during the window:\n%s", read_text(err));
	cr_expect(!open_after, "the inspector stayed open 10 s after memscope was killed");
}

/* --format pprof: the JS stacks are samples labelled source=js-heap, read by
 * Go's pprof with keepReports on top. */
Test(jsheap, pprof_samples_labelled)
{
	char err[256], prof[256], out[256], perr[256];
	pid_t node = start_node("node", "", "pprof"), rec;
	char *argv[] = { (char *)memscope_bin(), "record", "-c", cg.rel, "--js-heap", "-d", "4",
			 "-f", "pprof", "-o", prof, NULL };
	char *pargv[] = { "/usr/bin/go", "tool", "pprof", "-top", "-unit=B",
			  "-tagfocus=source=js-heap", prof, NULL };
	char *top, *line;
	int status;

	if (access("/usr/bin/go", X_OK))
		cr_skip_test("no Go toolchain (golang-go) to read the profile");
	strcpy(err, scratch_path("pprof.err"));
	strcpy(prof, scratch_path("pprof.pb.gz"));
	strcpy(out, scratch_path("pprof.top"));
	strcpy(perr, scratch_path("pprof.top.err"));
	rec = spawn(argv, NULL, err);
	status = wait_exit(rec, 240);
	stop(node);
	cr_assert_eq(status, 0, "memscope record failed (%d):\n%s", status, read_text(err));
	status = wait_exit(spawn(pargv, out, perr), 120);
	cr_assert_eq(status, 0, "go tool pprof failed:\n%s", read_text(perr));
	top = read_text(out);
	/* "Showing nodes accounting for JSB, ..." (the js-heap samples), then
	 * lines "flat flat% sum% cum cum% name" */
	{
		const char *shown = top ? strstr(top, "Showing nodes accounting for ") : NULL;
		double js = 0, flat, flatp, sum, cum;

		cr_assert(shown && sscanf(shown, "Showing nodes accounting for %lfB", &js) == 1 &&
			  js > 0, "%s", top);
		line = strstr(top, "keepReports_jsheap_map.js:");
		cr_assert(line, "keepReports is not in the js-heap samples:\n%s", top);
		while (line > top && line[-1] != '\n')
			line--;
		cr_assert_eq(sscanf(line, " %lfB %lf%% %lf%% %lfB", &flat, &flatp, &sum, &cum), 4,
			     "%s", line);
		cr_log_info("pprof: keepReports holds %.1f%% of %.1f MiB of js-heap samples",
			    100 * cum / js, js / MIB);
		cr_expect_geq(cum / js, MIN_SHARE, "%s", top);
	}
	free(top);
}

/* node's live heap (heapUsed after a full GC) at wall-clock ms t, linear
 * between its "heap MS BYTES" lines; NAN outside them. */
static double heap_at(const char *log, double t)
{
	double pt = NAN, pb = NAN;

	for (const char *l = log; l && (l = strstr(l, "heap ")); l++) {
		double ms, bytes;

		if (sscanf(l, "heap %lf %lf", &ms, &bytes) != 2)
			continue;
		if (ms >= t)
			return isnan(pt) ? NAN : pb + (bytes - pb) * (t - pt) / (ms - pt);
		pt = ms;
		pb = bytes;
	}
	return NAN;
}

/* The size the SRE reads: V8's sampled live bytes against what node's own
 * heap kept over the same window (heapUsed after full GCs, under
 * --expose-gc), within SIZE_TOLERANCE. Measured: 27.0 MiB sampled for
 * 25.8 MB kept in a 6 s window. */
Test(jsheap, sampled_bytes_match_node_heap_growth)
{
	char err[256], folded[256], report[256];
	pid_t node = start_node("node", "--expose-gc", "size");
	bool open_during;
	int status = record("size", 6, node, &open_during, err, folded, report);
	char *log, *text = read_text(err);
	double grown, js;

	usleep(600 * 1000);	/* node's next heap lines, past the window */
	log = read_text(scratch_path("size.node"));
	stop(node);
	cr_assert_eq(status, 0, "memscope record failed (%d):\n%s", status, text);
	grown = heap_at(log, window_end) - heap_at(log, window_start);
	js = (double)folded_sum(folded, ";[v8-heap];[js-heap];");
	cr_assert(!isnan(grown) && grown > 8 * MIB, "node's heap log does not cover the window "
		  "(%.0f B):\n%s", grown, log);
	cr_log_info("js-heap: %.1f MiB sampled live; node's heap kept %.1f MiB (%+.1f%%)",
		    js / MIB, grown / MIB, 100 * (js / grown - 1));
	cr_expect(fabs(js / grown - 1) <= SIZE_TOLERANCE, "%.0f sampled against %.0f kept", js,
		  grown);
	free(log);
	free(text);
}

/* node in a network namespace of its own, like a container: its inspector
 * opens on that namespace's loopback, where memscope's child joins it; the
 * host's loopback never listens. */
Test(jsheap, node_in_its_own_network_namespace)
{
	char err[256], folded[256], report[256];
	pid_t node = start_node_in("node", "", "jsheap_map.js", "netns", true);
	bool open_during;
	int status = record("netns", 4, node, &open_during, err, folded, report);
	bool host_open = port_listens(getpid(), 9229), open_after = port_listens(node, 9229);
	char *text = read_text(err);
	uint64_t js = folded_sum(folded, ";[v8-heap];[js-heap];");
	uint64_t keep = folded_sum_both(folded, ";[js-heap];", ";keepReports_jsheap_map.js:");
	char self[64], target[64];
	ssize_t a, b;

	snprintf(self, sizeof(self), "/proc/%d/ns/net", node);
	b = readlink(self, target, sizeof(target) - 1);
	a = readlink("/proc/self/ns/net", self, sizeof(self) - 1);
	stop(node);
	cr_assert(a > 0 && b > 0 && (a != b || memcmp(self, target, a)),
		  "node is not in a network namespace of its own");
	cr_assert_eq(status, 0, "memscope record failed (%d):\n%s", status, text);
	cr_expect(open_during, "the inspector was not open in node's namespace:\n%s", text);
	cr_expect(!open_after, "the inspector still listens after memscope exited:\n%s", text);
	cr_expect(!host_open, "something listens on the host's 9229");
	cr_assert_gt(js, 4 * MIB, "too few sampled bytes:\n%s", text);
	cr_expect_geq((double)keep / js, MIN_SHARE);
	free(text);
}

/* The child holding the session SIGKILLed mid-window (nothing of it can
 * close the inspector): memscope survives it, records on, and closes the
 * inspector with a second child at the window's end, TurboFan inlining
 * turned back on first. */
Test(jsheap, session_child_killed)
{
	char err[256], folded[256], report[256], path[96];
	pid_t node = start_node("node", "", "child"), rec, child = 0;
	char *kids, *text;
	int status;

	rec = start_record("child", err, folded, report);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", rec, rec);
	kids = read_text(path);
	if (kids)
		child = atoi(kids);
	free(kids);
	cr_assert_gt(child, 0, "memscope has no child holding the session");
	kill(child, SIGKILL);
	usleep(1000 * 1000);
	cr_expect(port_listens(node, 9229), "the inspector closed with the child");
	kill(rec, SIGINT);
	status = wait_exit(rec, 240);
	text = read_text(err);
	cr_expect(!port_listens(node, 9229), "the inspector stayed open:\n%s", text);
	stop(node);
	cr_assert_eq(status, 0, "memscope record failed (%d):\n%s", status, text);
	cr_expect(strstr(text, "and closed again"), "%s", text);
	cr_expect(strstr(text, "no profile"), "%s", text);
	/* the second child puts the optimizer back as the first would have */
	cr_expect(strstr(text, "TurboFan inlining off for the window and restored"), "%s", text);
	cr_expect_gt(folded_sum(folded, NULL), 0, "the recording lost its stacks:\n%s", text);
	free(text);
}

/* -p on a program that is not node but catches SIGUSR1 (a shell trapping
 * it, as nginx reopens its logs on it): never signalled. */
Test(jsheap, other_programs_never_signalled)
{
	char err[256], out[256];
	char *sh_argv[] = { "/bin/sh", "-c", "trap 'echo got SIGUSR1' USR1; echo ready; "
			    "while :; do sleep 0.1; done", NULL };
	pid_t sh, rec;
	char pid[16];
	char *argv[] = { (char *)memscope_bin(), "record", "-p", pid, "--js-heap", "-d", "1", "-o",
			 "/dev/null", NULL };
	char *text, *said;
	int status;

	strcpy(out, scratch_path("other.out"));
	strcpy(err, scratch_path("other.err"));
	sh = spawn(sh_argv, out, NULL);
	cr_assert(wait_for_text(out, "ready", 10), "the shell did not start");
	snprintf(pid, sizeof(pid), "%d", sh);
	rec = spawn(argv, NULL, err);
	status = wait_exit(rec, 240);
	usleep(300 * 1000);
	text = read_text(err);
	said = read_text(out);
	stop(sh);
	cr_assert_eq(status, 0, "memscope record failed (%d):\n%s", status, text);
	cr_expect(strstr(text, "its executable is not node: not signalled"), "%s", text);
	cr_expect(!strstr(said, "got SIGUSR1"), "the shell was sent SIGUSR1");
	free(text);
	free(said);
}

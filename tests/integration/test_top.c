/* memscope top against real cgroups: one growing at a known rate, one flat.
 * Tolerance: the slope is within ±20% of the rate the workload paces itself
 * to (it lands within 1-2% on an idle host; the margin is for a loaded one).
 * The interactive view is driven in a real terminal: a private tmux server
 * with a fixed-size window, read with capture-pane. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define GROW_MIB_S	20
#define GROW_SECS	16	/* longer than the window plus top's start */
#define FLAT_MIB	64
#define WINDOW		"8"

static struct test_cgroup grow_cg, flat_cg;
static pid_t workloads[2];
static int n_workloads;
static char tmux_sock[128];	/* a private tmux server, in the scratch directory */

static void kill_tmux(void);

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(tcg_create(&grow_cg, "topgrow", 0), 0, "cannot create a test memory cgroup");
	cr_assert_eq(tcg_create(&flat_cg, "topflat", 0), 0, "cannot create a test memory cgroup");
}

static void teardown(void)
{
	if (tmux_sock[0])
		kill_tmux();
	for (int i = 0; i < n_workloads; i++) {
		kill(workloads[i], SIGKILL);
		waitpid(workloads[i], NULL, 0);
	}
	n_workloads = 0;
	tcg_destroy(&grow_cg);
	tcg_destroy(&flat_cg);
}

/* A grower in cg, back once its initial memory is touched. */
static void start_grower(const struct test_cgroup *cg, const char *initial, const char *rate,
			 const char *tag)
{
	char ready[PATH_MAX], secs[16];
	char *argv[] = { WORKLOAD("grower"), "-g", (char *)cg->procs, "-i", (char *)initial,
			 "-r", (char *)rate, "-d", secs, "-h", "120", "-R", ready, NULL };

	snprintf(secs, sizeof(secs), "%d", GROW_SECS);
	snprintf(ready, sizeof(ready), "%s", scratch_path(tag));
	workloads[n_workloads++] = spawn(argv, NULL, NULL);
	cr_assert(wait_for_file(ready, 30), "grower %s did not start", tag);
}

/* Runs memscope top with args; its stdout (malloc'd) or a failed assertion. */
static char *run_top(char **args)
{
	char *argv[24] = { (char *)memscope_bin(), "top" };
	const char *out = scratch_path("top.out"), *err = scratch_path("top.err");
	int n = 2, status;

	for (; *args && n < 23; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	status = wait_exit(spawn(argv, out, err), 60);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "memscope top failed (status %d):\n%s", status, read_text(err));
	return read_text(out);
}

/* ---- a small reader for top's one-line JSON -------------------------------- */

/* The row object labelled label ("{...}" copied into a malloc'd string), or NULL. */
static char *row_of(const char *json, const char *label)
{
	char needle[256];
	const char *start, *p;
	int depth = 0;
	bool in_str = false;

	snprintf(needle, sizeof(needle), "{\"label\":\"%s\",", label);
	start = strstr(json, needle);
	if (!start)
		return NULL;
	for (p = start; *p; p++) {
		if (in_str) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				in_str = false;
			continue;
		}
		if (*p == '"')
			in_str = true;
		else if (*p == '{')
			depth++;
		else if (*p == '}' && --depth == 0)
			return strndup(start, (size_t)(p - start + 1));
	}
	return NULL;
}

/* The raw text of a top-level member's value in a row object. */
static const char *field(const char *row, const char *key)
{
	char needle[64];
	const char *p;

	snprintf(needle, sizeof(needle), "\"%s\":", key);
	p = strstr(row, needle);
	cr_assert_not_null(p, "no %s in %s", key, row);
	return p + strlen(needle);
}

static bool field_is(const char *row, const char *key, const char *value)
{
	return !strncmp(field(row, key), value, strlen(value));
}

/* The label of the first row of the document. */
static char *first_label(const char *json)
{
	const char *p = strstr(json, "\"cgroups\":[{\"label\":\"");
	const char *end;

	if (!p)
		return NULL;
	p += strlen("\"cgroups\":[{\"label\":\"");
	end = strchr(p, '"');
	return end ? strndup(p, (size_t)(end - p)) : NULL;
}

TestSuite(top, .init = setup, .fini = teardown, .timeout = 120);

/* Issue 16: as root, top measures node's V8 heap the way record does, so a
 * heap that grows is "V8 heap growth", and the V8 column has a figure. */
Test(top, node_heap_growth_is_v8_as_root)
{
	char start[PATH_MAX], cmd[4 * PATH_MAX];
	char *node[] = { "/bin/sh", "-c", cmd, NULL };
	char *args[] = { "--once", "--json", "--window", WINDOW, "-c", grow_cg.rel, NULL };
	char *json, *row;

	if (system("command -v node >/dev/null 2>&1"))
		cr_skip_test("node is not installed");
	snprintf(start, sizeof(start), "%s", scratch_path("v8top.start"));
	/* 1 MiB of small objects every 100 ms: 10 MiB/s of heap. */
	snprintf(cmd, sizeof(cmd), "exec node --max-old-space-size=4096 tests/workloads/v8grow.js "
		 "%s %s 1 100", grow_cg.procs, start);
	workloads[n_workloads++] = spawn(node, NULL, NULL);
	/* node moves itself into the cgroup: top lists it from then on. */
	cr_assert(wait_for_text(grow_cg.procs, "\n", 30), "node did not join its cgroup");
	cr_assert_eq(close(creat(start, 0600)), 0);
	json = run_top(args);
	cr_assert_not_null(json);
	row = row_of(json, grow_cg.rel);
	cr_assert_not_null(row, "no row for %s:\n%s", grow_cg.rel, json);
	cr_log_info("node under top: %s", row);
	cr_expect(field_is(row, "verdict", "\"V8 heap growth\""), "%s", row);
	cr_expect_gt(strtoull(field(row, "v8_heap"), NULL, 10), 16 * MIB, "%s", row);
	free(row);
	free(json);
}

Test(top, once_json_growth_and_verdicts)
{
	char rate[16], flat[16], quoted[160];
	char *args[] = { "--once", "--json", "--window", WINDOW, "-c", grow_cg.rel, "-c",
			 flat_cg.rel, NULL };
	char *json, *grow, *still, *first;
	double slope;

	snprintf(rate, sizeof(rate), "%d", GROW_MIB_S);
	snprintf(flat, sizeof(flat), "%d", FLAT_MIB);
	start_grower(&flat_cg, flat, "0", "flat.ready");
	start_grower(&grow_cg, "0", rate, "grow.ready");
	json = run_top(args);
	cr_assert_not_null(json);
	cr_assert_eq(strchr(json, '\n'), json + strlen(json) - 1, "one document, one line:\n%s",
		     json);
	grow = row_of(json, grow_cg.rel);
	still = row_of(json, flat_cg.rel);
	cr_assert(grow && still, "both test cgroups labelled by their path:\n%s", json);
	first = first_label(json);
	cr_assert_str_eq(first, grow_cg.rel, "the growing cgroup is not first:\n%s", json);

	slope = strtod(field(grow, "growth_mib_per_min"), NULL);
	cr_log_info("grower: %.1f MiB/min (expected %d)", slope, GROW_MIB_S * 60);
	cr_expect_geq(slope, GROW_MIB_S * 60 * 0.8, "slope too low: %s", grow);
	cr_expect_leq(slope, GROW_MIB_S * 60 * 1.2, "slope too high: %s", grow);
	cr_expect(field_is(grow, "verdict", "\"native growth\""), "%s", grow);
	cr_expect(field_is(grow, "monotonic", "true"), "%s", grow);
	cr_expect(field_is(still, "verdict", "\"stable\""), "the flat cgroup: %s", still);
	cr_expect_geq(strtoull(field(still, "anon"), NULL, 10), FLAT_MIB * MIB * 0.95, "%s", still);
	snprintf(quoted, sizeof(quoted), "\"%s\"", flat_cg.rel);
	cr_expect(field_is(still, "cgroup", quoted), "%s", still);
	cr_expect(field_is(grow, "procs", "1,"), "%s", grow);
	free(first);
	free(grow);
	free(still);
	free(json);
}

Test(top, lists_every_cgroup_with_processes)
{
	char flat[16], *json, *row;
	char *args[] = { "--once", "--json", "--window", "1", NULL };

	snprintf(flat, sizeof(flat), "%d", FLAT_MIB);
	start_grower(&flat_cg, flat, "0", "flat.ready");
	json = run_top(args);
	row = row_of(json, flat_cg.rel);
	cr_assert_not_null(row, "%s missing:\n%s", flat_cg.rel, json);
	cr_expect_not_null(strstr(json, "{\"label\":\"/\","), "no row for the root:\n%s", json);
	cr_expect_null(row_of(json, grow_cg.rel), "a cgroup without processes is listed");
	free(row);
	free(json);
}

/* ---- the interactive view in tmux ------------------------------------------ */


/* Runs a tmux command on the private server; its exit status. */
static int tmux(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int tmux(const char *fmt, ...)
{
	char cmd[2048];
	int n;
	va_list ap;

	n = snprintf(cmd, sizeof(cmd), "tmux -S %s -f /dev/null ", tmux_sock);
	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	return system(cmd);
}

static char *screen(void)
{
	const char *f = scratch_path("screen.txt");

	tmux("capture-pane -p -t top > %s", f);
	return read_text(f);
}

static char *pane_var(const char *var)
{
	const char *f = scratch_path("var.txt");

	tmux("display-message -p -t top '#{%s}' > %s", var, f);
	return read_text(f);
}

static bool wait_screen(const char *a, const char *b, double timeout_s)
{
	for (double waited = 0; waited < timeout_s; waited += 0.2) {
		char *s = screen();
		bool found = s && strstr(s, a) && (!b || strstr(s, b));

		free(s);
		if (found)
			return true;
		usleep(200 * 1000);
	}
	return false;
}

static void kill_tmux(void)
{
	tmux("kill-server 2>/dev/null");
	unlink(tmux_sock);
	tmux_sock[0] = '\0';
}

/* Is flag on ("flag", not "-flag") in `stty -a` output? */
static bool stty_flag(const char *stty, const char *flag)
{
	size_t n = strlen(flag);

	for (const char *p = stty; (p = strstr(p, flag)); p += n)
		if ((p == stty || strchr(" \n", p[-1])) && strchr(" \n", p[n]))
			return true;
	return false;
}

/* Starts top in a 150x30 tmux window, checks the screen, presses key,
 * checks that top exited 0 and left the terminal as it found it. */
static void interactive(const char *key)
{
	char flat[16], cmd[1024], stty[128], *s, *alt;

	cr_assert_eq(system("command -v tmux >/dev/null"), 0, "tmux is not installed");
	snprintf(flat, sizeof(flat), "%d", FLAT_MIB);
	cr_assert_lt(snprintf(stty, sizeof(stty), "%s", scratch_path("stty.txt")), (int)sizeof(stty));
	start_grower(&flat_cg, flat, "0", "flat.ready");
	cr_assert_lt(snprintf(tmux_sock, sizeof(tmux_sock), "%s", scratch_path("tmux.sock")),
		     (int)sizeof(tmux_sock));
	/* The shell outlives top, so its status and the tty modes can be read
	 * (single-quoted for system()'s shell: $? and $rc are the pane's). */
	snprintf(cmd, sizeof(cmd), "echo BEFORE-TOP; %s top -i 1 -c %s; rc=$?; stty -a > %s; "
		 "echo EXITED $rc; sleep 60", memscope_bin(), flat_cg.rel, stty);
	cr_assert_eq(tmux("new-session -d -s top -x 150 -y 30 '%s'", cmd), 0,
		     "cannot start tmux");
	if (!wait_screen("CONTAINER", flat_cg.rel, 20)) {
		s = screen();
		kill_tmux();
		cr_assert_fail("top's table did not show up:\n%s", s);
	}
	s = screen();
	alt = pane_var("alternate_on");
	cr_expect(strstr(s, "memscope top") && strstr(s, "MiB/min") && strstr(s, "VERDICT"),
		  "header:\n%s", s);
	cr_expect_null(strstr(s, "BEFORE-TOP"), "not on the alternate screen:\n%s", s);
	cr_expect(alt && alt[0] == '1', "alternate screen off while running");
	free(s);
	free(alt);

	tmux("send-keys -t top %s", key);
	if (!wait_screen("EXITED", NULL, 10)) {
		s = screen();
		kill_tmux();
		cr_assert_fail("top did not exit on %s:\n%s", key, s);
	}
	s = screen();
	alt = pane_var("alternate_on");
	kill_tmux();
	cr_expect(strstr(s, "EXITED 0"), "exit status:\n%s", s);
	cr_expect(strstr(s, "BEFORE-TOP"), "the normal screen is not back:\n%s", s);
	cr_expect_null(strstr(s, "CONTAINER"), "the table stayed on screen:\n%s", s);
	cr_expect(alt && alt[0] == '0', "still on the alternate screen");
	free(s);
	free(alt);
	s = read_text(stty);
	cr_assert_not_null(s, "stty did not run");
	cr_expect(stty_flag(s, "icanon"), "line mode not restored:\n%s", s);
	cr_expect(stty_flag(s, "echo"), "echo not restored:\n%s", s);
	cr_expect(stty_flag(s, "isig"), "signals not restored:\n%s", s);
	free(s);
}

Test(top, interactive_quits_on_q)
{
	interactive("q");
}

Test(top, interactive_quits_on_ctrl_c)
{
	interactive("C-c");
}

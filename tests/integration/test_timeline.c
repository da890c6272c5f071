/* The charge timeline behind `memscope oom`'s growth figures, from both of
 * its sources: a process in a memory-limited test cgroup touches anonymous
 * memory at a known rate until the limit gets it killed, and the report's
 * growth must name the source and give that rate within 20%. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define LIMIT		(96 * MIB)
/* 6 MiB/s reaches the limit in ~16 s: a dozen points after the timeline's
 * first walk, which can come up to 5 s after the process joins. */
#define RATE_MIB_S	6
#define RATE_TEXT	"6"
#define TOLERANCE	0.20

static struct test_cgroup cg;
static pid_t kids[2];
static int n_kids;

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(tcg_create(&cg, "timeline", LIMIT), 0, "cannot create a test memory cgroup");
}

static void teardown(void)
{
	for (int i = 0; i < n_kids; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	n_kids = 0;
	tcg_destroy(&cg);
}

TestSuite(timeline, .init = setup, .fini = teardown, .timeout = 90);

static pid_t track(pid_t pid)
{
	cr_assert_gt(pid, 0, "cannot spawn");
	kids[n_kids++] = pid;
	return pid;
}

static void untrack(pid_t pid)
{
	for (int i = 0; i < n_kids; i++)
		if (kids[i] == pid)
			kids[i] = kids[--n_kids];
}

/* The number after "key": in the first "growth" object of text. */
static double growth_number(const char *text, const char *key)
{
	char needle[64];
	const char *g = strstr(text, "\"growth\":{"), *at;

	snprintf(needle, sizeof(needle), "\"%s\":", key);
	at = g ? strstr(g, needle) : NULL;
	return at ? strtod(at + strlen(needle), NULL) : NAN;
}

static void grow_until_killed(const char *source, const char *why)
{
	const char *out = scratch_path("tl.json"), *err = scratch_path("tl.err");
	char *ms_argv[] = { (char *)memscope_bin(), "oom", "--json", "-o", (char *)out, "-c",
			    cg.rel, NULL };
	char *grow_argv[] = { WORKLOAD("grower"), "-g", cg.procs, "-r", RATE_TEXT, "-d", "60",
			      NULL };
	char want[128], notice[256];
	double slope, anon;
	pid_t ms, grower;
	int status;
	char *json;

	ms = track(spawn(ms_argv, NULL, err));
	cr_assert(wait_for_text(err, "watching for OOM kills", 30), "memscope did not start:\n%s",
		  read_text(err));
	snprintf(notice, sizeof(notice), "charge timeline from %s (%s)", source, why);
	cr_expect(strstr(read_text(err), notice), "no notice '%s':\n%s", notice, read_text(err));

	grower = track(spawn(grow_argv, NULL, NULL));
	status = wait_exit(grower, 60);
	untrack(grower);
	cr_assert(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		  "grower was not OOM-killed (status %d)", status);
	cr_assert(wait_for_text(out, "\"growth\":", 15), "no report");
	kill(ms, SIGINT);
	status = wait_exit(ms, 30);
	untrack(ms);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "memscope failed:\n%s",
		  read_text(err));

	json = read_text(out);
	cr_log_info("report: %s", json);
	snprintf(want, sizeof(want), "\"growth\":{\"source\":\"%s\"", source);
	cr_assert(strstr(json, want), "not %s:\n%s", want, json);
	cr_expect_geq(growth_number(json, "points"), 5, "too few points:\n%s", json);
	slope = growth_number(json, "slope_mib_per_min");
	anon = growth_number(json, "anon");
	cr_expect(fabs(slope - RATE_MIB_S * 60) <= TOLERANCE * RATE_MIB_S * 60,
		  "usage slope %.1f MiB/min, not %d:\n%s", slope, RATE_MIB_S * 60, json);
	cr_expect(fabs(anon - RATE_MIB_S * 60) <= TOLERANCE * RATE_MIB_S * 60,
		  "anon slope %.1f MiB/min, not %d:\n%s", anon, RATE_MIB_S * 60, json);
	free(json);
}

Test(timeline, from_memcg_tracepoints)
{
	grow_until_killed("memcg tracepoints", "the kernel has them");
}

Test(timeline, from_memory_stat_when_disabled)
{
	setenv("MEMSCOPE_DISABLE", "memcg_tp", 1);
	grow_until_killed("memory.stat",
			  "no memcg tracepoints: disabled by MEMSCOPE_DISABLE=memcg_tp");
}

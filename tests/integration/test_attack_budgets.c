/* Attacks on memscope's memory and time (issue 13, items 2-4), played
 * against the real binary, which must finish its work within the global
 * budgets of user/lib/budget.h:
 *   - crafted sparse ELF files (tests/attack/elfbomb.c): symbol tables and
 *     overlapping notes that describe gigabytes of holes;
 *   - one 64 MiB perf map hard-linked by several JIT processes
 *     (tests/attack/jitmaps.c);
 *   - a process that tells V8's uprobes it committed its whole address space
 *     and maps a 64 TiB readable region (tests/attack/v8range.c).
 * memscope runs in a memory cgroup of its own with a limit, so that a build
 * without the budgets is killed there instead of taking the machine; its peak
 * RSS (VmHWM, from wait4's ru_maxrss) is what the tests measure. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "../../user/lib/budget.h"

#define ATTACK(name)	"build/attack/" name
/* memscope record's own peak on a small target here is ~30 MiB. */
#define BASELINE_MIB	64
#define MS_LIMIT	(2048 * MIB)

static struct test_cgroup ms_cg, target_cg;
static pid_t kids[4];
static int n_kids;

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	n_kids = 0;
	cr_assert_eq(tcg_create(&ms_cg, "budget-ms", MS_LIMIT), 0, "cannot create a memory cgroup");
	cr_assert_eq(tcg_create(&target_cg, "budget-target", 0), 0,
		     "cannot create a memory cgroup");
}

static void teardown(void)
{
	for (int i = 0; i < n_kids; i++) {
		kill(kids[i], SIGTERM);
		waitpid(kids[i], NULL, 0);
	}
	tcg_destroy(&ms_cg);
	tcg_destroy(&target_cg);
}

TestSuite(attack_budgets, .init = setup, .fini = teardown, .timeout = 150);

static pid_t track(pid_t pid)
{
	cr_assert_gt(pid, 0, "cannot fork");
	kids[n_kids++] = pid;
	return pid;
}

/* argv run inside cg (its first command writes its pid there, then execs). */
static pid_t spawn_in(const struct test_cgroup *cg, char *const argv[], const char *out,
		      const char *err)
{
	char *sh[32] = { "/bin/sh", "-c", "echo $$ > \"$0\" && exec \"$@\"", (char *)cg->procs };
	int n = 4;

	for (int i = 0; argv[i] && n < 31; i++)
		sh[n++] = argv[i];
	sh[n] = NULL;
	return spawn(sh, out, err);
}

/* memscope record on the target cgroup, in its own limited cgroup; the
 * --report JSON is returned (malloc'd). */
static char *record_peak(const char *tag, const char *seconds, long *peak_kib)
{
	char folded[PATH_MAX], report[PATH_MAX], err[PATH_MAX];
	char *argv[] = { (char *)memscope_bin(), "record", "-c", target_cg.rel, "-d",
			 (char *)seconds, "--mode", "allocated", "-o", folded, "--report", report,
			 NULL };
	char *json, name[64];
	int status;


	snprintf(name, sizeof(name), "%s.folded", tag);
	snprintf(folded, sizeof(folded), "%s", scratch_path(name));
	snprintf(name, sizeof(name), "%s.json", tag);
	snprintf(report, sizeof(report), "%s", scratch_path(name));
	snprintf(name, sizeof(name), "%s.err", tag);
	snprintf(err, sizeof(err), "%s", scratch_path(name));
	status = wait_exit_peak(spawn_in(&ms_cg, argv, NULL, err), 120, peak_kib);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "memscope record did not finish (status %#x: killed by the OOM killer in its "
		  "%llu MiB cgroup?):\n%s", status, (unsigned long long)(MS_LIMIT / MIB),
		  read_text(err));
	json = read_text(report);
	cr_assert(json, "no report");
	return json;
}

/* The attacker argv in the target cgroup, once it says "ready", then
 * record_peak on it. */
static char *attack(char *const argv[], const char *tag, const char *seconds, long *peak_kib)
{
	char name[64], out[PATH_MAX];

	snprintf(name, sizeof(name), "%s.out", tag);
	snprintf(out, sizeof(out), "%s", scratch_path(name));
	track(spawn_in(&target_cg, argv, out, NULL));
	cr_assert(wait_for_text(out, "ready", 30), "%s did not start:\n%s", argv[0],
		  read_text(out));
	return record_peak(tag, seconds, peak_kib);
}

/* Five files with a 120 MiB hole each (600 MiB of symbol tables, 16 notes of
 * 120 MiB each), one with a 3 GiB hole: memscope holds at most its ELF
 * budget and one file's share beyond its baseline, evicting as it names the
 * files' frames, and refuses the big file's tables. */
Test(attack_budgets, sparse_elf_files_stay_within_the_elf_budget)
{
	char *argv[] = { ATTACK("elfbomb"), (char *)scratch_dir(), "120", "5", "3072", NULL };
	long peak_kib = 0, bound_mib = (BUDGET_ELF_BYTES + BUDGET_ELF_FILE_BYTES) / MIB + BASELINE_MIB;
	char *json, *folded;

	json = attack(argv, "elfbomb", "3", &peak_kib);
	cr_log_info("elfbomb: memscope peak RSS %ld MiB (bound %ld MiB)", peak_kib / 1024,
		    bound_mib);
	cr_expect_lt(peak_kib / 1024, bound_mib, "memscope's peak RSS %ld MiB is over %ld MiB",
		     peak_kib / 1024, bound_mib);
	cr_expect_gt(json_num_after(json, "\"budgets\"", "elf_refused"), 0,
		     "the 3 GiB symbol table was not refused:\n%s", json);
	cr_expect_gt(json_num_after(json, "\"budgets\"", "elf_evicted"), 0,
		     "600 MiB of symbol tables held without evicting:\n%s", json);
	folded = read_text(scratch_path("elfbomb.folded"));
	cr_expect(folded && strstr(folded, "[bomb-0.elf]") && strstr(folded, "[bomb-5.elf]"),
		  "the crafted files' frames are not in the stacks:\n%s", folded);
	free(folded);
	free(json);
}

/* Six JIT processes, one 64 MiB perf map hard-linked six times: parsed
 * once (~180 MiB) and shared, where one parse per process would take over
 * a GiB. The bound: the perf-map budget, the file read whole (64 MiB) and
 * the baseline. */
#define JIT_PROCS	"6"

Test(attack_budgets, hard_linked_perf_maps_are_parsed_once)
{
	char *argv[] = { ATTACK("jitmaps"), (char *)scratch_dir(), JIT_PROCS, NULL };
	long peak_kib = 0, bound_mib = BUDGET_PERFMAP_BYTES / MIB + 64 + BASELINE_MIB;
	char *json, *folded;

	json = attack(argv, "jitmaps", "4", &peak_kib);
	cr_log_info("jitmaps: memscope peak RSS %ld MiB (bound %ld MiB)", peak_kib / 1024,
		    bound_mib);
	cr_expect_lt(peak_kib / 1024, bound_mib, "memscope's peak RSS %ld MiB is over %ld MiB",
		     peak_kib / 1024, bound_mib);
	cr_expect_geq(json_num_after(json, "\"budgets\"", "perfmap_shared"), atoi(JIT_PROCS) - 1,
		      "the processes' map was not shared:\n%s", json);
	folded = read_text(scratch_path("jitmaps.folded"));
	cr_expect(folded && strstr(folded, "memscopeJitBomb_[j]"),
		  "the JIT frames are not named from the map:\n%s", folded);
	free(folded);
	free(json);
}

/* The main loop must keep its pace while a V8-looking process says it
 * committed its whole address space and maps 64 TiB: record's 4 s window
 * ends in seconds, not in the hours a full pagemap read of 2^35 pages per
 * tick would take, and the work left undone is counted. */
Test(attack_budgets, huge_set_permissions_range_keeps_the_loop_ticking)
{
	char *argv[] = { ATTACK("v8range"), NULL };
	long peak_kib = 0;
	struct timespec t0, t1;
	double took;
	char *json;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	json = attack(argv, "v8range", "4", &peak_kib);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	took = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_log_info("v8range: memscope record -d 4 took %.1f s, peak RSS %ld MiB", took,
		    peak_kib / 1024);
	cr_expect_lt(took, 60, "record -d 4 took %.0f s", took);
	cr_expect_gt(json_num_after(json, "\"budgets\"", "v8_pages_skipped"), 0,
		     "no pagemap read was cut short:\n%s", json);
	cr_expect_gt(json_num_after(json, "\"budgets\"", "v8_probes_skipped"), 0,
		     "no chunk probe was cut short:\n%s", json);
	free(json);
}

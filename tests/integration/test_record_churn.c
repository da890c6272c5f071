/* memscope record on a host that forks all the time: with a process table
 * far smaller than the processes started (--max-procs 64, 300 short-lived
 * processes), the slots of exited processes are recycled, nothing falls into
 * the overflow slot, and the exact per-container totals still count what
 * the exited processes did. Tolerances: the long-lived leak within ±10%
 * (sampled stacks scaled to the exact total); the churners' allocations
 * within -5%/+10% of what they touched (each also maps its stack, page
 * tables and libc data). */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define HOLD_MIB	64
#define CHURNERS	300
#define CHURN_MIB	4	/* each churner's leak, freed when it exits */
#define CHURN_GAP_US	90000	/* under the 62 slots recycled every 5 s */

static struct test_cgroup cg;

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(tcg_create(&cg, "churn", 0), 0, "cannot create a test memory cgroup");
}

static void teardown(void)
{
	tcg_destroy(&cg);
}

TestSuite(record_churn, .init = setup, .fini = teardown, .timeout = 120);

Test(record_churn, recycled_slots_keep_totals)
{
	char out[256], err[256], ready[256], report[256], label[200], pid_key[64];
	char *rec_argv[] = { (char *)memscope_bin(), "record", "-c", cg.rel, "--max-procs", "64",
			     "-o", out, "--report", report, NULL };
	char *hold_argv[] = { WORKLOAD("leaker"), "-g", cg.procs, "-l", "64", "-c", "0",
			      "-h", "120", "-r", ready, NULL };
	char *churn_argv[] = { WORKLOAD("leaker"), "-g", cg.procs, "-l", "4", "-c", "0",
			       "-h", "0", NULL };
	long long procs_full, cg_alloc, exited, hold_alloc, hold_resident;
	double churn_alloc, expect = (double)CHURNERS * CHURN_MIB * MIB;
	pid_t rec, holder;
	uint64_t leak;
	char *json;
	int status;

	snprintf(out, sizeof(out), "%s", scratch_path("churn.folded"));
	snprintf(err, sizeof(err), "%s", scratch_path("churn.err"));
	snprintf(ready, sizeof(ready), "%s", scratch_path("churn.ready"));
	snprintf(report, sizeof(report), "%s", scratch_path("churn.json"));
	rec = spawn(rec_argv, NULL, err);
	cr_assert(wait_for_text(err, "recording", 30), "memscope did not start:\n%s",
		  read_text(err));
	holder = spawn(hold_argv, NULL, NULL);
	cr_assert(wait_for_file(ready, 30), "the leaker did not get ready");
	for (int i = 0; i < CHURNERS; i++) {
		cr_assert_eq(wait_exit(spawn(churn_argv, NULL, NULL), 10), 0);
		usleep(CHURN_GAP_US);
	}
	kill(rec, SIGINT);
	status = wait_exit(rec, 60);
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	cr_assert_eq(status, 0, "memscope record failed (status %d):\n%s", status, read_text(err));

	json = read_text(report);
	cr_assert_not_null(json, "no report:\n%s", read_text(err));
	procs_full = json_num_after(json, "\"losses\"", "procs_full");
	snprintf(label, sizeof(label), "\"label\": \"%s\"", cg.rel);
	cg_alloc = json_num_after(json, label, "alloc_bytes");
	exited = json_num_after(json, label, "exited_processes");
	snprintf(pid_key, sizeof(pid_key), "\"pid\": %d,", (int)holder);
	hold_alloc = json_num_after(json, pid_key, "alloc_bytes");
	hold_resident = json_num_after(json, pid_key, "resident_bytes");
	cr_assert(strstr(json, pid_key), "the long-lived leaker is not in the report");
	churn_alloc = (double)(cg_alloc - hold_alloc);
	leak = folded_sum(out, ";leak_fn;");
	cr_log_info("procs_full %lld, %lld exited processes folded, churners allocated %.1f MiB "
		    "(touched %.0f), leaker resident %.1f MiB, leak_fn %.1f MiB", procs_full,
		    exited, churn_alloc / MIB, expect / MIB, hold_resident / (double)MIB,
		    leak / (double)MIB);

	cr_expect_eq(procs_full, 0, "the process table filled up");
	cr_expect_geq(exited, CHURNERS * 3 / 4, "only %lld of %d exited processes recycled",
		      exited, CHURNERS);
	cr_expect_geq(churn_alloc, expect * 0.95, "churners under-counted: %.1f MiB",
		      churn_alloc / MIB);
	cr_expect_leq(churn_alloc, expect * 1.10, "churners over-counted: %.1f MiB",
		      churn_alloc / MIB);
	cr_expect_geq(hold_resident, HOLD_MIB * MIB * 0.9);
	cr_expect_leq(hold_resident, HOLD_MIB * MIB * 1.1);
	cr_expect_geq(leak, HOLD_MIB * MIB * 0.9, "leak_fn %.1f MiB", leak / (double)MIB);
	cr_expect_leq(leak, HOLD_MIB * MIB * 1.1, "leak_fn %.1f MiB", leak / (double)MIB);
	free(json);
}

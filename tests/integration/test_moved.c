/* Pages the kernel moves or splits behind a process's back keep their owner:
 * khugepaged's collapse, compaction's migration, a huge page split by a
 * partial munmap, and the name a process takes at exec.
 * Tolerances: the leak is within ±10% under leak_fn and its container; the
 * exact resident total within 5% of the cgroup's own charge.
 * Machine-wide knobs (khugepaged's scan pace, compact_memory) are set for
 * the test and put back as they were. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define LEAK_MIB 40
#define KHUGEPAGED "/sys/kernel/mm/transparent_hugepage/khugepaged/"

static struct test_cgroup cg;

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(tcg_create(&cg, "moved", 0), 0, "cannot create a test memory cgroup");
}

static void teardown(void)
{
	tcg_destroy(&cg);
}

TestSuite(moved, .init = setup, .fini = teardown, .timeout = 240);

static uint64_t vmstat(const char *key)
{
	char *text = read_text("/proc/vmstat"), *p;
	unsigned long long v = 0;
	size_t len = strlen(key);

	for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, len) && p[len] == ' ') {
			sscanf(p + len, " %llu", &v);
			break;
		}
	free(text);
	return v;
}

static bool try_write(const char *file, const char *val)
{
	FILE *f = fopen(file, "we");

	if (!f)
		return false;
	fputs(val, f);
	return fclose(f) == 0;
}

static void write_file(const char *file, const char *val)
{
	cr_assert(try_write(file, val), "cannot write %s to %s", val, file);
}

struct run {
	char out[300], err[300], report[300], ready[300];
	pid_t rec, work;
};

/* memscope record on the whole host (so a kernel thread holding the pages
 * would show), and the workload in the test cgroup. */
static void start(struct run *r, const char *tag, const char *mode, const char *hold)
{
	char leak[16], name[64];
	char *rec_argv[] = { (char *)memscope_bin(), "record", "-d", "120", "-o", r->out,
			     "--report", r->report, NULL };
	char *work_argv[] = { WORKLOAD("thpleak"), "-m", (char *)mode, "-g", cg.procs, "-l", leak,
			      "-r", r->ready, "-h", (char *)hold, NULL };

#define SCRATCH(field, ext) \
	snprintf(name, sizeof(name), "%s.%s", tag, ext), \
	snprintf(r->field, sizeof(r->field), "%s", scratch_path(name))
	SCRATCH(out, "folded");
	SCRATCH(err, "err");
	SCRATCH(report, "json");
	SCRATCH(ready, "ready");
#undef SCRATCH
	snprintf(leak, sizeof(leak), "%d", LEAK_MIB);
	r->rec = spawn(rec_argv, NULL, r->err);
	cr_assert(wait_for_text(r->err, "recording", 60), "memscope did not start:\n%s",
		  read_text(r->err));
	r->work = spawn(work_argv, NULL, NULL);
}

/* Ends the window (SIGINT writes the output), then the workload. */
static char *finish(struct run *r, uint64_t *usage)
{
	int status;

	kill(r->rec, SIGINT);
	status = wait_exit(r->rec, 60);
	*usage = tcg_usage(&cg);
	kill(r->work, SIGKILL);
	waitpid(r->work, NULL, 0);
	cr_assert_eq(status, 0, "memscope record failed:\n%s", read_text(r->err));
	return read_text(r->report);
}

/* The container's resident total and leak_fn's bytes against what the
 * cgroup holds and what the workload keeps. */
static void check_owner(struct run *r, const char *json, uint64_t usage, uint64_t expect)
{
	char label[160];
	int64_t resident;
	uint64_t leak;

	snprintf(label, sizeof(label), "\"label\": \"%s\"", cg.rel);
	resident = json_num_after(json, label, "resident_bytes");
	leak = folded_sum_both(r->out, cg.rel, ";leak_fn;");
	cr_log_info("resident %.1f MiB, leak_fn %.1f MiB, cgroup %.1f MiB, expected %.1f MiB",
		    resident / (double)MIB, leak / (double)MIB, usage / (double)MIB,
		    expect / (double)MIB);
	cr_expect_geq(resident, (int64_t)(expect * 0.9), "the container lost its pages:\n%s",
		      read_text(r->err));
	cr_expect_leq(llabs(resident - (int64_t)usage), usage * 0.05 + MIB,
		      "resident %.1f MiB is not the cgroup's %.1f MiB", resident / (double)MIB,
		      usage / (double)MIB);
	cr_expect_geq(leak, expect * 0.9, "leak_fn lost its bytes: %.1f MiB", leak / (double)MIB);
	cr_expect_leq(leak, expect * 1.1, "leak_fn has too much: %.1f MiB", leak / (double)MIB);
	/* No kernel thread holds them instead (they may be listed, for what
	 * they allocated, with nothing left). */
	cr_expect_lt(json_num_after(json, "\"comm\": \"khugepaged\"", "resident_bytes"), (int64_t)MIB,
		     "khugepaged holds memory");
	cr_expect_lt(json_num_after(json, "\"comm\": \"kcompactd", "resident_bytes"), (int64_t)MIB,
		     "kcompactd holds memory");
}

Test(moved, khugepaged_collapse_keeps_owner)
{
	char *old_sleep = read_text(KHUGEPAGED "scan_sleep_millisecs");
	char *old_scan = read_text(KHUGEPAGED "pages_to_scan");
	uint64_t before = vmstat("thp_collapse_alloc"), usage;
	struct run r;
	char *json;

	cr_assert(old_sleep && old_scan, "no khugepaged here");
	write_file(KHUGEPAGED "scan_sleep_millisecs", "100");
	write_file(KHUGEPAGED "pages_to_scan", "32768");
	start(&r, "collapse", "collapse", "120");
	/* thpleak says when AnonHugePages covers 90% of the leak. */
	bool ready = wait_for_file(r.ready, 150);

	write_file(KHUGEPAGED "scan_sleep_millisecs", old_sleep);
	write_file(KHUGEPAGED "pages_to_scan", old_scan);
	free(old_sleep);
	free(old_scan);
	json = finish(&r, &usage);
	cr_assert(ready, "khugepaged did not collapse the leak in time");
	cr_log_info("thp_collapse_alloc +%llu, AnonHugePages %s kB",
		    (unsigned long long)(vmstat("thp_collapse_alloc") - before), read_text(r.ready));
	cr_assert_gt(vmstat("thp_collapse_alloc"), before, "no collapse happened");
	cr_expect_gt(json_num_after(json, "\"moved_pages\"", "collapsed"), 0, "no collapse seen");
	check_owner(&r, json, usage, LEAK_MIB * MIB);
	free(json);
}

Test(moved, compaction_keeps_owner)
{
	uint64_t usage;
	int64_t migrated = 0;
	struct run r;
	char *json;

	start(&r, "compact", "small", "120");
	cr_assert(wait_for_file(r.ready, 60), "thpleak did not start");
	/* Compaction moves what it finds in the blocks it empties: ask a few
	 * times, so some of the leak is among them. */
	for (int i = 0; i < 3; i++) {
		write_file("/proc/sys/vm/compact_memory", "1");
		usleep(300000);
	}
	json = finish(&r, &usage);
	migrated = json_num_after(json, "\"moved_pages\"", "migrated");
	/* Whether compaction meets the leak is luck (the kernel matrix's
	 * thp_migrate moves a whole leak on purpose): what must hold either
	 * way is that the owner keeps its pages. */
	cr_log_info("pages migrated with their owner: %lld", (long long)migrated);
	cr_expect_eq(json_num_after(json, "\"moved_pages\"", "unattributed"), 0);
	check_owner(&r, json, usage, LEAK_MIB * MIB);
	free(json);
}

Test(moved, split_huge_pages_keep_what_is_mapped)
{
	char limit[32];
	uint64_t usage;
	struct run r;
	char *json;

	start(&r, "split", "split", "120");
	cr_assert(wait_for_file(r.ready, 60), "thpleak did not start");
	/* Half of every huge page is unmapped: the kernel queues them for a
	 * deferred split and frees the unmapped halves under pressure, which
	 * a limit below the leak makes now. */
	snprintf(limit, sizeof(limit), "%llu", (unsigned long long)(LEAK_MIB * MIB * 3 / 4));
	{
		char file[320];

		/* cgroup v1 answers EBUSY when the reclaim it tries first leaves
		 * usage above the limit for a moment, though the split is done:
		 * the usage below says whether it worked. */
		snprintf(file, sizeof(file), "%s/%s", cg.dir,
			 cg.version == 1 ? "memory.limit_in_bytes" : "memory.max");
		try_write(file, limit);
	}
	for (int i = 0; i < 50 && tcg_usage(&cg) > LEAK_MIB * MIB * 3 / 4; i++)
		usleep(100000);
	usleep(500000);
	json = finish(&r, &usage);
	cr_assert_lt(usage, LEAK_MIB * MIB * 3 / 4, "the kernel did not split the huge pages");
	cr_expect_gt(json_num_after(json, "\"moved_pages\"", "split"), 0, "no split seen");
	check_owner(&r, json, usage, LEAK_MIB * MIB / 2);
	free(json);
}

/* A shell joins the cgroup, then execs the leaker: the row is the leaker's. */
Test(moved, process_named_after_exec)
{
	char out[300], err[300], report[300], script[1200], ready[300];
	char *rec_argv[] = { (char *)memscope_bin(), "record", "-c", cg.rel, "-d", "120", "-o",
			     out, "--report", report, NULL };
	char *sh_argv[] = { "/bin/sh", "-c", script, NULL };
	pid_t rec, sh;
	char *json;
	int status;

	snprintf(out, sizeof(out), "%s", scratch_path("exec.folded"));
	snprintf(err, sizeof(err), "%s", scratch_path("exec.err"));
	snprintf(report, sizeof(report), "%s", scratch_path("exec.json"));
	snprintf(ready, sizeof(ready), "%s", scratch_path("exec.ready"));
	/* The shell touches memory in the cgroup before the exec (a string it
	 * grows, in its own process), as a real wrapper script does. */
	snprintf(script, sizeof(script),
		 "echo $$ > %s; i=0; s=; while [ $i -lt 3000 ]; do s=\"$s$i\"; i=$((i+1)); done; "
		 "exec %s -l 16 -c 0 -h 60 -r %s", cg.procs, WORKLOAD("leaker"), ready);
	rec = spawn(rec_argv, NULL, err);
	cr_assert(wait_for_text(err, "recording", 60), "memscope did not start:\n%s", read_text(err));
	sh = spawn(sh_argv, NULL, NULL);
	cr_assert(wait_for_file(ready, 60), "leaker did not start");
	kill(rec, SIGINT);
	status = wait_exit(rec, 60);
	kill(sh, SIGKILL);
	waitpid(sh, NULL, 0);
	cr_assert_eq(status, 0, "memscope record failed:\n%s", read_text(err));
	json = read_text(report);
	cr_assert(json, "no report");
	cr_expect(strstr(json, "\"comm\": \"leaker\""), "the process is not named leaker:\n%s", json);
	cr_expect_null(strstr(json, "\"comm\": \"sh\""), "the pre-exec name labels a row:\n%s", json);
	free(json);
}

/* A process that moves to another cgroup has pages charged in both: the
 * container table keeps both, the process table lists the process once. */
Test(moved, a_process_that_changed_cgroups_is_listed_once)
{
	struct test_cgroup second;
	char out[300], err[300], report[300], script[1200], ready[300], pid_key[64];
	char *rec_argv[] = { (char *)memscope_bin(), "record", "-c", cg.rel, "-c", second.rel,
			     "-d", "120", "-o", out, "--report", report, NULL };
	char *sh_argv[] = { "/bin/sh", "-c", script, NULL };
	pid_t rec, sh;
	char *json, *p, *end;
	int status, rows = 0;

	cr_assert_eq(tcg_create(&second, "moved2", 0), 0, "cannot create a second test cgroup");
	snprintf(out, sizeof(out), "%s", scratch_path("twice.folded"));
	snprintf(err, sizeof(err), "%s", scratch_path("twice.err"));
	snprintf(report, sizeof(report), "%s", scratch_path("twice.json"));
	snprintf(ready, sizeof(ready), "%s", scratch_path("twice.ready"));
	snprintf(script, sizeof(script),
		 "echo $$ > %s; i=0; s=; while [ $i -lt 3000 ]; do s=\"$s$i\"; i=$((i+1)); done; "
		 "echo $$ > %s; exec %s -l 16 -c 0 -h 60 -r %s", cg.procs, second.procs,
		 WORKLOAD("leaker"), ready);
	rec = spawn(rec_argv, NULL, err);
	cr_assert(wait_for_text(err, "recording", 60), "memscope did not start:\n%s", read_text(err));
	sh = spawn(sh_argv, NULL, NULL);
	cr_assert(wait_for_file(ready, 60), "leaker did not start");
	kill(rec, SIGINT);
	status = wait_exit(rec, 60);
	kill(sh, SIGKILL);
	waitpid(sh, NULL, 0);
	tcg_destroy(&second);
	cr_assert_eq(status, 0, "memscope record failed:\n%s", read_text(err));
	json = read_text(report);
	cr_assert(json, "no report");
	/* Rows of the process table only (the class split lists processes too). */
	snprintf(pid_key, sizeof(pid_key), "\"pid\": %d,", sh);
	end = strstr(json, "\"oom_kills\"");
	for (p = strstr(json, "\"processes\": ["); p && (p = strstr(p, pid_key)) && (!end || p < end);
	     p += strlen(pid_key))
		rows++;
	cr_expect_eq(rows, 1, "pid %d listed %d times:\n%s", sh, rows, json);
	cr_expect(strstr(json, "\"cgroups\": 2"), "the row does not say it spans two cgroups");
	cr_expect(strstr(json, "\"comm\": \"leaker\""), "not named leaker");
	free(json);
}

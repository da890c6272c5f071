/* A kernel that refuses part of memscope's BPF programs: the loader gives up
 * that part alone, says so in one line, reports it, and still records. The
 * refusals are real verifier rejections, planted by MEMSCOPE_REFUSE (see
 * refused_if in bpf/memscope.bpf.c), so the fallbacks run on a kernel that
 * would accept everything.
 * Tolerance: the exact totals stay within 5% of the cgroup's own charge. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

#define LEAK_MIB 64

static struct test_cgroup cg;

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(tcg_create(&cg, "degrade", 0), 0, "cannot create a test memory cgroup");
}

static void teardown(void)
{
	unsetenv("MEMSCOPE_REFUSE");
	tcg_destroy(&cg);
}

TestSuite(degrade, .init = setup, .fini = teardown, .timeout = 120);

/* Lines of text that contain needle. */
static int count_lines(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The `"name": {"on": B` of a feature in a --report file: 1 on, 0 off, -1 absent. */
static int feature_on(const char *json, const char *name)
{
	char needle[96];
	const char *p;

	snprintf(needle, sizeof(needle), "\"%s\": {", name);
	p = json ? strstr(json, needle) : NULL;
	p = p ? strstr(p, "\"on\": ") : NULL;
	if (!p)
		return -1;
	return !strncmp(p + 6, "true", 4);
}

/* What a recording of the leaker with parts refused left. */
struct deg_run {
	char out[300], report[300];
	char *stderr_text, *json;
	uint64_t usage;
	int status;
};

static void record_refusing(const char *refuse, const char *tag, struct deg_run *r)
{
	char err[300], ready[300], leak[16], name[64];
	char *rec_argv[] = { (char *)memscope_bin(), "record", "-c", cg.rel, "-d", "6", "-o", r->out,
			     "--report", r->report, NULL };
	char *leak_argv[] = { WORKLOAD("leaker"), "-g", cg.procs, "-l", leak, "-c", "0", "-h", "30",
			      "-r", ready, NULL };
	pid_t rec, leaker;

	snprintf(name, sizeof(name), "%s.folded", tag);
	snprintf(r->out, sizeof(r->out), "%s", scratch_path(name));
	snprintf(name, sizeof(name), "%s.err", tag);
	snprintf(err, sizeof(err), "%s", scratch_path(name));
	snprintf(name, sizeof(name), "%s.json", tag);
	snprintf(r->report, sizeof(r->report), "%s", scratch_path(name));
	snprintf(name, sizeof(name), "%s.ready", tag);
	snprintf(ready, sizeof(ready), "%s", scratch_path(name));
	snprintf(leak, sizeof(leak), "%d", LEAK_MIB);
	setenv("MEMSCOPE_REFUSE", refuse, 1);

	rec = spawn(rec_argv, NULL, err);
	cr_assert(wait_for_text(err, "recording", 60), "memscope did not start:\n%s", read_text(err));
	leaker = spawn(leak_argv, NULL, NULL);
	cr_assert(wait_for_file(ready, 60), "leaker did not finish its work");
	r->status = wait_exit(rec, 60);
	r->usage = tcg_usage(&cg);
	kill(leaker, SIGKILL);
	waitpid(leaker, NULL, 0);
	r->stderr_text = read_text(err);
	r->json = read_text(r->report);
}

Test(degrade, optional_parts_refused_core_still_exact)
{
	struct deg_run r;
	char *stderr_text, *json, *out = r.out;
	uint64_t usage;
	int64_t resident;
	int status;

	record_refusing("kstack_cache,user_stacks,oom_snapshot", "deg", &r);
	stderr_text = r.stderr_text;
	usage = r.usage;
	status = r.status;
	cr_assert_eq(status, 0, "memscope record failed with parts refused:\n%s", stderr_text);

	/* One line for each part given up, and none for what still loaded. */
	cr_expect_eq(count_lines(stderr_text, "memscope: kstack_cache off: refused"), 1, "%s",
		     stderr_text);
	cr_expect_eq(count_lines(stderr_text, "memscope: user_stacks off: refused"), 1, "%s",
		     stderr_text);
	cr_expect_eq(count_lines(stderr_text, "memscope: oom_snapshot off: refused"), 1, "%s",
		     stderr_text);
	cr_expect_eq(count_lines(stderr_text, "kernel_stacks off"), 0, "%s", stderr_text);
	cr_expect_eq(count_lines(stderr_text, "memscope: oom off"), 0, "%s", stderr_text);

	json = r.json;
	cr_assert(json, "no report written");
	cr_expect_eq(feature_on(json, "page_accounting"), 1);
	cr_expect_eq(feature_on(json, "kernel_stacks"), 1);
	cr_expect_eq(feature_on(json, "kstack_cache"), 0);
	cr_expect_eq(feature_on(json, "user_stacks"), 0);
	cr_expect_eq(feature_on(json, "oom"), 1);
	cr_expect_eq(feature_on(json, "oom_snapshot"), 0);

	/* The core is untouched: exact totals as on a kernel that took it all,
	 * and the stacks that remain are kernel stacks under the cgroup. */
	resident = json_container_num(json, cg.rel, "resident_bytes");
	cr_log_info("resident %.1f MiB by memscope, cgroup charged %.1f MiB",
		    resident / (double)MIB, usage / (double)MIB);
	cr_expect_geq(resident, (int64_t)(LEAK_MIB * MIB * 0.95), "leak lost: %lld",
		      (long long)resident);
	cr_expect_leq(llabs(resident - (int64_t)usage), usage * 0.05,
		      "resident %.1f MiB not within 5%% of the cgroup's %.1f MiB",
		      resident / (double)MIB, usage / (double)MIB);
	cr_expect(folded_all_labelled(out, cg.rel), "a line is not labelled %s", cg.rel);
	cr_expect_eq(folded_sum(out, ";leak_fn;"), 0, "user frames with user stacks refused");
	cr_expect_geq(folded_sum(out, "asm_exc_page_fault_[k]"), LEAK_MIB * MIB * 0.9,
		      "the leak lost its kernel stacks");
	free(json);
	free(stderr_text);
}

/* A kernel that refuses the user stack copy keeps the frame-pointer walk:
 * user frames stay (the leaker keeps frame pointers), only the CFI unwind
 * through frameless code is lost. */
Test(degrade, stack_copy_refused_keeps_frame_pointer_stacks)
{
	struct deg_run r;

	record_refusing("stack_copy", "copy", &r);
	cr_assert_eq(r.status, 0, "memscope record failed:\n%s", r.stderr_text);
	cr_expect_eq(count_lines(r.stderr_text, "memscope: stack_copy off: refused"), 1, "%s",
		     r.stderr_text);
	cr_expect_eq(count_lines(r.stderr_text, "user_stacks off"), 0, "%s", r.stderr_text);
	cr_assert(r.json, "no report written");
	cr_expect_eq(feature_on(r.json, "user_stacks"), 1);
	cr_expect_eq(feature_on(r.json, "stack_copy"), 0);
	cr_expect_geq(folded_sum(r.out, ";main;"), LEAK_MIB * MIB * 0.9,
		      "frame-pointer stacks lost with the copy:\n%s", read_text(r.out));
	cr_expect_eq(json_num_after(r.json, NULL, "stack_bytes_per_sample"), 0);
	free(r.json);
	free(r.stderr_text);
}

/* Page accounting is the core: refused, memscope stops with one error line
 * that names the verifier's reason, instead of running blind. */
Test(degrade, core_refused_is_one_clear_error)
{
	char err[300], *text;
	char *argv[] = { (char *)memscope_bin(), "record", "-c", cg.rel, "-d", "1", "-o",
			 (char *)scratch_path("core.folded"), NULL };
	int status;

	snprintf(err, sizeof(err), "%s", scratch_path("core.err"));
	setenv("MEMSCOPE_REFUSE", "page_accounting", 1);
	status = wait_exit(spawn(argv, NULL, err), 60);
	text = read_text(err);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0, "memscope ran without its core:\n%s",
		  text);
	cr_expect_eq(count_lines(text, "memscope: error:"), 1, "%s", text);
	cr_expect(strstr(text, "refused memscope's BPF programs") &&
		  strstr(text, "invalid read from stack"), "the error does not say why:\n%s", text);
	free(text);
}

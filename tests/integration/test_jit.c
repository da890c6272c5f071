/* JS frame names from node's perf map (node --perf-basic-prof): the JIT
 * frames of a known function read "name_[j]" in `memscope record`'s stacks,
 * also when node runs in its own pid and mount namespaces, and a perf map
 * that is a symlink out of the process's root is never followed. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define JS_WORKLOAD	"tests/workloads/jsfuncs.js"
#define JS_FUNCTION	"memscopeJitProbeRetain"
#define DECOY		"MEMSCOPE_DECOY_NAME"
/* The workload outlives every recording window below. */
#define JS_SECONDS	"25"
#define RECORD_SECONDS	"8"

static struct test_cgroup cg;

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	cr_assert_eq(access("/usr/bin/node", X_OK), 0,
		     "node is missing: `sudo make deps` installs it");
	cr_assert_eq(tcg_create(&cg, "jit", 0), 0, "cannot create a test memory cgroup");
}

static void teardown(void)
{
	tcg_destroy(&cg);
}

TestSuite(jit, .init = setup, .fini = teardown, .timeout = 60);

/* node on the workload inside the test cgroup; namespaced: in new pid and
 * mount namespaces with a /tmp of its own, as in a container. */
static pid_t start_node(const char *out, bool namespaced)
{
	char script[2 * PATH_MAX + 512], js[PATH_MAX];
	char *argv[] = { "/bin/sh", "-c", script, NULL };

	/* The script comes on stdin, opened before the new /tmp hides the
	 * checkout when that lives under /tmp (CI's clone may); node runs in
	 * the scratch directory, where --perf-basic-prof drops its V8 log. */
	cr_assert_not_null(realpath(JS_WORKLOAD, js));
	if (namespaced)
		snprintf(script, sizeof(script),
			 "echo $$ > %s && cd %s && exec unshare --pid --mount --fork --kill-child sh -c "
			 "'mount -t tmpfs tmpfs /tmp && exec node --perf-basic-prof - %s' < %s",
			 cg.procs, scratch_dir(), JS_SECONDS, js);
	else
		snprintf(script, sizeof(script),
			 "echo $$ > %s && cd %s && exec node --perf-basic-prof - %s < %s", cg.procs,
			 scratch_dir(), JS_SECONDS, js);
	return spawn(argv, out, NULL);
}

static pid_t start_record(const char *out, const char *err)
{
	char *argv[] = { (char *)memscope_bin(), "record", "-c", cg.rel, "-d", RECORD_SECONDS,
			 "--mode", "allocated", "-s", "32", "-o", (char *)out, NULL };
	pid_t pid = spawn(argv, NULL, err);

	cr_assert(wait_for_text(err, "recording", 30), "memscope did not start:\n%s",
		  read_text(err));
	return pid;
}

static void check_record(int status, const char *err)
{
	cr_assert(status == 0, "memscope record failed (status %d):\n%s", status, read_text(err));
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Frames of the folded file that contain needle: how many in all, and how
 * many of them end in "_[j]" (JIT frames named from a perf map). */
static void count_frames(const char *file, const char *needle, int *all, int *jit)
{
	char *text = read_text(file), *save = NULL;

	*jit = *all = 0;
	cr_assert_not_null(text, "no %s", file);
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strrchr(line, ' '), *fsave = NULL;

		if (sp)
			*sp = '\0';
		for (char *f = strtok_r(line, ";", &fsave); f; f = strtok_r(NULL, ";", &fsave)) {
			size_t len = strlen(f);

			if (!strstr(f, needle))
				continue;
			(*all)++;
			if (len > 4 && !strcmp(f + len - 4, "_[j]"))
				(*jit)++;
		}
	}
	free(text);
}

/* The host pid of the node process in the test cgroup. */
static pid_t node_pid(void)
{
	char *procs = read_text(cg.procs), path[64], comm[32];

	cr_assert_not_null(procs);
	for (char *p = procs, *end; *p; p = end) {
		pid_t pid = (pid_t)strtol(p, &end, 10);
		FILE *f;

		if (end == p)
			break;
		while (*end == '\n')
			end++;
		snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strcmp(comm, "node\n")) {
			fclose(f);
			free(procs);
			return pid;
		}
		fclose(f);
	}
	free(procs);
	cr_assert_fail("no node process in %s", cg.procs);
	return -1;
}

/* Paths of one test's files in the scratch directory. */
struct files {
	char out[PATH_MAX], err[PATH_MAX], node_out[PATH_MAX];
};

static void files_init(struct files *f, const char *tag)
{
	snprintf(f->out, sizeof(f->out), "%s.folded", scratch_path(tag));
	snprintf(f->err, sizeof(f->err), "%s.err", scratch_path(tag));
	snprintf(f->node_out, sizeof(f->node_out), "%s.node", scratch_path(tag));
}

static void run_named(bool namespaced, const char *tag)
{
	char map[64];
	struct files f;
	int all, jit, status;
	pid_t rec, node;
	uint64_t js;

	files_init(&f, tag);
	rec = start_record(f.out, f.err);
	node = start_node(f.node_out, namespaced);
	status = wait_exit(rec, 40);
	stop(node);
	/* A map in the host's /tmp outlives node (the shell exec'd node, so
	 * it has that pid); a namespaced one went with its tmpfs. */
	snprintf(map, sizeof(map), "/tmp/perf-%d.map", (int)node);
	if (!namespaced)
		unlink(map);
	check_record(status, f.err);

	count_frames(f.out, JS_FUNCTION, &all, &jit);
	cr_assert_gt(jit, 0, "no %s..._[j] frame (%d frames name it) in:\n%s", JS_FUNCTION, all,
		     read_text(f.out));
	cr_expect_eq(jit, all, "%s frames without _[j]", JS_FUNCTION);
	/* The native frames around the JIT frames are whole: node's main
	 * loop below them (node has no frame pointers: CFI unwinds it). */
	js = folded_sum(f.out, JS_FUNCTION);
	cr_expect_geq(folded_sum_both(f.out, JS_FUNCTION, ";node::Start("), js * 0.95,
		      "%.1f of %.1f MiB on %s stacks reach node::Start", js / (double)MIB,
		      folded_sum_both(f.out, JS_FUNCTION, ";node::Start(") / (double)MIB,
		      JS_FUNCTION);
}

Test(jit, js_function_named)
{
	run_named(false, "plain");
}

/* node's map is /tmp/perf-1.map in its own /tmp: only the process's view of
 * its files (pid in its namespace, its root) finds it. */
Test(jit, namespaced_node_named)
{
	run_named(true, "ns");
}

/*
 * The container swaps its perf map for a symlink to a path that, read from
 * the host, is a decoy map naming the same code DECOY. Resolved in the
 * container's root the path does not exist: frames read [v8 jit], no DECOY,
 * and the decoy file is never opened (inotify watches it).
 */
Test(jit, symlink_out_of_root_not_followed)
{
	char decoy[PATH_MAX], map[96], *real, *save = NULL, buf[4096];
	int all, jit, in, wd, status, written = 0;
	pid_t rec, node, npid;
	struct files fl;
	FILE *f;

	files_init(&fl, "symlink");
	snprintf(decoy, sizeof(decoy), "%s", scratch_path("decoy.map"));

	node = start_node(fl.node_out, true);
	cr_assert(wait_for_text(fl.node_out, "ready", 30), "node did not get ready:\n%s",
		  read_text(fl.node_out));
	npid = node_pid();
	/* In its pid namespace node is 1: its map is its /tmp/perf-1.map. */
	snprintf(map, sizeof(map), "/proc/%d/root/tmp/perf-1.map", (int)npid);
	real = read_text(map);
	cr_assert(real && strstr(real, JS_FUNCTION), "node's map has no %s", JS_FUNCTION);

	/* The decoy names every code range of the real map. */
	f = fopen(decoy, "we");
	cr_assert_not_null(f);
	for (char *line = strtok_r(real, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		uint64_t start, size;

		if (sscanf(line, "%" SCNx64 " %" SCNx64, &start, &size) == 2)
			written += fprintf(f, "%" PRIx64 " %" PRIx64 " " DECOY "\n", start,
					   size) > 0;
	}
	cr_assert_eq(fclose(f), 0);
	free(real);
	cr_assert_gt(written, 10);

	/* node keeps writing to the unlinked file through its own fd. */
	cr_assert_eq(unlink(map), 0);
	cr_assert_eq(symlink(decoy, map), 0, "symlink: %s", strerror(errno));
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	cr_assert_geq(in, 0);
	wd = inotify_add_watch(in, decoy, IN_OPEN | IN_ACCESS);
	cr_assert_geq(wd, 0);

	rec = start_record(fl.out, fl.err);
	status = wait_exit(rec, 40);
	stop(node);
	check_record(status, fl.err);

	count_frames(fl.out, DECOY, &all, &jit);
	cr_expect_eq(all, 0, "the decoy map was followed:\n%s", read_text(fl.out));
	count_frames(fl.out, "_[j]", &all, &jit);
	cr_expect_eq(jit, 0, "JIT frames named without a readable map");
	/* Spaces in frames are written as '_'. */
	count_frames(fl.out, "[v8_jit]", &all, &jit);
	cr_expect_gt(all, 0, "no [v8 jit] frame:\n%s", read_text(fl.out));
	cr_expect_eq(read(in, buf, sizeof(buf)), -1, "the decoy was opened or read");
	cr_expect_eq(errno, EAGAIN);
	close(in);
}

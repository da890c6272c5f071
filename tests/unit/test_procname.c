#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fixture_tree.h"
#include "procname.h"
#include "recorder.h"

/* Arrays, not pointers: each parameter is copied into the test's own
 * process. "" stands for what could not be read. */
struct name_case {
	char comm[16], exe[64], thread[16], want[16];
	char cmdline[48];
	size_t cmdline_len;
};

#define ARGS(s)	s, sizeof(s)

static struct name_case name_cases[] = {
	/* node 24: the main thread renamed itself; argv and the binary agree. */
	{ "MainThread", "/usr/bin/node", "V8Worker", "node", ARGS("node\0api.js") },
	{ "MainThread", "/opt/node-v24/bin/node", "MainThread", "node",
	  ARGS("/opt/node-v24/bin/node\0api.js") },
	/* python3 is a link to python3.11: argv[0] says python3, as comm. */
	{ "python3", "/usr/bin/python3.11", "python3", "python3", ARGS("python3\0x.py") },
	/* A script run through its #! line: comm is the script's name. */
	{ "app.sh", "/usr/bin/bash", "app.sh", "app.sh", ARGS("/bin/bash\0./app.sh") },
	/* process.title = "api": libuv sets comm and argv[0] both. */
	{ "api", "/usr/bin/node", "api", "api", ARGS("api") },
	/* nginx rewrote argv[0], comm still is its binary's. */
	{ "nginx", "/usr/sbin/nginx", "nginx", "nginx", ARGS("nginx: worker process") },
	/* A C program whose main thread named itself with prctl. */
	{ "allocator", "/build/workloads/namedthread", "allocator", "namedthread",
	  ARGS("build/workloads/namedthread\0x") },
	/* The kernel cuts comm to 15 bytes, and so is the name. */
	{ "a-very-long-pro", "/usr/local/bin/a-very-long-program-name", "worker",
	  "a-very-long-pro", ARGS("a-very-long-program-name") },
	{ "MainThread", "/usr/local/bin/a-very-long-program-name", "x", "a-very-long-pro",
	  ARGS("a-very-long-program-name") },
	/* A deleted binary: what readlink gives once " (deleted)" is cut. */
	{ "Worker", "/srv/app", "Worker", "app", ARGS("/srv/app") },
	/* Kernel threads have no executable. */
	{ "kworker/0:1", "", "kworker/0:1", "kworker/0:1", ARGS("") },
	/* Nothing readable: the sample's thread name. */
	{ "", "", "V8Worker", "V8Worker", ARGS("") },
	{ "", "/usr/bin/node", "V8Worker", "V8Worker", ARGS("") },
};

ParameterizedTestParameters(procname, choose)
{
	return cr_make_param_array(struct name_case, name_cases,
				   sizeof(name_cases) / sizeof(name_cases[0]));
}

ParameterizedTest(struct name_case *c, procname, choose)
{
	char out[PROCNAME_LEN];

	/* ARGS counts the literal's own NUL: cmdline ends in one, as the kernel's. */
	procname__choose(c->comm, c->exe, c->cmdline, c->cmdline_len, c->thread, out);
	cr_assert_str_eq(out, c->want, "comm '%s' exe '%s': got %s", c->comm, c->exe, out);
}

/* ---- from /proc -------------------------------------------------------------- */

#define PID		4242
#define START_TICKS	12345ULL

static struct fixture_tree ft;

static uint64_t start_ns(void)
{
	return START_TICKS * (1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK));
}

/* A node 24 process as /proc shows it. */
static void node24(void)
{
	char stat[256];

	ftree_init(&ft);
	snprintf(stat, sizeof(stat),
		 "%d (MainThread) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 7 0 %llu 0 0\n", PID,
		 START_TICKS);
	ftree_write(&ft, "/4242/stat", stat, (size_t)-1);
	ftree_write(&ft, "/4242/comm", "MainThread\n", (size_t)-1);
	ftree_write(&ft, "/4242/cmdline", "node\0api.js\0", 12);
	cr_assert_eq(symlink("/usr/local/bin/node", ftree_path(&ft, "/4242/exe")), 0);
}

static void cleanup(void)
{
	ftree_remove(&ft);
}

Test(procname, read_names_the_process_not_the_thread, .init = node24, .fini = cleanup)
{
	char out[PROCNAME_LEN];

	procname__read(ft.root, PID, start_ns(), "V8Worker", out);
	cr_assert_str_eq(out, "node");
	procname__read(ft.root, PID, start_ns() + 5000000000ULL, "V8Worker", out);
	cr_assert_str_eq(out, "V8Worker", "another process has the pid now");
	procname__read(ft.root, PID, 0, "V8Worker", out);
	cr_assert_str_eq(out, "V8Worker", "no start time: the pid cannot be trusted");
	procname__read(ft.root, PID + 1, start_ns(), "gone", out);
	cr_assert_str_eq(out, "gone", "the process exited");
	procname__read_now(ft.root, PID, out);
	cr_assert_str_eq(out, "node", "read now, no start time needed");
	procname__read_now(ft.root, PID + 1, out);
	cr_assert_str_eq(out, "", "gone: nothing");
}

/* The recorder's COMM is the process's, and the thread is kept apart. */
Test(procname, recorder_buckets_carry_both, .init = node24, .fini = cleanup)
{
	struct recorder *r = recorder__new(1, 4096, false, NULL);
	const char *threads[] = { "MainThread", "V8Worker", "MainThread", "DelayedTaskSche" };
	struct ms_sample s;
	size_t seen = 0;

	cr_assert_not_null(r);
	recorder__set_proc_root(r, ft.root);
	for (size_t i = 0; i < 4; i++) {
		memset(&s, 0, sizeof(s));
		s.id = i + 1;
		s.tgid = PID;
		s.start_ns = start_ns();
		s.kstack_id = 7;
		snprintf(s.comm, sizeof(s.comm), "%s", threads[i]);
		recorder__on_sample(r, &s);
	}
	cr_assert_eq(recorder__nbuckets(r), 3, "one bucket per thread of the same stack");
	for (size_t i = 0; i < recorder__nbuckets(r); i++) {
		const struct rec_bucket *b = recorder__bucket(r, i);

		cr_assert_str_eq(b->comm, "node");
		seen += !strcmp(b->thread, "V8Worker");
	}
	cr_assert_eq(seen, 1, "the thread name is kept");
	recorder__free(r);
}

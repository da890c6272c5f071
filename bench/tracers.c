#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "harness.h"
#include "tracers.h"

#define READY_TIMEOUT_S	60
/* After saying it traces, a tracer may still be finishing its start-up
 * (memscope: ~20-200 ms). The workload waits until it is idle, so that work
 * neither steals CPU from the first traced run nor counts as steady-state
 * cost: under 2% of a core over 100 ms, for at most SETTLE_MAX_S. */
#define SETTLE_STEP_S	0.1
#define SETTLE_IDLE_NS	2000000
#define SETTLE_MAX_S	5
/* memscope symbolizes and writes its output after SIGINT: at --sample 1 on a
 * big run that takes a while, and must not be mistaken for a hang. */
#define STOP_GRACE_S	180

/* bpftrace's BEGIN runs after every probe is attached, so "ready" means
 * tracing. END clears the maps: printing a million pfns at exit would only
 * measure bpftrace's printf. */
#define BT_READY "BEGIN { printf(\"ready\\n\"); } "

const struct tracer_def tracer_defs[] = {
	{ "floor-raw_tp", "floor: counting raw_tp programs on mm_page_alloc and mm_page_free",
	  TRACER_FLOOR, { "raw_tp", NULL }, NULL },
	{ "floor-tp_btf", "floor: counting tp_btf programs on mm_page_alloc and mm_page_free",
	  TRACER_FLOOR, { "tp_btf", NULL }, NULL },
	{ "floor-pfn", "floor-raw_tp plus a 4-byte record a page frame, set on alloc, cleared on free",
	  TRACER_FLOOR, { "pfn", NULL }, NULL },
	{ "memscope", "memscope record, default settings", TRACER_MEMSCOPE, { NULL }, NULL },
	{ "memscope-s1", "memscope record --sample 1 (every page carries a stack)",
	  TRACER_MEMSCOPE, { "--sample", "1", NULL }, NULL },
	{ "memscope-js", "memscope record --js-heap (V8's sampling heap profiler in node)",
	  TRACER_MEMSCOPE, { "--js-heap", NULL }, "node,service" },
	{ "base", "the --baseline memscope build, default settings", TRACER_BASELINE, { NULL },
	  NULL },
	{ "base-s1", "the --baseline memscope build, --sample 1", TRACER_BASELINE,
	  { "--sample", "1", NULL }, NULL },
	{ "bt-stacks", "bpftrace: count kernel+user stacks of every page allocation",
	  TRACER_BPFTRACE,
	  { BT_READY "tracepoint:kmem:mm_page_alloc { @stacks[kstack, ustack] = count(); } "
		     "END { clear(@stacks); }", NULL }, NULL },
	{ "bt-pfn", "bpftrace: outstanding pages by pfn (alloc/free tracepoints)",
	  TRACER_BPFTRACE,
	  { BT_READY "tracepoint:kmem:mm_page_alloc { @pages[args->pfn] = args->order; } "
		     "tracepoint:kmem:mm_page_free { delete(@pages[args->pfn]); } "
		     "tracepoint:kmem:mm_page_free_batched { delete(@pages[args->pfn]); } "
		     "END { clear(@pages); }", NULL }, NULL },
};
const size_t n_tracer_defs = sizeof(tracer_defs) / sizeof(tracer_defs[0]);

/* bpftrace's maps default to 4096 keys: a pfn table that small would fill in
 * a millisecond and then cost nothing, flattering the yardstick. */
static const char *const bt_env[] = { "BPFTRACE_MAP_KEYS_MAX=1048576", NULL };

const struct tracer_def *tracer__find(const char *name)
{
	for (size_t i = 0; i < n_tracer_defs; i++)
		if (!strcmp(tracer_defs[i].name, name))
			return &tracer_defs[i];
	return NULL;
}

/* Runs argv quietly; its stdout into out (when not NULL). */
static int run_quiet(char *const argv[], const char *out)
{
	struct child_opts o = { .out = out };
	struct child_result r;
	pid_t pid = child__spawn(argv, &o);

	if (pid < 0)
		return pid;
	if (child__wait(pid, 30, &r)) {
		child__stop(pid, SIGKILL, 5, &r);
		return -ETIMEDOUT;
	}
	return child__exited_ok(&r) ? 0 : -ENOEXEC;
}

bool tracer__memscope_has_report(const char *memscope)
{
	char out[] = "/tmp/memscope-bench-help-XXXXXX";
	char *argv[] = { (char *)memscope, "record", "--help", NULL };
	char *text = NULL;
	bool has = false;
	int fd = mkstemp(out);

	if (fd < 0)
		return false;
	close(fd);
	if (run_quiet(argv, out) == 0 && (text = read_text(out)))
		has = strstr(text, "--report") != NULL;
	free(text);
	unlink(out);
	return has;
}

bool tracer__usable(const struct tracer_def *d, const char *memscope, char *why, size_t len)
{
	char *bt[] = { "bpftrace", "--version", NULL };

	if (tracer__is_memscope(d)) {
		if (!memscope) {
			snprintf(why, len, "no --baseline build given");
			return false;
		}
		if (access(memscope, X_OK) == 0)
			return true;
		snprintf(why, len, "%s not built (run make)", memscope);
		return false;
	}
	if (d->kind == TRACER_FLOOR) {
		if (access(FLOOR_BIN, X_OK) == 0)
			return true;
		snprintf(why, len, "%s not built (make bench-tools)", FLOOR_BIN);
		return false;
	}
	if (run_quiet(bt, NULL)) {
		snprintf(why, len, "bpftrace is not installed (make bench-deps installs it)");
		return false;
	}
	return true;
}

/* bpftrace warns about RLIMIT_MEMLOCK even when it works. */
static bool noise(const char *line, size_t len)
{
	return !len || memmem(line, len, "RLIMIT_MEMLOCK", 14) || !strncmp(line, "WARNING", 7) ||
	       !strncmp(line, "Attaching", 9);
}

/* The first line of a tracer's output that says what went wrong, else how
 * it ended. */
static void why_failed(const char *file, const struct child_result *r, char *why, size_t len)
{
	char *text = read_text(file);

	if (WIFEXITED(r->status) && WEXITSTATUS(r->status) == 127)
		snprintf(why, len, "could not be executed (exit status 127)");
	else if (WIFEXITED(r->status))
		snprintf(why, len, "exited with status %d, saying nothing", WEXITSTATUS(r->status));
	else if (WIFSIGNALED(r->status))
		snprintf(why, len, "killed by signal %d", WTERMSIG(r->status));
	for (char *p = text; p && *p; p += strcspn(p, "\n"), p += *p == '\n') {
		size_t n = strcspn(p, "\n");

		if (!noise(p, n)) {
			snprintf(why, len, "%.*s", (int)n, p);
			break;
		}
	}
	free(text);
}

static bool says(const char *file, const char *needle)
{
	char *text = read_text(file);
	bool found = text && strstr(text, needle);

	free(text);
	return found;
}

static int spawn_tracer(const struct tracer_def *d, const char *memscope, struct tracer *t)
{
	char *argv[16];
	size_t n = 0;
	struct child_opts o = { .out = t->out, .err = t->err };

	if (tracer__is_memscope(d)) {
		argv[n++] = (char *)memscope;
		argv[n++] = "record";
		argv[n++] = "-d";
		argv[n++] = "3600";
		argv[n++] = "-o";
		argv[n++] = "/dev/null";
		if (t->report[0]) {
			argv[n++] = "--report";
			argv[n++] = t->report;
		}
	} else if (d->kind == TRACER_FLOOR) {
		argv[n++] = FLOOR_BIN;
	} else {
		argv[n++] = "bpftrace";
		argv[n++] = "-e";
		o.env = bt_env;
	}
	for (size_t i = 0; i < 4 && d->args[i]; i++)
		argv[n++] = (char *)d->args[i];
	argv[n] = NULL;
	return child__spawn(argv, &o);
}

static void settle(pid_t pid)
{
	double deadline = cli_now() + SETTLE_MAX_S;
	uint64_t prev = 0, now;

	if (child__cpu_ns("/proc", pid, &prev))
		return;
	while (cli_now() < deadline && !cli_stop_requested()) {
		usleep(SETTLE_STEP_S * 1e6);
		if (child__cpu_ns("/proc", pid, &now))
			return;
		if (now - prev < SETTLE_IDLE_NS)
			return;
		prev = now;
	}
}

int tracer__start(const struct tracer_def *d, const char *memscope, bool with_report,
		  const char *dir, const char *tag, struct tracer *t, char *why, size_t len)
{
	const char *ready_file, *ready_text;
	struct child_result r = { 0 };
	double deadline;
	bool exited;

	memset(t, 0, sizeof(*t));
	t->def = d;
	snprintf(t->out, sizeof(t->out), "%s/%s.out", dir, tag);
	snprintf(t->err, sizeof(t->err), "%s/%s.err", dir, tag);
	if (tracer__is_memscope(d) && with_report)
		snprintf(t->report, sizeof(t->report), "%s/%s.json", dir, tag);
	unlink(t->report);
	t->pid = spawn_tracer(d, memscope, t);
	if (t->pid < 0) {
		snprintf(why, len, "cannot start: %s", strerror(-t->pid));
		return t->pid;
	}
	ready_file = tracer__is_memscope(d) ? t->err : t->out;
	ready_text = tracer__is_memscope(d) ? "recording" : "ready";
	for (deadline = cli_now() + READY_TIMEOUT_S; cli_now() < deadline;) {
		if (says(ready_file, ready_text)) {
			settle(t->pid);
			return 0;
		}
		if (child__exited(t->pid) || cli_stop_requested())
			break;
		usleep(20 * 1000);
	}
	exited = child__exited(t->pid);
	child__stop(t->pid, SIGKILL, 5, &r);
	why_failed(t->err, &r, why, len);
	if (!exited && !cli_stop_requested())
		snprintf(why, len, "not tracing after %d s", READY_TIMEOUT_S);
	t->pid = 0;
	return -EIO;
}

int tracer__stop(struct tracer *t, struct child_result *r)
{
	int rc = child__stop(t->pid, SIGINT, STOP_GRACE_S, r);

	t->pid = 0;
	return rc;
}

/* memscope oom against OOM kills in real Docker containers: a node process
 * growing its V8 heap and a C program leaking through malloc, each killed at
 * `docker run --memory 256m` and at `--memory 256m --memory-swap 256m`.
 * Each report must agree with the truth: the kernel's own oom-kill: record
 * (read here from /dev/kmsg, by this file's own parsing) on the constraint
 * and the limiting cgroup, Docker on the container's cgroup, name and the
 * victim's pid, the docker flags on the limit and which limit it was (no swap
 * here: memory+swap reaches its limit with memory when both are 256m), and
 * the workload on which class held the memory.
 *
 * The engine is private to each test: dockerd with its own data, exec root,
 * socket and containerd namespace under a scratch directory, no iptables and
 * no bridge (containers run --network none), the vfs storage driver (works on
 * any filesystem); the image is imported from a tarball of the host's node
 * and the test's leaker with their libraries (no registry). Where dockerd is
 * missing or cannot run, the tests skip and say why. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "docker_engine.h"
#include "harness.h"

#define IMAGE		"memscope-oom-test:1"
#define LIMIT_TEXT	"268435456"

static struct docker_engine eng;
static int kmsg = -1;
static pid_t memscope_pid;
static char ctr_name[64];

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	engine_start(&eng, "Docker OOM tests");
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	cr_assert_geq(kmsg, 0, "cannot read /dev/kmsg: %s", strerror(errno));
	lseek(kmsg, 0, SEEK_END);
}

static void teardown(void)
{
	if (memscope_pid > 0) {
		kill(memscope_pid, SIGKILL);
		waitpid(memscope_pid, NULL, 0);
	}
	memscope_pid = 0;
	if (eng.pid > 0 && ctr_name[0])
		engine_docker(&eng, "/dev/null", (char *[]){ "rm", "-f", ctr_name, NULL });
	ctr_name[0] = '\0';
	engine_stop(&eng);
	if (kmsg >= 0)
		close(kmsg);
	kmsg = -1;
}

TestSuite(oom_docker, .init = setup, .fini = teardown, .timeout = 400);

/* The kernel's oom-kill: record about pid, as logged (malloc'd), or NULL. */
static char *kernel_record(pid_t pid, double timeout_s)
{
	char rec[8192], needle[32];

	snprintf(needle, sizeof(needle), ",pid=%d,", pid);
	for (int tries = 0; tries < timeout_s * 50; tries++) {
		ssize_t n = read(kmsg, rec, sizeof(rec) - 1);
		char *msg;

		if (n < 0 && errno == EPIPE)
			continue;
		if (n < 0) {
			usleep(20 * 1000);
			continue;
		}
		rec[n] = '\0';
		msg = strchr(rec, ';');
		if (msg && !strncmp(msg + 1, "oom-kill:", 9) && strstr(msg, needle)) {
			msg[1 + strcspn(msg + 1, "\n")] = '\0';
			return strdup(msg + 1);
		}
	}
	return NULL;
}

/* The value of key= in the kernel's record, up to the next ",next=". */
static void kernel_field(const char *rec, const char *key, const char *next, char *buf,
			 size_t len)
{
	const char *at = strstr(rec, key), *end;

	buf[0] = '\0';
	if (!at)
		return;
	at += strlen(key);
	end = strstr(at, next);
	snprintf(buf, len, "%.*s", end ? (int)(end - at) : 0, at);
}

/* The report's facts, read by node's JSON.parse, space-separated. */
static char *report_facts(const char *file, pid_t pid)
{
	static const char script[] =
		"const fs = require('fs');"
		"for (const l of fs.readFileSync(process.argv[1], 'utf8').split('\\n')) {"
		"  if (!l) continue;"
		"  const r = JSON.parse(l);"
		"  if (r.victim.pid != +process.argv[2]) continue;"
		"  console.log([r.victim.pid, r.constraint, r.constraint_source, r.cgroup.path,"
		"    r.cgroup.limit_bytes, r.cgroup.limit_kind, r.victim.container_name,"
		"    r.kernel && r.kernel.oom_memcg, r.classes.v8_heap_bytes || 0,"
		"    r.classes.native_bytes, (r.growth && r.growth.verdict) || 'none'].join(' '));"
		"}";
	char pid_text[16], *argv[] = { "/usr/bin/node", "-e", (char *)script, (char *)file,
				       pid_text, NULL };
	int status;

	snprintf(pid_text, sizeof(pid_text), "%d", pid);
	status = wait_exit(spawn(argv, scratch_path("facts"), scratch_path("facts.err")), 30);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the JSON does not parse:\n%s",
		  read_text(scratch_path("facts.err")));
	return read_text(scratch_path("facts"));
}

/* A --report's facts: the named containers, then each kill as "name pid
 * container_name source cgroup kernel-oom_memcg", a line each. */
static char *record_facts(const char *file)
{
	static const char script[] =
		"const r = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));"
		"const names = r.containers.filter(c => c.name).map(c => c.name);"
		"for (const k of r.oom_kills)"
		"  console.log([names.join(','), k.victim.pid, k.victim.container_name,"
		"    k.constraint_source, k.cgroup.path, k.kernel && k.kernel.oom_memcg].join(' '));";
	char *argv[] = { "/usr/bin/node", "-e", (char *)script, (char *)file, NULL };
	int status;

	status = wait_exit(spawn(argv, scratch_path("rfacts"), scratch_path("rfacts.err")), 30);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the --report does not parse:\n%s",
		  read_text(scratch_path("rfacts.err")));
	return read_text(scratch_path("rfacts"));
}

enum workload { NODE_V8, C_NATIVE };

/* Starts a container that grows until its limit kills it; its full id into
 * id, its main process's host pid as the return value. */
static pid_t start_container(enum workload w, bool memsw, char *id, size_t id_len)
{
	/* V8 heap grows ~20 MiB/s after 3 s, so memscope sees node first. */
	static const char grow_js[] =
		"const keep = [];"
		"setTimeout(() => setInterval(() => {"
		"  for (let i = 0; i < 700; i++) keep.push({ i, s: 'k' + i + 'x'.repeat(100) });"
		"}, 5), 3000);";
	char *bins[] = { "/usr/bin/node", (char *)WORKLOAD("leaker"), NULL };
	char *node_cmd[] = { "/usr/bin/node", "--max-old-space-size=4096", "-e",
			     (char *)grow_js, NULL };
	char *leaker_cmd[] = { "/" WORKLOAD("leaker"), "-c", "0", "-l", "1", "-f", "-i", "20",
			       NULL };
	char *const *cmd = w == NODE_V8 ? node_cmd : leaker_cmd;
	char *run[32] = { "--name", ctr_name, "--network", "none", "--memory", "256m" };
	int n = 6;

	engine_import(&eng, IMAGE, bins);
	if (memsw) {
		run[n++] = "--memory-swap";
		run[n++] = "256m";
	}
	run[n++] = IMAGE;
	for (; *cmd; cmd++)
		run[n++] = *cmd;
	run[n] = NULL;
	return engine_run(&eng, run, id, id_len);
}

/* memscope with args and the engine's socket (so it names containers);
 * back once stderr (err) says ready. */
static void start_memscope(char *const args[], const char *err, const char *ready)
{
	char *argv[16] = { (char *)memscope_bin() };
	int n = 1;

	for (; *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	setenv("DOCKER_HOST", eng.host, 1);
	memscope_pid = spawn(argv, NULL, err);
	unsetenv("DOCKER_HOST");
	cr_assert(wait_for_text(err, ready, 60), "memscope did not start:\n%s", read_text(err));
}

/* The kernel's record of the kill of victim in container id, checked, and
 * its oom_memcg into buf. Returns the record (malloc'd). */
static char *kernel_truth(pid_t victim, const char *id, char *buf, size_t len)
{
	char want[PATH_MAX], *rec = kernel_record(victim, 120);

	cr_assert_not_null(rec, "the kernel logged no oom-kill: record for pid %d", victim);
	cr_log_info("kernel: %s", rec);
	cr_expect(strstr(rec, "oom-kill:constraint=CONSTRAINT_MEMCG,"), "%s", rec);
	kernel_field(rec, ",oom_memcg=", ",task_memcg=", buf, len);
	snprintf(want, sizeof(want), "/docker/%s", id);
	cr_expect_str_eq(buf, want, "the kernel's limiting cgroup is not the container's");
	return rec;
}

static void killed_in_docker(enum workload w, bool memsw)
{
	char out[PATH_MAX], err[PATH_MAX];	/* scratch_path's buffers are reused */
	char *ms_args[] = { "oom", "--json", "-o", out, NULL };
	char id[128], oom_memcg[PATH_MAX], want[3 * PATH_MAX], needle[64], *rec, *facts;
	unsigned long long v8 = 0, native = 0;
	char *verdict;
	int at = 0;
	pid_t victim;

	snprintf(out, sizeof(out), "%s", scratch_path("oom.json"));
	snprintf(err, sizeof(err), "%s", scratch_path("oom.err"));
	if (access("/usr/bin/node", X_OK))
		cr_skip_test("node is not installed (apt-get install nodejs)");
	snprintf(ctr_name, sizeof(ctr_name), "msdk-%s-%s-%d", w == NODE_V8 ? "v8" : "native",
		 memsw ? "memsw" : "mem", getpid());
	start_memscope(ms_args, err, "watching for OOM kills");
	victim = start_container(w, memsw, id, sizeof(id));
	rec = kernel_truth(victim, id, oom_memcg, sizeof(oom_memcg));

	snprintf(needle, sizeof(needle), "\"victim\":{\"pid\":%d,", victim);
	cr_assert(wait_for_text(out, needle, 30), "no report about pid %d:\n%s\n%s", victim,
		  read_text(out), read_text(err));
	facts = report_facts(out, victim);
	cr_log_info("report: %s", read_text(out));
	snprintf(want, sizeof(want), "%d memcg kmsg %s " LIMIT_TEXT " %s %s %s ", victim,
		 oom_memcg, memsw ? "memory+swap" : "memory", ctr_name, oom_memcg);
	cr_expect(facts && !strncmp(facts, want, strlen(want)),
		  "want '%s...', the report says '%s'", want, facts);
	cr_assert(facts && sscanf(facts + strlen(want), "%llu %llu %n", &v8, &native, &at) == 2,
		  "no class figures in '%s'", facts);
	verdict = facts + strlen(want) + at;
	verdict[strcspn(verdict, "\n")] = '\0';
	if (w == NODE_V8)
		cr_expect_gt(v8, native, "a V8 heap leak: v8-heap %llu B, native %llu B", v8,
			     native);
	else
		cr_expect(v8 == 0 && native > 200 * MIB, "a native leak: v8-heap %llu B, "
			  "native %llu B", v8, native);
	/* One verdict per report: the growth line agrees with the class split. */
	cr_expect(!strncmp(verdict, w == NODE_V8 ? "V8 heap growth" : "native growth",
			   w == NODE_V8 ? 14 : 13),
		  "the growth verdict is '%s' for a %s leak", verdict,
		  w == NODE_V8 ? "V8 heap" : "native");
	free(facts);
	free(rec);
}

/* record names the container in its table and --report, and reports the
 * kill of its window from the kernel's record too. */
Test(oom_docker, record_names_container_and_kill)
{
	char rep[PATH_MAX], err[PATH_MAX], folded[PATH_MAX];
	char *args[] = { "record", "-d", "20", "-o", folded, "--report", rep, NULL };
	char id[128], oom_memcg[PATH_MAX], needle[3 * PATH_MAX], *rec, *json, *text, *facts;
	pid_t victim;
	int status;

	snprintf(rep, sizeof(rep), "%s", scratch_path("rec.json"));
	snprintf(err, sizeof(err), "%s", scratch_path("rec.err"));
	snprintf(folded, sizeof(folded), "%s", scratch_path("rec.folded"));
	snprintf(ctr_name, sizeof(ctr_name), "msdk-rec-%d", getpid());
	start_memscope(args, err, "recording");
	victim = start_container(C_NATIVE, true, id, sizeof(id));
	rec = kernel_truth(victim, id, oom_memcg, sizeof(oom_memcg));
	status = wait_exit(memscope_pid, 120);
	memscope_pid = 0;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "record failed:\n%s",
		  read_text(err));
	text = read_text(err);
	json = read_text(rep);
	cr_log_info("record: %s", text);
	snprintf(needle, sizeof(needle), "\n%-40s ", ctr_name);
	cr_expect(text && strstr(text, needle), "the table does not name %s:\n%s", ctr_name, text);
	cr_assert(json, "no --report written");
	facts = record_facts(rep);
	snprintf(needle, sizeof(needle), "%s %d %s kmsg %s %s\n", ctr_name, victim, ctr_name,
		 oom_memcg, oom_memcg);
	cr_expect(facts && strstr(facts, needle), "want '%s' in the --report's facts '%s':\n%s",
		  needle, facts, json);
	free(facts);
	free(text);
	free(json);
	free(rec);
}

Test(oom_docker, node_v8_heap_memory_limit)
{
	killed_in_docker(NODE_V8, false);
}

Test(oom_docker, node_v8_heap_memory_swap_limit)
{
	killed_in_docker(NODE_V8, true);
}

Test(oom_docker, c_native_memory_limit)
{
	killed_in_docker(C_NATIVE, false);
}

Test(oom_docker, c_native_memory_swap_limit)
{
	killed_in_docker(C_NATIVE, true);
}

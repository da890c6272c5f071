/* Attacks a container can make on memscope (issue 13), played against the
 * real binary:
 *   - v8: a process maps a V8-looking file and, at the moment memscope has
 *     inspected it and is about to place uprobes, maps a decoy over the same
 *     range (a preload times the swap: tests/attack/swap_shim.c). The uprobes
 *     must land in the inode inspected, never in the decoy.
 *   - a FIFO and a device node where a process maps or names files.
 *   - a symlink planted at `-o` and at `oom -o`. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define ATTACK(name)	"build/attack/" name

static pid_t kids[4];
static int n_kids;

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	n_kids = 0;
}

static void teardown(void)
{
	for (int i = 0; i < n_kids; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
}

TestSuite(attack, .init = setup, .fini = teardown, .timeout = 90);

static pid_t track(pid_t pid)
{
	cr_assert_gt(pid, 0, "cannot fork");
	kids[n_kids++] = pid;
	return pid;
}

static void copy_file(const char *from, const char *to)
{
	char cmd[2 * PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "cp %s %s", from, to);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* len bytes of pid's memory at addr. */
static void read_mem(pid_t pid, unsigned long addr, void *buf, size_t len)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "cannot open %s", path);
	cr_assert_eq(pread(fd, buf, len, (off_t)addr), (ssize_t)len, "cannot read %s at %lx",
		     path, addr);
	close(fd);
}

/* Offset of the first byte that differs, -1 if none. */
static long first_diff(const char *a, const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (a[i] != b[i])
			return (long)i;
	return -1;
}

static char *read_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0, "cannot open %s", path);
	cr_assert_eq(fstat(fd, &st), 0);
	buf = malloc(st.st_size);
	cr_assert(buf);
	cr_assert_eq(read(fd, buf, st.st_size), st.st_size);
	close(fd);
	*len = st.st_size;
	return buf;
}

/* pid's /proc/PID/maps names path. */
static bool maps_name(pid_t pid, const char *path)
{
	char file[64], *text;
	bool found;

	snprintf(file, sizeof(file), "/proc/%d/maps", (int)pid);
	text = read_text(file);
	found = text && strstr(text, path);
	free(text);
	return found;
}

/* A fanotify group told of every open of path and read from it: by pid, as
 * other memscopes on this machine (parallel test runs) may open it too. */
static int watch_opens(const char *path)
{
	int fan = fanotify_init(FAN_CLASS_NOTIF | FAN_NONBLOCK | FAN_CLOEXEC | FAN_REPORT_FID,
				O_RDONLY);

	cr_assert_geq(fan, 0, "fanotify_init: %s", strerror(errno));
	cr_assert_eq(fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN | FAN_ACCESS, AT_FDCWD, path), 0,
		     "fanotify_mark %s: %s", path, strerror(errno));
	return fan;
}

/* Opens and reads seen by fan from process pid; fan is closed. */
static int opens_by(int fan, pid_t pid)
{
	char buf[8192] __attribute__((aligned(8)));
	int count = 0;
	ssize_t n;

	while ((n = read(fan, buf, sizeof(buf))) > 0) {
		struct fanotify_event_metadata *e = (struct fanotify_event_metadata *)buf;

		for (; FAN_EVENT_OK(e, n); e = FAN_EVENT_NEXT(e, n))
			count += e->pid == pid;
	}
	close(fan);
	return count;
}

Test(attack, v8_uprobes_only_in_the_inode_inspected)
{
	const char *real = scratch_path("v8real.so"), *decoy = scratch_path("v8decoy.so");
	const char *done = scratch_path("v8swapped"), *out = scratch_path("v8swap.out");
	const char *err = scratch_path("v8swap.err");
	char *swap_argv[] = { WORKLOAD("v8_swap"), (char *)real, (char *)decoy, (char *)done, NULL };
	char pidbuf[16], *text, *want_real, *want_decoy, *got;
	unsigned long x, y;
	long long size;
	size_t real_len, decoy_len;
	pid_t attacker, ms;

	copy_file(ATTACK("fakev8.so"), real);
	copy_file(ATTACK("decoyv8.so"), decoy);
	want_real = read_file(real, &real_len);
	want_decoy = read_file(decoy, &decoy_len);
	cr_assert_eq(real_len, decoy_len, "the decoy must have the V8 file's layout");
	cr_assert_neq(memcmp(want_real, want_decoy, real_len), 0);

	attacker = track(spawn(swap_argv, out, NULL));
	cr_assert(wait_for_text(out, "\n", 10), "the attacker did not start");
	text = read_text(out);
	cr_assert(text && sscanf(text, "%lx %lx %lld", &x, &y, &size) == 3, "attacker said: %s",
		  text ? text : "");
	free(text);
	cr_assert_eq((size_t)size, real_len);

	/* memscope with the preload that lets the attacker swap at the worst
	 * moment: after the check, before the attach. */
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)attacker);
	setenv("MEMSCOPE_ATTACK_PID", pidbuf, 1);
	setenv("MEMSCOPE_ATTACK_DONE", done, 1);
	setenv("LD_PRELOAD", ATTACK("swap_shim.so"), 1);
	{
		char *argv[] = { (char *)memscope_bin(), "record", "-p", pidbuf, "-d", "60", "-o",
				 (char *)scratch_path("v8swap.folded"), "-v", NULL };

		ms = track(spawn(argv, NULL, err));
	}
	unsetenv("LD_PRELOAD");
	unsetenv("MEMSCOPE_ATTACK_PID");
	unsetenv("MEMSCOPE_ATTACK_DONE");

	cr_assert(wait_for_text(err, "uprobes attached", 45) ||
		  wait_for_text(err, "cannot attach uprobes", 1),
		  "memscope never inspected the V8-looking file:\n%s", read_text(err));
	cr_assert_eq(access(done, F_OK), 0, "the attacker never swapped its mapping");

	got = malloc(real_len);
	cr_assert(got);
	/* X now maps the decoy: not one byte of it may have changed. */
	read_mem(attacker, x, got, decoy_len);
	/* memscope inspects every process on the host for V8, so another
	 * memscope running here (an older build in a parallel test run)
	 * could place one too: the message lists them. */
	if (first_diff(got, want_decoy, decoy_len) != -1) {
		char cmd[PATH_MAX + 32], *others;

		snprintf(cmd, sizeof(cmd), "pgrep -a memscope > %s", scratch_path("others"));
		others = system(cmd) == -1 ? NULL : read_text(scratch_path("others"));
		cr_expect_fail("a uprobe landed in the decoy, a file memscope never inspected "
			       "(offset %#lx); memscopes running: %s",
			       first_diff(got, want_decoy, decoy_len), others ? others : "?");
		free(others);
	}
	/* Y still maps the file inspected: its uprobes show there, unless
	 * memscope gave up on attaching (also safe). */
	read_mem(attacker, y, got, real_len);
	if (wait_for_text(err, "uprobes attached", 0))
		cr_expect_neq(first_diff(got, want_real, real_len), -1,
			      "memscope says it attached, yet no uprobe is in the file it inspected");
	kill(ms, SIGINT);
	cr_expect_neq(wait_exit(ms, 30), -1, "memscope did not stop");
	free(got);
	free(want_real);
	free(want_decoy);
}

/* A process maps a device node it made (Docker grants CAP_MKNOD; here a
 * /dev/zero twin) executable, as if a library: memscope reads every
 * executable mapping of its targets, and must not open the device. */
Test(attack, mapped_device_node_is_not_opened)
{
	const char *dev = strdup(scratch_path("zero")), *err = strdup(scratch_path("dev.err"));
	char pidbuf[16];
	pid_t victim, ms;
	int in, status;

	unlink(dev);
	cr_assert_eq(mknod(dev, S_IFCHR | 0600, makedev(1, 5)), 0);
	{
		char *argv[] = { WORKLOAD("map_exec"), (char *)dev, NULL };

		victim = track(spawn(argv, scratch_path("dev.out"), NULL));
	}
	cr_assert(wait_for_text(scratch_path("dev.out"), "mapped", 10),
		  "the device node could not be mapped");
	cr_assert(maps_name(victim, dev));
	in = watch_opens(dev);

	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)victim);
	{
		char *argv[] = { (char *)memscope_bin(), "record", "-p", pidbuf, "-d", "3", "-o",
				 (char *)scratch_path("dev.folded"), "-v", NULL };

		ms = track(spawn(argv, NULL, err));
	}
	status = wait_exit(ms, 60);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "memscope record failed or blocked:\n%s", read_text(err));
	cr_expect_eq(opens_by(in, ms), 0, "memscope opened the device node a process mapped");
	unlink(dev);
}

/* Whoever can write the output directory plants a symlink where memscope
 * will write (here to a file standing for a disk or a host file). */
static void expect_symlink_refused(char *const argv[], const char *victim, const char *err)
{
	char *text;
	int status;

	status = wait_exit(track(spawn(argv, NULL, err)), 60);
	text = read_text(err);
	cr_expect(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) != 0,
		  "%s wrote through a symlink: %s", argv[1], text);
	cr_expect(text && strstr(text, "symbolic link"), "%s did not say why: %s", argv[1], text);
	free(text);
	text = read_text(victim);
	cr_expect(text && !strcmp(text, "precious\n"), "%s changed the file behind the link",
		  argv[1]);
	free(text);
}

static void plant(const char *victim, const char *link)
{
	FILE *f = fopen(victim, "we");

	cr_assert(f);
	fputs("precious\n", f);
	fclose(f);
	unlink(link);
	cr_assert_eq(symlink(victim, link), 0);
}

Test(attack, symlink_at_record_output)
{
	char *victim = strdup(scratch_path("victim")), *link = strdup(scratch_path("out.folded"));
	char pid[16];
	char *argv[] = { (char *)memscope_bin(), "record", "-p", pid, "-d", "1", "-o", link, NULL };

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	plant(victim, link);
	expect_symlink_refused(argv, victim, scratch_path("record.err"));
	free(victim);
	free(link);
}

Test(attack, symlink_at_oom_output)
{
	char *victim = strdup(scratch_path("victim")), *link = strdup(scratch_path("oom.log"));
	char *argv[] = { (char *)memscope_bin(), "oom", "-o", link, NULL };

	plant(victim, link);
	expect_symlink_refused(argv, victim, scratch_path("oom.err"));
	free(victim);
	free(link);
}

/* A delegated subtree (a user's user@UID.service, a Delegate=yes service)
 * names a cgroup like another's container: memscope top must not label it,
 * nor alert on it, as that container. */
#define VICTIM_ID	"abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"

Test(attack, delegated_cgroup_named_like_a_container)
{
	struct test_cgroup cg;
	char svc[300], scope[400], procs[420], rel[400], pid[16], needle[900], *json, *row;
	char *sleeper[] = { "/bin/sleep", "60", NULL };
	char *argv[] = { (char *)memscope_bin(), "top", "--once", "--json", "--window", "1", NULL };
	const char *out = scratch_path("spoof.json");
	pid_t p;
	FILE *f;

	cr_assert_eq(tcg_create(&cg, "spoof", 0), 0, "cannot create a test memory cgroup");
	snprintf(svc, sizeof(svc), "%s/evil.service", cg.dir);
	snprintf(scope, sizeof(scope), "%s/docker-" VICTIM_ID ".scope", svc);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", scope);
	snprintf(rel, sizeof(rel), "%s/evil.service/docker-" VICTIM_ID ".scope", cg.rel);
	cr_assert(!mkdir(svc, 0755) && !mkdir(scope, 0755), "mkdir: %s", strerror(errno));
	p = track(spawn(sleeper, NULL, NULL));
	snprintf(pid, sizeof(pid), "%d", (int)p);
	f = fopen(procs, "we");
	cr_assert(f && fputs(pid, f) >= 0 && !fclose(f), "cannot move pid %s into %s", pid, procs);

	cr_expect_eq(wait_exit(track(spawn(argv, out, NULL)), 60), 0, "memscope top failed");
	json = read_text(out);
	snprintf(needle, sizeof(needle), "{\"label\":\"%s\",\"cgroup\":\"%s\"", rel, rel);
	row = json ? strstr(json, needle) : NULL;
	cr_expect_not_null(row, "no row labelled by its path for %s:\n%s", rel, json);
	cr_expect_null(json ? strstr(json, "\"label\":\"abcdef012345\"") : NULL,
		       "a delegated cgroup was labelled as container abcdef012345");
	free(json);

	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	for (int i = 0; i < 100 && rmdir(scope); i++)
		usleep(20000);
	rmdir(svc);
	tcg_destroy(&cg);
}

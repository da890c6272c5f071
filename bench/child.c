#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "cli.h"

/* Children not reaped yet, with their start time: the wall time of a run is
 * measured from just before fork, the same way for traced and untraced runs. */
static struct {
	pid_t pid;
	double start;
} live[CHILD_MAX];

static int track(pid_t pid, double start)
{
	for (size_t i = 0; i < CHILD_MAX; i++) {
		if (!live[i].pid) {
			live[i].pid = pid;
			live[i].start = start;
			return 0;
		}
	}
	return -EMFILE;
}

static int find(pid_t pid)
{
	for (int i = 0; i < CHILD_MAX; i++)
		if (live[i].pid == pid)
			return i;
	return -1;
}

static bool has_room(void)
{
	return find(0) >= 0;
}

static void redirect(const char *path, int target)
{
	int fd = open(path ? path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || dup2(fd, target) < 0)
		_exit(126);
}

/* In the child, before exec: a write to cgroup.procs moves the writer. */
static void join_cgroup(const char *procs)
{
	int fd = open(procs, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, "0\n", 2) != 2)
		_exit(126);
	close(fd);
}

pid_t child__spawn(char *const argv[], const struct child_opts *o)
{
	double start;
	pid_t pid;

	if (!has_room())
		return -EMFILE;
	start = cli_now();
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct sigaction dfl = { .sa_handler = SIG_DFL };

		/* The parent's stop handlers and its ignored SIGPIPE must not
		 * survive into the workload. */
		sigaction(SIGINT, &dfl, NULL);
		sigaction(SIGTERM, &dfl, NULL);
		sigaction(SIGHUP, &dfl, NULL);
		sigaction(SIGPIPE, &dfl, NULL);
		redirect(o ? o->out : NULL, STDOUT_FILENO);
		redirect(o ? o->err : NULL, STDERR_FILENO);
		if (o && o->cgroup_procs)
			join_cgroup(o->cgroup_procs);
		for (const char *const *e = o ? o->env : NULL; e && *e; e++)
			putenv((char *)*e);
		execvp(argv[0], argv);
		_exit(127);
	}
	track(pid, start);
	return pid;
}

static void fill(struct child_result *r, int status, const struct rusage *ru, double wall)
{
	r->status = status;
	r->wall_s = wall;
	r->user_s = ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6;
	r->sys_s = ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
	r->maxrss_kib = ru->ru_maxrss;
}

/* Reaps pid if it has exited: 1 when reaped, 0 when still running. */
static int try_reap(pid_t pid, struct child_result *r)
{
	struct rusage ru;
	int status, slot = find(pid);
	pid_t got = wait4(pid, &status, WNOHANG, &ru);
	double end = cli_now();

	if (got < 0)
		return -errno;
	if (got == 0)
		return 0;
	if (r)
		fill(r, status, &ru, slot >= 0 ? end - live[slot].start : 0);
	if (slot >= 0)
		live[slot].pid = 0;
	return 1;
}

int child__wait(pid_t pid, double timeout_s, struct child_result *r)
{
	/* A pidfd wakes us the moment the child exits: polling with sleeps would
	 * add up to the sleep period to every measured wall time. */
	int fd = pidfd_open(pid, 0), rc;
	double end = cli_now() + timeout_s;

	if (fd < 0)
		return -errno;
	for (;;) {
		double left = end - cli_now();
		struct pollfd p = { .fd = fd, .events = POLLIN };

		rc = try_reap(pid, r);
		if (rc)
			break;
		if (left <= 0) {
			rc = -ETIMEDOUT;
			break;
		}
		if (poll(&p, 1, (int)(left * 1000) + 1) < 0 && errno == EINTR) {
			rc = -EINTR;
			break;
		}
	}
	close(fd);
	return rc < 0 ? rc : 0;
}

int child__stop(pid_t pid, int sig, double grace_s, struct child_result *r)
{
	int rc;

	kill(pid, sig);
	do
		rc = child__wait(pid, grace_s, r);
	while (rc == -EINTR);
	if (rc == -ETIMEDOUT) {
		kill(pid, SIGKILL);
		child__wait(pid, 10, r);
	}
	return rc;
}

void child__kill_all(int sig)
{
	for (size_t i = 0; i < CHILD_MAX; i++)
		if (live[i].pid > 0)
			kill(live[i].pid, sig);
}

bool child__exited_ok(const struct child_result *r)
{
	return WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;
}

bool child__exited(pid_t pid)
{
	siginfo_t si = {};

	if (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return true;
	return si.si_pid == pid;
}

int child__parse_rss(FILE *f, long *kib)
{
	char line[256];

	while (fgets(line, sizeof(line), f)) {
		long v;
		char unit[8];

		if (strncmp(line, "VmRSS:", 6))
			continue;
		if (sscanf(line + 6, "%ld %7s", &v, unit) != 2 || v < 0 || strcmp(unit, "kB"))
			return -EINVAL;
		*kib = v;
		return 0;
	}
	return -ENOENT;
}

int child__rss_kib(const char *proc_root, pid_t pid, long *kib)
{
	char path[PATH_MAX];
	FILE *f;
	int rc;

	if (snprintf(path, sizeof(path), "%s/%d/status", proc_root, (int)pid) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	rc = child__parse_rss(f, kib);
	fclose(f);
	return rc;
}

int child__parse_smaps(FILE *f, long *rss_kib, long *bpf_map_kib)
{
	char line[512];
	bool bpf = false, cut = false;
	int mappings = 0;

	*rss_kib = *bpf_map_kib = 0;
	while (fgets(line, sizeof(line), f)) {
		bool was_cut = cut;
		unsigned long lo, hi;
		long kib;
		int name = 0;

		cut = !strchr(line, '\n');
		if (was_cut)
			continue;
		/* A mapping header: "lo-hi perms offset dev inode [name]". */
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &name) == 2 && name) {
			bpf = !strncmp(line + name, "anon_inode:bpf-map", 18);
			mappings++;
			continue;
		}
		if (sscanf(line, "Rss: %ld kB", &kib) == 1 && kib >= 0) {
			*rss_kib += kib;
			if (bpf)
				*bpf_map_kib += kib;
		}
	}
	return mappings ? 0 : -ENOENT;
}

int child__rss_split(const char *proc_root, pid_t pid, long *rss_kib, long *bpf_map_kib)
{
	char path[PATH_MAX];
	FILE *f;
	int rc;

	if (snprintf(path, sizeof(path), "%s/%d/smaps", proc_root, (int)pid) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	rc = child__parse_smaps(f, rss_kib, bpf_map_kib);
	fclose(f);
	return rc;
}

/* First number of a one-line file: schedstat's ns on CPU. */
static int read_first_u64(const char *path, uint64_t *v)
{
	FILE *f = fopen(path, "re");
	unsigned long long x;
	int n;

	if (!f)
		return -errno;
	n = fscanf(f, "%llu", &x);
	fclose(f);
	if (n != 1)
		return -EINVAL;
	*v = x;
	return 0;
}

/* utime + stime from /proc/PID/stat; comm may hold spaces and ')' so the
 * fields are counted from the last ')'. */
static int stat_cpu_ns(const char *path, uint64_t *ns)
{
	char buf[1024], *p;
	unsigned long long ut, st;
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			 &st) != 2)
		return -EINVAL;
	*ns = (ut + st) * (1000000000ULL / sysconf(_SC_CLK_TCK));
	return 0;
}

int child__cpu_ns(const char *proc_root, pid_t pid, uint64_t *ns)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	struct dirent *de;
	uint64_t sum = 0, v = 0;
	DIR *d;
	int found = 0;

	if (snprintf(dir, sizeof(dir), "%s/%d/task", proc_root, (int)pid) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/%s/schedstat", dir, de->d_name);
		if (read_first_u64(path, &v)) {
			snprintf(path, sizeof(path), "%s/%s/stat", dir, de->d_name);
			if (stat_cpu_ns(path, &v))
				continue;
		}
		sum += v;
		found++;
	}
	closedir(d);
	if (!found)
		return -ENOENT;
	*ns = sum;
	return 0;
}

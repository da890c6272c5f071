#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

const char *memscope_bin(void)
{
	const char *bin = getenv("MEMSCOPE_BIN");

	return bin && *bin ? bin : "./memscope";
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

/* The hierarchy where a new cgroup gets a memory controller: v1's memory
 * mount, else a v2 root that delegates memory to its children. */
static int memory_root(char *root, size_t len, int *version)
{
	char *ctl;

	if (access("/sys/fs/cgroup/memory/cgroup.procs", F_OK) == 0) {
		snprintf(root, len, "/sys/fs/cgroup/memory");
		*version = 1;
		return 0;
	}
	ctl = read_text("/sys/fs/cgroup/cgroup.subtree_control");
	if (ctl && strstr(ctl, "memory")) {
		free(ctl);
		snprintf(root, len, "/sys/fs/cgroup");
		*version = 2;
		return 0;
	}
	free(ctl);
	return -ENOENT;
}

int tcg_create(struct test_cgroup *cg, const char *tag, uint64_t limit)
{
	char root[64], file[320], val[32];
	int err;

	memset(cg, 0, sizeof(*cg));
	if ((err = memory_root(root, sizeof(root), &cg->version)))
		return err;
	snprintf(cg->rel, sizeof(cg->rel), "/memscope-test-%s-%d-%ld", tag, getpid(),
		 (long)(now() * 1000) % 100000);
	snprintf(cg->dir, sizeof(cg->dir), "%s%s", root, cg->rel);
	snprintf(cg->procs, sizeof(cg->procs), "%s/cgroup.procs", cg->dir);
	if (mkdir(cg->dir, 0755))
		return -errno;
	if (limit) {
		snprintf(file, sizeof(file), "%s/%s", cg->dir,
			 cg->version == 1 ? "memory.limit_in_bytes" : "memory.max");
		snprintf(val, sizeof(val), "%llu", (unsigned long long)limit);
		if ((err = write_file(file, val))) {
			tcg_destroy(cg);
			return err;
		}
	}
	return 0;
}

uint64_t tcg_usage(const struct test_cgroup *cg)
{
	char file[320], *text;
	unsigned long long v = 0;

	snprintf(file, sizeof(file), "%s/%s", cg->dir,
		 cg->version == 1 ? "memory.usage_in_bytes" : "memory.current");
	text = read_text(file);
	if (text)
		sscanf(text, "%llu", &v);
	free(text);
	return v;
}

void tcg_destroy(struct test_cgroup *cg)
{
	if (!cg->dir[0])
		return;
	/* Kill what is left inside, then wait for the cgroup to empty. */
	for (int tries = 0; tries < 100; tries++) {
		char *procs = read_text(cg->procs);
		bool empty = !procs || !procs[0];

		for (char *p = procs; p && *p;) {
			pid_t pid = strtol(p, &p, 10);

			if (pid > 0)
				kill(pid, SIGKILL);
			while (*p == '\n')
				p++;
		}
		free(procs);
		if (empty && rmdir(cg->dir) == 0)
			break;
		usleep(50 * 1000);
	}
	cg->dir[0] = 0;
}

const char *scratch_dir(void)
{
	static char dir[64];

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/memscope-test-XXXXXX");
		if (!mkdtemp(dir))
			abort();
	}
	return dir;
}

const char *scratch_path(const char *name)
{
	static char paths[8][PATH_MAX];
	static int next;
	char *p = paths[next++ % 8];

	snprintf(p, PATH_MAX, "%s/%s", scratch_dir(), name);
	return p;
}

pid_t spawn(char *const argv[], const char *out, const char *err)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	if (out) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
	}
	if (err) {
		int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 2);
	}
	execv(argv[0], argv);
	_exit(127);
}

int wait_exit(pid_t pid, double timeout_s)
{
	return wait_exit_peak(pid, timeout_s, NULL);
}

int wait_exit_peak(pid_t pid, double timeout_s, long *maxrss_kib)
{
	double end = now() + timeout_s;
	struct rusage ru;
	int status;

	while (now() < end) {
		pid_t r = wait4(pid, &status, WNOHANG, &ru);

		if (r == pid) {
			if (maxrss_kib)
				*maxrss_kib = ru.ru_maxrss;
			return status;
		}
		if (r < 0)
			return -1;
		usleep(20 * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

char *read_text(const char *file)
{
	FILE *f = fopen(file, "re");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

bool wait_for_text(const char *file, const char *needle, double timeout_s)
{
	double end = now() + timeout_s;

	do {
		char *text = read_text(file);
		bool found = text && strstr(text, needle);

		free(text);
		if (found)
			return true;
		usleep(50 * 1000);
	} while (now() < end);
	return false;
}

bool wait_for_file(const char *file, double timeout_s)
{
	double end = now() + timeout_s;

	do {
		if (access(file, F_OK) == 0)
			return true;
		usleep(20 * 1000);
	} while (now() < end);
	return false;
}

/* Calls fn for each line: stack text (NUL-terminated at the space) and value. */
static int for_each_folded(const char *file, void (*fn)(void *, char *, uint64_t, bool), void *ctx)
{
	FILE *f = fopen(file, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	if (!f)
		return -errno;
	while ((len = getline(&line, &cap, f)) > 0) {
		char *sp, *end;
		unsigned long long v;

		if (line[len - 1] == '\n')
			line[--len] = 0;
		sp = strrchr(line, ' ');
		if (!sp || sp == line) {
			fn(ctx, line, 0, false);
			continue;
		}
		*sp = 0;
		v = strtoull(sp + 1, &end, 10);
		fn(ctx, line, v, *end == 0 && sp[1]);
	}
	free(line);
	fclose(f);
	return 0;
}

struct sum_ctx {
	const char *needle, *needle2;
	uint64_t sum;
	int lines, bad;
	const char *label;
	bool all;
};

static void sum_line(void *c, char *stack, uint64_t v, bool ok)
{
	struct sum_ctx *s = c;

	s->lines++;
	if (!ok) {
		s->bad++;
		return;
	}
	if ((!s->needle || strstr(stack, s->needle)) && (!s->needle2 || strstr(stack, s->needle2)))
		s->sum += v;
	if (s->label) {
		size_t l = strlen(s->label);

		if (strncmp(stack, s->label, l) || stack[l] != ';')
			s->all = false;
	}
}

uint64_t folded_sum(const char *file, const char *needle)
{
	struct sum_ctx s = { .needle = needle };

	for_each_folded(file, sum_line, &s);
	return s.sum;
}

uint64_t folded_sum_both(const char *file, const char *needle, const char *needle2)
{
	struct sum_ctx s = { .needle = needle, .needle2 = needle2 };

	for_each_folded(file, sum_line, &s);
	return s.sum;
}

int folded_lines(const char *file, int *malformed)
{
	struct sum_ctx s = {};

	for_each_folded(file, sum_line, &s);
	*malformed = s.bad;
	return s.lines;
}

bool folded_all_labelled(const char *file, const char *label)
{
	struct sum_ctx s = { .label = label, .all = true };

	return for_each_folded(file, sum_line, &s) == 0 && s.all && s.lines > 0;
}

long long json_num_after(const char *json, const char *after, const char *key)
{
	char needle[128];
	const char *p = after && json ? strstr(json, after) : json;
	long long v = -1;

	snprintf(needle, sizeof(needle), "\"%s\": ", key);
	p = p ? strstr(p, needle) : NULL;
	if (p)
		sscanf(p + strlen(needle), "%lld", &v);
	return v;
}

long long json_container_num(const char *json, const char *label, const char *key)
{
	char after[300];

	snprintf(after, sizeof(after), "\"label\": \"%s\"", label);
	return json_num_after(json, after, key);
}

bool port_listens(pid_t pid, unsigned port)
{
	char path[64], *text;
	bool found = false;

	snprintf(path, sizeof(path), "/proc/%d/net/tcp", pid);
	text = read_text(path);
	for (char *l = text ? strchr(text, '\n') : NULL; l && *++l; l = strchr(l, '\n')) {
		unsigned lport, st;

		/* local address:port, remote, state 0A = LISTEN */
		if (sscanf(l, " %*u: %*x:%x %*x:%*x %x", &lport, &st) == 2 && lport == port &&
		    st == 0x0a)
			found = true;
	}
	free(text);
	return found;
}
